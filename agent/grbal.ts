// GrBAL, model-based meta-RL (Nagabandi, Clavera et al. 2019, arXiv:1803.11347), for box-action robot
// benchmarks (MetaWorld). Reads top to bottom: settings, the model (an MLP predicting the observation's
// change and the reward from observation and action) and its normalisation, the meta-objective with its
// hand-written inner gradient, the model in JavaScript for acting (online adaptation, random-shooting MPC
// through agent/mpc.ts), the lane policy, then the learner: data gathering, meta-training, checkpoints.
//
// A task's reward and dynamics are learned together, since MetaWorld hides the goal: the reward must be
// inferred from the rewards seen. Adaptation is one gradient step of the model's loss on the task's M
// latest transitions, theta' = theta - alpha * grad L_M(theta); meta-training makes that step useful:
// over segments of M past and K future transitions of one trajectory, minimise L_K(theta'(theta)), the
// loss on the K next steps after adapting on the M before them. alpha is per parameter tensor and
// meta-learned (log alpha trained with theta, `learnInnerStepSize`).
//
// Second order, as agent/maml.ts: the inner gradient is written out as tensor ops (innerGradient, the
// MLP's backward pass by hand, per segment), so an ordinary first-order tfjs gradient of
// L_K(theta - alpha * innerGradient(theta)) is GrBAL's exact second-order meta-gradient (the ReLU's
// derivative is a step function whose own derivative is zero; test/agent/grbal.test.ts checks the whole
// against finite differences).
//
// Acting: at every replanning step (every `replanEvery` control steps) each lane adapts the model by the
// inner step on its task's M latest transitions (the trial's, across its episodes: the task is the same),
// then plans by random shooting (`candidates` uniform sequences of `horizon` steps through the adapted
// model; agent/mpc.ts) and executes the best sequence's first `replanEvery` actions. The model runs in
// JavaScript when acting (no kernel calls per lane, the same numbers on every backend).

import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import type { AlgorithmDefinition, AlgorithmState, IterationStats, SettingProblem, TrainableAlgorithm } from './algorithm.ts';
import type { EnvBatch } from './batch-env.ts';
import type { EnvSpec, TaskDistribution } from './envs.ts';
import type { EpisodeRecord, LanePolicy } from './meta.ts';
import { RandomShooting, type TransitionModel } from './mpc.ts';
import { Adam, Params, addDense, loadWeightsState, weightsState } from './nn.ts';
import { type Rng, gaussian, rngFor, seedFor } from './random.ts';
import { ReplayBuffer } from './replay.ts';
import { type TrialStats, runTrials } from './rollout.ts';
import { int, positive } from './schema.ts';

// ---------------------------------------------------------------------------------------------
// Settings

export interface GrbalSettings {
  /** Training tasks gathering data per iteration (lanes). */
  tasksPerIteration: number;
  /** Episodes per task per iteration (one trial: the lane's adaptation carries across them). */
  episodesPerTask: number;
  /** The first iterations act uniformly at random (the model knows nothing yet). */
  randomIterations: number;
  /** Gaussian noise (std) added to the planner's actions while gathering training data. */
  actionNoise: number;
  /** Hidden ReLU layers of the model. */
  hidden: number[];
  /** M: transitions the inner step adapts on. */
  pastSteps: number;
  /** K: transitions after them the adapted model is scored on (meta-training). */
  futureSteps: number;
  /** The inner step size alpha (initial value when learned). */
  innerLearningRate: number;
  /** Meta-learn alpha, one per parameter tensor. */
  learnInnerStepSize: boolean;
  /** Weight of the reward's squared error beside the mean over the observation change's entries. */
  rewardWeight: number;
  /** Segments per meta-gradient step. */
  metaBatch: number;
  /** Meta-gradient (Adam) steps per iteration. */
  metaSteps: number;
  learningRate: number;
  /** Gradient-norm clip of the meta-gradient (null: none). */
  maxGradNorm: number | null;
  /** Transitions kept per training task (the oldest are overwritten). */
  capacityPerTask: number;
  /** N: the planner's candidate sequences. */
  candidates: number;
  /** H: steps per candidate sequence. */
  horizon: number;
  /** Plan (and adapt) every this many control steps, executing that many actions of each plan. */
  replanEvery: number;
}

export const GRBAL_DEFAULTS: GrbalSettings = {
  tasksPerIteration: 10,
  episodesPerTask: 1,
  randomIterations: 1,
  actionNoise: 0.1,
  hidden: [64, 64],
  pastSteps: 16,
  futureSteps: 16,
  innerLearningRate: 0.05,
  learnInnerStepSize: true,
  rewardWeight: 1,
  metaBatch: 32,
  metaSteps: 50,
  learningRate: 1e-3,
  maxGradNorm: 10,
  capacityPerTask: 5000,
  candidates: 64,
  horizon: 8,
  replanEvery: 2,
};

export const grbalSettingsSchema = z.object({
  tasksPerIteration: int(1),
  episodesPerTask: int(1),
  randomIterations: int(0),
  actionNoise: z.number().min(0),
  hidden: z.array(int(1)),
  pastSteps: int(1),
  futureSteps: int(1),
  innerLearningRate: z.number().min(0),
  learnInnerStepSize: z.boolean(),
  rewardWeight: z.number().min(0),
  metaBatch: int(1),
  metaSteps: int(0),
  learningRate: positive,
  maxGradNorm: positive.nullable(),
  capacityPerTask: int(1),
  candidates: int(1),
  horizon: int(1),
  replanEvery: int(1),
}).strict();

// ---------------------------------------------------------------------------------------------
// The model: an MLP on the normalised (observation, action) predicting the normalised (observation
// change, reward). Parameters in Theta order: per hidden layer w [in, out] and b [out], then the output
// layer's. Normalisation (means and standard deviations from the whole dataset, refreshed every
// iteration) is saved with the weights; an entry whose spread is below STD_FLOOR is constant: as an
// input it is read as 0, as a target it is not learned and predicted as its mean (the goal's zeros, the
// resting object's pose).

