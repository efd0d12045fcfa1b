// MQL, Meta-Q-Learning (Fakoor et al. 2020, arXiv:1910.00125), for box-action tasks (MetaWorld). Reads top
// to bottom: settings, the networks (TD3's actor and twin critics, each fed a GRU context of the last
// transitions), acting and recording, the TD3 update, meta-test adaptation (propensity classifier,
// importance weights, proximal term), then the learner and its registry entry.
//
// Meta-training is TD3 on the multi-task objective: every transition goes into its task's ring of one
// replay buffer, minibatches are drawn over all tasks, and the task is never given: the context, a GRU run
// over the last `historyLength` (next observation, action, reward) tuples of the episode, is what tells
// one task from another (ML1 hides the goal). Actor and critics read one context GRU, trained by the critic
// loss (the paper's code gives the actor a GRU of its own: on this machine a GRU pass over the window costs
// more than the MLPs, and sharing halves the GRU passes of an update; the critic's TD error is what shapes a
// context that identifies the task, and the actor reads it as an input).
//
// Meta-test adaptation on a new task, from the protocol's adaptation episodes (D_new) and the meta-training
// data (D_meta, a bounded slice kept beside the weights):
//   1. a logistic classifier on context features tells D_meta (label 1) from D_new (label 0);
//   2. each meta-training transition gets the propensity beta = P(new | x) / P(old | x) = exp(-logit)
//      (times the sample-size ratio), clipped at `propensityClip` and set to 0 below `propensityFloor`;
//   3. lambda = 1 - ESS, ESS = (sum beta)^2 / (n sum beta^2), the normalised effective sample size;
//   4. `adaptNewUpdates` TD3 updates on D_new, then `adaptOldUpdates` on D_meta with each transition's loss
//      weighted by its beta, every step with the proximal term lambda * ||theta - theta_meta||^2.
// Episodes that end only because of the time limit (MetaWorld never terminates) are bootstrapped.

import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import type { AlgorithmDefinition, AlgorithmState, IterationStats, SettingProblem, TrainableAlgorithm } from './algorithm.ts';
import type { EnvBatch } from './batch-env.ts';
import type { EnvSpec, Task, TaskDistribution } from './envs.ts';
import type { EpisodeRecord, LanePolicy } from './meta.ts';
import { Adam, ConstantInput, type DenseWeights, type GruWeights, Params, addDense, addGru, denseOverParts, dense, gruSequence } from './nn.ts';
import { type Rng, gaussian, rngFor, seedFor } from './random.ts';
import { ReplayBuffer, type ReplayLayout, type ReplaySample, bytesPerTransition, formatBytes, replayCapProblem } from './replay.ts';
import { type TrialStats, runTrials } from './rollout.ts';
import { fraction, int, positive } from './schema.ts';

// ---------------------------------------------------------------------------------------------
// Settings

export interface MqlSettings {
  /** Training tasks side by side per iteration (one env lane each). */
  tasksPerIteration: number;
  /** Episodes per task per iteration. */
  episodesPerIteration: number;
  /** Hidden ReLU layers of the actor and of each critic. */
  hidden: number[];
  /** Units of each context GRU. */
  contextSize: number;
  /** Transitions of the episode the context reads (the last ones before the current step). */
  historyLength: number;
  gamma: number;
  /** Soft target update rate. */
  tau: number;
  actorLearningRate: number;
  criticLearningRate: number;
  batchSize: number;
  /** TD3 updates (critic steps) after each iteration's episodes. */
  updatesPerIteration: number;
  /** Critic steps per actor (and target) step. */
  policyDelay: number;
  /** Standard deviation of the Gaussian action noise while meta-training and in the adaptation episodes (as a fraction of half the action range). */
  explorationNoise: number;
  /** TD3's target policy smoothing: noise standard deviation and its clip (fractions of half the action range). */
  targetNoise: number;
  targetNoiseClip: number;
  /** Rewards are multiplied by this in the TD target and in the context input. */
  rewardScale: number;
  /** Env steps of uniform random actions before the actor acts (no updates until then). */
  randomSteps: number;
  /** Tasks with a ring in the replay buffer (the benchmark's training tasks; set from the benchmark). */
  replayTasks: number;
  /** Transitions kept per task (the oldest go first). */
  replayPerTask: number;
  /** The most the replay buffer may take when full, in bytes. */
  replayMaxBytes: number;
  /** The last transitions per task kept beside the weights for meta-test adaptation (exported with the policy). */
  adaptationReplayPerTask: number;
  /** Adaptation: TD3 updates on the new task's transitions, then importance-weighted ones on the meta-training slice. */
  adaptNewUpdates: number;
  adaptOldUpdates: number;
  adaptBatchSize: number;
  /**
   * Adam's step size in adaptation (actor and critic). Adaptation starts a fresh Adam, whose first steps
   * move every weight by about the step size whatever the gradient's scale, so it is well below training's.
   */
  adaptLearningRate: number;
  /** Meta-training transitions the classifier and the weighted updates draw from, per adapted task. */
  adaptOldSamples: number;
  /** Inverse L2 strength of the logistic classifier (scikit-learn's C: 0.5 ||w||^2 + C sum of log-losses). */
  propensityC: number;
  /** Propensities are clipped at this, and set to 0 below `propensityFloor`. */
  propensityClip: number;
  propensityFloor: number;
  /** Action noise of the adapted policy in the evaluation episodes (0: TD3's deterministic test policy). */
  evaluationNoise: number;
}

export const MQL_DEFAULTS: Omit<MqlSettings, 'replayTasks'> = {
  tasksPerIteration: 10,
  episodesPerIteration: 1,
  hidden: [256, 256],
  contextSize: 30,
  historyLength: 10,
  gamma: 0.99,
  tau: 0.005,
  actorLearningRate: 1e-3,
  criticLearningRate: 1e-3,
  batchSize: 256,
  updatesPerIteration: 1000,
  policyDelay: 2,
  explorationNoise: 0.2,
  targetNoise: 0.2,
  targetNoiseClip: 0.5,
  rewardScale: 0.1,
  randomSteps: 10_000,
  replayPerTask: 10_000,
  replayMaxBytes: 1024 ** 3,
  adaptationReplayPerTask: 200,
  adaptNewUpdates: 50,
  adaptOldUpdates: 50,
  adaptBatchSize: 128,
  adaptLearningRate: 1e-4,
  adaptOldSamples: 2000,
  propensityC: 0.1,
  propensityClip: 2,
  propensityFloor: 0.1,
  evaluationNoise: 0,
};

