// RL2 (Duan et al. 2016, arXiv:1611.02779): a GRU policy fed (observation, previous action, previous
// reward, done flag) whose hidden state runs through all episodes of a trial (one task) and is reset
// between trials. Trained with PPO on whole trials (truncated BPTT); it adapts in its hidden state, so
// `adapt` needs no gradient step.

import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../sim/rng.ts';
import type { EnvBatch } from './batch-env.ts';
import type { ActionSpace, CriticFeatures, EnvSpec, Task, TaskDistribution } from './envs.ts';
import { actionWidth } from './envs.ts';
import type { LanePolicy, MetaAlgorithm } from './meta.ts';
import {
  Adam, type DenseWeights, type GruWeights, Params, type TensorJSON,
  addDense, addGru, dense, gaussian, gruInputs, gruSequence, gruStep, rngFor,
} from './nn.ts';
import { runTrials, seedFor } from './rollout.ts';
import { PPO_DEFAULTS, type PpoBatch, type PpoConfig, type PpoStats, computeGae, ppoUpdate } from './ppo.ts';

export interface Rl2Config {
  /** Trials (one task each) sampled per iteration. */
  tasksPerIteration: number;
  /** Episodes per training trial; the hidden state spans them. */
  episodesPerTrial: number;
  /** GRU units. */
  hidden: number;
  /** Dense tanh layers between the input and the GRU (empty: the GRU reads the input directly). */
  mlp: number[];
  /**
   * Dense tanh layers between the GRU and the policy/value heads, fed the GRU state and the step's input
   * (empty: linear heads on the GRU state). They let the policy read its memory for the current state.
   */
  headMlp: number[];
  /** Truncated BPTT length in steps; must divide the trial length. */
  bpttSteps: number;
  /** Rewards are multiplied by this for returns and values (keeps value targets near 1). */
  rewardScale: number;
  /**
   * Added to the reward, for returns and values only, at every step the task's success flag is set
   * (robot tasks). MetaWorld's reach reward is nearly flat around the 5 cm success radius (9.86 of 10
   * at 6 cm), so without a bonus crossing into it is worth almost nothing. The policy's reward input
   * and the reported returns stay the env's own.
   */
  successBonus: number;
  /** The previous reward is multiplied by this in the network input. */
  rewardInputScale: number;
  /** Initial log standard deviation of the Gaussian policy (box actions). */
  initLogStd: number;
  /** Initial bias of the GRU's update gate: > 0 starts it remembering across many steps (see addGru). */
  gruUpdateBias: number;
  /** > 2: chrono-initialise the update gate for memories up to this many steps (overrides gruUpdateBias). */
  gruTimescale: number;
  /**
   * Also feed the previous observation, so the previous (observation, action, reward) arrive together.
   * The GRU could remember it itself; handing it over makes credit assignment in tabular MDPs easier.
   */
  previousObservation: boolean;
  /**
   * Also feed the change of reward since the previous step (x rewardInputScale; 0 at an episode's
   * first two steps). Following a dense reward uphill needs it, and the GRU would have to learn the
   * subtraction itself at a precision that a reward input of 1-10 hides (MetaWorld's reach changes
   * its reward by about 0.1 per centimetre).
   */
  rewardDeltaInput: boolean;
  /**
   * Also feed the outer product of the previous observation and the previous action's one-hot
   * (discrete actions only), plain and times the previous reward (x rewardInputScale). In a tabular
   * MDP that is the (state, action) pair just tried and its reward in that pair's own inputs, so the
   * GRU can store what each pair earned without first learning to multiply its inputs.
   */
  observationActionInput: boolean;
  /**
   * Standardise every network input by running statistics (mean and variance of all inputs sampled
   * so far, updated after each PPO update and saved with the weights), clipped to +-10. Positions in
   * metres vary by centimetres; standardised, a centimetre becomes a visible step.
   */
  normalizeInputs: boolean;
  /**
   * An asymmetric actor-critic: the value function also reads the task's critic features
   * (TaskDistribution.critic: e.g. the goal's position, an MDP's optimal values) and where the step is in
   * its episode and trial. Knowing the task, it tells the policy's lucky steps from its good ones; the
   * policy never sees the features, so acting and evaluation are unchanged.
   */
  privilegedCritic: boolean;
  /** Dense tanh layers of the privileged critic, over (GRU state, input, critic features). */
  criticMlp: number[];
  ppo: PpoConfig;
}