export type Theta = tf.Tensor[];

const STD_FLOOR = 1e-4;

export interface ModelShape { obsSize: number; actionSize: number; hidden: readonly number[] }

/** Inputs (observation, action) and outputs (observation change, reward) of the model. */
const inputsOf = (shape: ModelShape) => shape.obsSize + shape.actionSize;
const outputsOf = (shape: ModelShape) => shape.obsSize + 1;

/** The weight names, in Theta order. */
export function parameterNames(hidden: readonly number[]): string[] {
  return [...hidden.flatMap((_, i) => [`layer${i}/w`, `layer${i}/b`]), 'out/w', 'out/b'];
}

/** Means and standard deviations (0: constant entry) of the model's inputs and targets. */
export interface Normalisation { inputMean: Float32Array; inputStd: Float32Array; targetMean: Float32Array; targetStd: Float32Array }

const inverse = (std: ArrayLike<number>) => Float32Array.from(std, (s) => (s > 0 ? 1 / s : 0));

/**
 * Loss weight of each output: the observation change's live entries share weight 1 (their mean), the
 * reward gets `rewardWeight`, constant entries 0.
 */
export function outputWeights(norm: Normalisation, rewardWeight: number): Float32Array {
  const D = norm.targetStd.length - 1;
  let live = 0;
  for (let k = 0; k < D; k++) if (norm.targetStd[k] > 0) live++;
  const weights = new Float32Array(D + 1);
  for (let k = 0; k < D; k++) weights[k] = norm.targetStd[k] > 0 ? 1 / live : 0;
  weights[D] = norm.targetStd[D] > 0 ? rewardWeight : 0;
  return weights;
}

/** A new model's parameters from (seed, 'grbal-init'): He-scaled ReLU layers, the output layer at gain 0.1. */
export function modelParams(shape: ModelShape, seed: number): Params {
  const params = new Params();
  const rng = rngFor(seed, 'grbal-init');
  let inputs = inputsOf(shape);
  shape.hidden.forEach((units, i) => { addDense(params, rng, `layer${i}`, inputs, units, Math.SQRT2); inputs = units; });
  addDense(params, rng, 'out', inputs, outputsOf(shape), 0.1);
  return params;
}

/** Post-activations (hs[0] = x), the ReLUs' derivatives (1 where the unit is on) and the output, shared weights. */
function forward(theta: Theta, x: tf.Tensor2D): { hs: tf.Tensor2D[]; on: tf.Tensor2D[]; out: tf.Tensor2D } {
  const layers = theta.length / 2 - 1;
  const hs = [x], on: tf.Tensor2D[] = [];
  for (let i = 0; i < layers; i++) {
    const pre = tf.add(tf.matMul(hs[i], theta[2 * i] as tf.Tensor2D), theta[2 * i + 1]) as tf.Tensor2D;
    on.push(tf.step(pre));
    hs.push(tf.relu(pre));
  }
  return { hs, on, out: tf.add(tf.matMul(hs[layers], theta[2 * layers] as tf.Tensor2D), theta[2 * layers + 1]) as tf.Tensor2D };
}

/** The output with one weight set per segment: x [B, R, in], weights [B, in, out] and biases [B, out]. */
function forwardPerSegment(thetas: Theta, x: tf.Tensor3D): tf.Tensor3D {
  const layers = thetas.length / 2 - 1;
  let h = x;
  for (let i = 0; i <= layers; i++) {
    const z = tf.add(tf.matMul(h, thetas[2 * i] as tf.Tensor3D), tf.expandDims(thetas[2 * i + 1], 1)) as tf.Tensor3D;
    h = i < layers ? tf.relu(z) : z;
  }
  return h;
}

/** Segments of transitions as the meta-objective reads them (normalised), with per-row weights (mask / real rows). */
export interface SegmentTensors {
  /** [B, M, in], [B, M, out], [B, M]: the past the inner step adapts on. */
  pastX: tf.Tensor3D; pastY: tf.Tensor3D; pastW: tf.Tensor2D;
  /** [B, K, in], [B, K, out], [B, K]: the future the adapted model is scored on. */
  futureX: tf.Tensor3D; futureY: tf.Tensor3D; futureW: tf.Tensor2D;
}

/** Sum over rows of w_row * sum_j c_j (out - y)^2, averaged over the segments. */
function weightedLoss(out: tf.Tensor3D, y: tf.Tensor3D, w: tf.Tensor2D, columns: tf.Tensor1D): tf.Scalar {
  const perRow = tf.sum(tf.mul(tf.square(tf.sub(out, y)), columns), 2);
  return tf.div(tf.sum(tf.mul(perRow, w)), out.shape[0]) as tf.Scalar;
}

/**
 * grad_theta L_b(theta) for every segment b, L_b = sum_m w_bm sum_j c_j (f_theta(x_bm)_j - y_bmj)^2:
 * the MLP's backward pass written as tensor ops, so that it is itself differentiable (the meta-gradient
 * goes through it). Weight gradients come out per segment, [B, in, out] and [B, out].
 */
