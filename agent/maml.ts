// MAML for meta-RL (Finn et al. 2017, arXiv:1703.03400) with ProMP's outer objective (Rothfuss et al.
// 2019, arXiv:1810.06784), for box-action tasks (MetaWorld). Reads top to bottom: settings, the Gaussian
// MLP policy and its explicit policy gradient, the linear feature baseline, acting and recording, then one
// training iteration.
//
// The policy is a Gaussian with a tanh MLP mean and a state-independent log std. A task is adapted to by
// one policy-gradient step on its adaptation episodes: theta' = theta + alpha * grad_theta J_inner(theta),
// J_inner = mean_t A_t log pi_theta(a_t | s_t) (advantages from a linear feature baseline, standardised).
// The outer update improves the post-adaptation policies over a meta-batch of tasks:
//   ProMP: sum_i J_CLIP(theta'_i(theta)) - eta * KL(pi_theta_old || pi_theta) on the pre-adaptation data,
//   J_CLIP = mean_t min(r_t A_t, clip(r_t, 1 - eps, 1 + eps) A_t), r_t = pi_theta'_i(a_t|s_t) / pi_theta'_i,old(a_t|s_t),
// with a few Adam steps per batch of samples and eta adapted towards a KL target. ProMP rather than TRPO:
// TRPO's outer step needs Hessian-vector products of the KL through the inner step (second order in the
// meta-parameters, inside conjugate gradient), while ProMP's clipped objective takes first-order steps of
// the meta-objective with the same trust-region effect, lets several Adam steps reuse one costly sample, and
// has no line search.
//
// Second order: tfjs's nested tf.grad gives wrong second derivatives for ops whose gradient reads their
// own output (tanh, sigmoid, exp: measured against finite differences) or refuses them. So the inner
// gradient is written out as tensor ops (innerGradient: the backward pass of the MLP by hand), and the
// outer gradient is an ordinary first-order tfjs gradient of J_CLIP(theta + alpha * innerGradient(theta)):
// exact second order of MAML's objective through the inner step (test/agent/maml.test.ts checks it against
// finite differences). With `lowVarianceCurvature` (default) the outer gradient also gets ProMP's LVC term,
// the part of the inner step's curvature that comes from the pre-update sampling distribution: alpha *
// mean_t A_t grad log pi_t (grad log pi_t . v), v the outer gradient at theta', computed from a
// forward-mode directional derivative (logProbDirectional) and one more explicit policy gradient.
//
// With a latent input (latentSize > 0; MAESN, Gupta et al. 2018, arXiv:1802.07245) the policy reads the
// observation and a latent z drawn once per pre-adaptation episode from N(m, s^2), m and log s meta-learned
// beside theta; the inner step also moves m by the policy gradient of log N(z; m, s) (latentStep), and the
// adapted lanes act with z = m'. The outer gradient reaches m and s through that step and through the draws
// z = m + s * noise (reparameterised). Clone iterations bind z to the task's goal code (robot-tasks goalCode).

import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { type AlgorithmDefinition, type AlgorithmState, type IterationStats, type SettingProblem, type TrainableAlgorithm, demonstrationsProblem } from './algorithm.ts';
import type { EnvBatch } from './batch-env.ts';
import type { Demonstrator, EnvSpec, Task, TaskDistribution } from './envs.ts';
import type { EpisodeRecord, LanePolicy } from './meta.ts';
import { Adam, Params, addDense, loadWeightsState, matMul, weightsState } from './nn.ts';
import { computeGae } from './ppo.ts';
import { type Rng, gaussian, rngFor, seedFor } from './random.ts';
import { runTrials } from './rollout.ts';
import { int, positive } from './schema.ts';
import { goalAxes, goalCode, missingSearcher } from './robot-tasks.ts';
import { getFamily } from '../sim/index.ts';

// ---------------------------------------------------------------------------------------------
// Settings

export interface MamlSettings {
  /** Tasks per iteration (the meta-batch). */
  tasksPerIteration: number;
  /** Episodes per task before the inner step (training; evaluation uses the benchmark's protocol). */
  adaptationEpisodes: number;
  /** Episodes per task with the adapted policy, for the outer objective (training). */
  evaluationEpisodes: number;
  /** Hidden tanh layers of the policy's mean. */
  hidden: number[];
  /** Initial log standard deviation of the actions. */
  initLogStd: number;
  /** The inner policy-gradient step size alpha. */
  innerLearningRate: number;
  gamma: number;
  /** GAE lambda (1: returns minus the baseline). */
  lambda: number;
  /** Adam steps of the outer objective per iteration (ProMP: 5). */
  outerSteps: number;
  outerLearningRate: number;
  /** ProMP's clip range of the post-adaptation likelihood ratio. */
  clip: number;
  /** Initial weight eta of the KL penalty on the pre-adaptation policy. */
  klCoef: number;
  /** eta is halved below target / 1.5 and doubled above target * 1.5 after each iteration (null: fixed eta). */
  klTarget: number | null;
  /** Gradient-norm clip of the outer step (null: none). */
  maxGradNorm: number | null;
  /** ProMP's low-variance curvature term in the outer gradient (false: MAML's own second-order gradient only). */
  lowVarianceCurvature: boolean;
  /**
   * Iterations (the N after the clone iterations) whose outer objective is imitation of the task's scripted expert by the adapted
   * policy, on the states it visits (Guided Meta-Policy Search's outer loop): robot benchmarks only. 0: none.
   */
  demonstrationIterations: number;
  /**
   * Iterations (the first N, before any demonstration or ProMP iteration) that clone a scripted demonstrator
   * (`cloneDemonstrator`) into the pre-adaptation policy by plain supervised steps on the states its lanes
   * visit (DAgger, half the lanes driven by the demonstrator): no inner step, robot benchmarks only. A start
   * that already handles the object. 0: none.
   */
  cloneIterations: number;
  /**
   * Whom clone iterations copy: the family's scripted expert (it knows the goal, so a clone that cannot see it
   * learns the expert averaged over goals) or its goal-blind searcher (push: a sweep of the goal box with the
   * puck, which a policy without the goal can copy exactly; adaptation is then left to the ProMP iterations).
   */
  cloneDemonstrator: 'expert' | 'searcher';
  /** Episodes per task in a clone iteration. */
  cloneEpisodes: number;
  /** Passes over a clone iteration's labelled steps, in minibatches of CLONE_BATCH. */
  cloneEpochs: number;
  /** Adam's step size in clone iterations (the outer steps take outerLearningRate). */
  cloneLearningRate: number;
  /**
   * Size of the policy's latent input (MAESN, Gupta et al. 2018, arXiv:1802.07245): drawn once per pre-adaptation
   * episode from a meta-learned Gaussian (its mean and log std are meta-parameters), moved by the inner step
   * (latentLearningRate), and held at its adapted mean after adaptation. Clone iterations bind it to the task's goal
   * code (the goal's place in its box, on the axes goals vary along), so it must then be that many numbers. 0: none.
   */
  latentSize: number;
  /** Initial log std of the latent's Gaussian (the spread of the pre-adaptation episodes' guesses). */
  initLatentLogStd: number;
  /** The inner step size of the latent's mean. */
  latentLearningRate: number;
}

/** Steps per minibatch of a clone iteration's supervised passes. */
export const CLONE_BATCH = 1024;