export const mqlSettingsSchema = z.object({
  tasksPerIteration: int(1),
  episodesPerIteration: int(1),
  hidden: z.array(int(1)).min(1),
  contextSize: int(1),
  historyLength: int(1),
  gamma: fraction,
  tau: fraction,
  actorLearningRate: positive,
  criticLearningRate: positive,
  batchSize: int(1),
  updatesPerIteration: int(0),
  policyDelay: int(1),
  explorationNoise: z.number().min(0),
  targetNoise: z.number().min(0),
  targetNoiseClip: z.number().min(0),
  rewardScale: positive,
  randomSteps: int(0),
  replayTasks: int(1),
  replayPerTask: int(1),
  replayMaxBytes: int(1),
  adaptationReplayPerTask: int(1),
  adaptNewUpdates: int(0),
  adaptOldUpdates: int(0),
  adaptBatchSize: int(1),
  adaptLearningRate: positive,
  adaptOldSamples: int(1),
  propensityC: positive,
  propensityClip: positive,
  propensityFloor: z.number().min(0),
  evaluationNoise: z.number().min(0),
}).strict();

/** What one stored transition holds; the context reads (nextObs, action, reward) of earlier ones. */
export function replayLayout(spec: EnvSpec): ReplayLayout {
  return { obs: spec.obsSize, action: boxOf(spec).size, reward: 1, nextObs: spec.obsSize };
}

function boxOf(spec: EnvSpec): { size: number; low: number; high: number } {
  if (spec.action.kind !== 'box') throw new Error('mql: needs a box action space');
  return spec.action;
}

/** Why the replay buffers of these settings would not fit their cap (what would), or null. */
export function replayProblem(spec: EnvSpec, settings: Pick<MqlSettings, 'replayTasks' | 'replayPerTask' | 'replayMaxBytes'>): string | null {
  return replayCapProblem({ tasks: settings.replayTasks, capacityPerTask: settings.replayPerTask, layout: replayLayout(spec), maxBytes: settings.replayMaxBytes });
}

// ---------------------------------------------------------------------------------------------
// Networks. Actor: pi(obs, context) = tanh MLP scaled to the action box. Critic: the context GRU and Q1, Q2
// (obs, action, context). The context GRU runs from a zero state over the window of the last
// `historyLength` transitions (zeros where the episode had fewer), one input row per transition:
// [nextObs, action, reward * rewardScale]; its last state is the context.

export interface ActorNet { layers: DenseWeights[]; out: DenseWeights }
export interface CriticNet { context: GruWeights; q: Array<{ layers: DenseWeights[]; out: DenseWeights }> }

const contextInputs = (spec: EnvSpec) => spec.obsSize + boxOf(spec).size + 1;

function addActor(params: Params, rng: Rng, spec: EnvSpec, s: Pick<MqlSettings, 'hidden' | 'contextSize'>, prefix: string): ActorNet {
  let inputs = spec.obsSize + s.contextSize;
  const layers = s.hidden.map((units, i) => { const l = addDense(params, rng, `${prefix}/layer${i}`, inputs, units, Math.SQRT2); inputs = units; return l; });
  return { layers, out: addDense(params, rng, `${prefix}/out`, inputs, boxOf(spec).size, 0.1) };
}

function addCritic(params: Params, rng: Rng, spec: EnvSpec, s: Pick<MqlSettings, 'hidden' | 'contextSize'>, prefix: string): CriticNet {
  const context = addGru(params, rng, `${prefix}/context`, contextInputs(spec), s.contextSize);
  const q = [1, 2].map((k) => {
    let inputs = spec.obsSize + boxOf(spec).size + s.contextSize;
    const layers = s.hidden.map((units, i) => { const l = addDense(params, rng, `${prefix}/q${k}/layer${i}`, inputs, units, Math.SQRT2); inputs = units; return l; });
    return { layers, out: addDense(params, rng, `${prefix}/q${k}/out`, inputs, 1) };
  });
  return { context, q };
}

/** The context GRU's last state over time-major windows ([H * B, inputs]). `grad`: its weights get gradients. */
function contextOf(gru: GruWeights, windows: tf.Tensor2D, B: number, H: number, grad: boolean): tf.Tensor2D {
  const all = gruSequence(new ConstantInput(windows, grad), tf.zeros([B, gru.size]), gru, H);
  return tf.slice(all, [(H - 1) * B, 0], [B, gru.size]);
}

function mlp(parts: ReadonlyArray<tf.Tensor2D | ConstantInput>, layers: DenseWeights[], out: DenseWeights): tf.Tensor2D {
  let h = tf.relu(denseOverParts(parts, layers[0])) as tf.Tensor2D;
  for (const layer of layers.slice(1)) h = tf.relu(dense(h, layer)) as tf.Tensor2D;
  return dense(h, out);
}

/** The actor's actions in the box. */
function actorForward(actor: ActorNet, obs: ConstantInput, context: tf.Tensor2D | ConstantInput, box: { low: number; high: number }): tf.Tensor2D {
  const half = (box.high - box.low) / 2, middle = (box.high + box.low) / 2;
  return tf.add(tf.mul(tf.tanh(mlp([obs, context], actor.layers, actor.out)), half), middle) as tf.Tensor2D;
}

function criticForward(critic: CriticNet, k: 0 | 1, obs: ConstantInput, action: tf.Tensor2D | ConstantInput, context: tf.Tensor2D | ConstantInput): tf.Tensor1D {
  const q = critic.q[k];
  return tf.reshape(mlp([obs, action, context], q.layers, q.out), [-1]) as tf.Tensor1D;
}

/** One copy of MQL's parameters: actor and critic, their targets, and an Adam per trained network. */
export class Td3 {
  readonly actorParams = new Params();
  readonly criticParams = new Params();
  readonly targetParams = new Params();
  readonly actor: ActorNet;
  readonly critic: CriticNet;
  readonly targetActor: ActorNet;
  readonly targetCritic: CriticNet;
  readonly actorAdam: Adam;
  readonly criticAdam: Adam;

