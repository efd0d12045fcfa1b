// RL2's network (Duan et al. 2016: a GRU policy, here with a value head for PPO): input -> [dense tanh]*
// -> GRU -> [dense tanh over (GRU state, input)]* -> policy head and value head, or (separateValueNetwork)
// a value function with a network of its own of the same shape; and its action distribution, the one
// that acting samples from and learning scores.

import * as tf from '@tensorflow/tfjs';
import type { ActionSpace, EnvSpec } from './envs.ts';
import { ConstantInput, type DenseWeights, type GruWeights, type MatMul, Params, addDense, addGru, autogradMatMul, dense, denseOverParts, fastTanh, gruInputs, gruSequence, gruStep, inputMatMul, matMul } from './nn.ts';
import { type Rng, gaussian, rngFor } from './random.ts';
import { type InputLayout, type Rl2InputConfig, criticInputs, policyInputs, valueInputs } from './rl2-inputs.ts';

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
  /**
   * Ceiling on the Gaussian policy's log standard deviation (null: none). Lowered during fine-tuning,
   * it makes the action noise too small to find a goal by itself, so the mean action has to search.
   */
  maxLogStd: number | null;
  /** Initial bias of the GRU's update gate: > 0 starts it remembering across many steps (see addGru). */
  gruUpdateBias: number;
  /** > 2: chrono-initialise the update gate for memories up to this many steps (overrides gruUpdateBias). */
  gruTimescale: number;
  /**
   * Layer-normalised GRUs (Ba et al. 2016): the input and the hidden projection standardised per gate
   * block, with learned gains, before their biases (nn.ts addGru). The recurrent state keeps its scale
   * however the weights grow.
   */
  gruLayerNorm: boolean;
  /**
   * The value function as a network of its own: the same shape as the policy's ([dense tanh]* over the
   * input, a GRU of `hidden` units, [dense tanh over (its GRU state, its input)]* of headMlp's sizes, a
   * linear value), so policy and value share no weights and no recurrent state. Its input is the policy's
   * row plus valueInputs (valueTimeInput). With privilegedCritic its head layers are criticMlp's, over
   * (its GRU state, its input, the critic input). Each network's gradient is clipped to maxGradNorm on
   * its own. The hidden state acting carries (and learning records at chunk starts) is then
   * [policy GRU state | value GRU state].
   */
  separateValueNetwork: boolean;
  /**
   * Standardise every network input by running statistics (mean and variance of all inputs sampled
   * so far, updated after each PPO update and saved with the weights), clipped to +-10. Positions in
   * metres vary by centimetres; standardised, a centimetre becomes a visible step.
   */
  normalizeInputs: boolean;
  /** Dense tanh layers of the privileged critic, over (GRU state, input, critic input). */
  criticMlp: number[];
  /**
   * Learn with fewer, faster wasm kernels: tanh layers as 2 sigmoid(2x) - 1 (the wasm Tanh kernel runs
   * about 5x slower), and a layer over (GRU state, input[, critic input]) as one matMul per part instead
   * of a matMul over their concatenation (no copies, no gradient for the inputs). The same functions, but
   * the results differ in the last bits: runs saved before this setting existed keep false. Acting is
   * the same either way: at 10-200 lanes per step the kernel count matters more than kernel speed, and
   * fused bias + fast tanh there measured no clear gain (-8 % to +12 % of an act, within the noise).
   */
  fastKernels: boolean;
}

/** Clip of standardised inputs (normalizeInputs). */
const INPUT_CLIP = 10;

export class Rl2Network {
  readonly params = new Params();
  readonly hidden: number;
  private readonly mlp: DenseWeights[] = [];
  private readonly headMlp: DenseWeights[] = [];
  private readonly fastKernels: boolean;
  private readonly criticMlp: DenseWeights[] = [];
  private readonly gru: GruWeights;
  /** The separate value network's layers (separateValueNetwork; null: the value is a head on the policy's GRU). */
  private readonly valueNet: { mlp: DenseWeights[]; gru: GruWeights; headMlp: DenseWeights[] } | null;
  /** Width of the state acting carries per lane: the policy GRU's, and the value GRU's after it when separate. */
  readonly stateSize: number;
  private readonly policyHead: DenseWeights;
  private readonly valueHead: DenseWeights;
  /** State-independent log std of a Gaussian policy (box actions only). */
  readonly logStd: tf.Variable | null;
  /** Ceiling on logStd (Rl2NetworkConfig.maxLogStd). */
  readonly maxLogStd: number | null;
  /** Running input statistics (normalizeInputs): sample count, mean and variance, not trained. */
  private readonly inputStats: { count: tf.Variable; mean: tf.Variable; variance: tf.Variable } | null;

