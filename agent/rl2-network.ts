// RL2's network (Duan et al. 2016: a GRU policy, here with a value head for PPO): input -> [dense tanh]*
// -> GRU -> [dense tanh over (GRU state, input)]* -> policy head and value head; and its action
// distribution, the one that acting samples from and learning scores.

import * as tf from '@tensorflow/tfjs';
import type { ActionSpace } from './envs.ts';
import { type DenseWeights, type GruWeights, Params, addDense, addGru, dense, gruInputs, gruSequence, gruStep } from './nn.ts';
import { type Rng, gaussian, rngFor } from './random.ts';
import type { InputLayout } from './rl2-inputs.ts';

/** The settings of RL2's network (part of Rl2Config). */
export interface Rl2NetworkConfig {
  /** GRU units. */
  hidden: number;
  /** Dense tanh layers between the input and the GRU (empty: the GRU reads the input directly). */
  mlp: number[];
  /**
   * Dense tanh layers between the GRU and the policy/value heads, fed the GRU state and the step's input
   * (empty: linear heads on the GRU state). They let the policy read its memory for the current state.
   */
  headMlp: number[];
  /** Initial log standard deviation of the Gaussian policy (box actions). */
  initLogStd: number;
  /** Initial bias of the GRU's update gate: > 0 starts it remembering across many steps (see addGru). */
  gruUpdateBias: number;
  /** > 2: chrono-initialise the update gate for memories up to this many steps (overrides gruUpdateBias). */
  gruTimescale: number;
  /**
   * Standardise every network input by running statistics (mean and variance of all inputs sampled
   * so far, updated after each PPO update and saved with the weights), clipped to +-10. Positions in
   * metres vary by centimetres; standardised, a centimetre becomes a visible step.
   */
  normalizeInputs: boolean;
  /** Dense tanh layers of the privileged critic, over (GRU state, input, critic input). */
  criticMlp: number[];
}

/** Clip of standardised inputs (normalizeInputs). */
const INPUT_CLIP = 10;

export class Rl2Network {
  readonly params = new Params();
  readonly hidden: number;
  private readonly mlp: DenseWeights[] = [];
  private readonly headMlp: DenseWeights[] = [];
  private readonly criticMlp: DenseWeights[] = [];
  private readonly gru: GruWeights;
  private readonly policyHead: DenseWeights;
  private readonly valueHead: DenseWeights;
  /** State-independent log std of a Gaussian policy (box actions only). */
  readonly logStd: tf.Variable | null;
  /** Running input statistics (normalizeInputs): sample count, mean and variance, not trained. */
  private readonly inputStats: { count: tf.Variable; mean: tf.Variable; variance: tf.Variable } | null;