export const RL2_DEFAULTS: Rl2Config = {
  tasksPerIteration: 20,
  episodesPerTrial: 10,
  hidden: 256,
  mlp: [],
  headMlp: [],
  bpttSteps: 250,
  rewardScale: 1,
  successBonus: 0,
  rewardInputScale: 1,
  initLogStd: -0.5,
  gruUpdateBias: 0,
  gruTimescale: 0,
  previousObservation: false,
  rewardDeltaInput: false,
  observationActionInput: false,
  normalizeInputs: false,
  privilegedCritic: false,
  criticMlp: [128, 128],
  ppo: PPO_DEFAULTS,
};

/**
 * Fills settings missing from a saved config (a run or checkpoint written before the setting existed)
 * with today's defaults, which are chosen to reproduce the behaviour from before they existed.
 */
export function withRl2Defaults(config: Partial<Omit<Rl2Config, 'ppo'>> & { ppo?: Partial<PpoConfig> }): Rl2Config {
  return { ...RL2_DEFAULTS, ...config, ppo: { ...PPO_DEFAULTS, ...(config.ppo ?? {}) } };
}

// ---------------------------------------------------------------------------------------------
// The network: input -> [dense tanh]* -> GRU -> [dense tanh over (GRU state, input)]* -> policy and value heads
// (with a privileged critic, the value head has its own layers over (GRU state, input, critic input))

type InputOptions = Partial<Pick<Rl2Config, 'previousObservation' | 'rewardDeltaInput' | 'observationActionInput'>>;

/**
 * Size of the RL2 input: observation, [previous observation,] previous action (one-hot when
 * discrete), previous reward, [reward change,] done flag, [previous observation x action one-hot,
 * the same x reward].
 */
export const inputSize = (spec: EnvSpec, options: InputOptions = {}): number =>
  spec.obsSize * (options.previousObservation ? 2 : 1) + (spec.action.kind === 'discrete' ? spec.action.n : spec.action.size) + (options.rewardDeltaInput ? 3 : 2)
  + (options.observationActionInput && spec.action.kind === 'discrete' ? 2 * spec.obsSize * spec.action.n : 0);

/** Clip of standardised inputs (normalizeInputs). */
const INPUT_CLIP = 10;

/** Size of a privileged critic's extra input: the task's critic features, then the step's place in its episode and its trial (0..1). */
export const criticInputSize = (spec: EnvSpec): number => (spec.criticFeatures ?? 0) + 2;

export class Rl2Network {
  readonly params = new Params();
  readonly inputs: number;
  readonly hidden: number;
  readonly action: ActionSpace;
  private readonly mlp: DenseWeights[] = [];
  private readonly headMlp: DenseWeights[] = [];
  private readonly criticMlp: DenseWeights[] = [];
  private readonly gru: GruWeights;
  private readonly policyHead: DenseWeights;
  private readonly valueHead: DenseWeights;
  /** State-independent log std of a Gaussian policy (box actions only). */
  readonly logStd: tf.Variable | null;

  readonly previousObservation: boolean;
  readonly rewardDeltaInput: boolean;
  readonly observationActionInput: boolean;
  /** Running input statistics (normalizeInputs): sample count, mean and variance, not trained. */
  private readonly inputStats: { count: tf.Variable; mean: tf.Variable; variance: tf.Variable } | null;
  /** Width of the privileged critic's extra input (0: the value head reads what the policy head reads). */
  readonly criticInputs: number;
  readonly episodeSteps: number;