export const MAML_DEFAULTS: MamlSettings = {
  tasksPerIteration: 20,
  adaptationEpisodes: 10,
  evaluationEpisodes: 10,
  hidden: [64, 64],
  initLogStd: -0.5,
  innerLearningRate: 0.1,
  gamma: 0.99,
  lambda: 1,
  outerSteps: 5,
  outerLearningRate: 1e-3,
  clip: 0.3,
  klCoef: 5e-4,
  klTarget: 0.01,
  maxGradNorm: 1,
  lowVarianceCurvature: true,
  demonstrationIterations: 0,
  cloneIterations: 0,
  cloneDemonstrator: 'expert',
  cloneEpisodes: 2,
  cloneEpochs: 4,
  cloneLearningRate: 1e-3,
  latentSize: 0,
  initLatentLogStd: 0,
  latentLearningRate: 1,
};

export const mamlSettingsSchema = z.object({
  tasksPerIteration: int(1),
  adaptationEpisodes: int(1),
  evaluationEpisodes: int(1),
  hidden: z.array(int(1)),
  initLogStd: z.number(),
  innerLearningRate: z.number().min(0),
  gamma: z.number().min(0).max(1),
  lambda: z.number().min(0).max(1),
  outerSteps: int(1),
  outerLearningRate: positive,
  clip: positive,
  klCoef: z.number().min(0),
  klTarget: positive.nullable(),
  maxGradNorm: positive.nullable(),
  lowVarianceCurvature: z.boolean(),
  demonstrationIterations: int(0),
  cloneIterations: int(0),
  cloneDemonstrator: z.enum(['expert', 'searcher']),
  cloneEpisodes: int(1),
  cloneEpochs: int(1),
  cloneLearningRate: positive,
  latentSize: int(0),
  initLatentLogStd: z.number(),
  latentLearningRate: z.number().min(0),
}).strict();

// ---------------------------------------------------------------------------------------------
// The Gaussian MLP policy as a list of tensors: per hidden layer w [in, out] and b [out], then the mean
// layer's w and b, then the log std [actions]. `Theta` is such a list (variables, or an adapted copy).

export type Theta = tf.Tensor[];

/** The parameter names, in Theta order. */
export function parameterNames(hidden: readonly number[]): string[] {
  return [...hidden.flatMap((_, i) => [`layer${i}/w`, `layer${i}/b`]), 'mean/w', 'mean/b', 'logStd'];
}

/** The latent's parameter names (its Gaussian's mean and log std), where the policy has a latent input. */
export const LATENT_NAMES = ['latent/mean', 'latent/logStd'] as const;

/**
 * A new policy's parameters from (seed, 'maml-init'): tanh layers at unit gain (their input: the observation,
 * then the latent), the mean layer at 0.01; the latent's Gaussian at mean 0.
 */
export function policyParams(spec: EnvSpec, settings: Pick<MamlSettings, 'hidden' | 'initLogStd'> & Partial<Pick<MamlSettings, 'latentSize' | 'initLatentLogStd'>>, seed: number): Params {
  const latentSize = settings.latentSize ?? 0;
  if (spec.action.kind !== 'box') throw new Error('maml: needs a box action space');
  const params = new Params();
  const rng = rngFor(seed, 'maml-init');
  let inputs = spec.obsSize + latentSize;
  settings.hidden.forEach((units, i) => { addDense(params, rng, `layer${i}`, inputs, units); inputs = units; });
  addDense(params, rng, 'mean', inputs, spec.action.size, 0.01);
  params.add('logStd', [spec.action.size], new Float32Array(spec.action.size).fill(settings.initLogStd));
  if (latentSize > 0) {
    params.add(LATENT_NAMES[0], [latentSize], new Float32Array(latentSize));
    params.add(LATENT_NAMES[1], [latentSize], new Float32Array(latentSize).fill(settings.initLatentLogStd ?? 0));
  }
  return params;
}

/**
 * MAESN's inner step of the latent's mean: mean + beta * grad_mean sum_n weights_n log N(z_n; mean, std), with
 * z_n = mean + std * noise_n the latent of step n's episode, i.e. mean + beta * sum_n weights_n noise_n / std.
 * Tensor ops, differentiable in the mean and log std (the drawn noise held fixed).
 */
export function latentStep(mean: tf.Tensor, logStd: tf.Tensor, noise: tf.Tensor2D, weights: tf.Tensor1D, beta: number): tf.Tensor1D {
  const score = tf.sum(tf.mul(tf.reshape(weights, [-1, 1]), noise), 0);
  return tf.add(mean, tf.mul(tf.mul(score, tf.exp(tf.neg(logStd))), beta)) as tf.Tensor1D;
}

/** The policy's input: observations, then the latent (one row per step, or one row for every step). */
export function withLatent(obs: tf.Tensor2D, latent: tf.Tensor | null): tf.Tensor2D {
  if (!latent) return obs;
  const rows = latent.rank === 1 ? tf.tile(tf.reshape(latent, [1, -1]), [obs.shape[0], 1]) : latent;
  return tf.concat([obs, rows as tf.Tensor2D], 1);
}

/** The mean's hidden activations (hs[0] = x) and the mean itself. */
function forward(theta: Theta, x: tf.Tensor2D): { hs: tf.Tensor2D[]; mean: tf.Tensor2D } {
  const layers = (theta.length - 3) / 2;
  const hs = [x];
  for (let i = 0; i < layers; i++) hs.push(tf.tanh(tf.add(matMul(hs[i], theta[2 * i] as tf.Tensor2D), theta[2 * i + 1])) as tf.Tensor2D);
  return { hs, mean: tf.add(matMul(hs[layers], theta[2 * layers] as tf.Tensor2D), theta[2 * layers + 1]) as tf.Tensor2D };
}

/** log pi(a | x) per row. */
export function logProb(theta: Theta, x: tf.Tensor2D, actions: tf.Tensor2D): tf.Tensor1D {
  const logStd = theta[theta.length - 1];
  const { mean } = forward(theta, x);
  const z = tf.mul(tf.sub(actions, mean), tf.exp(tf.neg(logStd)));
  const size = actions.shape[1];
  return tf.sub(tf.mul(tf.sum(tf.square(z), 1), -0.5), tf.add(tf.sum(logStd), 0.5 * size * Math.log(2 * Math.PI))) as tf.Tensor1D;
}

/**
 * grad_theta sum_n weights_n log pi(a_n | x_n), written out as tensor ops (the MLP's backward pass by hand),
 * so that it is itself differentiable to first order: MAML's inner step theta + alpha * innerGradient(theta)
 * then has an exact tfjs gradient. With weights A_n / N it is the inner policy gradient.
 */
export function innerGradient(theta: Theta, x: tf.Tensor2D, actions: tf.Tensor2D, weights: tf.Tensor1D): Theta {
  const layers = (theta.length - 3) / 2;
  const logStd = theta[theta.length - 1];
  const { hs, mean } = forward(theta, x);
  const inverseVariance = tf.exp(tf.mul(logStd, -2));
  const diff = tf.sub(actions, mean);
  const w = tf.reshape(weights, [-1, 1]);
  const dMean = tf.mul(tf.mul(w, diff), inverseVariance) as tf.Tensor2D;
  const dLogStd = tf.sum(tf.mul(w, tf.sub(tf.mul(tf.square(diff), inverseVariance), 1)), 0);
  const grads: Theta = new Array(theta.length);
  grads[2 * layers] = matMul(tf.transpose(hs[layers]), dMean);
  grads[2 * layers + 1] = tf.sum(dMean, 0);
  grads[theta.length - 1] = dLogStd;
  let dh = matMul(dMean, tf.transpose(theta[2 * layers] as tf.Tensor2D));
  for (let i = layers - 1; i >= 0; i--) {
    const h = hs[i + 1];
    const dz = tf.mul(dh, tf.sub(1, tf.square(h))) as tf.Tensor2D;
    grads[2 * i] = matMul(tf.transpose(hs[i]), dz);
    grads[2 * i + 1] = tf.sum(dz, 0);
    if (i > 0) dh = matMul(dz, tf.transpose(theta[2 * i] as tf.Tensor2D));
  }
  return grads;
}