  /**
   * `inputs` is the policy's input row; `criticInputs` a privileged critic's extra input (null: the
   * value head reads what the policy head reads). Parameters are drawn from (seed, 'rl2-init') in a fixed
   * order, so the same settings and seed give the same weights.
   */
  constructor(
    readonly action: ActionSpace,
    readonly inputs: InputLayout,
    readonly criticInputs: InputLayout | null,
    config: Rl2NetworkConfig,
    seed: number,
  ) {
    this.hidden = config.hidden;
    const rng = rngFor(seed, 'rl2-init');
    const width = inputs.size;
    let features = width;
    config.mlp.forEach((units, i) => { this.mlp.push(addDense(this.params, rng, `mlp${i}`, features, units, 5 / 3)); features = units; });
    this.gru = addGru(this.params, rng, 'gru', features, config.hidden, config.gruUpdateBias, config.gruTimescale);
    features = config.hidden;
    if (config.headMlp.length) features += width;
    config.headMlp.forEach((units, i) => { this.headMlp.push(addDense(this.params, rng, `head${i}`, features, units, 5 / 3)); features = units; });
    const outputs = action.kind === 'discrete' ? action.n : action.size;
    // A small policy head starts near-uniform (discrete) or near-zero mean (box), as in CleanRL.
    this.policyHead = addDense(this.params, rng, 'policy', features, outputs, 0.01);
    if (criticInputs) {
      features = config.hidden + width + criticInputs.size;
      config.criticMlp.forEach((units, i) => { this.criticMlp.push(addDense(this.params, rng, `critic${i}`, features, units, 5 / 3)); features = units; });
    }
    this.valueHead = addDense(this.params, rng, 'value', features, 1, 1);
    this.logStd = action.kind === 'box' ? this.params.add('logStd', [action.size], new Float32Array(action.size).fill(config.initLogStd)) : null;
    this.inputStats = config.normalizeInputs
      ? {
        count: this.params.add('inputCount', [1], new Float32Array(1), false),
        mean: this.params.add('inputMean', [width], new Float32Array(width), false),
        variance: this.params.add('inputVariance', [width], new Float32Array(width).fill(1), false),
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
   * Merges `rows` input rows (row-major) into the running statistics (Chan et al.'s parallel variance),
   * in float64 so that the result does not depend on how samples were batched beyond float32 rounding
   * of the stored values.
   */
  updateInputStats(data: Float32Array, rows: number): void {
    const stats = this.inputStats;
    if (!stats || rows === 0) return;
    const n = this.inputs.size;
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
   * Policy head output and value from GRU states (and the inputs, when there is a head MLP; and the
   * critic input c, when the critic is privileged: zeros when c is not given).
   */
  private heads(h: tf.Tensor2D, x: tf.Tensor2D, c: tf.Tensor2D | null): { head: tf.Tensor2D; value: tf.Tensor1D } {
    let features = h;
    if (this.headMlp.length) {
      features = tf.concat([h, x], 1);
      for (const layer of this.headMlp) features = tf.tanh(dense(features, layer));
    }
    let critic = features;
    if (this.criticInputs) {
      critic = tf.concat([h, x, c ?? tf.zeros([x.shape[0], this.criticInputs.size])], 1);
      for (const layer of this.criticMlp) critic = tf.tanh(dense(critic, layer));
    }
    return { head: dense(features, this.policyHead), value: tf.reshape(dense(critic, this.valueHead), [-1]) as tf.Tensor1D };
  }

  /** One step for acting: inputs [B, in], hidden [B, H] (critic input [B, critic in]) -> new hidden, policy head output [B, A], value [B]. */
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
    const x = this.normalize(tf.tensor2d(inputs, [length * batch, this.inputs.size]));
    const hs = gruSequence(this.embed(x), tf.tensor2d(h0, [batch, this.hidden]), this.gru, length);
    return this.heads(hs, x, this.criticInputs && critic ? tf.tensor2d(critic, [length * batch, this.criticInputs.size]) : null);
  }

  // -------------------------------------------------------------------------------------------
  // The action distribution: categorical over logits (discrete), or a Gaussian with the head as its
  // mean and a learned state-independent log std (box)

  /**
   * Draws one action per lane from the head outputs of a step (lanes x A, read back from the backend)
   * into `actions` (actionWidth each) and their log-probabilities into `logProbs`; with `deterministic`,
   * the mode (the most likely action, the mean). Drawn in JavaScript from per-lane seeded streams, so
   * the draws do not depend on the backend.
   */
  sampleActions(head: Float32Array, rngs: readonly Rng[], deterministic: boolean, actions: Float32Array, logProbs: Float32Array): void {
    const A = this.action.kind === 'discrete' ? this.action.n : this.action.size, lanes = head.length / A;
    const logStd = this.logStd ? (this.logStd.dataSync() as Float32Array) : null;
    for (let i = 0; i < lanes; i++) {
      const rng = rngs[i];
      const h = head.subarray(i * A, (i + 1) * A);
      if (this.action.kind === 'discrete') {
        const { action, logProb } = sampleCategorical(h, rng, deterministic);
        actions[i] = action;
        logProbs[i] = logProb;
      } else {
        let logProb = 0;
        for (let k = 0; k < A; k++) {
          const std = Math.exp(logStd![k]);
          const noise = deterministic ? 0 : gaussian(rng);
          actions[i * A + k] = h[k] + std * noise;
          logProb += -0.5 * noise * noise - logStd![k] - 0.5 * Math.log(2 * Math.PI);
        }
        logProbs[i] = logProb;
      }
    }
  }

  /** Log-probabilities and entropies of `actions` (time-major, actionWidth each) under the head outputs, differentiably. */
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