  constructor(
    spec: EnvSpec,
    config: Pick<Rl2Config, 'hidden' | 'mlp' | 'headMlp' | 'initLogStd' | 'gruUpdateBias' | 'gruTimescale' | 'previousObservation' | 'rewardDeltaInput' | 'observationActionInput' | 'normalizeInputs' | 'privilegedCritic' | 'criticMlp'>,
    seed: number,
  ) {
    this.inputs = inputSize(spec, config);
    this.previousObservation = config.previousObservation;
    this.rewardDeltaInput = config.rewardDeltaInput;
    if (config.observationActionInput && spec.action.kind !== 'discrete') throw new Error('rl2: observationActionInput needs discrete actions (the action enters as a one-hot)');
    this.observationActionInput = config.observationActionInput;
    this.episodeSteps = spec.episodeSteps;
    if (config.privilegedCritic && spec.criticFeatures === undefined) throw new Error('rl2: privilegedCritic needs a task distribution with critic features (robot benchmarks, bandits and tabular MDPs have them)');
    this.criticInputs = config.privilegedCritic ? criticInputSize(spec) : 0;
    this.hidden = config.hidden;
    this.action = spec.action;
    const rng = rngFor(seed, 'rl2-init');
    let width = this.inputs;
    config.mlp.forEach((units, i) => { this.mlp.push(addDense(this.params, rng, `mlp${i}`, width, units, 5 / 3)); width = units; });
    this.gru = addGru(this.params, rng, 'gru', width, config.hidden, config.gruUpdateBias, config.gruTimescale);
    let features = config.hidden;
    if (config.headMlp.length) features += this.inputs;
    config.headMlp.forEach((units, i) => { this.headMlp.push(addDense(this.params, rng, `head${i}`, features, units, 5 / 3)); features = units; });
    const outputs = spec.action.kind === 'discrete' ? spec.action.n : spec.action.size;
    // A small policy head starts near-uniform (discrete) or near-zero mean (box), as in CleanRL.
    this.policyHead = addDense(this.params, rng, 'policy', features, outputs, 0.01);
    if (this.criticInputs > 0) {
      features = config.hidden + this.inputs + this.criticInputs;
      config.criticMlp.forEach((units, i) => { this.criticMlp.push(addDense(this.params, rng, `critic${i}`, features, units, 5 / 3)); features = units; });
    }
    this.valueHead = addDense(this.params, rng, 'value', features, 1, 1);
    this.logStd = spec.action.kind === 'box' ? this.params.add('logStd', [spec.action.size], new Float32Array(spec.action.size).fill(config.initLogStd)) : null;
    this.inputStats = config.normalizeInputs
      ? {
        count: this.params.add('inputCount', [1], new Float32Array(1), false),
        mean: this.params.add('inputMean', [this.inputs], new Float32Array(this.inputs), false),
        variance: this.params.add('inputVariance', [this.inputs], new Float32Array(this.inputs).fill(1), false),
      }
      : null;
  }

  /** Standardised inputs (normalizeInputs), else the inputs as they are. */
  private normalize(x: tf.Tensor2D): tf.Tensor2D {
    const stats = this.inputStats;
    if (!stats) return x;
    return tf.clipByValue(tf.div(tf.sub(x, stats.mean), tf.sqrt(tf.add(stats.variance, 1e-8))), -INPUT_CLIP, INPUT_CLIP) as tf.Tensor2D;
  }

  /**
   * Merges `rows` inputs (row-major, `inputs` wide) into the running statistics (Chan et al.'s
   * parallel variance), in float64 so that the result does not depend on how samples were batched
   * beyond float32 rounding of the stored values.
   */
  updateInputStats(data: Float32Array, rows: number): void {
    const stats = this.inputStats;
    if (!stats || rows === 0) return;
    const n = this.inputs;
    const mean = new Float64Array(n), m2 = new Float64Array(n);
    for (let r = 0; r < rows; r++) for (let k = 0; k < n; k++) mean[k] += data[r * n + k];
    for (let k = 0; k < n; k++) mean[k] /= rows;
    for (let r = 0; r < rows; r++) for (let k = 0; k < n; k++) { const d = data[r * n + k] - mean[k]; m2[k] += d * d; }
    const count = stats.count.dataSync()[0];
    const oldMean = stats.mean.dataSync(), oldVariance = stats.variance.dataSync();
    const total = count + rows;
    const nextMean = new Float32Array(n), nextVariance = new Float32Array(n);
    for (let k = 0; k < n; k++) {
      const delta = mean[k] - oldMean[k];
      nextMean[k] = oldMean[k] + delta * rows / total;
      const oldM2 = count > 0 ? oldVariance[k] * count : 0;
      nextVariance[k] = (oldM2 + m2[k] + delta * delta * count * rows / total) / total;
    }
    tf.tidy(() => {
      stats.count.assign(tf.tensor1d([total]));
      stats.mean.assign(tf.tensor1d(nextMean));
      stats.variance.assign(tf.tensor1d(nextVariance));
    });
  }

  private embed(x: tf.Tensor2D): tf.Tensor2D {
    for (const layer of this.mlp) x = tf.tanh(dense(x, layer));
    return x;
  }

  /**
   * Policy head output and value from GRU states (and the raw inputs, when there is a head MLP; and the
   * critic input c [B, criticInputs], when the critic is privileged).
   */
  private heads(h: tf.Tensor2D, x: tf.Tensor2D, c: tf.Tensor2D | null): { head: tf.Tensor2D; value: tf.Tensor1D } {
    let features = h;
    if (this.headMlp.length) {
      features = tf.concat([h, x], 1);
      for (const layer of this.headMlp) features = tf.tanh(dense(features, layer));
    }
    let critic = features;
    if (this.criticInputs > 0) {
      critic = tf.concat([h, x, c ?? tf.zeros([x.shape[0], this.criticInputs])], 1);
      for (const layer of this.criticMlp) critic = tf.tanh(dense(critic, layer));
    }
    return { head: dense(features, this.policyHead), value: tf.reshape(dense(critic, this.valueHead), [-1]) as tf.Tensor1D };
  }