/** d log pi(a_n | x_n) / d theta . direction, per row: forward-mode through the MLP. */
export function logProbDirectional(theta: Theta, x: tf.Tensor2D, actions: tf.Tensor2D, direction: Theta): tf.Tensor1D {
  const layers = (theta.length - 3) / 2;
  const logStd = theta[theta.length - 1];
  const { hs, mean } = forward(theta, x);
  let dh: tf.Tensor2D | null = null;
  for (let i = 0; i < layers; i++) {
    let dz = tf.add(matMul(hs[i], direction[2 * i] as tf.Tensor2D), direction[2 * i + 1]) as tf.Tensor2D;
    if (dh) dz = tf.add(dz, matMul(dh, theta[2 * i] as tf.Tensor2D));
    dh = tf.mul(dz, tf.sub(1, tf.square(hs[i + 1]))) as tf.Tensor2D;
  }
  let dMean = tf.add(matMul(hs[layers], direction[2 * layers] as tf.Tensor2D), direction[2 * layers + 1]) as tf.Tensor2D;
  if (dh) dMean = tf.add(dMean, matMul(dh, theta[2 * layers] as tf.Tensor2D));
  const inverseVariance = tf.exp(tf.mul(logStd, -2));
  const diff = tf.sub(actions, mean);
  const viaMean = tf.sum(tf.mul(tf.mul(diff, inverseVariance), dMean), 1);
  const viaStd = tf.sum(tf.mul(tf.sub(tf.mul(tf.square(diff), inverseVariance), 1), direction[theta.length - 1]), 1);
  return tf.add(viaMean, viaStd) as tf.Tensor1D;
}

/** One lane's steps as tensors (Maml.tensors): observations, the latent's standard noise (or null), actions, inner weights A_n / N, advantages. */
interface StepTensors { obs: tf.Tensor2D; noise: tf.Tensor2D | null; a: tf.Tensor2D; w: tf.Tensor1D; adv: tf.Tensor1D }

/** A lane's adapted policy as plain arrays: theta' in Theta order, and the latent's adapted mean (null: no latent). */
interface Adapted { weights: Float32Array[]; latent: Float32Array | null }

/** theta + alpha * step, elementwise over the lists. */
const addScaled = (theta: Theta, step: Theta, alpha: number): Theta => theta.map((t, k) => tf.add(t, tf.mul(step[k], alpha)));

/**
 * Half the mean squared distance between the adapted policy's means and the expert's actions: the imitation
 * loss of demonstration iterations (the negative Gaussian log-likelihood at a fixed unit std, up to a constant).
 */
export function imitationLoss(theta: Theta, x: tf.Tensor2D, labels: tf.Tensor2D): tf.Scalar {
  return tf.mul(tf.mean(tf.sum(tf.square(tf.sub(forward(theta, x).mean, labels)), 1)), 0.5) as tf.Scalar;
}

/** Mean over rows of KL(N(mu_old, sigma_old) || N(mu, sigma)), diagonal Gaussians. */
function gaussianKl(oldMean: tf.Tensor2D, oldLogStd: tf.Tensor, theta: Theta, x: tf.Tensor2D): tf.Scalar {
  const logStd = theta[theta.length - 1];
  const { mean } = forward(theta, x);
  const variance = tf.exp(tf.mul(logStd, 2));
  const perDim = tf.sub(tf.add(tf.sub(logStd, oldLogStd), tf.div(tf.add(tf.exp(tf.mul(oldLogStd, 2)), tf.square(tf.sub(oldMean, mean))), tf.mul(variance, 2))), 0.5);
  return tf.mean(tf.sum(perDim, 1)) as tf.Scalar;
}

// ---------------------------------------------------------------------------------------------
// Advantages: a linear feature baseline per task (Duan et al. 2016's: observation, its square, and a
// cubic in the time step, fitted by ridge regression to the discounted returns), then GAE.

/**
 * One lane's recorded steps: observations, actions (the unclipped draws), rewards, episode ends, time in episode,
 * and where the policy has a latent input, the latent it acted with (`latentSize` numbers per step).
 */
export interface LaneData { obs: Float32Array; actions: Float32Array; rewards: Float32Array; ends: Uint8Array; time: Float32Array; steps: number; latent?: Float32Array }

function baselineFeatures(data: LaneData, obsSize: number): { features: Float64Array; width: number } {
  const width = 2 * obsSize + 4;
  const features = new Float64Array(data.steps * width);
  for (let t = 0; t < data.steps; t++) {
    const row = t * width, al = data.time[t] / 100;
    for (let k = 0; k < obsSize; k++) {
      const o = Math.max(-10, Math.min(10, data.obs[t * obsSize + k]));
      features[row + k] = o;
      features[row + obsSize + k] = o * o;
    }
    features[row + 2 * obsSize] = al;
    features[row + 2 * obsSize + 1] = al * al;
    features[row + 2 * obsSize + 2] = al * al * al;
    features[row + 2 * obsSize + 3] = 1;
  }
  return { features, width };
}

/** Solves (XᵀX + reg I) w = Xᵀy by Cholesky, raising reg tenfold until it factors. */
function ridge(features: Float64Array, width: number, targets: Float64Array): Float64Array {
  const n = targets.length;
  const gram = new Float64Array(width * width), rhs = new Float64Array(width);
  for (let t = 0; t < n; t++) {
    const row = t * width;
    for (let i = 0; i < width; i++) {
      const xi = features[row + i];
      if (xi === 0) continue;
      rhs[i] += xi * targets[t];
      for (let j = 0; j <= i; j++) gram[i * width + j] += xi * features[row + j];
    }
  }
  for (let reg = 1e-5; reg < 1e6; reg *= 10) {
    const l = new Float64Array(width * width);
    let ok = true;
    for (let i = 0; i < width && ok; i++) {
      for (let j = 0; j <= i; j++) {
        let sum = gram[i * width + j] + (i === j ? reg : 0);
        for (let k = 0; k < j; k++) sum -= l[i * width + k] * l[j * width + k];
        if (i === j) {
          if (!(sum > 0)) { ok = false; break; }
          l[i * width + i] = Math.sqrt(sum);
        } else l[i * width + j] = sum / l[j * width + j];
      }
    }
    if (!ok) continue;
    const y = new Float64Array(width), w = new Float64Array(width);
    for (let i = 0; i < width; i++) { let s = rhs[i]; for (let k = 0; k < i; k++) s -= l[i * width + k] * y[k]; y[i] = s / l[i * width + i]; }
    for (let i = width - 1; i >= 0; i--) { let s = y[i]; for (let k = i + 1; k < width; k++) s -= l[k * width + i] * w[k]; w[i] = s / l[i * width + i]; }
    if (w.every(Number.isFinite)) return w;
  }
  return new Float64Array(width);
}