export function innerGradient(theta: Theta, x: tf.Tensor3D, y: tf.Tensor3D, w: tf.Tensor2D, columns: tf.Tensor1D): Theta {
  const [B, R] = x.shape;
  const layers = theta.length / 2 - 1;
  const { hs, on, out } = forward(theta, tf.reshape(x, [B * R, x.shape[2]]));
  const dOut = tf.mul(tf.mul(tf.sub(out, tf.reshape(y, [B * R, y.shape[2]])), tf.mul(columns, 2)), tf.reshape(w, [B * R, 1])) as tf.Tensor2D;
  const grads: Theta = new Array(theta.length);
  let dz = dOut;
  for (let i = layers; i >= 0; i--) {
    const width = hs[i].shape[1], units = dz.shape[1];
    const perSegmentDz = tf.reshape(dz, [B, R, units]);
    grads[2 * i] = tf.matMul(tf.transpose(tf.reshape(hs[i], [B, R, width]), [0, 2, 1]), perSegmentDz);
    grads[2 * i + 1] = tf.sum(perSegmentDz, 1);
    if (i > 0) dz = tf.mul(tf.matMul(dz, tf.transpose(theta[2 * i] as tf.Tensor2D)), on[i - 1]) as tf.Tensor2D;
  }
  return grads;
}

/** theta'_b = theta - alpha_k * g_b,k for every segment b: weights [B, in, out], biases [B, out]. */
function adaptedPerSegment(theta: Theta, grads: Theta, stepSizes: tf.Tensor1D): Theta {
  const alphas = tf.unstack(stepSizes);
  return theta.map((t, k) => tf.sub(tf.expandDims(t, 0), tf.mul(grads[k], alphas[k])));
}

/** The future's loss under one weight set per segment (weights [B, in, out], biases [B, out]), averaged over the segments. */
export function futureLoss(thetas: Theta, segments: SegmentTensors, columns: tf.Tensor1D): tf.Scalar {
  return weightedLoss(forwardPerSegment(thetas, segments.futureX), segments.futureY, segments.futureW, columns);
}

/**
 * GrBAL's meta-objective: the future's loss under the model adapted on the past, per segment, averaged.
 * `scored` weighs the future's outputs differently from the adaptation's (reports: the reward alone).
 */
export function metaLoss(theta: Theta, stepSizes: tf.Tensor1D, segments: SegmentTensors, columns: tf.Tensor1D, scored: tf.Tensor1D = columns): tf.Scalar {
  const grads = innerGradient(theta, segments.pastX, segments.pastY, segments.pastW, columns);
  return futureLoss(adaptedPerSegment(theta, grads, stepSizes), segments, scored);
}

/** The future's loss under the unadapted model (what adaptation gains is the difference). */
function unadaptedLoss(theta: Theta, segments: SegmentTensors, columns: tf.Tensor1D): tf.Scalar {
  const [B, K, I] = segments.futureX.shape;
  const { out } = forward(theta, tf.reshape(segments.futureX, [B * K, I]));
  return weightedLoss(tf.reshape(out, [B, K, out.shape[1]]), segments.futureY, segments.futureW, columns);
}

// ---------------------------------------------------------------------------------------------
// The model in JavaScript, for acting: only the live inputs' rows of the first layer and the live
// outputs' columns of the last (constant inputs read as 0 and constant targets have no loss, so the
// rest neither acts nor adapts), the inner step by hand in float64, and the TransitionModel the planner
// rolls out.

interface Layer { w: Float32Array; b: Float32Array; inputs: number; outputs: number }

export class ActingModel implements TransitionModel {
  readonly obsSize: number;
  readonly actionSize: number;
  /** Model input k of each live input, model output j of each live output. */
  private readonly liveInputs: Int32Array;
  private readonly liveOutputs: Int32Array;
  private readonly inputMean: Float32Array; private readonly inputInv: Float32Array;
  private readonly targetMean: Float32Array; private readonly targetStd: Float32Array; private readonly targetInv: Float32Array;
  /** Loss weights of the live outputs. */
  private readonly columns: Float32Array;
  private scratch: Float64Array[] = [];

  /** From the full weights (Theta order, row-major) and the normalisation. */
  static fromWeights(shape: ModelShape, weights: Float32Array[], norm: Normalisation, rewardWeight: number): ActingModel {
    const I = inputsOf(shape), O = outputsOf(shape);
    const liveInputs = Int32Array.from([...Array(I).keys()].filter((k) => norm.inputStd[k] > 0));
    const liveOutputs = Int32Array.from([...Array(O).keys()].filter((j) => norm.targetStd[j] > 0));
    const layers = weights.length / 2;
    const compact: Layer[] = [];
    for (let l = 0; l < layers; l++) {
      let w = weights[2 * l], b = weights[2 * l + 1];
      let inputs = w.length / b.length, outputs = b.length;
      if (l === 0) {
        const rows = new Float32Array(liveInputs.length * outputs);
        liveInputs.forEach((k, r) => rows.set(w.subarray(k * outputs, (k + 1) * outputs), r * outputs));
        w = rows;
        inputs = liveInputs.length;
      }
      if (l === layers - 1) {
        const cols = new Float32Array(inputs * liveOutputs.length);
        for (let r = 0; r < inputs; r++) liveOutputs.forEach((j, c) => { cols[r * liveOutputs.length + c] = w[r * outputs + j]; });
        w = cols;
        b = Float32Array.from(liveOutputs, (j) => b[j]);
        outputs = liveOutputs.length;
      }
      compact.push({ w: l === 0 || l === layers - 1 ? w : w.slice(), b: b.slice(), inputs, outputs });
    }
    const columns = outputWeights(norm, rewardWeight);
    return new ActingModel(shape, compact, liveInputs, liveOutputs, norm, Float32Array.from(liveOutputs, (j) => columns[j]));
  }

  private constructor(shape: ModelShape, readonly layers: Layer[], liveInputs: Int32Array, liveOutputs: Int32Array, readonly norm: Normalisation, columns: Float32Array) {
    this.obsSize = shape.obsSize;
    this.actionSize = shape.actionSize;
    this.liveInputs = liveInputs;
    this.liveOutputs = liveOutputs;
    this.inputMean = norm.inputMean; this.inputInv = inverse(norm.inputStd);
    this.targetMean = norm.targetMean; this.targetStd = norm.targetStd; this.targetInv = inverse(norm.targetStd);
    this.columns = columns;
  }