  /** One step for acting: inputs [B, in], hidden [B, H] (critic input [B, criticInputs]) -> new hidden, policy head output [B, A], value [B]. */
  step(x: tf.Tensor2D, h: tf.Tensor2D, c: tf.Tensor2D | null = null): { h: tf.Tensor2D; head: tf.Tensor2D; value: tf.Tensor1D } {
    return tf.tidy(() => {
      const input = this.normalize(x);
      const next = gruStep(gruInputs(this.embed(input), this.gru), h, this.gru);
      return { h: next, ...this.heads(next, input, c) };
    });
  }

  /**
   * A differentiable pass over `length` steps of `batch` sequences. `inputs` is time-major
   * ([length][batch][inputs]); h0 is [batch][hidden]; `critic` (privileged critic only) is time-major
   * like `inputs`. Outputs are time-major, [length * batch, ...].
   */
  sequence(inputs: Float32Array, length: number, batch: number, h0: Float32Array, critic?: Float32Array): { head: tf.Tensor2D; value: tf.Tensor1D } {
    const x = this.normalize(tf.tensor2d(inputs, [length * batch, this.inputs]));
    const hs = gruSequence(this.embed(x), tf.tensor2d(h0, [batch, this.hidden]), this.gru, length);
    return this.heads(hs, x, this.criticInputs > 0 && critic ? tf.tensor2d(critic, [length * batch, this.criticInputs]) : null);
  }

  /** Log-probabilities and entropies of `actions` (time-major, actionWidth each) under the head outputs. */
  logProbAndEntropy(head: tf.Tensor2D, actions: Float32Array): { logProb: tf.Tensor1D; entropy: tf.Tensor1D } {
    if (this.action.kind === 'discrete') {
      const n = this.action.n;
      const logp = tf.logSoftmax(head);
      const picked = tf.oneHot(tf.tensor1d(Int32Array.from(actions), 'int32'), n);
      return {
        logProb: tf.sum(tf.mul(logp, picked), 1) as tf.Tensor1D,
        entropy: tf.neg(tf.sum(tf.mul(tf.exp(logp), logp), 1)) as tf.Tensor1D,
      };
    }
    const size = this.action.size;
    const logStd = this.logStd!;
    const a = tf.tensor2d(actions, [actions.length / size, size]);
    const z = tf.div(tf.sub(a, head), tf.exp(logStd));
    const perDim = tf.add(tf.mul(-0.5, tf.square(z)), tf.sub(tf.neg(logStd), 0.5 * Math.log(2 * Math.PI)));
    const logProb = tf.sum(perDim, 1) as tf.Tensor1D;
    // A Gaussian's entropy does not depend on the state: the same value for every sample.
    const entropy = tf.sum(tf.add(logStd, 0.5 * Math.log(2 * Math.PI * Math.E)));
    return { logProb, entropy: tf.mul(tf.onesLike(logProb), entropy) as tf.Tensor1D };
  }

  dispose(): void { this.params.dispose(); }
}

// ---------------------------------------------------------------------------------------------
// Acting: one lane per task, hidden state kept across episodes until the policy is dropped

/** What a trial recorder keeps for learning, per lane and step (lane-major: lane * steps + t). */
export interface TrialRecord {
  lanes: number;
  steps: number;
  inputs: Float32Array;
  actions: Float32Array;
  logProbs: Float32Array;
  values: Float32Array;
  rewards: Float32Array;
  /** 1 where the task's success flag was set at that step. */
  success: Uint8Array;
  /** Hidden state before step k * bpttSteps, per lane and chunk: [lane][chunk][hidden]. */
  chunkStarts: Float32Array;
  /** The privileged critic's input per lane and step (empty without one). */
  critic: Float32Array;
}

/** Where a lane policy gets a privileged critic's input while it samples training trials. */
export interface CriticSource { features: CriticFeatures; tasks: readonly Task[]; trialSteps: number }