/** Standardised GAE advantages of one lane's steps, with its own linear baseline. */
export function laneAdvantages(data: LaneData, obsSize: number, gamma: number, lambda: number): Float32Array {
  const { steps } = data;
  const returns = new Float64Array(steps);
  for (let t = steps - 1, acc = 0; t >= 0; t--) returns[t] = acc = data.rewards[t] + (data.ends[t] ? 0 : gamma * acc);
  const { features, width } = baselineFeatures(data, obsSize);
  const w = ridge(features, width, returns);
  const values = new Float32Array(steps);
  for (let t = 0; t < steps; t++) { let v = 0; for (let k = 0; k < width; k++) v += features[t * width + k] * w[k]; values[t] = v; }
  const { advantages } = computeGae(data.rewards, values, data.ends, 0, gamma, lambda);
  let mean = 0, square = 0;
  for (const a of advantages) mean += a / steps;
  for (const a of advantages) square += (a - mean) ** 2 / steps;
  const std = Math.sqrt(square) + 1e-8;
  return advantages.map((a) => (a - mean) / std);
}

// ---------------------------------------------------------------------------------------------
// Acting: the MLP in JavaScript (small, and the same numbers on every backend), one weight set per lane
// (the shared theta before adaptation, each lane's theta' after), recording what learning needs.

/** A policy's weights as plain arrays, in Theta order. */
type Weights = Float32Array[];

class Recorder {
  obs: Float32Array; actions: Float32Array; rewards: Float32Array; ends: Uint8Array; time: Float32Array; latent: Float32Array; steps = 0;
  constructor(private readonly obsSize: number, private readonly actionSize: number, private readonly latentSize: number, capacity = 1024) {
    this.obs = new Float32Array(capacity * obsSize);
    this.latent = new Float32Array(capacity * latentSize);
    this.actions = new Float32Array(capacity * actionSize);
    this.rewards = new Float32Array(capacity);
    this.ends = new Uint8Array(capacity);
    this.time = new Float32Array(capacity);
  }

  add(obs: Float32Array, action: Float32Array, time: number, latent: Float32Array | null): void {
    if (this.steps === this.rewards.length) this.grow();
    this.obs.set(obs, this.steps * this.obsSize);
    if (latent) this.latent.set(latent, this.steps * this.latentSize);
    this.actions.set(action, this.steps * this.actionSize);
    this.time[this.steps] = time;
    this.steps++;
  }

  finish(reward: number, done: boolean): void {
    this.rewards[this.steps - 1] = reward;
    this.ends[this.steps - 1] = done ? 1 : 0;
  }

  private grow(): void {
    const grow = <T extends Float32Array | Uint8Array>(a: T, make: (n: number) => T) => { const b = make(a.length * 2); b.set(a); return b; };
    this.obs = grow(this.obs, (n) => new Float32Array(n));
    this.actions = grow(this.actions, (n) => new Float32Array(n));
    this.rewards = grow(this.rewards, (n) => new Float32Array(n));
    this.ends = grow(this.ends, (n) => new Uint8Array(n));
    this.time = grow(this.time, (n) => new Float32Array(n));
    this.latent = grow(this.latent, (n) => new Float32Array(n));
  }

  data(): LaneData {
    const n = this.steps;
    const data: LaneData = { obs: this.obs.subarray(0, n * this.obsSize), actions: this.actions.subarray(0, n * this.actionSize), rewards: this.rewards.subarray(0, n), ends: this.ends.subarray(0, n), time: this.time.subarray(0, n), steps: n };
    if (this.latentSize > 0) data.latent = this.latent.subarray(0, n * this.latentSize);
    return data;
  }
}

/**
 * A lane policy's latent input: per lane (or one for all) the Gaussian's mean, and its std (null: every episode
 * acts with the mean, as adapted and cloning lanes do).
 */
export interface LaneLatents { means: Float32Array[]; std: Float32Array | null }

/** MAML's lane policy: a Gaussian MLP per lane, acting in JavaScript; records each lane's steps when asked. */
export class MamlLanes implements LanePolicy {
  readonly recorders: Recorder[] | null;
  private readonly actionsOut: Float32Array;
  private readonly envActions: Float32Array;
  private readonly time: Int32Array;
  private readonly scratch: Float64Array[];
  /** Per lane: the observation followed by the latent of its current episode. */
  private readonly inputs: Float32Array[];

  constructor(
    readonly lanes: number,
    private readonly spec: EnvSpec,
    /** One weight set per lane (or one shared by all). */
    private readonly weights: Weights[],
    readonly rngs: readonly Rng[],
    /**
     * `drivers[i]`: lane i acts with that demonstrator's action plus the policy's noise instead of the policy's mean.
     * `latent`: the latent input, where the policy has one (drawn at each episode's first step, on the lane's stream).
     */
    private readonly options: { deterministic?: boolean; record?: boolean; owner: object; drivers?: ReadonlyArray<Demonstrator | null>; latent?: LaneLatents },
  ) {
    if (spec.action.kind !== 'box') throw new Error('maml: needs a box action space');
    const A = spec.action.size;
    const L = options.latent?.means[0].length ?? 0;
    this.actionsOut = new Float32Array(lanes * A);
    this.envActions = new Float32Array(lanes * A);
    this.time = new Int32Array(lanes);
    this.inputs = Array.from({ length: lanes }, () => new Float32Array(spec.obsSize + L));
    this.recorders = options.record ? Array.from({ length: lanes }, () => new Recorder(spec.obsSize, A, L)) : null;
    const widest = Math.max(spec.obsSize + L, ...weights[0].filter((_, k) => k % 2 === 1).map((b) => b.length));
    this.scratch = [new Float64Array(widest), new Float64Array(widest)];
  }

  /** The learner that made this policy (adapt() takes only its own). */
  get owner(): object { return this.options.owner; }

  /** Whether it acts with the means instead of sampling. */
  get deterministic(): boolean { return this.options.deterministic ?? false; }

  act(obs: Float32Array): Float32Array {
    const { spec, lanes } = this;
    const D = spec.obsSize, box = spec.action as { size: number; low: number; high: number }, A = box.size;
    for (let i = 0; i < lanes; i++) {
      const w = this.weights.length === 1 ? this.weights[0] : this.weights[i];
      const x = obs.subarray(i * D, (i + 1) * D);
      const latent = this.latentOf(i);
      const input = this.inputs[i];
      input.set(x);
      const driver = this.options.drivers?.[i];
      const mean = driver ? driver(x) : this.mean(w, input);
      const logStd = w[w.length - 1];
      for (let k = 0; k < A; k++) {
        const noise = this.options.deterministic ? 0 : gaussian(this.rngs[i]);
        const a = Math.fround(mean[k] + Math.exp(logStd[k]) * noise);
        this.actionsOut[i * A + k] = a;
        this.envActions[i * A + k] = Math.min(box.high, Math.max(box.low, a));
      }
      this.recorders?.[i].add(x, this.actionsOut.subarray(i * A, (i + 1) * A), this.time[i], latent);
    }
    return this.envActions;
  }

  /** The latent lane i acts with in its current episode (a copy), or null without a latent input. */
  currentLatent(i: number): Float32Array | null {
    return this.options.latent ? this.inputs[i].slice(this.spec.obsSize) : null;
  }

  /** Lane i's latent for this step (drawn at an episode's first step, into the end of its input), or null. */
  private latentOf(i: number): Float32Array | null {
    const latent = this.options.latent;
    if (!latent) return null;
    const D = this.spec.obsSize;
    const z = this.inputs[i].subarray(D);
    if (this.time[i] === 0) {
      const mean = latent.means.length === 1 ? latent.means[0] : latent.means[i];
      for (let k = 0; k < z.length; k++) {
        const noise = latent.std && !this.deterministic ? gaussian(this.rngs[i]) : 0;
        z[k] = Math.fround(mean[k] + (latent.std ? latent.std[k] : 0) * noise);
      }
    }
    return z;
  }