  /** A fresh network from `seed`, or a copy of `from` (fresh Adam state) for adaptation. */
  constructor(readonly spec: EnvSpec, readonly settings: MqlSettings, seed: number, from?: Td3) {
    const rng = rngFor(seed, 'mql-init');
    this.actor = addActor(this.actorParams, rng, spec, settings, 'actor');
    this.critic = addCritic(this.criticParams, rng, spec, settings, 'critic');
    // Targets start equal to the networks (drawn again from the same stream, then overwritten).
    this.targetActor = addActor(this.targetParams, rngFor(seed, 'mql-init'), spec, settings, 'target/actor');
    this.targetCritic = addCritic(this.targetParams, rngFor(seed, 'mql-init'), spec, settings, 'target/critic');
    if (from) this.load(from.toJSON());
    else this.copyToTargets(1);
    const adam = (params: Params, learningRate: number) => new Adam(params, { learningRate, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, maxGradNorm: Infinity });
    this.actorAdam = adam(this.actorParams, settings.actorLearningRate);
    this.criticAdam = adam(this.criticParams, settings.criticLearningRate);
  }

  /** target <- (1 - tau) target + tau online, for the actor and the critic. */
  copyToTargets(tau: number): void {
    tf.tidy(() => {
      for (const [source, prefix] of [[this.actorParams, 'target/'], [this.criticParams, 'target/']] as const) {
        for (const [name, v] of source.vars) {
          const target = this.targetParams.get(prefix + name);
          target.assign(tau === 1 ? v : tf.add(tf.mul(target, 1 - tau), tf.mul(v, tau)));
        }
      }
    });
  }

  toJSON(): AlgorithmState['params'] {
    return { ...this.actorParams.toJSON(), ...this.criticParams.toJSON(), ...this.targetParams.toJSON() };
  }

  load(params: AlgorithmState['params']): void {
    const pick = (p: Params) => Object.fromEntries([...p.vars.keys()].map((k) => [k, params[k]]).filter(([, v]) => v !== undefined));
    const known = new Set([...this.actorParams.vars.keys(), ...this.criticParams.vars.keys(), ...this.targetParams.vars.keys()]);
    const extra = Object.keys(params).filter((k) => !known.has(k));
    if (extra.length) throw new Error(`parameters do not match the network: unexpected ${extra.join(', ')}`);
    this.actorParams.load(pick(this.actorParams));
    this.criticParams.load(pick(this.criticParams));
    this.targetParams.load(pick(this.targetParams));
  }

  /** The actor's actions (tfjs) for observations [B, obsSize] and their time-major context windows (contextWindows). */
  actions(obs: Float32Array, windows: Float32Array, B: number): Float32Array {
    const H = this.settings.historyLength;
    return tf.tidy(() => {
      const context = new ConstantInput(contextOf(this.critic.context, tf.tensor2d(windows, [H * B, contextInputs(this.spec)]), B, H, false), false);
      return actorForward(this.actor, new ConstantInput(tf.tensor2d(obs, [B, this.spec.obsSize]), false), context, boxOf(this.spec)).dataSync() as Float32Array;
    });
  }

  /** The actor's weights and the context GRU's as plain arrays, for acting in JavaScript. */
  actorWeights(): ActorWeights {
    const read = (t: tf.Tensor) => Float32Array.from(t.dataSync() as Float32Array);
    const { context: c } = this.critic;
    return {
      context: { wx: read(c.wx), bx: read(c.bx), wh: read(c.wh), bh: read(c.bh), size: c.size },
      layers: [...this.actor.layers, this.actor.out].map((l) => ({ w: read(l.w), b: read(l.b) })),
    };
  }

  dispose(): void {
    this.actorAdam.dispose();
    this.criticAdam.dispose();
    this.actorParams.dispose();
    this.criticParams.dispose();
    this.targetParams.dispose();
  }
}

// ---------------------------------------------------------------------------------------------
// Acting: the actor in JavaScript (float64; small, and the same numbers on every backend), one weight set per
// lane (the meta-trained one, or each lane's adapted one), with its window of the episode's last
// transitions; records complete transitions for the replay buffer.

export interface ActorWeights {
  context: { wx: Float32Array; bx: Float32Array; wh: Float32Array; bh: Float32Array; size: number };
  /** Hidden layers then the output layer; w is [in, out] row-major. */
  layers: Array<{ w: Float32Array; b: Float32Array }>;
}

/** A lane's transitions, in order, with their steps within the episode (episode-end transitions lack a next observation and are not kept). */
export interface LaneTransitions { obs: number[][]; action: number[][]; reward: number[]; nextObs: number[][]; step: number[] }

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** MQL's lane policy. */
export class MqlLanes implements LanePolicy {
  readonly recorded: LaneTransitions[] | null;
  private readonly envActions: Float32Array;
  private readonly time: Int32Array;
  /** Per lane: the projected inputs x·Wx + bx of its window (oldest first), and the pending transition. */
  private readonly windows: Float64Array[][];
  private readonly pending: Array<{ obs: Float32Array; action: Float32Array; reward: number } | null>;

  constructor(
    readonly lanes: number,
    private readonly spec: EnvSpec,
    private readonly settings: MqlSettings,
    /** One weight set per lane, or one shared by all. */
    private readonly weights: ActorWeights[],
    readonly rngs: readonly Rng[],
    private readonly options: { noise: number; random?: boolean; record?: boolean; owner: object; seed?: number },
  ) {
    const A = boxOf(spec).size;
    this.envActions = new Float32Array(lanes * A);
    this.time = new Int32Array(lanes);
    this.windows = Array.from({ length: lanes }, () => []);
    this.pending = new Array(lanes).fill(null);
    this.recorded = options.record ? Array.from({ length: lanes }, () => ({ obs: [], action: [], reward: [], nextObs: [], step: [] })) : null;
  }

  get owner(): object { return this.options.owner; }

  /** The seed its noise streams were named by (adaptation names its own streams by it). */
  get seed(): number { return this.options.seed ?? 0; }