export class Rl2LanePolicy implements LanePolicy {
  private h: tf.Tensor2D;
  private readonly width: number;
  private readonly prevAction: Float32Array;
  private prevObs: Float32Array | null = null;
  private readonly prevReward: Float32Array;
  /** The reward before prevReward within the same episode (NaN at an episode's first step). */
  private readonly prevPrevReward: Float32Array;
  private readonly prevDone: Float32Array;
  private readonly input: Float32Array;
  private readonly actions: Float32Array;
  private readonly logProbs: Float32Array;
  private readonly values: Float32Array;
  private readonly criticInput: Float32Array;
  private t = 0;

  constructor(
    private readonly net: Rl2Network,
    readonly lanes: number,
    private readonly rngs: Rng[],
    private readonly options: { deterministic?: boolean; rewardInputScale: number; record?: TrialRecord; bpttSteps?: number; critic?: CriticSource },
  ) {
    const spec = net.action;
    this.width = actionWidth(spec);
    this.h = tf.zeros([lanes, net.hidden]);
    this.prevAction = new Float32Array(lanes * (spec.kind === 'discrete' ? spec.n : spec.size));
    this.prevReward = new Float32Array(lanes);
    this.prevPrevReward = new Float32Array(lanes).fill(Number.NaN);
    this.prevDone = new Float32Array(lanes);
    this.input = new Float32Array(lanes * net.inputs);
    this.actions = new Float32Array(lanes * this.width);
    this.logProbs = new Float32Array(lanes);
    this.values = new Float32Array(lanes);
    this.criticInput = new Float32Array(lanes * net.criticInputs);
  }

  act(obs: Float32Array): Float32Array {
    const { net, lanes, input } = this;
    const obsSize = obs.length / lanes;
    const actionIn = this.prevAction.length / lanes;
    const obsIn = net.previousObservation ? 2 * obsSize : obsSize;
    for (let i = 0; i < lanes; i++) {
      const row = i * net.inputs;
      input.set(obs.subarray(i * obsSize, (i + 1) * obsSize), row);
      if (net.previousObservation) {
        if (this.prevObs) input.set(this.prevObs.subarray(i * obsSize, (i + 1) * obsSize), row + obsSize);
        else input.fill(0, row + obsSize, row + 2 * obsSize);
      }
      input.set(this.prevAction.subarray(i * actionIn, (i + 1) * actionIn), row + obsIn);
      let at = row + obsIn + actionIn;
      input[at++] = this.prevReward[i] * this.options.rewardInputScale;
      if (net.rewardDeltaInput) {
        const before = this.prevPrevReward[i];
        input[at++] = Number.isNaN(before) || this.prevDone[i] ? 0 : (this.prevReward[i] - before) * this.options.rewardInputScale;
      }
      input[at++] = this.prevDone[i];
      if (net.observationActionInput) {
        const pairs = input.subarray(at, at + 2 * obsSize * actionIn).fill(0);
        if (this.prevObs) {
          const reward = this.prevReward[i] * this.options.rewardInputScale;
          for (let o = 0; o < obsSize; o++) {
            const x = this.prevObs[i * obsSize + o];
            if (x === 0) continue;
            for (let a = 0; a < actionIn; a++) {
              const y = this.prevAction[i * actionIn + a];
              pairs[o * actionIn + a] = x * y;
              pairs[obsSize * actionIn + o * actionIn + a] = x * y * reward;
            }
          }
        }
      }
    }
    // The env may reuse its observation buffer: keep a copy for the next step's input.
    if (net.previousObservation || net.observationActionInput) this.prevObs = obs.slice();
    const record = this.options.record;
    if (record && this.options.bpttSteps && this.t % this.options.bpttSteps === 0) {
      const chunk = this.t / this.options.bpttSteps, chunks = record.steps / this.options.bpttSteps;
      const h = this.h.dataSync();
      for (let i = 0; i < lanes; i++) record.chunkStarts.set(h.subarray(i * net.hidden, (i + 1) * net.hidden), (i * chunks + chunk) * net.hidden);
    }
    const x = tf.tensor2d(input, [lanes, net.inputs]);
    const c = net.criticInputs > 0 ? this.writeCriticInput(obs, obsSize) : null;
    const out = net.step(x, this.h, c);
    x.dispose();
    c?.dispose();
    this.h.dispose();
    this.h = out.h;
    const head = out.head.dataSync() as Float32Array;
    this.values.set(out.value.dataSync());
    out.head.dispose();
    out.value.dispose();
    const A = head.length / lanes;
    const logStd = net.logStd ? (net.logStd.dataSync() as Float32Array) : null;
    for (let i = 0; i < lanes; i++) {
      const rng = this.rngs[i];
      const h = head.subarray(i * A, (i + 1) * A);
      if (net.action.kind === 'discrete') {
        const { action, logProb } = sampleCategorical(h, rng, this.options.deterministic ?? false);
        this.actions[i] = action;
        this.logProbs[i] = logProb;
      } else {
        let logProb = 0;
        for (let k = 0; k < A; k++) {
          const std = Math.exp(logStd![k]);
          const noise = this.options.deterministic ? 0 : gaussian(rng);
          this.actions[i * A + k] = h[k] + std * noise;
          logProb += -0.5 * noise * noise - logStd![k] - 0.5 * Math.log(2 * Math.PI);
        }
        this.logProbs[i] = logProb;
      }
    }
    if (record) {
      const T = record.steps;
      for (let i = 0; i < lanes; i++) {
        const at = i * T + this.t;
        record.inputs.set(input.subarray(i * net.inputs, (i + 1) * net.inputs), at * net.inputs);
        record.actions.set(this.actions.subarray(i * this.width, (i + 1) * this.width), at * this.width);
        record.logProbs[at] = this.logProbs[i];
        record.values[at] = this.values[i];
        if (net.criticInputs > 0) record.critic.set(this.criticInput.subarray(i * net.criticInputs, (i + 1) * net.criticInputs), at * net.criticInputs);
      }
    }
    return envActions(this.actions, net.action);
  }