  /** The compact weights, layer by layer (w, b): for the test that holds them against the tfjs inner step. */
  get compactWeights(): Float32Array[] { return this.layers.flatMap((l) => [l.w, l.b]); }

  /** Which model inputs and outputs the compact weights keep. */
  get live(): { inputs: Int32Array; outputs: Int32Array } { return { inputs: this.liveInputs, outputs: this.liveOutputs }; }

  /** Normalised live inputs of `rows` (obs, action) pairs, rows x liveInputs. */
  private inputs(obs: ArrayLike<number>, actions: ArrayLike<number>, rows: number, out: Float64Array): void {
    const D = this.obsSize, A = this.actionSize, n = this.liveInputs.length;
    for (let r = 0; r < rows; r++) {
      for (let i = 0; i < n; i++) {
        const k = this.liveInputs[i];
        const v = k < D ? obs[r * D + k] : actions[r * A + k - D];
        out[r * n + i] = (v - this.inputMean[k]) * this.inputInv[k];
      }
    }
  }

  /** Activations of every layer for `rows` inputs: acts[0] = x, acts[l + 1] = layer l's output (ReLU but the last). */
  private run(x: Float64Array, rows: number, keep: boolean): Float64Array[] {
    const acts = [x];
    this.layers.forEach((layer, l) => {
      const size = rows * layer.outputs;
      let out = keep ? new Float64Array(size) : this.scratch[l];
      if (!out || out.length < size) out = this.scratch[l] = new Float64Array(size);
      const input = acts[l], { w, b, inputs, outputs } = layer;
      const last = l === this.layers.length - 1;
      for (let r = 0; r < rows; r++) {
        const o = r * outputs;
        for (let j = 0; j < outputs; j++) out[o + j] = b[j];
        for (let k = 0; k < inputs; k++) {
          const v = input[r * inputs + k];
          if (v === 0) continue;
          const row = k * outputs;
          for (let j = 0; j < outputs; j++) out[o + j] += v * w[row + j];
        }
        if (!last) for (let j = 0; j < outputs; j++) if (out[o + j] < 0) out[o + j] = 0;
      }
      acts.push(out);
    });
    return acts;
  }

  predict(obs: Float32Array, actions: Float32Array, rows: number, nextObs: Float32Array, rewards: Float64Array): void {
    const D = this.obsSize, n = this.liveInputs.length, m = this.liveOutputs.length;
    const x = new Float64Array(rows * n);
    this.inputs(obs, actions, rows, x);
    const acts = this.run(x, rows, false);
    const out = acts[acts.length - 1];
    for (let r = 0; r < rows; r++) {
      // Constant entries change by their mean; live ones by the denormalised prediction.
      for (let k = 0; k < D; k++) nextObs[r * D + k] = obs[r * D + k] + this.targetMean[k];
      rewards[r] = this.targetMean[D];
      for (let c = 0; c < m; c++) {
        const j = this.liveOutputs[c];
        const value = out[r * m + c] * this.targetStd[j];
        if (j < D) nextObs[r * D + j] += value;
        else rewards[r] += value;
      }
    }
  }

  /**
   * The model after GrBAL's inner step on `rows` transitions (the same loss and step as innerGradient and
   * adaptedPerSegment, each row weighted 1 / rows); `stepSizes` per weight tensor in Theta order.
   */
  adapted(transitions: { obs: ArrayLike<number>; actions: ArrayLike<number>; rewards: ArrayLike<number>; nextObs: ArrayLike<number>; rows: number }, stepSizes: ArrayLike<number>): ActingModel {
    const { rows } = transitions;
    if (rows === 0) return this;
    const D = this.obsSize, n = this.liveInputs.length, m = this.liveOutputs.length;
    const x = new Float64Array(rows * n);
    this.inputs(transitions.obs, transitions.actions, rows, x);
    const acts = this.run(x, rows, true);
    // dL/dout for the live outputs: 2 c_j (out - y) / rows.
    let dz = new Float64Array(rows * m);
    const out = acts[acts.length - 1];
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < m; c++) {
        const j = this.liveOutputs[c];
        const raw = j < D ? transitions.nextObs[r * D + j] - transitions.obs[r * D + j] : transitions.rewards[r];
        const y = (raw - this.targetMean[j]) * this.targetInv[j];
        dz[r * m + c] = (2 * this.columns[c] * (out[r * m + c] - y)) / rows;
      }
    }
    const layers: Layer[] = new Array(this.layers.length);
    for (let l = this.layers.length - 1; l >= 0; l--) {
      const { w, b, inputs, outputs } = this.layers[l];
      const h = acts[l];
      const alphaW = stepSizes[2 * l], alphaB = stepSizes[2 * l + 1];
      const gw = new Float64Array(inputs * outputs), gb = new Float64Array(outputs);
      for (let r = 0; r < rows; r++) {
        for (let j = 0; j < outputs; j++) gb[j] += dz[r * outputs + j];
        for (let k = 0; k < inputs; k++) {
          const v = h[r * inputs + k];
          if (v === 0) continue;
          for (let j = 0; j < outputs; j++) gw[k * outputs + j] += v * dz[r * outputs + j];
        }
      }
      if (l > 0) {
        // Back through the layer (old weights) and the ReLU below it.
        const dh = new Float64Array(rows * inputs);
        for (let r = 0; r < rows; r++) {
          for (let k = 0; k < inputs; k++) {
            if (h[r * inputs + k] <= 0) continue;
            let s = 0;
            for (let j = 0; j < outputs; j++) s += dz[r * outputs + j] * w[k * outputs + j];
            dh[r * inputs + k] = s;
          }
        }
        dz = dh;
      }
      layers[l] = {
        w: Float32Array.from(w, (v, i) => v - alphaW * gw[i]),
        b: Float32Array.from(b, (v, j) => v - alphaB * gb[j]),
        inputs, outputs,
      };
    }
    const model = new ActingModel({ obsSize: D, actionSize: this.actionSize, hidden: [] }, layers, this.liveInputs, this.liveOutputs, this.norm, this.columns);
    return model;
  }
}