  /**
   * `inputs` is the policy's input row; `criticInputs` a privileged critic's extra input (null: the
   * value head reads what the policy head reads); `valueInputs` what a separate value network reads after
   * the policy's row (null: nothing more). Parameters are drawn from (seed, 'rl2-init') in a fixed order,
   * so the same settings and seed give the same weights; a separate value network's come after the
   * policy head's, so the policy's weights are those of the same settings without it.
   */
  constructor(
    readonly action: ActionSpace,
    readonly inputs: InputLayout,
    readonly criticInputs: InputLayout | null,
    config: Rl2NetworkConfig,
    seed: number,
    readonly valueInputs: InputLayout | null = null,
  ) {
    if (valueInputs && !config.separateValueNetwork) throw new Error('rl2: valueTimeInput needs separateValueNetwork: true (the value network reads the place in the trial; a value head on the policy\'s GRU has no input of its own)');
    this.hidden = config.hidden;
    this.stateSize = config.separateValueNetwork ? 2 * config.hidden : config.hidden;
    this.fastKernels = config.fastKernels;
    const rng = rngFor(seed, 'rl2-init');
    const width = inputs.size;
    let features = width;
    config.mlp.forEach((units, i) => { this.mlp.push(addDense(this.params, rng, `mlp${i}`, features, units, 5 / 3)); features = units; });
    this.gru = addGru(this.params, rng, 'gru', features, config.hidden, config.gruUpdateBias, config.gruTimescale, config.gruLayerNorm);
    features = config.hidden;
    if (config.headMlp.length) features += width;
    config.headMlp.forEach((units, i) => { this.headMlp.push(addDense(this.params, rng, `head${i}`, features, units, 5 / 3)); features = units; });
    const outputs = action.kind === 'discrete' ? action.n : action.size;
    // A small policy head starts near-uniform (discrete) or near-zero mean (box), as in CleanRL.
    this.policyHead = addDense(this.params, rng, 'policy', features, outputs, 0.01);
    // The value network: its own input layers and GRU, then head layers as the policy's.
    const valueWidth = width + (valueInputs?.size ?? 0);
    if (config.separateValueNetwork) {
      const mlp: DenseWeights[] = [], headMlp: DenseWeights[] = [];
      features = valueWidth;
      config.mlp.forEach((units, i) => { mlp.push(addDense(this.params, rng, `valueMlp${i}`, features, units, 5 / 3)); features = units; });
      const gru = addGru(this.params, rng, 'valueGru', features, config.hidden, config.gruUpdateBias, config.gruTimescale, config.gruLayerNorm);
      features = config.hidden;
      if (!criticInputs) {
        if (config.headMlp.length) features += valueWidth;
        config.headMlp.forEach((units, i) => { headMlp.push(addDense(this.params, rng, `valueHead${i}`, features, units, 5 / 3)); features = units; });
      }
      this.valueNet = { mlp, gru, headMlp };
    } else {
      this.valueNet = null;
    }
    if (criticInputs) {
      features = config.hidden + valueWidth + criticInputs.size;
      config.criticMlp.forEach((units, i) => { this.criticMlp.push(addDense(this.params, rng, `critic${i}`, features, units, 5 / 3)); features = units; });
    }
    this.valueHead = addDense(this.params, rng, 'value', features, 1, 1);
    this.logStd = action.kind === 'box' ? this.params.add('logStd', [action.size], new Float32Array(action.size).fill(config.initLogStd)) : null;
    this.maxLogStd = config.maxLogStd ?? null;
    this.inputStats = config.normalizeInputs
      ? {
        count: this.params.add('inputCount', [1], new Float32Array(1), false),
        mean: this.params.add('inputMean', [width], new Float32Array(width), false),
        variance: this.params.add('inputVariance', [width], new Float32Array(width).fill(1), false),
      }
      : null;
  }

