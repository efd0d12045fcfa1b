// Random-shooting model-predictive control: N action sequences of H steps drawn uniformly from the action
// box, rolled out through a learned transition model from the current observation, the one with the
// highest predicted summed reward kept. The caller executes its first action (or first few) and plans again.

import type { Rng } from './random.ts';

/** A model of one step of a task: next observation and reward of (observation, action) pairs. */
export interface TransitionModel {
  readonly obsSize: number;
  readonly actionSize: number;
  /** Predicts `rows` pairs at once: obs rows x obsSize and actions rows x actionSize in, nextObs and rewards out. */
  predict(obs: Float32Array, actions: Float32Array, rows: number, nextObs: Float32Array, rewards: Float64Array): void;
}

export interface ShootingOptions {
  /** N: candidate action sequences per plan. */
  candidates: number;
  /** H: steps per sequence. */
  horizon: number;
  /** The action box (every entry the same bounds). */
  low: number;
  high: number;
}

export interface Plan {
  /** The best sequence, horizon x actionSize. */
  actions: Float32Array;
  /** Its predicted summed reward. */
  predictedReturn: number;
}

/**
 * A planner with its scratch buffers (sized once for N candidates): each plan() draws N x H x A uniform
 * actions from `rng` (candidate by candidate, step by step), rolls all N candidates through the model one
 * horizon step at a time (one predict() call of N rows per step), and keeps the first sequence with the
 * highest summed predicted reward.
 */
export class RandomShooting {
  private readonly sequences: Float32Array;
  private readonly stepActions: Float32Array;
  private obs: Float32Array;
  private next: Float32Array;
  private readonly rewards: Float64Array;
  private readonly returns: Float64Array;

  constructor(readonly obsSize: number, readonly actionSize: number, readonly options: ShootingOptions) {
    const { candidates: N, horizon: H } = options;
    if (!(N >= 1 && H >= 1)) throw new RangeError(`random shooting needs at least one candidate and one step, got ${N} x ${H}`);
    this.sequences = new Float32Array(N * H * actionSize);
    this.stepActions = new Float32Array(N * actionSize);
    this.obs = new Float32Array(N * obsSize);
    this.next = new Float32Array(N * obsSize);
    this.rewards = new Float64Array(N);
    this.returns = new Float64Array(N);
  }

  plan(model: TransitionModel, obs: ArrayLike<number>, rng: Rng): Plan {
    const { candidates: N, horizon: H, low, high } = this.options;
    const A = this.actionSize, D = this.obsSize;
    if (model.obsSize !== D || model.actionSize !== A) throw new Error(`planner for ${D}-D observations and ${A}-D actions given a ${model.obsSize}/${model.actionSize} model`);
    for (let i = 0; i < this.sequences.length; i++) this.sequences[i] = rng.uniform(low, high);
    for (let c = 0; c < N; c++) for (let k = 0; k < D; k++) this.obs[c * D + k] = obs[k];
    this.returns.fill(0);
    for (let h = 0; h < H; h++) {
      for (let c = 0; c < N; c++) this.stepActions.set(this.sequences.subarray((c * H + h) * A, (c * H + h + 1) * A), c * A);
      model.predict(this.obs, this.stepActions, N, this.next, this.rewards);
      for (let c = 0; c < N; c++) this.returns[c] += this.rewards[c];
      [this.obs, this.next] = [this.next, this.obs];
    }
    let best = 0;
    for (let c = 1; c < N; c++) if (this.returns[c] > this.returns[best]) best = c;
    return { actions: this.sequences.slice(best * H * A, (best + 1) * H * A), predictedReturn: this.returns[best] };
  }
}