// ---------------------------------------------------------------------------------------------
// Acting: one lane per task; each keeps its trial's latest M transitions, adapts and plans every
// `replanEvery` steps. Gathering training data, it also hands each finished transition to `record`
// (an episode's last transition is dropped: its next observation is never seen, the batch resets).

/** What a lane policy acts with: the model as arrays, the step sizes, and the acting settings. */
interface ActingSnapshot { model: ActingModel; stepSizes: Float32Array }

export interface Transition { obs: Float32Array; action: Float32Array; reward: number; nextObs: Float32Array }

type LaneMode = 'plan' | 'random';

/** A lane's recent transitions (a ring of M) and its plan. */
class LaneMemory {
  readonly obs: Float32Array; readonly actions: Float32Array; readonly rewards: Float32Array; readonly nextObs: Float32Array;
  count = 0;
  private head = 0;
  plan: Float32Array | null = null;
  planStep = 0;
  episodeStep = 0;
  /** The last action's observation and action, until its reward and next observation come. */
  readonly pendingObs: Float32Array; readonly pendingAction: Float32Array;
  pendingReward = 0;
  pending = false;

  constructor(readonly capacity: number, readonly obsSize: number, readonly actionSize: number) {
    this.obs = new Float32Array(capacity * obsSize);
    this.actions = new Float32Array(capacity * actionSize);
    this.rewards = new Float32Array(capacity);
    this.nextObs = new Float32Array(capacity * obsSize);
    this.pendingObs = new Float32Array(obsSize);
    this.pendingAction = new Float32Array(actionSize);
  }

  push(t: Transition): void {
    const i = this.head;
    this.obs.set(t.obs, i * this.obsSize);
    this.actions.set(t.action, i * this.actionSize);
    this.rewards[i] = t.reward;
    this.nextObs.set(t.nextObs, i * this.obsSize);
    this.head = (i + 1) % this.capacity;
    this.count = Math.min(this.count + 1, this.capacity);
  }

  /** The stored transitions, oldest first. */
  latest(): { obs: Float32Array; actions: Float32Array; rewards: Float32Array; nextObs: Float32Array; rows: number } {
    const n = this.count, D = this.obsSize, A = this.actionSize;
    const start = (this.head - n + this.capacity) % this.capacity;
    const obs = new Float32Array(n * D), actions = new Float32Array(n * A), rewards = new Float32Array(n), nextObs = new Float32Array(n * D);
    for (let r = 0; r < n; r++) {
      const i = (start + r) % this.capacity;
      obs.set(this.obs.subarray(i * D, (i + 1) * D), r * D);
      actions.set(this.actions.subarray(i * A, (i + 1) * A), r * A);
      rewards[r] = this.rewards[i];
      nextObs.set(this.nextObs.subarray(i * D, (i + 1) * D), r * D);
    }
    return { obs, actions, rewards, nextObs, rows: n };
  }
}

export class GrbalLanes implements LanePolicy {
  private readonly memory: LaneMemory[];
  private readonly planner: RandomShooting;
  private readonly actionsOut: Float32Array;
  /** Seconds spent adapting and planning (the iteration's timings). */
  adaptSeconds = 0;
  planSeconds = 0;

  constructor(
    readonly lanes: number,
    private readonly spec: EnvSpec,
    private readonly settings: GrbalSettings,
    private readonly snapshot: ActingSnapshot,
    readonly rngs: readonly Rng[],
    private readonly options: { mode: LaneMode; actionNoise: number; owner: object; record?: (lane: number, transition: Transition, episodeStep: number) => void },
  ) {
    if (spec.action.kind !== 'box') throw new Error('grbal: needs a box action space');
    const A = spec.action.size;
    this.memory = Array.from({ length: lanes }, () => new LaneMemory(settings.pastSteps, spec.obsSize, A));
    this.planner = new RandomShooting(spec.obsSize, A, { candidates: settings.candidates, horizon: settings.horizon, low: spec.action.low, high: spec.action.high });
    this.actionsOut = new Float32Array(lanes * A);
  }

  get owner(): object { return this.options.owner; }

  act(obs: Float32Array): Float32Array {
    const D = this.spec.obsSize, box = this.spec.action as { size: number; low: number; high: number }, A = box.size;
    for (let i = 0; i < this.lanes; i++) {
      const lane = this.memory[i], rng = this.rngs[i];
      const x = obs.subarray(i * D, (i + 1) * D);
      if (lane.pending) {
        const transition = { obs: lane.pendingObs.slice(), action: lane.pendingAction.slice(), reward: lane.pendingReward, nextObs: x.slice() };
        lane.push(transition);
        this.options.record?.(i, transition, lane.episodeStep - 1);
        lane.pending = false;
      }
      const out = this.actionsOut.subarray(i * A, (i + 1) * A);
      if (this.options.mode === 'random') {
        for (let k = 0; k < A; k++) out[k] = rng.uniform(box.low, box.high);
      } else {
        if (!lane.plan || lane.planStep >= Math.min(this.settings.replanEvery, this.settings.horizon)) {
          const started = performance.now();
          const model = this.snapshot.model.adapted(lane.latest(), this.snapshot.stepSizes);
          const adapted = performance.now();
          lane.plan = this.planner.plan(model, x, rng).actions;
          lane.planStep = 0;
          this.adaptSeconds += (adapted - started) / 1000;
          this.planSeconds += (performance.now() - adapted) / 1000;
        }
        out.set(lane.plan.subarray(lane.planStep * A, (lane.planStep + 1) * A));
        lane.planStep++;
        if (this.options.actionNoise > 0) for (let k = 0; k < A; k++) out[k] = Math.min(box.high, Math.max(box.low, out[k] + this.options.actionNoise * gaussian(rng)));
      }
      lane.pendingObs.set(x);
      lane.pendingAction.set(out);
    }
    return this.actionsOut;
  }