  act(obs: Float32Array): Float32Array {
    const { spec, settings } = this;
    const D = spec.obsSize, box = boxOf(spec), A = box.size, half = (box.high - box.low) / 2, middle = (box.high + box.low) / 2;
    for (let i = 0; i < this.lanes; i++) {
      const w = this.weights.length === 1 ? this.weights[0] : this.weights[i];
      const x = obs.subarray(i * D, (i + 1) * D);
      const previous = this.pending[i];
      if (previous && this.time[i] > 0) {
        // The previous step's transition is complete now that its next observation is here.
        const window = this.windows[i];
        window.push(this.projectInput(w, x, previous.action, previous.reward));
        if (window.length > settings.historyLength) window.shift();
        this.recorded?.[i].obs.push(Array.from(previous.obs));
        this.recorded?.[i].action.push(Array.from(previous.action));
        this.recorded?.[i].reward.push(previous.reward);
        this.recorded?.[i].nextObs.push(Array.from(x));
        this.recorded?.[i].step.push(this.time[i] - 1);
      }
      const action = new Float32Array(A);
      if (this.options.random) {
        for (let k = 0; k < A; k++) action[k] = this.rngs[i].uniform(box.low, box.high);
      } else {
        const mean = this.actorMean(w, x, this.context(w, this.windows[i]));
        for (let k = 0; k < A; k++) {
          const noise = this.options.noise > 0 ? this.options.noise * half * gaussian(this.rngs[i]) : 0;
          action[k] = Math.min(box.high, Math.max(box.low, middle + half * Math.tanh(mean[k]) + noise));
        }
      }
      this.envActions.set(action, i * A);
      this.pending[i] = { obs: Float32Array.from(x), action, reward: 0 };
    }
    return this.envActions;
  }

  observe(rewards: ArrayLike<number>, dones: ArrayLike<number>): void {
    for (let i = 0; i < this.lanes; i++) {
      const p = this.pending[i];
      if (p) p.reward = rewards[i];
      if (dones[i]) {
        this.time[i] = 0;
        this.windows[i] = [];
        this.pending[i] = null;
      } else this.time[i]++;
    }
  }

  /** x·Wx + bx for one transition's context input [nextObs, action, reward * scale]. */
  private projectInput(w: ActorWeights, nextObs: Float32Array, action: Float32Array, reward: number): Float64Array {
    const { wx, bx } = w.context, G = bx.length;
    const out = Float64Array.from(bx);
    const input = [...nextObs, ...action, reward * this.settings.rewardScale];
    for (let k = 0; k < input.length; k++) {
      const v = input[k];
      if (v === 0) continue;
      for (let j = 0; j < G; j++) out[j] += v * wx[k * G + j];
    }
    return out;
  }

  /** The GRU over the window, right-aligned: missing entries are zero inputs, whose projection is bx. */
  private context(w: ActorWeights, window: Float64Array[]): Float64Array {
    const { wh, bh, bx, size: C } = w.context;
    let h = new Float64Array(C);
    const missing = this.settings.historyLength - window.length;
    for (let t = 0; t < this.settings.historyLength; t++) {
      const xp = t < missing ? bx : window[t - missing];
      const hp = Float64Array.from(bh);
      for (let k = 0; k < C; k++) {
        const hk = h[k];
        if (hk === 0) continue;
        for (let j = 0; j < 3 * C; j++) hp[j] += hk * wh[k * 3 * C + j];
      }
      const next = new Float64Array(C);
      for (let j = 0; j < C; j++) {
        const r = sigmoid(xp[j] + hp[j]);
        const zGate = sigmoid(xp[C + j] + hp[C + j]);
        const n = Math.tanh(xp[2 * C + j] + r * hp[2 * C + j]);
        next[j] = n + zGate * (h[j] - n);
      }
      h = next;
    }
    return h;
  }

  /** The actor's pre-tanh output for one observation and context. */
  private actorMean(w: ActorWeights, x: Float32Array, context: Float64Array): Float64Array {
    let input: ArrayLike<number> = [...x, ...context];
    for (let l = 0; l < w.layers.length; l++) {
      const { w: W, b } = w.layers[l], units = b.length;
      const out = Float64Array.from(b);
      for (let k = 0; k < input.length; k++) {
        const v = input[k];
        if (v === 0) continue;
        const row = k * units;
        for (let j = 0; j < units; j++) out[j] += v * W[row + j];
      }
      if (l < w.layers.length - 1) for (let j = 0; j < units; j++) out[j] = Math.max(0, out[j]);
      input = out;
    }
    return input as Float64Array;
  }

  dispose(): void {}
}

// ---------------------------------------------------------------------------------------------
// The TD3 update on a minibatch with histories, with optional per-transition loss weights (the propensities)
// and a proximal term towards anchor parameters (adaptation).

/** Time-major context windows [H * B, inputs] of a sample: its history, or its history shifted by one with the transition itself (for the next state). */
export function contextWindows(sample: ReplaySample, spec: EnvSpec, H: number, rewardScale: number, next: boolean): Float32Array {
  const D = spec.obsSize, A = boxOf(spec).size, width = D + A + 1, B = sample.size;
  const hist = sample.history;
  if (!hist) throw new Error('mql: a minibatch needs its histories');
  const out = new Float32Array(H * B * width);
  for (let b = 0; b < B; b++) {
    for (let p = 0; p < H; p++) {
      const row = (p * B + b) * width;
      // Position p of the window reads history slot p (current) or p + 1, the last one being the transition itself (next).
      const slot = next ? p + 1 : p;
      const own = slot === H;
      const nextObs = own ? sample.fields.nextObs.subarray(b * D, (b + 1) * D) : hist.nextObs.subarray((b * H + slot) * D, (b * H + slot + 1) * D);
      const action = own ? sample.fields.action.subarray(b * A, (b + 1) * A) : hist.action.subarray((b * H + slot) * A, (b * H + slot + 1) * A);
      const reward = own ? sample.fields.reward[b] : hist.reward[b * H + slot];
      out.set(nextObs, row);
      out.set(action, row + D);
      out[row + D + A] = reward * rewardScale;
    }
  }
  return out;
}

export interface UpdateOptions {
  /** Per-transition loss weights (importance weights); absent: 1. */
  weights?: Float32Array;
  /** lambda * ||theta - anchor||^2 is added to each network's loss. */
  proximal?: { lambda: number; actor: Map<string, tf.Tensor>; critic: Map<string, tf.Tensor> };
  /** Whether this step also updates the actor and the targets (TD3's delayed policy update). */
  updateActor: boolean;
  /** Target-policy smoothing noise, B x A standard normals (drawn from a named stream). */
  targetNoise: Float32Array;
}

export interface UpdateResult { criticLoss: number; actorLoss: number | null; meanQ: number }

const proximalTerm = (vars: Map<string, tf.Variable>, anchor: Map<string, tf.Tensor>, lambda: number): tf.Scalar =>
  tf.mul(tf.addN([...vars].map(([name, v]) => tf.sum(tf.square(tf.sub(v, anchor.get(name)!))))), lambda) as tf.Scalar;

