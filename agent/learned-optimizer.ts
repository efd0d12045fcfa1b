// A DQN with a learned optimiser for discrete task distributions (bandits, tabular MDPs), after
// Andrychowicz et al. 2016, "Learning to learn by gradient descent by gradient descent" (L2L). Each task
// is learned from scratch by the small DQN of agent/dqn.ts, one inner update per env step of its trial;
// what is meta-learned is the optimiser that turns the DQN's gradients into weight updates. Two
// algorithms share this file and the `dqn` settings:
// - dqn-learned-optimizer: a coordinate-wise two-layer LSTM, shared by every weight of the Q-network (each
//   weight is a row of the batch, with its own hidden and cell state), reads the weight's gradient
//   preprocessed as L2L does (log-magnitude and sign: (log|g| / p, sign g) when |g| >= e^-p, else
//   (-1, e^p g)) and outputs the weight's update, times `outputScale`. It is meta-trained by truncated
//   unrolls of the inner DQN on training tasks: every `truncation` inner steps (all lanes in lock-step),
//   one Adam step on the LSTM's weights down the meta-loss, the sum of the inner minibatch losses at the
//   weights each update of the truncation produced, averaged over the tasks. The unroll then continues
//   with the new LSTM weights and the LSTM states carried over (the gradient stops at the cut).
//   As in L2L, the inner gradients are inputs: d(gradient)/d(weights) is taken as 0, so no second
//   derivatives, and with it d(weights_s)/d(update_t) = I for s > t; the meta-gradient is backpropagation
//   through the LSTM alone, each update's adjoint being the sum of the inner gradients that follow it in
//   the truncation. The TD targets are constants, as in the inner learner itself.
// - dqn-adam: the same DQN trained with Adam, its learning rate tuned on training tasks (every candidate
//   on the same tasks, env seeds, initial networks and action streams; running scores as qtable-zeros'
//   grid): the baseline. `metamanip eval` scores both with the same protocol, tasks and seeds, and
//   bench/learned-optimizer.ts prints their return against inner update steps side by side.

import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import type { AlgorithmDefinition, AlgorithmState, IterationStats, SettingProblem, TrainableAlgorithm } from './algorithm.ts';
import type { EnvBatch } from './batch-env.ts';
import { type DqnLaneStreams, DqnLanes, type DqnSettings, InnerAdam, type InnerOptimizer } from './dqn.ts';
import type { EnvSpec, TaskDistribution } from './envs.ts';
import type { LanePolicy } from './meta.ts';
import { Adam, Params, loadWeightsState, weightsState } from './nn.ts';
import { rngFor, seedFor } from './random.ts';
import { type TrialStats, runTrials } from './rollout.ts';

export type DqnAlgorithm = 'dqn-learned-optimizer' | 'dqn-adam';

export interface LearnedOptimizerSettings extends DqnSettings {
  /** Training tasks per iteration (one trial of the benchmark's length each). */
  tasksPerIteration: number;
  /** dqn-adam: candidate learning rates of the inner Adam, tuned on training tasks. */
  learningRates: number[];
  /** dqn-adam: a learning rate's score is a running mean over about this many iterations. */
  scoreMemory: number;
  /** dqn-learned-optimizer: hidden units of each of the LSTM's two layers. */
  lstmHidden: number;
  /** dqn-learned-optimizer: inner steps per truncated unroll (one meta step each). */
  truncation: number;
  /** dqn-learned-optimizer: the LSTM's output times this is the weight's update. */
  outputScale: number;
  /** dqn-learned-optimizer: p of the gradient preprocessing (log|g| / p; gradients below e^-p pass linearly). */
  preprocessing: number;
  /** dqn-learned-optimizer: Adam's learning rate on the LSTM's weights. */
  metaLearningRate: number;
  /** dqn-learned-optimizer: the meta-gradient's norm is clipped to this. */
  metaMaxGradNorm: number;
}

export const LEARNED_OPTIMIZER_DEFAULTS: LearnedOptimizerSettings = {
  hidden: 8,
  batchSize: 16,
  discount: 0.5,
  exploration: 0.05,
  targetUpdateEvery: 10,
  tasksPerIteration: 8,
  learningRates: [0.01, 0.03, 0.1, 0.3],
  scoreMemory: 20,
  lstmHidden: 10,
  truncation: 20,
  outputScale: 0.1,
  preprocessing: 10,
  metaLearningRate: 0.003,
  metaMaxGradNorm: 1,
};