  observe(rewards: ArrayLike<number>, dones: ArrayLike<number>): void {
    for (let i = 0; i < this.lanes; i++) {
      const lane = this.memory[i];
      lane.pendingReward = rewards[i];
      lane.pending = !dones[i];
      lane.episodeStep = dones[i] ? 0 : lane.episodeStep + 1;
      // A new episode starts from another state: plan afresh.
      if (dones[i]) lane.plan = null;
    }
  }

  dispose(): void {}
}

// ---------------------------------------------------------------------------------------------
// The learner

/** The replay's fields per transition. */
const layoutOf = (spec: EnvSpec) => ({ obs: spec.obsSize, action: (spec.action as { size: number }).size, reward: 1, nextObs: spec.obsSize });

/** A checkpoint state with its large binary parts (the dataset), kept beside the checkpoint JSON. */
type StateWithBlobs = AlgorithmState & { blobs?: Record<string, Uint8Array> };

export class Grbal implements TrainableAlgorithm {
  readonly name = 'grbal';
  /** Adaptation is online, from the lanes' own transitions; adapt() reads no episode records. */
  readonly adaptUsesEpisodes = false;
  readonly params: Params;
  readonly optimizer: Adam;
  readonly names: string[];
  readonly shape: ModelShape;
  /** The dataset, a ring per training task: made at the first iteration (or loaded from a checkpoint). */
  replay: ReplayBuffer | null = null;

  constructor(readonly spec: EnvSpec, readonly settings: GrbalSettings, readonly seed: number) {
    if (spec.action.kind !== 'box') throw new Error('grbal: needs a box action space');
    this.shape = { obsSize: spec.obsSize, actionSize: spec.action.size, hidden: settings.hidden };
    this.params = modelParams(this.shape, seed);
    this.names = parameterNames(settings.hidden);
    this.params.add('logStepSize', [this.names.length], new Float32Array(this.names.length).fill(Math.log(Math.max(settings.innerLearningRate, 1e-30))), settings.learnInnerStepSize);
    const I = inputsOf(this.shape), O = outputsOf(this.shape);
    this.params.add('norm/inputMean', [I], new Float32Array(I), false);
    this.params.add('norm/inputStd', [I], new Float32Array(I).fill(1), false);
    this.params.add('norm/targetMean', [O], new Float32Array(O), false);
    this.params.add('norm/targetStd', [O], new Float32Array(O).fill(1), false);
    this.optimizer = new Adam(this.params, { learningRate: settings.learningRate, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, maxGradNorm: settings.maxGradNorm ?? Infinity });
  }

  /** The dataset for `distribution`'s training tasks (one ring each, indexed as the benchmark lists them). */
  private dataset(distribution: TaskDistribution): ReplayBuffer {
    const tasks = distribution.benchmark!.train.length;
    this.replay ??= new ReplayBuffer({ tasks, capacityPerTask: this.settings.capacityPerTask, layout: layoutOf(this.spec) });
    if (this.replay.tasks !== tasks) throw new Error(`grbal: the dataset holds ${this.replay.tasks} training tasks, ${distribution.name} has ${tasks}`);
    return this.replay;
  }

  get trainingLanes(): number { return this.settings.tasksPerIteration; }

  get theta(): Theta { return this.names.map((n) => this.params.get(n)); }

  get normalisation(): Normalisation {
    const read = (name: string) => Float32Array.from(this.params.get(`norm/${name}`).dataSync() as Float32Array);
    return { inputMean: read('inputMean'), inputStd: read('inputStd'), targetMean: read('targetMean'), targetStd: read('targetStd') };
  }

  /** What the lanes act with: the model as arrays and the inner step sizes. */
  private snapshot(): ActingSnapshot {
    const weights = this.theta.map((t) => Float32Array.from(t.dataSync() as Float32Array));
    const stepSizes = Float32Array.from(this.params.get('logStepSize').dataSync() as Float32Array, Math.exp);
    return { model: ActingModel.fromWeights(this.shape, weights, this.normalisation, this.settings.rewardWeight), stepSizes };
  }

  explorationPolicy(lanes: number, options: { seed: number; deterministic?: boolean }): GrbalLanes {
    const rngs = Array.from({ length: lanes }, (_, i) => rngFor(options.seed, 'mpc', i));
    return new GrbalLanes(lanes, this.spec, this.settings, this.snapshot(), rngs, { mode: 'plan', actionNoise: 0, owner: this });
  }

  /** The lanes go on adapting online from their own transitions: the adapted policy is the same one. */
  adapt(policy: LanePolicy, _episodes: EpisodeRecord[][]): LanePolicy {
    if (!(policy instanceof GrbalLanes) || policy.owner !== this) throw new Error('grbal: adapt() takes the exploration policy this learner made');
    return policy;
  }