/** One TD3 step: the critics on the TD target, and every `policyDelay` steps the actor and the targets. */
export function td3Update(net: Td3, sample: ReplaySample, options: UpdateOptions): UpdateResult {
  const { spec, settings } = net;
  const box = boxOf(spec), B = sample.size, A = box.size, H = settings.historyLength, half = (box.high - box.low) / 2;
  let criticLoss = 0, actorLoss: number | null = null, meanQ = 0;
  tf.tidy(() => {
    const obs = new ConstantInput(tf.tensor2d(sample.fields.obs, [B, spec.obsSize]), true);
    const nextObs = new ConstantInput(tf.tensor2d(sample.fields.nextObs, [B, spec.obsSize]), false);
    const actions = new ConstantInput(tf.tensor2d(sample.fields.action, [B, A]), true);
    const rewards = tf.mul(tf.tensor1d(sample.fields.reward), settings.rewardScale);
    const weights = options.weights ? tf.tensor1d(options.weights) : null;
    const windows = tf.tensor2d(contextWindows(sample, spec, H, settings.rewardScale, false), [H * B, contextInputs(spec)]);
    const nextWindows = tf.tensor2d(contextWindows(sample, spec, H, settings.rewardScale, true), [H * B, contextInputs(spec)]);
    // The TD target y = r + gamma * min(Q1', Q2')(s', clip(pi'(s') + clipped noise)), a constant.
    const target = tf.tidy(() => {
      const context = new ConstantInput(contextOf(net.targetCritic.context, nextWindows, B, H, false), false);
      const noise = tf.mul(tf.clipByValue(tf.mul(tf.tensor2d(options.targetNoise, [B, A]), settings.targetNoise), -settings.targetNoiseClip, settings.targetNoiseClip), half);
      const nextAction = new ConstantInput(tf.clipByValue(tf.add(actorForward(net.targetActor, nextObs, context, box), noise), box.low, box.high) as tf.Tensor2D, false);
      const q = tf.minimum(criticForward(net.targetCritic, 0, nextObs, nextAction, context), criticForward(net.targetCritic, 1, nextObs, nextAction, context));
      return tf.add(rewards, tf.mul(q, settings.gamma));
    });
    const weighted = (perRow: tf.Tensor1D) => (weights ? tf.mean(tf.mul(perRow, weights)) : tf.mean(perRow)) as tf.Scalar;
    const criticVars = net.criticParams.trainable;
    // The context of this step, kept from the critic's forward pass for the actor's (where it is an input).
    let context: tf.Tensor2D | null = null;
    const critic = tf.variableGrads(() => {
      const z = contextOf(net.critic.context, windows, B, H, true);
      context = tf.keep(z);
      const q1 = criticForward(net.critic, 0, obs, actions, z);
      const q2 = criticForward(net.critic, 1, obs, actions, z);
      meanQ = tf.mean(q1).dataSync()[0];
      const loss = tf.add(weighted(tf.square(tf.sub(q1, target)) as tf.Tensor1D), weighted(tf.square(tf.sub(q2, target)) as tf.Tensor1D)) as tf.Scalar;
      return options.proximal ? tf.add(loss, proximalTerm(criticVars, options.proximal.critic, options.proximal.lambda)) as tf.Scalar : loss;
    }, [...criticVars.values()]);
    criticLoss = critic.value.dataSync()[0];
    net.criticAdam.apply(byName(criticVars, critic.grads));
    const z = new ConstantInput(context!, options.updateActor);
    if (options.updateActor) {
      const actorVars = net.actorParams.trainable;
      const actor = tf.variableGrads(() => {
        const q = criticForward(net.critic, 0, obs, actorForward(net.actor, obs, z, box), z);
        const loss = tf.neg(weighted(q));
        return options.proximal ? tf.add(loss, proximalTerm(actorVars, options.proximal.actor, options.proximal.lambda)) as tf.Scalar : loss;
      }, [...actorVars.values()]);
      actorLoss = actor.value.dataSync()[0];
      net.actorAdam.apply(byName(actorVars, actor.grads));
      net.copyToTargets(settings.tau);
    }
    (context as tf.Tensor2D | null)?.dispose();
  });
  return { criticLoss, actorLoss, meanQ };
}

/** tf.variableGrads' gradients (keyed by variable name) keyed by parameter name. */
function byName(vars: Map<string, tf.Variable>, grads: tf.NamedTensorMap): Map<string, tf.Tensor> {
  return new Map([...vars].map(([name, v]) => [name, grads[v.name]]));
}

/** B x A standard normals from `rng`. */
function normals(rng: Rng, count: number): Float32Array {
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = gaussian(rng);
  return out;
}

// ---------------------------------------------------------------------------------------------
// The propensity classifier: logistic regression (L2, Newton's method) on context features, meta-training
// transitions labelled 1, the new task's 0; then the importance weights of the meta-training transitions.

export interface Propensity {
  /** Clipped propensity of each meta-training transition. */
  beta: Float32Array;
  /** Normalised effective sample size of beta, in [0, 1]. */
  ess: number;
  /** The proximal weight 1 - ess. */
  lambda: number;
  /** Training accuracy of the classifier (how well it tells the two apart). */
  accuracy: number;
}

/** Logistic regression minimising 0.5 ||w||^2 + C sum_i logloss_i (bias unpenalised) on standardised features; returns the logits. */
export function fitLogistic(features: Float64Array, labels: Uint8Array, width: number, C: number): Float64Array {
  const n = labels.length, d = width + 1;
  // Standardise each feature; the weights are fitted on standardised values with a bias column.
  const mean = new Float64Array(width), std = new Float64Array(width);
  for (let i = 0; i < n; i++) for (let k = 0; k < width; k++) mean[k] += features[i * width + k] / n;
  for (let i = 0; i < n; i++) for (let k = 0; k < width; k++) std[k] += (features[i * width + k] - mean[k]) ** 2 / n;
  for (let k = 0; k < width; k++) std[k] = Math.sqrt(std[k]) || 1;
  const x = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < width; k++) x[i * d + k] = (features[i * width + k] - mean[k]) / std[k];
    x[i * d + width] = 1;
  }
  const w = new Float64Array(d);
  const logits = new Float64Array(n);
  for (let iteration = 0; iteration < 50; iteration++) {
    const gradient = new Float64Array(d), hessian = new Float64Array(d * d);
    for (let k = 0; k < width; k++) { gradient[k] = w[k]; hessian[k * d + k] = 1; }
    for (let i = 0; i < n; i++) {
      let z = 0;
      for (let k = 0; k < d; k++) z += x[i * d + k] * w[k];
      const p = sigmoid(z), g = C * (p - labels[i]), h = C * p * (1 - p);
      for (let k = 0; k < d; k++) {
        const xk = x[i * d + k];
        gradient[k] += g * xk;
        for (let j = 0; j <= k; j++) hessian[k * d + j] += h * xk * x[i * d + j];
      }
    }
    const step = solveSymmetric(hessian, gradient, d);
    let size = 0;
    for (let k = 0; k < d; k++) { w[k] -= step[k]; size = Math.max(size, Math.abs(step[k])); }
    if (size < 1e-8) break;
  }
  for (let i = 0; i < n; i++) { let z = 0; for (let k = 0; k < d; k++) z += x[i * d + k] * w[k]; logits[i] = z; }
  return logits;
}