  observe(rewards: ArrayLike<number>, dones: ArrayLike<number>, success?: ArrayLike<number>): void {
    const spec = this.net.action;
    for (let i = 0; i < this.lanes; i++) {
      // The trial's first reward has none before it, and a done step's is the last of its episode.
      this.prevPrevReward[i] = this.t === 0 || this.prevDone[i] ? Number.NaN : this.prevReward[i];
      this.prevReward[i] = rewards[i];
      this.prevDone[i] = dones[i] ? 1 : 0;
      if (spec.kind === 'discrete') {
        this.prevAction.fill(0, i * spec.n, (i + 1) * spec.n);
        this.prevAction[i * spec.n + this.actions[i]] = 1;
      } else {
        for (let k = 0; k < spec.size; k++) this.prevAction[i * spec.size + k] = clamp(this.actions[i * spec.size + k], spec.low, spec.high);
      }
    }
    const record = this.options.record;
    if (record) {
      for (let i = 0; i < this.lanes; i++) {
        record.rewards[i * record.steps + this.t] = rewards[i];
        record.success[i * record.steps + this.t] = success?.[i] ? 1 : 0;
      }
    }
    this.t++;
  }

  /** The privileged critic's input for this step (zeros where no task is known: outside training the value is unused). */
  private writeCriticInput(obs: Float32Array, obsSize: number): tf.Tensor2D {
    const { net, lanes, criticInput } = this, C = net.criticInputs, source = this.options.critic;
    const step = this.t % net.episodeSteps;
    criticInput.fill(0);
    for (let i = 0; i < lanes; i++) {
      const row = criticInput.subarray(i * C, (i + 1) * C);
      if (source) {
        source.features.write(source.tasks[i], obs.subarray(i * obsSize, (i + 1) * obsSize), step, row);
        row[C - 1] = this.t / source.trialSteps;
      }
      row[C - 2] = step / net.episodeSteps;
    }
    return tf.tensor2d(criticInput, [lanes, C]);
  }

  /** The lanes' hidden states (lanes x hidden), for tests and viewers. */
  hiddenState(): Float32Array { return this.h.dataSync() as Float32Array; }

  /** The critic's value estimate of each lane at the last act(). */
  get lastValues(): Float32Array { return this.values; }

  dispose(): void { this.h.dispose(); }
}

const clamp = (x: number, lo: number, hi: number) => (x < lo ? lo : x > hi ? hi : x);

/** The env sees box actions clipped to the space (the policy's log-probability is of the unclipped draw). */
function envActions(actions: Float32Array, space: ActionSpace): Float32Array {
  if (space.kind === 'discrete') return actions;
  const out = new Float32Array(actions.length);
  for (let i = 0; i < actions.length; i++) out[i] = clamp(actions[i], space.low, space.high);
  return out;
}

function sampleCategorical(logits: Float32Array, rng: Rng, deterministic: boolean): { action: number; logProb: number } {
  let max = -Infinity;
  for (const v of logits) max = Math.max(max, v);
  let total = 0;
  for (const v of logits) total += Math.exp(v - max);
  const logTotal = Math.log(total) + max;
  let action = logits.length - 1;
  if (deterministic) {
    action = logits.indexOf(max);
  } else {
    let u = rng.next() * total;
    for (let k = 0; k < logits.length; k++) {
      u -= Math.exp(logits[k] - max);
      if (u < 0) { action = k; break; }
    }
  }
  return { action, logProb: logits[action] - logTotal };
}