  observe(rewards: ArrayLike<number>, dones: ArrayLike<number>): void {
    for (let i = 0; i < this.lanes; i++) {
      this.recorders?.[i].finish(rewards[i], Boolean(dones[i]));
      this.time[i] = dones[i] ? 0 : this.time[i] + 1;
    }
  }

  /** The mean action for one observation: tanh layers, then the linear mean layer (float64). */
  private mean(w: Weights, x: Float32Array): Float64Array {
    const layers = (w.length - 3) / 2;
    let input: ArrayLike<number> = x, width = x.length;
    let out = this.scratch[0];
    for (let l = 0; l <= layers; l++) {
      const W = w[2 * l], b = w[2 * l + 1], units = b.length;
      out = this.scratch[l % 2];
      for (let j = 0; j < units; j++) out[j] = b[j];
      for (let k = 0; k < width; k++) {
        const xk = input[k];
        if (xk === 0) continue;
        const row = k * units;
        for (let j = 0; j < units; j++) out[j] += xk * W[row + j];
      }
      if (l < layers) for (let j = 0; j < units; j++) out[j] = Math.tanh(out[j]);
      // The next layer writes into the other scratch buffer.
      input = out;
      width = units;
    }
    return out;
  }

  dispose(): void {}
}

// ---------------------------------------------------------------------------------------------
// The learner

/**
 * What a task's post-adaptation steps are judged by: their advantages (ProMP) or the expert's actions there
 * (imitation; with `preLabels`, theta itself is also held to those actions on the pre-adaptation steps).
 */
export type PostTargets = { advantages: Float32Array[] } | { labels: Float32Array[]; preLabels?: Float32Array[] };

/**
 * The scripted demonstrator's action (the goal-knowing expert, or the goal-blind searcher; clipped to the action
 * bounds) on every recorded step of each task's lane.
 */