/** Solves H s = g for a symmetric positive definite H given by its lower triangle (Cholesky). */
function solveSymmetric(lower: Float64Array, g: Float64Array, d: number): Float64Array {
  const l = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let j = 0; j <= i; j++) {
      let sum = lower[i * d + j];
      for (let k = 0; k < j; k++) sum -= l[i * d + k] * l[j * d + k];
      l[i * d + j] = i === j ? Math.sqrt(Math.max(sum, 1e-12)) : sum / l[j * d + j];
    }
  }
  const y = new Float64Array(d), s = new Float64Array(d);
  for (let i = 0; i < d; i++) { let v = g[i]; for (let k = 0; k < i; k++) v -= l[i * d + k] * y[k]; y[i] = v / l[i * d + i]; }
  for (let i = d - 1; i >= 0; i--) { let v = y[i]; for (let k = i + 1; k < d; k++) v -= l[k * d + i] * s[k]; s[i] = v / l[i * d + i]; }
  return s;
}

/**
 * The propensities of the meta-training transitions (`oldFeatures`, n rows) against the new task's
 * (`newFeatures`): beta = P(new | x) / P(old | x) = exp(-logit) times n_old / n_new, clipped at `clip`,
 * 0 below `floor`; ESS and lambda = 1 - ESS.
 */
export function propensities(oldFeatures: Float64Array, newFeatures: Float64Array, width: number, options: { C: number; clip: number; floor: number }): Propensity {
  const nOld = oldFeatures.length / width, nNew = newFeatures.length / width;
  const features = new Float64Array((nOld + nNew) * width);
  features.set(oldFeatures);
  features.set(newFeatures, oldFeatures.length);
  const labels = new Uint8Array(nOld + nNew);
  labels.fill(1, 0, nOld);
  const logits = fitLogistic(features, labels, width, options.C);
  let correct = 0;
  for (let i = 0; i < labels.length; i++) if ((logits[i] > 0 ? 1 : 0) === labels[i]) correct++;
  const beta = new Float32Array(nOld);
  let sum = 0, square = 0;
  for (let i = 0; i < nOld; i++) {
    let b = Math.min(options.clip, Math.exp(-logits[i]) * (nOld / nNew));
    if (b < options.floor) b = 0;
    beta[i] = b;
    sum += b;
    square += b * b;
  }
  const ess = square > 0 ? (sum * sum) / (nOld * square) : 0;
  return { beta, ess, lambda: 1 - ess, accuracy: correct / labels.length };
}

// ---------------------------------------------------------------------------------------------
// The learner

export interface MqlIterationMetrics { criticLoss: number | null; actorLoss: number | null; meanQ: number | null; replayTransitions: number }

/** What adapt() did on each lane, for reports and tests. */
export interface AdaptationRecord { ess: number; lambda: number; accuracy: number; newTransitions: number }

export class Mql implements TrainableAlgorithm {
  readonly name = 'mql';
  readonly adaptUsesEpisodes = true;
  readonly net: Td3;
  /** All meta-training transitions (per task), and the last few per task kept for meta-test adaptation. */
  replay: ReplayBuffer;
  adaptationReplay: ReplayBuffer;
  /** Filled by adapt(): one record per lane of the last adaptation. */
  lastAdaptation: AdaptationRecord[] = [];

  constructor(readonly spec: EnvSpec, readonly settings: MqlSettings, readonly seed: number) {
    const problem = replayProblem(spec, settings);
    if (problem) throw new Error(`mql: ${problem}`);
    this.net = new Td3(spec, settings, seed);
    const layout = replayLayout(spec);
    this.replay = new ReplayBuffer({ tasks: settings.replayTasks, capacityPerTask: settings.replayPerTask, layout, maxBytes: settings.replayMaxBytes });
    this.adaptationReplay = new ReplayBuffer({ tasks: settings.replayTasks, capacityPerTask: settings.adaptationReplayPerTask, layout });
  }

  get trainingLanes(): number { return this.settings.tasksPerIteration; }

  private get stepsPerIteration(): number { return this.settings.tasksPerIteration * this.settings.episodesPerIteration * this.spec.episodeSteps; }

  explorationPolicy(lanes: number, options: { seed: number; deterministic?: boolean }): MqlLanes {
    const rngs = Array.from({ length: lanes }, (_, i) => rngFor(options.seed, 'actions', i));
    return new MqlLanes(lanes, this.spec, this.settings, [this.net.actorWeights()], rngs, { noise: options.deterministic ? 0 : this.settings.explorationNoise, record: true, owner: this, seed: options.seed });
  }

  /** Per lane: the propensity-weighted TD3 adaptation from its recorded adaptation episodes; the new policy continues each lane's noise stream. */
  adapt(policy: LanePolicy, _episodes: EpisodeRecord[][]): MqlLanes {
    if (!(policy instanceof MqlLanes) || policy.owner !== this || !policy.recorded) throw new Error('mql: adapt() takes the exploration policy this learner made');
    this.lastAdaptation = [];
    const weights = policy.recorded.map((transitions, lane) => this.adaptedActor(transitions, policy.seed, lane));
    return new MqlLanes(policy.lanes, this.spec, this.settings, weights, policy.rngs, { noise: this.settings.evaluationNoise, owner: this, seed: policy.seed });
  }