/** dqn-adam tunes the grid on more tasks per iteration (no meta-gradient to pay for). */
const ADAM_DEFAULTS: Partial<LearnedOptimizerSettings> = { tasksPerIteration: 50 };

const ADAM_ONLY = ['learningRates', 'scoreMemory'] as const;
const LSTM_ONLY = ['lstmHidden', 'truncation', 'outputScale', 'preprocessing', 'metaLearningRate', 'metaMaxGradNorm'] as const;

const settingsSchema = z.object({
  hidden: z.number().int().min(1).max(256),
  batchSize: z.number().int().min(1),
  discount: z.number().min(0).max(1),
  exploration: z.number().min(0).max(1),
  targetUpdateEvery: z.number().int().min(0),
  tasksPerIteration: z.number().int().min(1),
  learningRates: z.array(z.number().positive()).min(1),
  scoreMemory: z.number().positive(),
  lstmHidden: z.number().int().min(1).max(128),
  truncation: z.number().int().min(1),
  outputScale: z.number().positive(),
  preprocessing: z.number().positive(),
  metaLearningRate: z.number().positive(),
  metaMaxGradNorm: z.number().positive(),
}).strict();

// ---------------------------------------------------------------------------------------------
// The coordinate-wise LSTM: weights as one float64 vector, laid out as the named parts below.