function expertLabels(distribution: TaskDistribution, tasks: readonly Task[], lanes: readonly LaneData[], spec: EnvSpec, kind: 'expert' | 'searcher' = 'expert'): Float32Array[] {
  if (!distribution.demonstrator) throw new Error(`maml: demonstration and clone iterations need a scripted demonstrator, which ${distribution.name} does not have`);
  const box = spec.action as { size: number; low: number; high: number };
  return lanes.map((data, i) => {
    const expert = distribution.demonstrator!(tasks[i], kind);
    const labels = new Float32Array(data.steps * box.size);
    for (let t = 0; t < data.steps; t++) {
      const action = expert(data.obs.subarray(t * spec.obsSize, (t + 1) * spec.obsSize));
      for (let k = 0; k < box.size; k++) labels[t * box.size + k] = Math.min(box.high, Math.max(box.low, action[k]));
    }
    return labels;
  });
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
/** Mean over lanes and episodes of [lane][episode] returns. */
const episodeReturnMean = (returns: number[][]) => mean(returns.map(mean));
/** Mean over lanes and episodes of [lane][episode] success flags. */
const successMean = (success: boolean[][]) => mean(success.map((s) => mean(s.map((x) => (x ? 1 : 0)))));

export interface MamlIterationMetrics {
  outerLoss: number; klPre: number; klCoef: number; clipFraction: number; gradNorm: number; logStd: number;
}

/** MAML with ProMP's outer objective; one instance per run. */
export class Maml implements TrainableAlgorithm {
  readonly name = 'maml';
  readonly adaptUsesEpisodes = true;
  readonly params: Params;
  readonly optimizer: Adam;
  readonly names: string[];

  constructor(readonly spec: EnvSpec, readonly settings: MamlSettings, readonly seed: number) {
    this.params = policyParams(spec, settings, seed);
    this.params.add('klCoef', [1], Float32Array.of(settings.klCoef), false);
    this.names = parameterNames(settings.hidden);
    this.optimizer = new Adam(this.params, { learningRate: settings.outerLearningRate, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, maxGradNorm: settings.maxGradNorm ?? Infinity });
  }

  get trainingLanes(): number { return this.settings.tasksPerIteration; }

  /** The policy's parameters, in Theta order. */
  get theta(): Theta { return this.names.map((n) => this.params.get(n)); }

  /** The policy's log std, averaged over the action dimensions (the metrics' `logStd`). */
  private meanLogStd(): number {
    return tf.tidy(() => tf.mean(this.theta[this.theta.length - 1]).dataSync()[0]);
  }

  private weights(theta: Theta = this.theta): Weights {
    return theta.map((t) => Float32Array.from(t.dataSync() as Float32Array));
  }

  /** The latent's mean and log std (variables), or null where the policy has no latent input. */
  private get latent(): [tf.Variable, tf.Variable] | null {
    return this.settings.latentSize > 0 ? [this.params.get(LATENT_NAMES[0]) as tf.Variable, this.params.get(LATENT_NAMES[1]) as tf.Variable] : null;
  }

  /** The outer steps' parameter names: the policy's, then the latent's. */
  private get metaNames(): string[] { return this.latent ? [...this.names, ...LATENT_NAMES] : this.names; }

  /** Pre-adaptation lanes' latents: the meta-learned Gaussian (undefined without a latent input). */
  private priorLatents(): LaneLatents | undefined {
    const latent = this.latent;
    if (!latent) return undefined;
    return { means: [Float32Array.from(latent[0].dataSync())], std: Float32Array.from(latent[1].dataSync(), Math.exp) };
  }

  explorationPolicy(lanes: number, options: { seed: number; deterministic?: boolean }): MamlLanes {
    const rngs = Array.from({ length: lanes }, (_, i) => rngFor(options.seed, 'actions', i));
    return new MamlLanes(lanes, this.spec, [this.weights()], rngs, { deterministic: options.deterministic, record: true, owner: this, latent: this.priorLatents() });
  }

  /** The inner step per lane from the lanes' recorded adaptation episodes; the new policy continues each lane's action-noise stream. */
  adapt(policy: LanePolicy, _episodes: EpisodeRecord[][]): MamlLanes {
    if (!(policy instanceof MamlLanes) || policy.owner !== this || !policy.recorders) throw new Error('maml: adapt() takes the exploration policy this learner made');
    const { settings } = this;
    const adapted = policy.recorders.map((recorder) => {
      const data = recorder.data();
      return this.adaptedFrom(data, laneAdvantages(data, this.spec.obsSize, settings.gamma, settings.lambda));
    });
    return this.adaptedLanes(adapted, policy.rngs, { deterministic: policy.deterministic });
  }

  /** Lanes acting with adapted weights (and their adapted latents, held at the mean). */
  private adaptedLanes(adapted: Adapted[], rngs: readonly Rng[], options: { deterministic?: boolean; record?: boolean }): MamlLanes {
    const latent = this.latent ? { means: adapted.map((a) => a.latent!), std: null } : undefined;
    return new MamlLanes(adapted.length, this.spec, adapted.map((a) => a.weights), rngs, { ...options, owner: this, latent });
  }

  /**
   * One lane's steps as tensors, with inner weights A_n / N; for pre-adaptation steps (`drawn`) of a policy with a
   * latent input, the standard noise that drew each step's latent under the current latent Gaussian (adapted lanes
   * act with a fixed latent, which no noise drew).
   */
  private tensors(data: LaneData, advantages: Float32Array, drawn = true): StepTensors {
    const A = (this.spec.action as { size: number }).size;
    const latent = this.latent;
    let noise: tf.Tensor2D | null = null;
    if (latent && drawn) {
      const L = this.settings.latentSize;
      const mean = latent[0].dataSync(), std = Float32Array.from(latent[1].dataSync(), Math.exp);
      noise = tf.tensor2d(data.latent!.map((z, k) => (z - mean[k % L]) / std[k % L]), [data.steps, L]);
    }
    return {
      obs: tf.tensor2d(data.obs, [data.steps, this.spec.obsSize]),
      noise,
      a: tf.tensor2d(data.actions, [data.steps, A]),
      w: tf.tensor1d(advantages.map((v) => v / data.steps)),
      adv: tf.tensor1d(advantages),
    };
  }

  /** The pre-adaptation input as a function of the latent's parameters (its draws reparameterised: mean + std * noise). */
  private preInput(t: StepTensors): tf.Tensor2D {
    const latent = this.latent;
    return withLatent(t.obs, latent ? tf.add(latent[0], tf.mul(tf.exp(latent[1]), t.noise!)) : null);
  }

  /** The inner step on one lane's tensors, as tensors: theta', and the latent's adapted mean. */
  private innerStep(t: StepTensors): { theta: Theta; latent: tf.Tensor1D | null } {
    const latent = this.latent;
    return {
      theta: addScaled(this.theta, innerGradient(this.theta, this.preInput(t), t.a, t.w), this.settings.innerLearningRate),
      latent: latent ? latentStep(latent[0], latent[1], t.noise!, t.w, this.settings.latentLearningRate) : null,
    };
  }

  /**
   * One iteration: adaptation episodes with theta on each task, the inner step per task, episodes with
   * each task's theta', then `outerSteps` Adam steps on ProMP's objective; eta follows the KL target.
   */
  async iterate(envs: EnvBatch, distribution: TaskDistribution, iteration: number): Promise<IterationStats> {
    if (iteration < this.settings.cloneIterations) return this.cloneIteration(envs, distribution, iteration);
    const { settings, spec } = this;
    const started = performance.now();
    const tasks = distribution.trainTasks(iteration, settings.tasksPerIteration);
    const lanes = tasks.length;
    const rngs = (phase: string) => tasks.map((_, i) => rngFor(this.seed, 'actions', iteration, phase, i));
    const pre = new MamlLanes(lanes, spec, [this.weights()], rngs('pre'), { record: true, owner: this, latent: this.priorLatents() });
    const before = runTrials(envs, pre, tasks, settings.adaptationEpisodes, seedFor(this.seed, 'train', iteration));
    const preData = pre.recorders!.map((r) => r.data());
    const preAdvantages = preData.map((d) => laneAdvantages(d, spec.obsSize, settings.gamma, settings.lambda));
    const post = this.adaptedLanes(preData.map((d, i) => this.adaptedFrom(d, preAdvantages[i])), rngs('post'), { record: true });
    const after = runTrials(envs, post, tasks, settings.evaluationEpisodes, seedFor(this.seed, 'train-adapted', iteration));
    const postData = post.recorders!.map((r) => r.data());
    const sampled = performance.now();
    // After clone iterations, demonstration iterations also hold theta to the clone's demonstrator on the
    // pre-adaptation steps: the adapted policy learns the expert while what it adapts from stays the clone. Not
    // with a latent: there the pre-adaptation steps act on guessed goals, which the true goal's expert would undo.
    const holdPre = settings.cloneIterations > 0 && !this.latent;
    const metrics = this.outerUpdate(preData, preAdvantages, postData, iteration < settings.cloneIterations + settings.demonstrationIterations
      ? { labels: expertLabels(distribution, tasks, postData, spec), preLabels: holdPre ? expertLabels(distribution, tasks, preData, spec, settings.cloneDemonstrator) : undefined }
      : { advantages: postData.map((d) => laneAdvantages(d, spec.obsSize, settings.gamma, settings.lambda)) });
    const learned = performance.now();

    return {
      envSteps: lanes * (settings.adaptationEpisodes + settings.evaluationEpisodes) * spec.episodeSteps,
      meanTrialReturn: mean(before.trialReturns.map((r, i) => r + after.trialReturns[i])),
      firstEpisodeReturn: episodeReturnMean(before.episodeReturns),
      lastEpisodeReturn: episodeReturnMean(after.episodeReturns),
      firstEpisodeSuccess: successMean(before.episodeSuccess),
      lastEpisodeSuccess: successMean(after.episodeSuccess),
      // Sampling includes the inner steps between the two phases.
      samplingSeconds: (sampled - started) / 1000,
      learningSeconds: (learned - sampled) / 1000,
      metrics: { ...metrics, learningRate: settings.outerLearningRate, ...this.latentMetrics() },
    };
  }

  /** The latent Gaussian's mean std (metrics' `latentStd`), where the policy has a latent. */
  private latentMetrics(): { latentStd?: number } {
    const latent = this.latent;
    return latent ? { latentStd: tf.tidy(() => tf.mean(tf.exp(latent[1])).dataSync()[0]) } : {};
  }

  /**
   * A clone iteration: `cloneEpisodes` episodes per task, every other lane driven by the demonstrator and the
   * rest by the pre-adaptation policy (both with the policy's noise), the demonstrator's action as the label of
   * every step, then `cloneEpochs` shuffled passes of Adam on the imitation loss of theta itself (the action
   * noise left as it is). The returns and success reported are those of the lanes the policy drove.
   */
  private async cloneIteration(envs: EnvBatch, distribution: TaskDistribution, iteration: number): Promise<IterationStats> {
    const { settings, spec } = this;
    const started = performance.now();
    const tasks = distribution.trainTasks(iteration, settings.tasksPerIteration);
    const rngs = tasks.map((_, i) => rngFor(this.seed, 'actions', iteration, 'clone', i));
    // Every other lane is driven by the demonstrator (with the policy's noise), so the labelled steps always
    // include the states along its way: labels on the clone's own states alone chase the clone from one
    // mistake to the next (each iteration fits where the last one went and forgets the rest).
    const kind = settings.cloneDemonstrator;
    const drivers = tasks.map((task, i) => (i % 2 === 0 ? distribution.demonstrator!(task, kind) : null));
    // A latent input is bound to the goal: every lane acts with its task's goal code.
    const latent = this.latent ? { means: tasks.map((task) => goalCode(task, goalAxes(distribution.benchmark!))), std: null } : undefined;
    const lanes = new MamlLanes(tasks.length, spec, [this.weights()], rngs, { record: true, owner: this, drivers, latent });
    const trials = runTrials(envs, lanes, tasks, settings.cloneEpisodes, seedFor(this.seed, 'train-clone', iteration));
    const data = lanes.recorders!.map((r) => r.data());
    const labels = expertLabels(distribution, tasks, data, spec, kind);
    const sampled = performance.now();
    const loss = this.cloneSteps(data, labels, rngFor(this.seed, 'clone-batches', iteration));
    const learned = performance.now();
    // Reported: the lanes the policy drives (all of them where there is only one).
    const own = <T>(xs: T[]) => (xs.length > 1 ? xs.filter((_, i) => !drivers[i]) : xs);
    const episodeReturn = episodeReturnMean(own(trials.episodeReturns));
    const success = successMean(own(trials.episodeSuccess));
    return {
      envSteps: tasks.length * settings.cloneEpisodes * spec.episodeSteps,
      meanTrialReturn: mean(own(trials.trialReturns)),
      firstEpisodeReturn: episodeReturn,
      lastEpisodeReturn: episodeReturn,
      firstEpisodeSuccess: success,
      lastEpisodeSuccess: success,
      samplingSeconds: (sampled - started) / 1000,
      learningSeconds: (learned - sampled) / 1000,
      metrics: { cloneLoss: loss, logStd: this.meanLogStd(), learningRate: settings.cloneLearningRate, ...this.latentMetrics() },
    };
  }

  /**
   * `cloneEpochs` shuffled passes of Adam over the labelled steps of every lane, minibatches of CLONE_BATCH, on
   * imitationLoss of theta (the log std gets no gradient); the mean loss of the last pass.
   */
  cloneSteps(data: readonly LaneData[], labels: readonly Float32Array[], rng: Rng): number {
    const { spec, settings } = this;
    // The policy's inputs: the observation, then the latent it acted with (where it has one).
    const O = spec.obsSize, L = settings.latentSize, D = O + L, A = (spec.action as { size: number }).size;
    const total = data.reduce((n, d) => n + d.steps, 0);
    const obs = new Float32Array(total * D), targets = new Float32Array(total * A);
    let at = 0;
    data.forEach((d, i) => {
      for (let t = 0; t < d.steps; t++) {
        obs.set(d.obs.subarray(t * O, (t + 1) * O), (at + t) * D);
        if (L) obs.set(d.latent!.subarray(t * L, (t + 1) * L), (at + t) * D + O);
      }
      targets.set(labels[i], at * A);
      at += d.steps;
    });
    const order = Int32Array.from({ length: total }, (_, k) => k);
    const vars = this.theta.slice(0, -1) as tf.Variable[];
    const names = this.names.slice(0, -1);
    let lastPass = 0;
    for (let epoch = 0; epoch < settings.cloneEpochs; epoch++) {
      for (let k = total - 1; k > 0; k--) { const j = Math.floor(rng.next() * (k + 1)); [order[k], order[j]] = [order[j], order[k]]; }
      let passLoss = 0;
      for (let start = 0; start < total; start += CLONE_BATCH) {
        const rows = order.subarray(start, Math.min(total, start + CLONE_BATCH));
        const x = new Float32Array(rows.length * D), y = new Float32Array(rows.length * A);
        rows.forEach((r, k) => { x.set(obs.subarray(r * D, (r + 1) * D), k * D); y.set(targets.subarray(r * A, (r + 1) * A), k * A); });
        const xs = tf.tensor2d(x, [rows.length, D]), ys = tf.tensor2d(y, [rows.length, A]);
        const { value, grads } = tf.variableGrads(() => imitationLoss(this.theta, xs, ys), vars);
        passLoss += value.dataSync()[0] * rows.length / total;
        const named = new Map(names.map((n, k) => [n, grads[vars[k].name]] as const));
        this.optimizer.apply(named, settings.cloneLearningRate);
        tf.dispose([xs, ys, value, ...Object.values(grads)]);
      }
      lastPass = passLoss;
    }
    return lastPass;
  }

  /** theta' = theta + alpha * the inner policy gradient on one lane's steps (and the latent's adapted mean), as plain arrays. */
  private adaptedFrom(data: LaneData, advantages: Float32Array): Adapted {
    const step = tf.tidy(() => {
      const { theta, latent } = this.innerStep(this.tensors(data, advantages));
      return latent ? [...theta, latent] : theta;
    });
    try {
      const arrays = this.weights(step);
      return this.latent ? { weights: arrays.slice(0, -1), latent: arrays[arrays.length - 1] } : { weights: arrays, latent: null };
    } finally {
      tf.dispose(step);
    }
  }

  /**
   * The outer steps on a meta-batch: per task, the pre-adaptation steps and advantages (the inner step's data)
   * and the post-adaptation steps with what the adapted policy is judged by there: their advantages (ProMP's
   * clipped objective) or the expert's actions (imitation, in demonstration iterations).
   */
  outerUpdate(preData: LaneData[], preAdvantages: Float32Array[], postData: LaneData[], post: PostTargets): MamlIterationMetrics {
    const { settings, spec } = this;
    const T = preData.length;
    const alpha = settings.innerLearningRate;
    const klCoefVar = this.params.get('klCoef');
    const eta = klCoefVar.dataSync()[0];
    const imitation = 'labels' in post;
    // What stays fixed over the outer steps: each task's tensors, the old pre-adaptation policy's means on the
    // pre-adaptation steps, and the task's post-adaptation loss as a function of its adapted parameters (ProMP:
    // against the old adapted policy's log-probabilities of the post-adaptation actions). The post-adaptation
    // input's latent is the adapted one (adapted lanes act with its mean).
    const fixed = preData.map((data, i) => {
      const pre = this.tensors(data, preAdvantages[i]);
      const adapted = () => this.innerStep(pre);
      const oldMean = tf.tidy(() => forward(this.theta, this.preInput(pre)).mean);
      const oldLogStd = tf.clone(this.theta[this.theta.length - 1]);
      const steps = postData[i].steps;
      if (imitation) {
        const A = (spec.action as { size: number }).size;
        const postObs = tf.tensor2d(postData[i].obs, [steps, spec.obsSize]);
        const postInput = (latent: tf.Tensor1D | null) => withLatent(postObs, latent);
        const labels = tf.tensor2d(post.labels[i], [steps, A]);
        const loss = (thetaPrime: Theta, latent: tf.Tensor1D | null) => imitationLoss(thetaPrime, postInput(latent), labels);
        const preLabels = post.preLabels ? tf.tensor2d(post.preLabels[i], [data.steps, A]) : null;
        const keep = preLabels ? () => imitationLoss(this.theta, this.preInput(pre), preLabels) : null;
        return { pre, adapted, oldMean, oldLogStd, steps, loss, keep, clipped: null, kept: preLabels ? [postObs, labels, preLabels] : [postObs, labels] };
      }
      const q = this.tensors(postData[i], post.advantages[i], false);
      const postInput = (latent: tf.Tensor1D | null) => withLatent(q.obs, latent);
      const oldLogProb = tf.tidy(() => { const { theta, latent } = adapted(); return logProb(theta, postInput(latent), q.a); });
      const loss = (thetaPrime: Theta, latent: tf.Tensor1D | null) => this.clippedLoss(thetaPrime, postInput(latent), q, oldLogProb);
      const clipped = () => tf.tidy(() => {
        const { theta, latent } = adapted();
        const ratio = tf.exp(tf.sub(logProb(theta, postInput(latent), q.a), oldLogProb));
        return tf.sum(tf.cast(tf.greater(tf.abs(tf.sub(ratio, 1)), settings.clip), 'float32')).dataSync()[0];
      });
      return { pre, adapted, oldMean, oldLogStd, steps, loss, keep: null, clipped, kept: [q.obs, q.a, q.w, q.adv, oldLogProb] };
    });
    const names = this.metaNames;
    const vars = names.map((n) => this.params.get(n) as tf.Variable);
    const logStdName = this.names[this.names.length - 1];
    let outerLoss = 0, clipFraction = 0, gradNorm = 0;
    try {
      for (let step = 0; step < settings.outerSteps; step++) {
        const total = new Map<string, tf.Tensor>();
        let loss = 0, clipped = 0, count = 0;
        for (const f of fixed) {
          const { value, grads } = tf.variableGrads(() => {
            const { theta, latent } = f.adapted();
            const surrogate = f.loss(theta, latent);
            // Imitation needs no trust region: its labels do not depend on the policy that sampled.
            if (imitation) return tf.div(f.keep ? tf.add(surrogate, f.keep()) : surrogate, T) as tf.Scalar;
            const kl = gaussianKl(f.oldMean, f.oldLogStd, this.theta, this.preInput(f.pre));
            return tf.div(tf.add(surrogate, tf.mul(kl, eta)), T) as tf.Scalar;
          }, vars);
          loss += value.dataSync()[0];
          value.dispose();
          if (settings.lowVarianceCurvature) {
            const extra = this.curvatureTerm(f.pre, f.adapted, alpha, (thetaPrime, latent) => tf.div(f.loss(thetaPrime, latent), T) as tf.Scalar);
            this.names.forEach((n, k) => { const g = grads[vars[k].name]; grads[vars[k].name] = tf.add(g, extra[k]); g.dispose(); extra[k].dispose(); });
          }
          vars.forEach((v, k) => {
            const g = grads[v.name];
            const name = names[k];
            const sum = total.get(name);
            total.set(name, sum ? tf.add(sum, g) : g);
            if (sum) { sum.dispose(); g.dispose(); }
          });
          if (f.clipped && step === settings.outerSteps - 1) {
            clipped += f.clipped();
            count += f.steps;
          }
        }
        // Imitation leaves the action noise as it is: by likelihood the std would grow to cover the distance
        // between the adapted means and the expert's actions, and exploration with it.
        if (imitation) { total.get(logStdName)!.dispose(); total.delete(logStdName); }
        gradNorm = this.optimizer.apply(total);
        for (const g of total.values()) g.dispose();
        outerLoss = loss;
        if (count) clipFraction = clipped / count;
      }
      // The KL of the pre-adaptation policy the steps made, and eta's adaptation.
      let klPre = 0;
      for (const f of fixed) klPre += tf.tidy(() => gaussianKl(f.oldMean, f.oldLogStd, this.theta, this.preInput(f.pre)).dataSync()[0]) / T;
      let next = eta;
      if (settings.klTarget !== null && !imitation) {
        if (klPre < settings.klTarget / 1.5) next = eta / 2;
        else if (klPre > settings.klTarget * 1.5) next = eta * 2;
      }
      tf.tidy(() => klCoefVar.assign(tf.tensor1d([next])));
      return { outerLoss, klPre, klCoef: eta, clipFraction, gradNorm, logStd: this.meanLogStd() };
    } finally {
      for (const f of fixed) tf.dispose([f.pre.obs, f.pre.a, f.pre.w, f.pre.adv, ...(f.pre.noise ? [f.pre.noise] : []), f.oldMean, f.oldLogStd, ...f.kept]);
    }
  }

  /** ProMP's clipped surrogate (negated, to minimise) of adapted parameters on one task's post-adaptation steps. */
  private clippedLoss(adapted: Theta, x: tf.Tensor2D, post: { a: tf.Tensor2D; adv: tf.Tensor1D }, oldLogProb: tf.Tensor1D): tf.Scalar {
    const ratio = tf.exp(tf.sub(logProb(adapted, x, post.a), oldLogProb));
    const clip = this.settings.clip;
    return tf.neg(tf.mean(tf.minimum(tf.mul(ratio, post.adv), tf.mul(tf.clipByValue(ratio, 1 - clip, 1 + clip), post.adv)))) as tf.Scalar;
  }

  /**
   * ProMP's low-variance curvature term of one task's outer gradient (for theta; the latent's parameters get
   * none): alpha * mean_n A_n grad log pi_n (grad log pi_n . v), v the gradient of the task's post-adaptation
   * loss with respect to its adapted parameters (`adapted`: theta + alpha * the inner gradient on `pre`).
   */
  private curvatureTerm(pre: StepTensors, adapted: () => { theta: Theta; latent: tf.Tensor1D | null }, alpha: number, postLoss: (thetaPrime: Theta, latent: tf.Tensor1D | null) => tf.Scalar): Theta {
    return tf.tidy(() => {
      const { theta, latent } = adapted();
      // Plus 0 x the log std: tf.grads wants every input connected, and the imitation loss never reads the std.
      const v = tf.grads((...thetaPrime: tf.Tensor[]) => tf.add(postLoss(thetaPrime, latent), tf.mul(tf.sum(thetaPrime[thetaPrime.length - 1]), 0)) as tf.Scalar)(theta);
      const x = this.preInput(pre);
      const c = logProbDirectional(this.theta, x, pre.a, v);
      return innerGradient(this.theta, x, pre.a, tf.mul(tf.mul(pre.w, c), alpha) as tf.Tensor1D);
    });
  }

  state(): AlgorithmState { return weightsState(this.params, this.optimizer); }

  load(state: AlgorithmState): void { loadWeightsState(this.params, this.optimizer, state); }

  dispose(): void {
    this.optimizer.dispose();
    this.params.dispose();
  }
}

// ---------------------------------------------------------------------------------------------
// The registry entry

export const mamlDefinition: AlgorithmDefinition<MamlSettings> = {
  name: 'maml',
  summary: 'MAML: a Gaussian MLP policy adapted by one policy-gradient step per task, meta-trained with ProMP\'s clipped objective',
  settingsKey: 'maml',
  actionKinds: ['box'],
  settingsSchema: mamlSettingsSchema,
  overridesSchema: mamlSettingsSchema.partial(),
  resolve(overrides, distribution): { settings: MamlSettings } | { problems: SettingProblem[] } {
    const given = (overrides ?? {}) as Partial<MamlSettings>;
    const settings = { ...MAML_DEFAULTS, ...given };
    // Training adapts on as many episodes as the benchmark's protocol does, unless told otherwise.
    if (given.adaptationEpisodes === undefined) settings.adaptationEpisodes = distribution.protocol.adaptationEpisodes;
    for (const key of ['demonstrationIterations', 'cloneIterations'] as const) {
      const problem = settings[key] > 0 ? demonstrationsProblem(distribution) : null;
      if (problem) return { problems: [{ ...problem, path: [key] }] };
    }
    if (settings.cloneIterations > 0 && settings.cloneDemonstrator === 'searcher') {
      const noSearcher = missingSearcher(distribution);
      if (noSearcher) return { problems: [{ path: ['cloneDemonstrator'], message: noSearcher }] };
      const readsTrial = (distribution.benchmark?.trainFamilies ?? []).filter((f) => getFamily(f).searcherReadsTrial);
      if (readsTrial.length > 0) return { problems: [{ path: ['cloneDemonstrator'], message: `searcher: the searcher of ${readsTrial.join(', ')} acts on the trial's past rewards and actions, which MAML's policy does not see (RL2's does: rl2.demonstrator: searcher); use expert` }] };
    }
    if (settings.latentSize > 0 && settings.cloneIterations > 0) {
      // Clone iterations bind the latent to the goal code; the demonstrator must then be the goal-knowing expert.
      const axes = distribution.benchmark ? goalAxes(distribution.benchmark) : [];
      if (settings.latentSize !== axes.length) return { problems: [{ path: ['latentSize'], message: `clone iterations teach the latent to be the task's goal code, and ${distribution.name}'s goals vary along ${axes.length} axes (${axes.map((a) => 'xyz'[a]).join(', ')}): use latentSize ${axes.length}, or 0 for no latent` }] };
      if (settings.cloneDemonstrator !== 'expert') return { problems: [{ path: ['cloneDemonstrator'], message: 'searcher: with a latent (latentSize > 0) clone iterations bind it to the goal, which only the expert acts on; use expert' }] };
    }
    return { settings };
  },
  withDefaults: (saved) => ({ ...MAML_DEFAULTS, ...(saved as Partial<MamlSettings>) }),
  create: async (spec, settings, seed) => new Maml(spec, settings, seed),
};