  /** Adapts a copy of the networks to one new task's transitions; returns the adapted actor's weights. */
  private adaptedActor(transitions: LaneTransitions, seed: number, lane: number): ActorWeights {
    const { settings, spec } = this;
    const H = settings.historyLength;
    const count = transitions.reward.length;
    if (count === 0 || (settings.adaptNewUpdates === 0 && settings.adaptOldUpdates === 0)) {
      this.lastAdaptation.push({ ess: 0, lambda: 0, accuracy: 0, newTransitions: count });
      return this.net.actorWeights();
    }
    const fresh = new ReplayBuffer({ tasks: 1, capacityPerTask: count, layout: replayLayout(spec) });
    for (let t = 0; t < count; t++) fresh.add(0, { obs: transitions.obs[t], action: transitions.action[t], reward: transitions.reward[t], nextObs: transitions.nextObs[t] }, transitions.step[t]);
    // Minibatches and target noise from a stream named by the exploration policy's seed and the lane.
    const rng = rngFor(seed, 'adapt', lane);
    const haveOld = this.adaptationReplay.totalSize() > 0 && settings.adaptOldUpdates > 0;
    const oldPool = haveOld ? this.adaptationReplay.sample(rng, settings.adaptOldSamples, { history: H }) : null;
    const propensity = oldPool ? propensities(this.contextFeatures(oldPool), this.contextFeatures(fresh.last(0, count, H)), settings.contextSize, { C: settings.propensityC, clip: settings.propensityClip, floor: settings.propensityFloor }) : null;
    const lambda = propensity?.lambda ?? 0;
    this.lastAdaptation.push({ ess: propensity?.ess ?? 0, lambda, accuracy: propensity?.accuracy ?? 0, newTransitions: count });
    const copy = new Td3(spec, { ...settings, actorLearningRate: settings.adaptLearningRate, criticLearningRate: settings.adaptLearningRate }, this.seed, this.net);
    const anchor = (p: Params) => new Map([...p.trainable].map(([name, v]) => [name, tf.clone(v) as tf.Tensor]));
    const proximal = { lambda, actor: anchor(copy.actorParams), critic: anchor(copy.criticParams) };
    try {
      const B = settings.adaptBatchSize, A = boxOf(spec).size;
      let step = 0;
      for (let u = 0; u < settings.adaptNewUpdates; u++, step++) {
        td3Update(copy, fresh.sample(rng, B, { history: H }), { proximal, updateActor: (step + 1) % settings.policyDelay === 0, targetNoise: normals(rng, B * A) });
      }
      for (let u = 0; u < (oldPool ? settings.adaptOldUpdates : 0); u++, step++) {
        const picks = Array.from({ length: B }, () => Math.floor(rng.next() * oldPool!.size));
        td3Update(copy, subSample(oldPool!, picks), { weights: Float32Array.from(picks, (i) => propensity!.beta[i]), proximal, updateActor: (step + 1) % settings.policyDelay === 0, targetNoise: normals(rng, B * A) });
      }
      return copy.actorWeights();
    } finally {
      tf.dispose([...proximal.actor.values(), ...proximal.critic.values()]);
      copy.dispose();
    }
  }

  /** The meta-trained context of each transition of a sample (its history), as float64 rows. */
  contextFeatures(sample: ReplaySample): Float64Array {
    const { settings, spec } = this;
    const H = settings.historyLength, C = settings.contextSize;
    const out = new Float64Array(sample.size * C);
    const chunk = 1024;
    for (let first = 0; first < sample.size; first += chunk) {
      const part = subSample(sample, Array.from({ length: Math.min(chunk, sample.size - first) }, (_, i) => first + i));
      const values = tf.tidy(() => contextOf(this.net.critic.context, tf.tensor2d(contextWindows(part, spec, H, settings.rewardScale, false), [H * part.size, contextInputs(spec)]), part.size, H, false).dataSync());
      out.set(values, first * C);
    }
    return out;
  }

  /**
   * One iteration: an episode per lane on `tasksPerIteration` training tasks (uniform random actions for the
   * first `randomSteps` env steps, then the actor with Gaussian noise), their transitions into each task's
   * ring, then `updatesPerIteration` TD3 updates on minibatches over all tasks.
   */
  async iterate(envs: EnvBatch, distribution: TaskDistribution, iteration: number): Promise<IterationStats> {
    const { settings, spec } = this;
    const started = performance.now();
    const tasks = distribution.trainTasks(iteration, settings.tasksPerIteration);
    const index = taskIndex(distribution, settings.replayTasks);
    const random = iteration * this.stepsPerIteration < settings.randomSteps;
    const rngs = tasks.map((_, i) => rngFor(this.seed, 'actions', iteration, i));
    const policy = new MqlLanes(tasks.length, spec, settings, [this.net.actorWeights()], rngs, { noise: settings.explorationNoise, random, record: true, owner: this });
    const trial = runTrials(envs, policy, tasks, settings.episodesPerIteration, seedFor(this.seed, 'train', iteration));
    policy.recorded!.forEach((lane, i) => {
      const task = index(tasks[i]);
      for (let t = 0; t < lane.reward.length; t++) {
        const values = { obs: lane.obs[t], action: lane.action[t], reward: lane.reward[t], nextObs: lane.nextObs[t] };
        this.replay.add(task, values, lane.step[t]);
        this.adaptationReplay.add(task, values, lane.step[t]);
      }
    });
    const sampled = performance.now();
    const learns = (iteration + 1) * this.stepsPerIteration > settings.randomSteps;
    const metrics = learns ? this.learn(iteration) : { criticLoss: null, actorLoss: null, meanQ: null };
    const learned = performance.now();

    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
    const episodeMean = (t: TrialStats, e: number) => mean(t.episodeReturns.map((r) => r[e]));
    const successMean = (t: TrialStats, e: number) => mean(t.episodeSuccess.map((s) => (s[e] ? 1 : 0)));
    const last = settings.episodesPerIteration - 1;
    return {
      envSteps: this.stepsPerIteration,
      meanTrialReturn: mean(trial.trialReturns),
      firstEpisodeReturn: episodeMean(trial, 0),
      lastEpisodeReturn: episodeMean(trial, last),
      firstEpisodeSuccess: successMean(trial, 0),
      lastEpisodeSuccess: successMean(trial, last),
      samplingSeconds: (sampled - started) / 1000,
      learningSeconds: (learned - sampled) / 1000,
      metrics: { ...metrics, replayTransitions: this.replay.totalSize() },
    };
  }