// ---------------------------------------------------------------------------------------------
// Learning

export interface Rl2IterationStats extends PpoStats {
  envSteps: number;
  meanTrialReturn: number;
  /** Mean return and success rate of the first and the last episode of the training trials. */
  firstEpisodeReturn: number;
  lastEpisodeReturn: number;
  firstEpisodeSuccess: number;
  lastEpisodeSuccess: number;
  samplingSeconds: number;
  learningSeconds: number;
}

/** The rewards returns and values are computed from: (env reward + success bonus) x reward scale. */
export function learningRewards(record: Pick<TrialRecord, 'rewards' | 'success'>, config: Pick<Rl2Config, 'successBonus' | 'rewardScale'>): Float32Array {
  return record.rewards.map((r, at) => (r + config.successBonus * record.success[at]) * config.rewardScale);
}

/** RL2 as a meta-algorithm plus its PPO learner; one instance per run. */
export class Rl2 implements MetaAlgorithm {
  readonly name = 'rl2';
  readonly net: Rl2Network;
  readonly optimizer: Adam;
  readonly config: Rl2Config;
  readonly adaptUsesEpisodes = false;

  constructor(readonly spec: EnvSpec, config: Rl2Config, readonly seed: number) {
    this.config = config;
    const trialSteps = config.episodesPerTrial * spec.episodeSteps;
    if (trialSteps % config.bpttSteps !== 0) throw new Error(`rl2: bpttSteps (${config.bpttSteps}) must divide the trial length (${config.episodesPerTrial} episodes x ${spec.episodeSteps} steps = ${trialSteps})`);
    this.net = new Rl2Network(spec, config, seed);
    this.optimizer = new Adam(this.net.params, {
      learningRate: config.ppo.learningRate, beta1: 0.9, beta2: 0.999, epsilon: config.ppo.adamEpsilon, maxGradNorm: config.ppo.maxGradNorm,
    });
  }

  explorationPolicy(lanes: number, options: { seed: number; deterministic?: boolean }): Rl2LanePolicy {
    const rngs = Array.from({ length: lanes }, (_, i) => rngFor(options.seed, 'actions', i));
    return new Rl2LanePolicy(this.net, lanes, rngs, { deterministic: options.deterministic, rewardInputScale: this.config.rewardInputScale });
  }

  /** RL2 has adapted in its hidden state while it explored: the adapted policy is the same policy, state kept. */
  adapt(policy: LanePolicy): LanePolicy { return policy; }