  /**
   * One iteration: a trial of `episodesPerTask` episodes on each of `tasksPerIteration` training tasks
   * (random actions in the first `randomIterations`, then the planner with online adaptation and action
   * noise), every transition into the task's replay ring; the normalisation from the whole dataset; then
   * `metaSteps` Adam steps of the meta-objective on segments sampled from it.
   */
  async iterate(envs: EnvBatch, distribution: TaskDistribution, iteration: number): Promise<IterationStats> {
    const { settings, spec } = this;
    const started = performance.now();
    const tasks = distribution.trainTasks(iteration, settings.tasksPerIteration);
    const train = distribution.benchmark!.train;
    const slots = tasks.map((task) => train.indexOf(task));
    const replay = this.dataset(distribution);
    const rngs = tasks.map((_, i) => rngFor(this.seed, 'actions', iteration, i));
    const mode: LaneMode = iteration < settings.randomIterations ? 'random' : 'plan';
    const lanes = new GrbalLanes(tasks.length, spec, settings, this.snapshot(), rngs, {
      mode, actionNoise: settings.actionNoise, owner: this,
      record: (lane, t, step) => replay.add(slots[lane], { obs: t.obs, action: t.action, reward: t.reward, nextObs: t.nextObs }, step),
    });
    const trial = runTrials(envs, lanes, tasks, settings.episodesPerTask, seedFor(this.seed, 'train', iteration));
    const sampled = performance.now();
    this.refreshNormalisation(replay);
    const metrics = this.metaTrain(replay, iteration);
    const learned = performance.now();

    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
    const episode = (t: TrialStats, e: number) => ({ ret: mean(t.episodeReturns.map((r) => r[e])), success: mean(t.episodeSuccess.map((s) => (s[e] ? 1 : 0))) });
    const first = episode(trial, 0), last = episode(trial, settings.episodesPerTask - 1);
    return {
      envSteps: tasks.length * settings.episodesPerTask * spec.episodeSteps,
      meanTrialReturn: mean(trial.trialReturns),
      firstEpisodeReturn: first.ret, lastEpisodeReturn: last.ret,
      firstEpisodeSuccess: first.success, lastEpisodeSuccess: last.success,
      samplingSeconds: (sampled - started) / 1000,
      learningSeconds: (learned - sampled) / 1000,
      metrics: { ...metrics, transitions: replay.totalSize(), adaptingSeconds: lanes.adaptSeconds, planningSeconds: lanes.planSeconds },
    };
  }

  /** Means and standard deviations of inputs and targets over every stored transition (float64, task by task). */
  refreshNormalisation(replay: ReplayBuffer): void {
    const D = this.spec.obsSize, A = this.shape.actionSize, I = D + A, O = D + 1;
    const sum = new Float64Array(I + O), square = new Float64Array(I + O);
    let n = 0;
    const visit = (f: (values: Float64Array) => void) => {
      const values = new Float64Array(I + O);
      for (let task = 0; task < replay.tasks; task++) {
        const size = replay.size(task);
        if (size === 0) continue;
        const { fields } = replay.last(task, size);
        for (let r = 0; r < size; r++) {
          for (let k = 0; k < D; k++) {
            values[k] = fields.obs[r * D + k];
            values[I + k] = fields.nextObs[r * D + k] - fields.obs[r * D + k];
          }
          for (let k = 0; k < A; k++) values[D + k] = fields.action[r * A + k];
          values[I + D] = fields.reward[r];
          f(values);
        }
      }
    };
    visit((v) => { n++; for (let k = 0; k < I + O; k++) sum[k] += v[k]; });
    if (n === 0) return;
    const mean = sum.map((s) => s / n);
    visit((v) => { for (let k = 0; k < I + O; k++) square[k] += (v[k] - mean[k]) ** 2; });
    const std = square.map((s) => Math.sqrt(s / n)).map((s) => (s > STD_FLOOR ? s : 0));
    const assign = (name: string, values: Float64Array) => tf.tidy(() => this.params.get(`norm/${name}`).assign(tf.tensor1d(Float32Array.from(values))));
    assign('inputMean', mean.subarray(0, I));
    assign('inputStd', std.subarray(0, I));
    assign('targetMean', mean.subarray(I));
    assign('targetStd', std.subarray(I));
  }

  /**
   * `metaBatch` segments of M + K consecutive transitions of one episode each (a uniform draw of the
   * last one, with its M + K - 1 predecessors: rows missing at an episode's start get weight 0),
   * normalised, with per-row weights 1 / (the real rows of the part).
   */
  sampleSegments(replay: ReplayBuffer, rng: Rng): SegmentTensors {
    const { pastSteps: M, futureSteps: K, metaBatch: B } = this.settings;
    const D = this.spec.obsSize, A = this.shape.actionSize, I = D + A, O = D + 1, L = M + K;
    const norm = this.normalisation;
    const inputInv = inverse(norm.inputStd), targetInv = inverse(norm.targetStd);
    const sample = replay.sample(rng, B, { history: L - 1 });
    const x = new Float32Array(B * L * I), y = new Float32Array(B * L * O), real = new Uint8Array(B * L);
    for (let b = 0; b < B; b++) {
      const firstReal = L - 1 - sample.historyLength![b];
      for (let r = firstReal; r < L; r++) {
        // Rows 0..L-2 come from the history, row L-1 is the sampled transition.
        const from = r < L - 1 ? sample.history! : sample.fields;
        const index = r < L - 1 ? b * (L - 1) + r : b;
        const row = b * L + r;
        real[row] = 1;
        for (let k = 0; k < D; k++) {
          const o = from.obs[index * D + k], next = from.nextObs[index * D + k];
          x[row * I + k] = (o - norm.inputMean[k]) * inputInv[k];
          y[row * O + k] = (next - o - norm.targetMean[k]) * targetInv[k];
        }
        for (let k = 0; k < A; k++) x[row * I + D + k] = (from.action[index * A + k] - norm.inputMean[D + k]) * inputInv[D + k];
        y[row * O + D] = (from.reward[index] - norm.targetMean[D]) * targetInv[D];
      }
    }
    const rowWeights = (from: number, count: number) => {
      const w = new Float32Array(B * count);
      for (let b = 0; b < B; b++) {
        let n = 0;
        for (let r = 0; r < count; r++) n += real[b * L + from + r];
        for (let r = 0; r < count; r++) if (real[b * L + from + r]) w[b * count + r] = 1 / n;
      }
      return w;
    };
    const part = (data: Float32Array, width: number, from: number, count: number) => {
      const out = new Float32Array(B * count * width);
      for (let b = 0; b < B; b++) out.set(data.subarray((b * L + from) * width, (b * L + from + count) * width), b * count * width);
      return tf.tensor3d(out, [B, count, width]);
    };
    return {
      pastX: part(x, I, 0, M), pastY: part(y, O, 0, M), pastW: tf.tensor2d(rowWeights(0, M), [B, M]),
      futureX: part(x, I, M, K), futureY: part(y, O, M, K), futureW: tf.tensor2d(rowWeights(M, K), [B, K]),
    };
  }