  /**
   * Input rows standardised by the running statistics (normalizeInputs; a new array), else the rows
   * themselves. Computed here rather than by tensor ops (five kernels per network call) with each step
   * rounded to float32 as those ops round, so the numbers are the same to the bit.
   */
  normalizedRows(rows: Float32Array): Float32Array {
    const stats = this.inputStats;
    if (!stats) return rows;
    const n = this.inputs.size, f = Math.fround, epsilon = f(1e-8);
    const mean = stats.mean.dataSync() as Float32Array, variance = stats.variance.dataSync() as Float32Array;
    const std = variance.map((v) => Math.sqrt(f(v + epsilon)));
    const out = new Float32Array(rows.length);
    for (let at = 0; at < rows.length; at += n) {
      for (let k = 0; k < n; k++) {
        const z = f(f(rows[at + k] - mean[k]) / std[k]);
        out[at + k] = z < -INPUT_CLIP ? -INPUT_CLIP : z > INPUT_CLIP ? INPUT_CLIP : z;
      }
    }
    return out;
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

  private embed(x: tf.Tensor2D, mm: MatMul = matMul, layers: readonly DenseWeights[] = this.mlp): tf.Tensor2D {
    for (const layer of layers) x = tf.tanh(dense(x, layer, mm));
    return x;
  }

  /**
   * The optimiser's clip group of a parameter (nn.ts AdamConfig.clipGroup): with a separate value network,
   * 1 for the value network's parameters and 0 for the policy's, so that each is clipped on its own;
   * undefined without one (one global clip, as before the setting).
   */
  get clipGroup(): ((name: string) => number) | undefined {
    if (!this.valueNet) return undefined;
    return (name) => (name.startsWith('value') || name.startsWith('critic') ? 1 : 0);
  }

  /**
   * Policy head output and value from GRU states (and the inputs, when there is a head MLP; and the
   * critic input c, when the critic is privileged: zeros when c is not given).
   */
  private heads(h: tf.Tensor2D, x: tf.Tensor2D, c: tf.Tensor2D | null, mm: MatMul = matMul): { head: tf.Tensor2D; value: tf.Tensor1D } {
    let features = h;
    if (this.headMlp.length) {
      features = tf.concat([h, x], 1);
      for (const layer of this.headMlp) features = tf.tanh(dense(features, layer, mm));
    }
    let critic = features;
    if (this.criticInputs) {
      critic = tf.concat([h, x, c ?? tf.zeros([x.shape[0], this.criticInputs.size])], 1);
      for (const layer of this.criticMlp) critic = tf.tanh(dense(critic, layer, mm));
    }
    return { head: dense(features, this.policyHead, mm), value: tf.reshape(dense(critic, this.valueHead, mm), [-1]) as tf.Tensor1D };
  }

  /** The input MLP with fastKernels: the first layer reads the constant input. */
  private fastEmbed(x: ConstantInput, layers: readonly DenseWeights[] = this.mlp): tf.Tensor2D {
    let features: tf.Tensor2D | null = null;
    for (const layer of layers) features = fastTanh(features ? dense(features, layer) : tf.add(inputMatMul(x, layer.w as tf.Tensor2D), layer.b));
    return features!;
  }

  /** heads() with fastKernels: `xc` is the input and the critic input side by side (null without a privileged critic). */
  private fastHeads(h: tf.Tensor2D, x: ConstantInput, xc: ConstantInput | null): { head: tf.Tensor2D; value: tf.Tensor1D } {
    let features = h;
    this.headMlp.forEach((layer, i) => { features = fastTanh(i === 0 ? denseOverParts([h, x], layer) : dense(features, layer)); });
    let value: tf.Tensor2D;
    if (xc) {
      let critic: tf.Tensor2D | null = null;
      for (const layer of this.criticMlp) critic = fastTanh(critic ? dense(critic, layer) : denseOverParts([h, xc], layer));
      value = critic ? dense(critic, this.valueHead) : denseOverParts([h, xc], this.valueHead);
    } else {
      value = dense(features, this.valueHead);
    }
    return { head: dense(features, this.policyHead), value: tf.reshape(value, [-1]) as tf.Tensor1D };
  }

  /**
   * One step for acting: input rows [B, in] (as written by the input layout; standardised here), state
   * [B, stateSize] (critic input rows [B, critic in], value input rows [B, value in]) -> new state, policy
   * head output [B, A], value [B].
   */
  step(rows: Float32Array, h: tf.Tensor2D, criticRows: Float32Array | null = null, valueRows: Float32Array | null = null): { h: tf.Tensor2D; head: tf.Tensor2D; value: tf.Tensor1D } {
    return tf.tidy(() => {
      const lanes = h.shape[0];
      const x = tf.tensor2d(this.normalizedRows(rows), [lanes, this.inputs.size]);
      if (this.valueNet) return this.separateStep(x, h, this.criticInputs && criticRows ? tf.tensor2d(criticRows, [lanes, this.criticInputs.size]) : null, valueRows);
      // No gradient is taken of acting: plain matMuls (the same kernel) skip customGrad's bookkeeping.
      const next = gruStep(gruInputs(this.embed(x, autogradMatMul), this.gru, autogradMatMul), h, this.gru, autogradMatMul);
      const c = this.criticInputs && criticRows ? tf.tensor2d(criticRows, [lanes, this.criticInputs.size]) : null;
      return { h: next, ...this.heads(next, x, c, autogradMatMul) };
    });
  }

  /**
   * A differentiable pass over `length` steps of `batch` sequences. `inputs` is time-major
   * ([length][batch][inputs]); h0 is [batch][stateSize]; `critic` (privileged critic only) and
   * `valueRows` (valueInputs only) are time-major like `inputs`. Outputs are time-major, [length * batch, ...].
   */
  sequence(inputs: Float32Array, length: number, batch: number, h0: Float32Array, critic?: Float32Array, valueRows?: Float32Array): { head: tf.Tensor2D; value: tf.Tensor1D } {
    const rows = length * batch, I = this.inputs.size;
    const normalized = this.normalizedRows(inputs);
    const x = new ConstantInput(tf.tensor2d(normalized, [rows, I]), true);
    if (this.valueNet) return this.separateSequence(normalized, x, length, batch, h0, critic ?? null, valueRows ?? null);
    const start = tf.tensor2d(h0, [batch, this.hidden]);
    if (!this.fastKernels) {
      const hs = gruSequence(this.mlp.length ? this.embed(x.x) : x, start, this.gru, length);
      return this.heads(hs, x.x, this.criticInputs && critic ? tf.tensor2d(critic, [rows, this.criticInputs.size]) : null);
    }
    const hs = gruSequence(this.mlp.length ? this.fastEmbed(x) : x, start, this.gru, length);
    const xc = this.criticInputs ? new ConstantInput(tf.tensor2d(sideBySide(normalized, I, critic ?? null, this.criticInputs.size, rows), [rows, I + this.criticInputs.size]), true) : null;
    return this.fastHeads(hs, x, xc);
  }

  // -------------------------------------------------------------------------------------------
  // With a separate value network: the policy's GRU and head, and the value network beside it

  /** step() with a separate value network: h is [policy state | value state]. */
  private separateStep(x: tf.Tensor2D, h: tf.Tensor2D, c: tf.Tensor2D | null, valueRows: Float32Array | null): { h: tf.Tensor2D; head: tf.Tensor2D; value: tf.Tensor1D } {
    const net = this.valueNet!, mm = autogradMatMul, lanes = x.shape[0];
    const [hp, hv] = tf.split(h, 2, 1) as tf.Tensor2D[];
    const V = this.valueInputs?.size ?? 0;
    const xv = V > 0 ? tf.concat([x, tf.tensor2d(valueRows ?? new Float32Array(lanes * V), [lanes, V])], 1) as tf.Tensor2D : x;
    const nextPolicy = gruStep(gruInputs(this.embed(x, mm), this.gru, mm), hp, this.gru, mm);
    const nextValue = gruStep(gruInputs(this.embed(xv, mm, net.mlp), net.gru, mm), hv, net.gru, mm);
    return { h: tf.concat([nextPolicy, nextValue], 1), head: this.policyOutput(nextPolicy, x, mm), value: this.valueOutput(nextValue, xv, c, mm) };
  }

  /** The policy head's output from the policy's GRU states (and the inputs, for a head MLP). */
  private policyOutput(h: tf.Tensor2D, x: tf.Tensor2D, mm: MatMul = matMul): tf.Tensor2D {
    let features = h;
    if (this.headMlp.length) {
      features = tf.concat([h, x], 1);
      for (const layer of this.headMlp) features = tf.tanh(dense(features, layer, mm));
    }
    return dense(features, this.policyHead, mm);
  }

  /** The separate value network's value from its GRU states, its input rows xv and the critic input c (privileged; zeros when null). */
  private valueOutput(hv: tf.Tensor2D, xv: tf.Tensor2D, c: tf.Tensor2D | null, mm: MatMul = matMul): tf.Tensor1D {
    let features = hv;
    const layers = this.criticInputs ? this.criticMlp : this.valueNet!.headMlp;
    if (this.criticInputs) features = tf.concat([hv, xv, c ?? tf.zeros([xv.shape[0], this.criticInputs.size])], 1);
    else if (layers.length) features = tf.concat([hv, xv], 1);
    for (const layer of layers) features = tf.tanh(dense(features, layer, mm));
    return tf.reshape(dense(features, this.valueHead, mm), [-1]) as tf.Tensor1D;
  }

  /** sequence() with a separate value network: each GRU from its part of the recorded states. */
  private separateSequence(
    normalized: Float32Array, x: ConstantInput, length: number, batch: number, h0: Float32Array, critic: Float32Array | null, valueRows: Float32Array | null,
  ): { head: tf.Tensor2D; value: tf.Tensor1D } {
    const net = this.valueNet!, H = this.hidden, rows = length * batch, I = this.inputs.size;
    const V = this.valueInputs?.size ?? 0, C = this.criticInputs?.size ?? 0;
    const policyStart = new Float32Array(batch * H), valueStart = new Float32Array(batch * H);
    for (let b = 0; b < batch; b++) {
      policyStart.set(h0.subarray(2 * b * H, (2 * b + 1) * H), b * H);
      valueStart.set(h0.subarray((2 * b + 1) * H, (2 * b + 2) * H), b * H);
    }
    const startP = tf.tensor2d(policyStart, [batch, H]), startV = tf.tensor2d(valueStart, [batch, H]);
    const xvRows = V > 0 ? sideBySide(normalized, I, valueRows, V, rows) : normalized;
    const xv = V > 0 ? new ConstantInput(tf.tensor2d(xvRows, [rows, I + V]), true) : x;
    if (!this.fastKernels) {
      const hs = gruSequence(this.mlp.length ? this.embed(x.x) : x, startP, this.gru, length);
      const hsv = gruSequence(net.mlp.length ? this.embed(xv.x, matMul, net.mlp) : xv, startV, net.gru, length);
      const c = this.criticInputs ? tf.tensor2d(critic ?? new Float32Array(rows * C), [rows, C]) : null;
      return { head: this.policyOutput(hs, x.x), value: this.valueOutput(hsv, xv.x, c) };
    }
    const hs = gruSequence(this.mlp.length ? this.fastEmbed(x) : x, startP, this.gru, length);
    const hsv = gruSequence(net.mlp.length ? this.fastEmbed(xv, net.mlp) : xv, startV, net.gru, length);
    let features = hs;
    this.headMlp.forEach((layer, i) => { features = fastTanh(i === 0 ? denseOverParts([hs, x], layer) : dense(features, layer)); });
    let value: tf.Tensor2D;
    if (this.criticInputs) {
      const xc = new ConstantInput(tf.tensor2d(sideBySide(xvRows, I + V, critic, C, rows), [rows, I + V + C]), true);
      let criticFeatures: tf.Tensor2D | null = null;
      for (const layer of this.criticMlp) criticFeatures = fastTanh(criticFeatures ? dense(criticFeatures, layer) : denseOverParts([hsv, xc], layer));
      value = criticFeatures ? dense(criticFeatures, this.valueHead) : denseOverParts([hsv, xc], this.valueHead);
    } else {
      let valueFeatures = hsv;
      net.headMlp.forEach((layer, i) => { valueFeatures = fastTanh(i === 0 ? denseOverParts([hsv, xv], layer) : dense(valueFeatures, layer)); });
      value = dense(valueFeatures, this.valueHead);
    }
    return { head: dense(features, this.policyHead), value: tf.reshape(value, [-1]) as tf.Tensor1D };
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
    const logStd = this.logStd ? this.cappedLogStd(this.logStd.dataSync() as Float32Array) : null;
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

  /**
   * Moves the actions drawn by sampleActions onto `centers` (one action per lane, a demonstrator's),
   * with their log-probabilities under the policy. Box actions keep the noise each lane drew (action -
   * mean) around its center instead of the policy's mean; a discrete action becomes the center itself.
   */
  centerActions(head: Float32Array, centers: Float32Array, actions: Float32Array, logProbs: Float32Array): void {
    if (this.action.kind === 'discrete') {
      const n = this.action.n, lanes = head.length / n;
      for (let i = 0; i < lanes; i++) {
        const action = centers[i];
        if (!(Number.isInteger(action) && action >= 0 && action < n)) throw new Error(`rl2: a demonstrator chose action ${action}; expected an integer in [0, ${n - 1}]`);
        actions[i] = action;
        logProbs[i] = logSoftmaxAt(head.subarray(i * n, (i + 1) * n), action);
      }
      return;
    }
    const A = this.action.size, lanes = head.length / A;
    const logStd = this.cappedLogStd(this.logStd!.dataSync() as Float32Array);
    for (let i = 0; i < lanes; i++) {
      let logProb = 0;
      for (let k = 0; k < A; k++) {
        const at = i * A + k;
        actions[at] = centers[at] + (actions[at] - head[at]);
        const z = (actions[at] - head[at]) / Math.exp(logStd[k]);
        logProb += -0.5 * z * z - logStd[k] - 0.5 * Math.log(2 * Math.PI);
      }
      logProbs[i] = logProb;
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
    const logStd = this.maxLogStd === null ? this.logStd! : tf.minimum(this.logStd!, this.maxLogStd);
    const a = tf.tensor2d(actions, [actions.length / size, size]);
    const z = tf.div(tf.sub(a, head), tf.exp(logStd));
    const perDim = tf.add(tf.mul(-0.5, tf.square(z)), tf.sub(tf.neg(logStd), 0.5 * Math.log(2 * Math.PI)));
    const logProb = tf.sum(perDim, 1) as tf.Tensor1D;
    // A Gaussian's entropy does not depend on the state: the same value for every sample.
    const entropy = tf.sum(tf.add(logStd, 0.5 * Math.log(2 * Math.PI * Math.E)));
    return { logProb, entropy: tf.mul(tf.onesLike(logProb), entropy) as tf.Tensor1D };
  }

  /** The log std acting uses: the learned one under the maxLogStd ceiling. */
  private cappedLogStd(logStd: Float32Array): Float32Array {
    const cap = this.maxLogStd;
    return cap === null ? logStd : logStd.map((v) => Math.min(v, cap));
  }

  dispose(): void { this.params.dispose(); }
}

/** What rl2Network builds the network from: the network's and the inputs' settings, and the trial length (for valueTimeInput). */
export type Rl2NetworkSettings = Rl2NetworkConfig & Rl2InputConfig & { episodesPerTrial: number };

/** RL2's network for these settings, weights drawn from (seed, 'rl2-init'): the learner and every learner thread build it alike. */
export function rl2Network(spec: EnvSpec, config: Rl2NetworkSettings, seed: number): Rl2Network {
  return new Rl2Network(spec.action, policyInputs(spec, config), criticInputs(spec, config), config, seed, valueInputs(spec, config));
}

/** Rows of `a` (width wa) and of `b` (width wb; zeros when null) side by side: [rows, wa + wb]. */
function sideBySide(a: Float32Array, wa: number, b: Float32Array | null, wb: number, rows: number): Float32Array {
  const out = new Float32Array(rows * (wa + wb));
  for (let r = 0; r < rows; r++) {
    out.set(a.subarray(r * wa, (r + 1) * wa), r * (wa + wb));
    if (b) out.set(b.subarray(r * wb, (r + 1) * wb), r * (wa + wb) + wa);
  }
  return out;
}

function sampleCategorical(logits: Float32Array, rng: Rng, deterministic: boolean): { action: number; logProb: number } {
  const { max, total } = softmaxScale(logits);
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

/** log pi(action) of a categorical distribution given by its logits (as sampleCategorical computes it). */
function logSoftmaxAt(logits: Float32Array, action: number): number {
  const { max, total } = softmaxScale(logits);
  return logits[action] - (Math.log(total) + max);
}

/** The largest logit and the sum of exp(logit - largest). */
function softmaxScale(logits: Float32Array): { max: number; total: number } {
  let max = -Infinity;
  for (const v of logits) max = Math.max(max, v);
  let total = 0;
  for (const v of logits) total += Math.exp(v - max);
  return { max, total };
}