  /**
   * One training iteration: sample a trial on each of this iteration's tasks, then a PPO update on the
   * trials (GAE over each whole trial, no bootstrapping across its end).
   */
  iterate(envs: EnvBatch, distribution: TaskDistribution, iteration: number, totalIterations: number): Rl2IterationStats {
    const { config, net } = this;
    const lanes = config.tasksPerIteration;
    const steps = config.episodesPerTrial * this.spec.episodeSteps;
    const width = actionWidth(this.spec.action);
    const chunks = steps / config.bpttSteps;
    const record: TrialRecord = {
      lanes, steps,
      inputs: new Float32Array(lanes * steps * net.inputs),
      actions: new Float32Array(lanes * steps * width),
      logProbs: new Float32Array(lanes * steps),
      values: new Float32Array(lanes * steps),
      rewards: new Float32Array(lanes * steps),
      success: new Uint8Array(lanes * steps),
      chunkStarts: new Float32Array(lanes * chunks * net.hidden),
      critic: new Float32Array(lanes * steps * net.criticInputs),
    };
    const started = performance.now();
    const tasks = distribution.trainTasks(iteration, lanes);
    const rngs = Array.from({ length: lanes }, (_, i) => rngFor(this.seed, 'actions', iteration, i));
    if (net.criticInputs > 0 && !distribution.critic) throw new Error(`rl2: privilegedCritic needs critic features, which ${distribution.name} does not have`);
    const critic = net.criticInputs > 0 ? { features: distribution.critic!, tasks, trialSteps: steps } : undefined;
    const policy = new Rl2LanePolicy(net, lanes, rngs, { rewardInputScale: config.rewardInputScale, record, bpttSteps: config.bpttSteps, critic });
    const trials = runTrials(envs, policy, tasks, config.episodesPerTrial, seedFor(this.seed, 'train', iteration));
    policy.dispose();
    const sampled = performance.now();

    // Returns and advantages over each whole trial (the hidden state makes it one trajectory).
    const advantages = new Float32Array(lanes * steps), returns = new Float32Array(lanes * steps);
    const ends = new Uint8Array(steps);
    ends[steps - 1] = 1;
    const scaled = learningRewards(record, config);
    for (let i = 0; i < lanes; i++) {
      const span = [i * steps, (i + 1) * steps] as const;
      const gae = computeGae(scaled.subarray(...span), record.values.subarray(...span), ends, 0, config.ppo.gamma, config.ppo.lambda);
      advantages.set(gae.advantages, span[0]);
      returns.set(gae.returns, span[0]);
    }
    const batch: PpoBatch = { sequences: lanes * chunks, length: config.bpttSteps, oldLogProb: record.logProbs, advantages, returns };
    const L = config.bpttSteps;
    const ppoPolicy = {
      params: net.params,
      evaluate: (ids: readonly number[]) => {
        const B = ids.length;
        // Sequence id c is chunk c of the lane-major record: steps c * L .. c * L + L - 1.
        const C = net.criticInputs;
        const inputs = new Float32Array(L * B * net.inputs), actions = new Float32Array(L * B * width), h0 = new Float32Array(B * net.hidden);
        const criticInputs = new Float32Array(L * B * C);
        ids.forEach((c, b) => {
          h0.set(record.chunkStarts.subarray(c * net.hidden, (c + 1) * net.hidden), b * net.hidden);
          for (let t = 0; t < L; t++) {
            const at = c * L + t;
            inputs.set(record.inputs.subarray(at * net.inputs, (at + 1) * net.inputs), (t * B + b) * net.inputs);
            actions.set(record.actions.subarray(at * width, (at + 1) * width), (t * B + b) * width);
            if (C > 0) criticInputs.set(record.critic.subarray(at * C, (at + 1) * C), (t * B + b) * C);
          }
        });
        const out = net.sequence(inputs, L, B, h0, criticInputs);
        return { ...net.logProbAndEntropy(out.head, actions), value: out.value };
      },
    };
    const progress = totalIterations > 1 ? iteration / (totalIterations - 1) : 0;
    const learningRate = config.ppo.learningRate * (1 - (1 - config.ppo.finalLearningRateFraction) * Math.min(1, progress));
    const ppo = ppoUpdate(ppoPolicy, this.optimizer, batch, config.ppo, rngFor(this.seed, 'minibatches', iteration), learningRate);
    // After the update, so that the update saw the statistics the trials were sampled with.
    net.updateInputStats(record.inputs, lanes * steps);
    const learned = performance.now();

    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const E = config.episodesPerTrial;
    return {
      ...ppo,
      envSteps: lanes * steps,
      meanTrialReturn: mean(trials.trialReturns),
      firstEpisodeReturn: mean(trials.episodeReturns.map((r) => r[0])),
      lastEpisodeReturn: mean(trials.episodeReturns.map((r) => r[E - 1])),
      firstEpisodeSuccess: mean(trials.episodeSuccess.map((s) => (s[0] ? 1 : 0))),
      lastEpisodeSuccess: mean(trials.episodeSuccess.map((s) => (s[E - 1] ? 1 : 0))),
      samplingSeconds: (sampled - started) / 1000,
      learningSeconds: (learned - sampled) / 1000,
    };
  }

  /** Everything needed to continue training bit-exactly: weights and optimiser state. */
  state(): { params: Record<string, TensorJSON>; optimizer: ReturnType<Adam['toJSON']> } {
    return { params: this.net.params.toJSON(), optimizer: this.optimizer.toJSON() };
  }

  /** A learner with a checkpoint's settings and weights, to act with (its optimiser starts fresh); disposed again if the weights do not fit. */
  static fromCheckpoint(checkpoint: { spec: EnvSpec; config: Rl2Config; seed: number; state: { params: Record<string, TensorJSON> } }): Rl2 {
    const rl2 = new Rl2(checkpoint.spec, checkpoint.config, checkpoint.seed);
    try {
      rl2.load({ params: checkpoint.state.params });
    } catch (error) {
      rl2.dispose();
      throw error;
    }
    return rl2;
  }

  load(state: { params: Record<string, TensorJSON>; optimizer?: ReturnType<Adam['toJSON']> }): void {
    this.net.params.load(state.params);
    if (state.optimizer) this.optimizer.load(state.optimizer);
  }

  dispose(): void { this.optimizer.dispose(); this.net.dispose(); }
}