  /**
   * `metaSteps` Adam steps of the meta-objective. Reports the losses on the future before and after
   * adaptation (means over the steps) and the reward's root-mean-square error there in reward units
   * (over every tenth step's segments): what the planner ranks sequences by.
   */
  metaTrain(replay: ReplayBuffer, iteration: number): Record<string, number> {
    const { settings } = this;
    const norm = this.normalisation;
    const columns = tf.tensor1d(outputWeights(norm, settings.rewardWeight));
    const rewardOnly = tf.tensor1d(Float32Array.from({ length: this.spec.obsSize + 1 }, (_, j) => (j === this.spec.obsSize ? norm.targetStd[j] ** 2 : 0)));
    const logStepSize = this.params.get('logStepSize');
    const vars = [...this.theta, ...(settings.learnInnerStepSize ? [logStepSize] : [])] as tf.Variable[];
    const keys = [...this.names, ...(settings.learnInnerStepSize ? ['logStepSize'] : [])];
    let adaptedLoss = 0, unadapted = 0, gradNorm = 0, rewardAdapted = 0, rewardUnadapted = 0, rewardChecks = 0;
    try {
      for (let step = 0; step < settings.metaSteps; step++) {
        const segments = this.sampleSegments(replay, rngFor(this.seed, 'segments', iteration, step));
        try {
          if (step % 10 === 0) {
            // Before the step, so that the numbers do not depend on how many steps follow.
            [rewardAdapted, rewardUnadapted] = [rewardAdapted, rewardUnadapted].map((sum, k) => sum + tf.tidy(() => (k === 0
              ? metaLoss(this.theta, tf.exp(logStepSize) as tf.Tensor1D, segments, columns, rewardOnly)
              : unadaptedLoss(this.theta, segments, rewardOnly)).dataSync()[0]));
            rewardChecks++;
          }
          const { value, grads } = tf.variableGrads(() => metaLoss(this.theta, tf.exp(logStepSize) as tf.Tensor1D, segments, columns), vars);
          adaptedLoss += value.dataSync()[0] / settings.metaSteps;
          unadapted += tf.tidy(() => unadaptedLoss(this.theta, segments, columns).dataSync()[0]) / settings.metaSteps;
          const named = new Map(vars.map((v, k) => [keys[k], grads[v.name]]));
          gradNorm = this.optimizer.apply(named);
          tf.dispose([value, ...Object.values(grads)]);
        } finally {
          tf.dispose(Object.values(segments));
        }
      }
    } finally {
      tf.dispose([columns, rewardOnly]);
    }
    const steps = Float32Array.from(logStepSize.dataSync() as Float32Array, Math.exp);
    const rms = (sum: number) => (rewardChecks ? Math.sqrt(sum / rewardChecks) : 0);
    return {
      unadaptedLoss: unadapted, adaptedLoss,
      rewardErrorUnadapted: rms(rewardUnadapted), rewardErrorAdapted: rms(rewardAdapted),
      gradNorm,
      innerStepSize: Math.exp(steps.reduce((a, s) => a + Math.log(s), 0) / steps.length),
    };
  }

  state(): AlgorithmState {
    const state: StateWithBlobs = { ...weightsState(this.params, this.optimizer), ...(this.replay ? { blobs: { replay: this.replay.toBlob() } } : {}) };
    return state;
  }

  /** Weights (and the optimiser and the dataset when there): acting needs only the weights and normalisation. */
  load(state: AlgorithmState): void {
    loadWeightsState(this.params, this.optimizer, state);
    const blob = (state as StateWithBlobs).blobs?.replay;
    if (blob) {
      const replay = ReplayBuffer.fromBlob(blob);
      const expected = layoutOf(this.spec);
      if (JSON.stringify(replay.layout) !== JSON.stringify(expected)) throw new Error(`grbal: the checkpoint's dataset holds transitions of ${JSON.stringify(replay.layout)}; this model needs ${JSON.stringify(expected)}`);
      this.replay = replay;
    }
  }

  dispose(): void {
    this.optimizer.dispose();
    this.params.dispose();
  }
}

// ---------------------------------------------------------------------------------------------
// The registry entry

export const grbalDefinition: AlgorithmDefinition<GrbalSettings> = {
  name: 'grbal',
  summary: 'GrBAL: a dynamics-and-reward model meta-trained to adapt by one gradient step on a task\'s latest transitions, acting by random-shooting MPC',
  settingsKey: 'grbal',
  actionKinds: ['box'],
  unsupported: (distribution) => (distribution.benchmark ? null : `grbal keeps a dataset per training task of a simulator benchmark, and ${distribution.name} is not one`),
  settingsSchema: grbalSettingsSchema,
  overridesSchema: grbalSettingsSchema.partial(),
  resolve(overrides): { settings: GrbalSettings } | { problems: SettingProblem[] } {
    const settings = { ...GRBAL_DEFAULTS, ...(overrides ?? {}) as Partial<GrbalSettings> };
    const problems: SettingProblem[] = [];
    if (settings.replanEvery > settings.horizon) problems.push({ path: ['replanEvery'], message: `replans every ${settings.replanEvery} steps, longer than the ${settings.horizon}-step plans (horizon)` });
    return problems.length ? { problems } : { settings };
  },
  withDefaults: (saved) => ({ ...GRBAL_DEFAULTS, ...(saved as Partial<GrbalSettings>) }),
  create: async (spec, settings, seed) => new Grbal(spec, settings, seed),
};