/** The LSTM's parts in order: name, shape. Gates along the last axis: input, forget, cell, output. */
function lstmParts(H: number): Array<[string, number[]]> {
  const G = 4 * H;
  return [
    ['lstm1/wx', [2, G]], ['lstm1/wh', [H, G]], ['lstm1/b', [G]],
    ['lstm2/wx', [H, G]], ['lstm2/wh', [H, G]], ['lstm2/b', [G]],
    ['out/w', [H]], ['out/b', [1]],
  ];
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** One step's record for backpropagation: inputs, gate activations, cells and outputs of both layers ([coordinate][unit]). */
interface StepCache { x: Float64Array; a1: Float64Array; c1: Float64Array; h1: Float64Array; a2: Float64Array; c2: Float64Array; h2: Float64Array }

/** The LSTM's weights laid out for the forward pass (CoordinateLstm.pack). */
export interface PackedLstm { layer1: Float64Array; bias1: Float64Array; layer2: Float64Array; bias2: Float64Array; out: Float64Array; outBias: number }

/** The LSTM states of one lane's coordinates ([coordinate][unit]). */
interface LstmState { h1: Float64Array; c1: Float64Array; h2: Float64Array; c2: Float64Array }

export class CoordinateLstm {
  readonly size: number;
  private readonly offsets: Record<string, number> = {};
  private readonly z: Float64Array;
  private readonly input1: Float64Array;
  private readonly input2: Float64Array;
  private readonly G: number;

  constructor(readonly hidden: number, readonly outputScale: number, readonly preprocessing: number) {
    let offset = 0;
    for (const [name, shape] of lstmParts(hidden)) {
      this.offsets[name] = offset;
      offset += shape.reduce((a, b) => a * b, 1);
    }
    this.size = offset;
    this.G = 4 * hidden;
    this.z = new Float64Array(this.G);
    this.input1 = new Float64Array(2 + hidden);
    this.input2 = new Float64Array(2 * hidden);
  }

  get parts(): Array<[string, number[]]> { return lstmParts(this.hidden); }

  /** Initial weights: uniform in +-0.1, biases 0 except the forget gates' (1: start by remembering). */
  init(seed: number): Float64Array {
    const rng = rngFor(seed, 'lstm-init');
    const w = new Float64Array(this.size);
    for (const [name, shape] of this.parts) {
      const from = this.offsets[name], n = shape.reduce((a, b) => a * b, 1);
      if (name.endsWith('/b')) {
        if (name !== 'out/b') for (let k = 0; k < this.hidden; k++) w[from + this.hidden + k] = 1;
      } else {
        for (let k = 0; k < n; k++) w[from + k] = rng.uniform(-0.1, 0.1);
      }
    }
    return w;
  }

  newState(coordinates: number): LstmState {
    const n = coordinates * this.hidden;
    return { h1: new Float64Array(n), c1: new Float64Array(n), h2: new Float64Array(n), c2: new Float64Array(n) };
  }

  /** L2L's preprocessing of one gradient into the LSTM's two inputs. */
  preprocess(g: number, out: Float64Array, at: number): void {
    const p = this.preprocessing;
    const magnitude = Math.abs(g);
    if (magnitude >= Math.exp(-p)) {
      out[at] = Math.log(magnitude) / p;
      out[at + 1] = Math.sign(g);
    } else {
      out[at] = -1;
      out[at + 1] = Math.exp(p) * g;
    }
  }

  /**
   * The weights as the forward pass reads them: per layer, each gate unit's weights over the layer's
   * input and its previous output side by side (a dot product per unit, summed in a register).
   */
  pack(w: Float64Array): PackedLstm {
    const { hidden: H, G, offsets: o } = this;
    const layer = (wx: number, wh: number, inputs: number) => {
      const n = inputs + H, packed = new Float64Array(G * n);
      for (let q = 0; q < G; q++) {
        for (let k = 0; k < inputs; k++) packed[q * n + k] = w[wx + k * G + q];
        for (let k = 0; k < H; k++) packed[q * n + inputs + k] = w[wh + k * G + q];
      }
      return packed;
    };
    return {
      layer1: layer(o['lstm1/wx'], o['lstm1/wh'], 2), bias1: w.slice(o['lstm1/b'], o['lstm1/b'] + G),
      layer2: layer(o['lstm2/wx'], o['lstm2/wh'], H), bias2: w.slice(o['lstm2/b'], o['lstm2/b'] + G),
      out: w.slice(o['out/w'], o['out/w'] + H), outBias: w[o['out/b']],
    };
  }

  /**
   * One step for every coordinate: reads `gradient`, advances `state` in place, writes the updates.
   * With `cache`, records what backward() needs.
   */
  step(packed: PackedLstm, state: LstmState, gradient: Float64Array, updates: Float64Array, cache?: StepCache): void {
    const { hidden: H, outputScale } = this;
    const P = gradient.length;
    const in1 = this.input1, in2 = this.input2;
    for (let j = 0; j < P; j++) {
      // Layer 1 reads the preprocessed gradient and its previous output, layer 2 layer 1's output and its own.
      this.preprocess(gradient[j], in1, 0);
      if (cache) { cache.x[2 * j] = in1[0]; cache.x[2 * j + 1] = in1[1]; }
      for (let k = 0; k < H; k++) in1[2 + k] = state.h1[j * H + k];
      this.cell(packed.layer1, packed.bias1, in1, 2 + H, state.h1, state.c1, j, cache?.a1);
      for (let k = 0; k < H; k++) { in2[k] = state.h1[j * H + k]; in2[H + k] = state.h2[j * H + k]; }
      this.cell(packed.layer2, packed.bias2, in2, 2 * H, state.h2, state.c2, j, cache?.a2);
      let u = packed.outBias;
      for (let k = 0; k < H; k++) u += packed.out[k] * state.h2[j * H + k];
      updates[j] = outputScale * u;
    }
    if (cache) {
      cache.c1.set(state.c1); cache.h1.set(state.h1); cache.c2.set(state.c2); cache.h2.set(state.h2);
    }
  }

  /** One LSTM cell for coordinate j over its input (width n: the layer's input, then its previous output); h, c updated in place; gate activations to `gates`. */
  private cell(weights: Float64Array, bias: Float64Array, input: Float64Array, n: number, h: Float64Array, c: Float64Array, j: number, gates?: Float64Array): void {
    const { hidden: H, G, z } = this;
    for (let q = 0; q < G; q++) {
      let sum = bias[q];
      const row = q * n;
      for (let k = 0; k < n; k++) sum += input[k] * weights[row + k];
      z[q] = sum;
    }
    for (let k = 0; k < H; k++) {
      const i = sigmoid(z[k]), f = sigmoid(z[H + k]), g = Math.tanh(z[2 * H + k]), out = sigmoid(z[3 * H + k]);
      const cell = f * c[j * H + k] + i * g;
      c[j * H + k] = cell;
      h[j * H + k] = out * Math.tanh(cell);
      if (gates) {
        const at = j * G;
        gates[at + k] = i; gates[at + H + k] = f; gates[at + 2 * H + k] = g; gates[at + 3 * H + k] = out;
      }
    }
  }

  newCache(coordinates: number): StepCache {
    const n = coordinates * this.hidden, g = coordinates * this.G;
    return { x: new Float64Array(2 * coordinates), a1: new Float64Array(g), c1: new Float64Array(n), h1: new Float64Array(n), a2: new Float64Array(g), c2: new Float64Array(n), h2: new Float64Array(n) };
  }

  /**
   * Backpropagation through the steps of one truncation: adds d(sum_t adjoints[t] . updates_t)/dw to
   * `dw`. `start` is the state before the first step (a constant: the gradient stops there).
   */
  backward(w: Float64Array, start: LstmState, caches: StepCache[], adjoints: Float64Array[], dw: Float64Array): void {
    const { hidden: H, G, offsets: o, outputScale } = this;
    const P = adjoints[0].length, T = caches.length;
    const dh1 = new Float64Array(H), dc1 = new Float64Array(H), dh2 = new Float64Array(H), dc2 = new Float64Array(H);
    const dz = new Float64Array(G), dIn = new Float64Array(H);
    for (let j = 0; j < P; j++) {
      dh1.fill(0); dc1.fill(0); dh2.fill(0); dc2.fill(0);
      for (let t = T - 1; t >= 0; t--) {
        const cache = caches[t], before = t > 0 ? caches[t - 1] : null;
        const du = adjoints[t][j] * outputScale;
        dw[o['out/b']] += du;
        for (let k = 0; k < H; k++) {
          dw[o['out/w'] + k] += du * cache.h2[j * H + k];
          dh2[k] += du * w[o['out/w'] + k];
        }
        // Layer 2: its input is layer 1's output at this step.
        this.cellBackward(w, o['lstm2/wx'], o['lstm2/wh'], o['lstm2/b'], dw, cache.a2, cache.c2, before ? before.c2 : start.c2, before ? before.h2 : start.h2, cache.h1, j * H, H, j, dh2, dc2, dz, dIn);
        for (let k = 0; k < H; k++) dh1[k] += dIn[k];
        this.cellBackward(w, o['lstm1/wx'], o['lstm1/wh'], o['lstm1/b'], dw, cache.a1, cache.c1, before ? before.c1 : start.c1, before ? before.h1 : start.h1, cache.x, 2 * j, 2, j, dh1, dc1, dz, null);
      }
    }
  }

  /**
   * One cell's backward step for coordinate j. On entry dh, dc are d/d(h_t, c_t); on exit d/d(h_{t-1},
   * c_{t-1}). Adds the weight gradients to dw; d/d(input) into dIn when given.
   */
  private cellBackward(w: Float64Array, wx: number, wh: number, b: number, dw: Float64Array, gates: Float64Array, c: Float64Array, cPrev: Float64Array, hPrev: Float64Array, input: Float64Array, from: number, width: number, j: number, dh: Float64Array, dc: Float64Array, dz: Float64Array, dIn: Float64Array | null): void {
    const { hidden: H, G } = this;
    const at = j * G;
    for (let k = 0; k < H; k++) {
      const i = gates[at + k], f = gates[at + H + k], g = gates[at + 2 * H + k], out = gates[at + 3 * H + k];
      const tc = Math.tanh(c[j * H + k]);
      const dCell = dh[k] * out * (1 - tc * tc) + dc[k];
      dz[k] = dCell * g * i * (1 - i);
      dz[H + k] = dCell * cPrev[j * H + k] * f * (1 - f);
      dz[2 * H + k] = dCell * i * (1 - g * g);
      dz[3 * H + k] = dh[k] * tc * out * (1 - out);
      dc[k] = dCell * f;
    }
    for (let q = 0; q < G; q++) dw[b + q] += dz[q];
    for (let k = 0; k < width; k++) {
      const v = input[from + k], row = k * G;
      let sum = 0;
      for (let q = 0; q < G; q++) {
        if (v !== 0) dw[wx + row + q] += v * dz[q];
        sum += w[wx + row + q] * dz[q];
      }
      if (dIn) dIn[k] = sum;
    }
    for (let k = 0; k < H; k++) {
      const v = hPrev[j * H + k], row = k * G;
      let sum = 0;
      for (let q = 0; q < G; q++) {
        if (v !== 0) dw[wh + row + q] += v * dz[q];
        sum += w[wh + row + q] * dz[q];
      }
      dh[k] = sum;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The learned optimiser as the DQN's inner optimiser, with truncated unrolls when it is being trained

/** What one meta step saw: the truncation's meta-loss (mean over lanes) and the meta-gradient (mean over lanes). */
export interface TruncationResult { metaLoss: number; steps: number; gradient: Float64Array }

interface LaneTruncation { start: LstmState; caches: StepCache[]; later: Float64Array[]; metaLoss: number }

export class LstmInnerOptimizer implements InnerOptimizer {
  private states: LstmState[] = [];
  private truncations: LaneTruncation[] = [];
  private readonly updates: Float64Array[] = [];
  private packed: PackedLstm;
  /** Seconds spent on meta steps: backpropagation through the truncations and onTruncation. */
  metaSeconds = 0;

  /**
   * `meta` (training): after every `truncation` inner steps, and at the end of the trial, hands the
   * truncation's meta-gradient to `onTruncation`, which returns the weights to continue with.
   */
  constructor(readonly lstm: CoordinateLstm, private weights: Float64Array, private readonly meta: { truncation: number; onTruncation: (result: TruncationResult) => Float64Array } | null = null) {
    this.packed = lstm.pack(weights);
  }

  step(thetas: Float64Array[], gradients: Float64Array[], losses: number[]): void {
    if (this.states.length === 0) {
      for (const theta of thetas) {
        this.states.push(this.lstm.newState(theta.length));
        this.updates.push(new Float64Array(theta.length));
      }
      if (this.meta) this.truncations = thetas.map((_, i) => this.freshTruncation(i));
    }
    if (this.meta) {
      this.collect(gradients, losses);
      if (this.truncations[0].caches.length === this.meta.truncation) this.close();
    }
    thetas.forEach((theta, i) => {
      let cache: StepCache | undefined;
      if (this.meta) {
        cache = this.lstm.newCache(theta.length);
        this.truncations[i].caches.push(cache);
      }
      this.lstm.step(this.packed, this.states[i], gradients[i], this.updates[i], cache);
      const u = this.updates[i];
      for (let k = 0; k < theta.length; k++) theta[k] += u[k];
    });
  }

  finish(_thetas: Float64Array[], gradients: Float64Array[], losses: number[]): void {
    if (!this.meta || this.truncations.length === 0 || this.truncations[0].caches.length === 0) return;
    this.collect(gradients, losses);
    this.close();
  }

  /** The inner gradients and losses at the weights the truncation's last update made. */
  private collect(gradients: Float64Array[], losses: number[]): void {
    this.truncations.forEach((truncation, i) => {
      if (truncation.caches.length === 0) return;
      truncation.later.push(Float64Array.from(gradients[i]));
      truncation.metaLoss += losses[i];
    });
  }

  private freshTruncation(lane: number): LaneTruncation {
    const s = this.states[lane];
    return { start: { h1: Float64Array.from(s.h1), c1: Float64Array.from(s.c1), h2: Float64Array.from(s.h2), c2: Float64Array.from(s.c2) }, caches: [], later: [], metaLoss: 0 };
  }

  /** Backpropagates every lane's truncation, hands the mean to onTruncation and starts new truncations. */
  private close(): void {
    const started = performance.now();
    const gradient = new Float64Array(this.lstm.size);
    let metaLoss = 0;
    const steps = this.truncations[0].caches.length;
    this.truncations.forEach((truncation) => {
      // adjoint of update t: the sum of the inner gradients at the weights of steps t+1 .. end.
      const adjoints: Float64Array[] = new Array(steps);
      const running = new Float64Array(truncation.later[0].length);
      for (let t = steps - 1; t >= 0; t--) {
        const g = truncation.later[t];
        for (let k = 0; k < running.length; k++) running[k] += g[k];
        adjoints[t] = Float64Array.from(running);
      }
      this.lstm.backward(this.weights, truncation.start, truncation.caches, adjoints, gradient);
      metaLoss += truncation.metaLoss;
    });
    const lanes = this.truncations.length;
    for (let k = 0; k < gradient.length; k++) gradient[k] /= lanes;
    this.weights = this.meta!.onTruncation({ metaLoss: metaLoss / lanes, steps, gradient });
    this.packed = this.lstm.pack(this.weights);
    this.truncations = this.truncations.map((_, i) => this.freshTruncation(i));
    this.metaSeconds += (performance.now() - started) / 1000;
  }
}

// ---------------------------------------------------------------------------------------------
// The learners

/** A lane's random streams under policy seed `seed`: the same for both optimisers, so they start each task alike. */
export function dqnStreams(seed: number, lanes: number): DqnLaneStreams[] {
  return Array.from({ length: lanes }, (_, i) => ({ init: rngFor(seed, 'q-init', i), actions: rngFor(seed, 'actions', i), replay: rngFor(seed, 'replay', i) }));
}

function dqnSettingsOf(s: LearnedOptimizerSettings): DqnSettings {
  return { hidden: s.hidden, batchSize: s.batchSize, discount: s.discount, exploration: s.exploration, targetUpdateEvery: s.targetUpdateEvery };
}

const mean = (xs: ArrayLike<number>) => Array.from(xs).reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

function trialStats(trials: TrialStats, episodes: number): Omit<IterationStats, 'envSteps' | 'samplingSeconds' | 'learningSeconds' | 'metrics'> {
  return {
    meanTrialReturn: mean(trials.trialReturns),
    firstEpisodeReturn: mean(trials.episodeReturns.map((r) => r[0])),
    lastEpisodeReturn: mean(trials.episodeReturns.map((r) => r[episodes - 1])),
    firstEpisodeSuccess: mean(trials.episodeSuccess.map((s) => (s[0] ? 1 : 0))),
    lastEpisodeSuccess: mean(trials.episodeSuccess.map((s) => (s[episodes - 1] ? 1 : 0))),
  };
}

/** The DQN with the learned LSTM optimiser; meta-trains the LSTM. */
export class LearnedOptimizerLearner implements TrainableAlgorithm {
  readonly name = 'dqn-learned-optimizer';
  readonly adaptUsesEpisodes = false;
  readonly lstm: CoordinateLstm;
  readonly params = new Params();
  private readonly optimizer: Adam;

  constructor(readonly spec: EnvSpec, readonly settings: LearnedOptimizerSettings, readonly seed: number) {
    if (spec.action.kind !== 'discrete') throw new Error('dqn-learned-optimizer: needs discrete actions');
    this.lstm = new CoordinateLstm(settings.lstmHidden, settings.outputScale, settings.preprocessing);
    const init = this.lstm.init(seed);
    let offset = 0;
    for (const [name, shape] of this.lstm.parts) {
      const n = shape.reduce((a, b) => a * b, 1);
      this.params.add(name, shape, Float32Array.from(init.subarray(offset, offset + n)));
      offset += n;
    }
    this.optimizer = new Adam(this.params, { learningRate: settings.metaLearningRate, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, maxGradNorm: settings.metaMaxGradNorm });
  }

  get trainingLanes(): number { return this.settings.tasksPerIteration; }

  /** The LSTM's weights as one float64 vector (the float32 values the checkpoint holds). */
  get weights(): Float64Array {
    const out = new Float64Array(this.lstm.size);
    let offset = 0;
    for (const [name] of this.lstm.parts) {
      const data = this.params.get(name).dataSync();
      out.set(data, offset);
      offset += data.length;
    }
    return out;
  }

  explorationPolicy(lanes: number, options: { seed: number; deterministic?: boolean }): DqnLanes {
    return new DqnLanes(lanes, this.spec, dqnSettingsOf(this.settings), new LstmInnerOptimizer(this.lstm, this.weights), dqnStreams(options.seed, lanes), options.deterministic ?? false);
  }

  /** The DQN learns while it explores: the adapted policy is the same lanes. */
  adapt(policy: LanePolicy): LanePolicy { return policy; }

  /** One Adam step on the LSTM's weights from a float64 meta-gradient; returns the gradient's norm and the new weights. */
  metaStep(gradient: Float64Array): { norm: number; weights: Float64Array } {
    const grads = new Map<string, tf.Tensor>();
    let offset = 0;
    for (const [name, shape] of this.lstm.parts) {
      const n = shape.reduce((a, b) => a * b, 1);
      grads.set(name, tf.tensor(Float32Array.from(gradient.subarray(offset, offset + n)), shape, 'float32'));
      offset += n;
    }
    try {
      const norm = this.optimizer.apply(grads);
      return { norm, weights: this.weights };
    } finally {
      for (const g of grads.values()) g.dispose();
    }
  }

  iterate(envs: EnvBatch, distribution: TaskDistribution, iteration: number): IterationStats {
    const { settings } = this;
    const started = performance.now();
    const tasks = distribution.trainTasks(iteration, settings.tasksPerIteration);
    const episodes = distribution.protocol.adaptationEpisodes + distribution.protocol.evaluationEpisodes;
    const metaLosses: number[] = [], norms: number[] = [];
    const inner = new LstmInnerOptimizer(this.lstm, this.weights, {
      truncation: settings.truncation,
      onTruncation: (result) => {
        metaLosses.push(result.metaLoss / result.steps);
        const { norm, weights } = this.metaStep(result.gradient);
        norms.push(norm);
        return weights;
      },
    });
    const policy = new DqnLanes(tasks.length, this.spec, dqnSettingsOf(settings), inner, dqnStreams(seedFor(this.seed, 'train-policy', iteration), tasks.length));
    const trials = runTrials(envs, policy, tasks, episodes, seedFor(this.seed, 'train', iteration));
    policy.finish();
    // Sampling: env steps, the inner DQN's minibatch gradients and the LSTM's forward pass (they are
    // interleaved); learning: the meta steps (backpropagation through each truncation, Adam's step).
    const seconds = (performance.now() - started) / 1000, metaSeconds = inner.metaSeconds;
    return {
      envSteps: tasks.length * episodes * distribution.spec.episodeSteps,
      ...trialStats(trials, episodes),
      samplingSeconds: seconds - metaSeconds,
      learningSeconds: metaSeconds,
      metrics: {
        metaLoss: mean(metaLosses), metaGradNorm: mean(norms), metaSteps: norms.length,
        firstInnerLoss: policy.lossCurve[0] ?? null, lastInnerLoss: policy.lossCurve[policy.lossCurve.length - 1] ?? null,
      },
    };
  }

  state(): AlgorithmState { return weightsState(this.params, this.optimizer); }

  load(state: AlgorithmState): void { loadWeightsState(this.params, this.optimizer, state); }

  dispose(): void {
    this.optimizer.dispose();
    this.params.dispose();
  }
}

/** The DQN with Adam, its learning rate tuned on training tasks: the baseline. */
export class AdamDqnLearner implements TrainableAlgorithm {
  readonly name = 'dqn-adam';
  readonly adaptUsesEpisodes = false;
  /** The learning rates' running scores (mean trial return on training tasks): float32, as checkpoints hold them. */
  readonly params = new Params();

  constructor(readonly spec: EnvSpec, readonly settings: LearnedOptimizerSettings, readonly seed: number) {
    if (spec.action.kind !== 'discrete') throw new Error('dqn-adam: needs discrete actions');
    this.params.add('scores', [settings.learningRates.length], new Float32Array(settings.learningRates.length), false);
  }

  get trainingLanes(): number { return this.settings.tasksPerIteration; }

  get scores(): Float32Array { return this.params.get('scores').dataSync() as Float32Array; }

  /** The learning rate it acts with: the best score (the first among equals). */
  get learningRate(): number {
    const scores = this.scores;
    let best = 0;
    for (let k = 1; k < scores.length; k++) if (scores[k] > scores[best]) best = k;
    return this.settings.learningRates[best];
  }

  explorationPolicy(lanes: number, options: { seed: number; deterministic?: boolean }): DqnLanes {
    return new DqnLanes(lanes, this.spec, dqnSettingsOf(this.settings), new InnerAdam(this.learningRate), dqnStreams(options.seed, lanes), options.deterministic ?? false);
  }

  adapt(policy: LanePolicy): LanePolicy { return policy; }

  iterate(envs: EnvBatch, distribution: TaskDistribution, iteration: number): IterationStats {
    const { settings } = this;
    const started = performance.now();
    const tasks = distribution.trainTasks(iteration, settings.tasksPerIteration);
    const episodes = distribution.protocol.adaptationEpisodes + distribution.protocol.evaluationEpisodes;
    const policySeed = seedFor(this.seed, 'train-policy', iteration), episodeSeed = seedFor(this.seed, 'train', iteration);
    // Every learning rate on the same tasks, env seeds, initial networks and action streams.
    const runs = settings.learningRates.map((learningRate) => {
      const policy = new DqnLanes(tasks.length, this.spec, dqnSettingsOf(settings), new InnerAdam(learningRate), dqnStreams(policySeed, tasks.length));
      return { policy, trials: runTrials(envs, policy, tasks, episodes, episodeSeed) };
    });
    const weight = Math.max(1 / (iteration + 1), 1 / settings.scoreMemory);
    const scores = Float32Array.from(this.scores, (score, k) => score + weight * (mean(runs[k].trials.trialReturns) - score));
    tf.tidy(() => this.params.get('scores').assign(tf.tensor(scores, [scores.length], 'float32')));
    const chosen = runs[settings.learningRates.indexOf(this.learningRate)];
    const sampled = performance.now();
    return {
      envSteps: settings.learningRates.length * tasks.length * episodes * distribution.spec.episodeSteps,
      ...trialStats(chosen.trials, episodes),
      samplingSeconds: (sampled - started) / 1000,
      learningSeconds: 0,
      metrics: {
        learningRate: this.learningRate, bestScore: Math.max(...scores),
        firstInnerLoss: chosen.policy.lossCurve[0] ?? null, lastInnerLoss: chosen.policy.lossCurve[chosen.policy.lossCurve.length - 1] ?? null,
      },
    };
  }

  state(): AlgorithmState { return { params: this.params.toJSON() }; }

  load(state: AlgorithmState): void { this.params.load(state.params); }

  dispose(): void { this.params.dispose(); }
}

// ---------------------------------------------------------------------------------------------
// Registry definitions

const overridesSchema = settingsSchema.partial();

function definition(name: DqnAlgorithm, summary: string): AlgorithmDefinition<LearnedOptimizerSettings> {
  const own = name === 'dqn-adam' ? ADAM_DEFAULTS : {};
  const foreign = name === 'dqn-adam' ? LSTM_ONLY : ADAM_ONLY;
  return {
    name,
    summary,
    settingsKey: 'dqn',
    actionKinds: ['discrete'],
    settingsSchema,
    overridesSchema,
    resolve(overrides): { settings: LearnedOptimizerSettings } | { problems: SettingProblem[] } {
      const given = (overrides ?? {}) as Partial<LearnedOptimizerSettings>;
      const other = name === 'dqn-adam' ? 'dqn-learned-optimizer' : 'dqn-adam';
      const problems: SettingProblem[] = foreign.filter((key) => given[key] !== undefined).map((key) => ({ path: [key], message: `${key} is ${other}'s setting; ${name} does not use it` }));
      return problems.length ? { problems } : { settings: { ...LEARNED_OPTIMIZER_DEFAULTS, ...own, ...given } };
    },
    withDefaults: (saved) => ({ ...LEARNED_OPTIMIZER_DEFAULTS, ...own, ...(saved as Partial<LearnedOptimizerSettings>) }),
    create: async (spec, settings, seed) => (name === 'dqn-adam' ? new AdamDqnLearner(spec, settings, seed) : new LearnedOptimizerLearner(spec, settings, seed)),
  };
}

export const dqnLearnedOptimizer = definition('dqn-learned-optimizer', 'a small DQN per task trained by a coordinate-wise LSTM optimiser meta-learned over tasks by truncated unrolls (L2L)');
export const dqnAdam = definition('dqn-adam', 'the same DQN per task trained by Adam, its learning rate tuned on training tasks (the baseline)');