  /** The iteration's TD3 updates; returns the mean losses and Q. */
  private learn(iteration: number): Omit<MqlIterationMetrics, 'replayTransitions'> {
    const { settings } = this;
    const B = settings.batchSize, A = boxOf(this.spec).size;
    const rng = rngFor(this.seed, 'minibatches', iteration);
    let critic = 0, actor = 0, actorSteps = 0, q = 0;
    for (let u = 0; u < settings.updatesPerIteration; u++) {
      // The delay counts the run's critic steps, so it is the same across iterations and resumes.
      const updateActor = (this.net.criticAdam.steps + 1) % settings.policyDelay === 0;
      const result = td3Update(this.net, this.replay.sample(rng, B, { history: settings.historyLength }), { updateActor, targetNoise: normals(rng, B * A) });
      critic += result.criticLoss;
      q += result.meanQ;
      if (result.actorLoss !== null) { actor += result.actorLoss; actorSteps++; }
    }
    const n = Math.max(1, settings.updatesPerIteration);
    return { criticLoss: critic / n, actorLoss: actorSteps ? actor / actorSteps : null, meanQ: q / n };
  }

  state(): AlgorithmState {
    const actor = this.net.actorAdam.toJSON(), critic = this.net.criticAdam.toJSON();
    // One optimiser record: the critic's step count (the actor's is that over policyDelay) and both sets of moments.
    return {
      params: this.net.toJSON(),
      optimizer: { t: critic.t, m: { ...actor.m, ...critic.m }, v: { ...actor.v, ...critic.v } },
      blobs: { replay: this.replay.toBlob(), adaptationReplay: this.adaptationReplay.toBlob() },
    };
  }

  load(state: AlgorithmState): void {
    this.net.load(state.params);
    if (state.optimizer) {
      this.net.criticAdam.load(state.optimizer);
      this.net.actorAdam.load({ ...state.optimizer, t: Math.floor(state.optimizer.t / this.settings.policyDelay) });
    }
    const replay = state.blobs?.replay, adaptation = state.blobs?.adaptationReplay;
    if (replay) this.replay = this.checkedBuffer(ReplayBuffer.fromBlob(replay, this.settings.replayMaxBytes), this.settings.replayPerTask, 'replay');
    if (adaptation) this.adaptationReplay = this.checkedBuffer(ReplayBuffer.fromBlob(adaptation), this.settings.adaptationReplayPerTask, 'adaptationReplay');
  }

  private checkedBuffer(buffer: ReplayBuffer, capacity: number, name: string): ReplayBuffer {
    const layout = replayLayout(this.spec);
    if (buffer.tasks !== this.settings.replayTasks || buffer.capacityPerTask !== capacity || JSON.stringify(buffer.layout) !== JSON.stringify(layout)) {
      throw new Error(`mql: the checkpoint's ${name} blob holds ${buffer.tasks} tasks x ${buffer.capacityPerTask} transitions of ${JSON.stringify(buffer.layout)}; this learner needs ${this.settings.replayTasks} x ${capacity} of ${JSON.stringify(layout)}`);
    }
    return buffer;
  }

  dispose(): void { this.net.dispose(); }
}

/** Rows `picks` of a sample (with their histories). */
function subSample(sample: ReplaySample, picks: readonly number[]): ReplaySample {
  const take = (values: Float32Array, width: number) => {
    const out = new Float32Array(picks.length * width);
    picks.forEach((p, i) => out.set(values.subarray(p * width, (p + 1) * width), i * width));
    return out;
  };
  const fields = Object.fromEntries(Object.entries(sample.fields).map(([k, v]) => [k, take(v, v.length / sample.size)]));
  const history = sample.history ? Object.fromEntries(Object.entries(sample.history).map(([k, v]) => [k, take(v, v.length / sample.size)])) : undefined;
  return {
    size: picks.length,
    tasks: Int32Array.from(picks, (p) => sample.tasks[p]),
    fields,
    ...(history ? { history, historyLength: Int32Array.from(picks, (p) => sample.historyLength![p]) } : {}),
  };
}

/** A training task's ring in the replay buffer: its place among the distribution's training (validation) tasks. */
function taskIndex(distribution: TaskDistribution, tasks: number): (task: Task) => number {
  const key = (t: Task) => `${t.family}:${t.params.join(',')}`;
  const order = new Map(distribution.validationTasks(Math.min(tasks, distribution.validationTaskCount)).map((t, i) => [key(t), i]));
  return (task) => {
    const i = order.get(key(task));
    if (i === undefined) throw new Error(`mql: training task ${key(task)} is not among the ${tasks} tasks the replay buffer was made for`);
    return i;
  };
}

// ---------------------------------------------------------------------------------------------
// The registry entry

const overridesSchema = mqlSettingsSchema.partial();

export const mqlDefinition: AlgorithmDefinition<MqlSettings> = {
  name: 'mql',
  summary: 'MQL: TD3 with a GRU context of the last transitions, meta-trained on all tasks from one replay buffer, adapted with propensity-weighted off-policy updates',
  settingsKey: 'mql',
  actionKinds: ['box'],
  settingsSchema: mqlSettingsSchema,
  overridesSchema,
  actingBlobs: ['adaptationReplay'],
  resolve(overrides, distribution): { settings: MqlSettings } | { problems: SettingProblem[] } {
    const given = (overrides ?? {}) as Partial<MqlSettings>;
    const tasks = distribution.validationTaskCount;
    if (!Number.isFinite(tasks)) return { problems: [{ path: [], message: `mql keeps a replay ring per training task, and ${distribution.name} samples fresh tasks` }] };
    const settings: MqlSettings = { ...MQL_DEFAULTS, replayTasks: tasks, ...given };
    const problem = replayProblem(distribution.spec, settings);
    if (problem) {
      const per = bytesPerTransition(replayLayout(distribution.spec));
      return { problems: [{ path: ['replayPerTask'], message: `${problem} (${per} bytes per transition: ${JSON.stringify(replayLayout(distribution.spec))} as float32 plus its episode step); lower replayPerTask or raise replayMaxBytes (now ${formatBytes(settings.replayMaxBytes)})` }] };
    }
    return { settings };
  },
  withDefaults: (saved) => ({ ...MQL_DEFAULTS, ...(saved as MqlSettings) }),
  create: async (spec, settings, seed) => new Mql(spec, settings, seed),
};
