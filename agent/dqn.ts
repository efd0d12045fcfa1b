// A small DQN that learns one discrete task (a bandit, a tabular MDP) from scratch within a trial, one
// inner update per env step, in many tasks at once (one lane per task), with a pluggable optimiser: the
// inner learner of agent/learned-optimizer.ts, trained there with Adam (the baseline) or with a learned
// LSTM optimiser. Plain float64 JavaScript: the Q-network is tiny (one hidden layer), so a kernel call
// per op would cost more than the arithmetic, and every backend gives the same bits.
//
// - Q-network: observation -> tanh hidden layer -> one Q-value per action; weights N(0, 1 / fanIn),
//   biases 0, drawn per lane from a named stream (both optimisers start a task from the same network).
// - Acting: epsilon-greedy on the current network, ties broken at random.
// - Replay: every transition of the lane's own trial (a trial is at most a few hundred steps, so nothing
//   is evicted); each inner update takes a minibatch drawn uniformly with replacement.
// - Loss: mean over the minibatch of 0.5 (Q(s, a) - y)^2 with y = r + discount * max_a' Q_target(s', a'),
//   y = r at an episode's last step. The target network is a copy of the online one made every
//   `targetUpdateEvery` inner steps (0: no target network, y from the current weights); either way y is a
//   constant for the gradient (semi-gradient TD, as DQN).
// - A transition is learned from as soon as it is complete: at the next act() (its successor state) or
//   at once when it ended the episode, so a trial of N env steps makes exactly N inner updates.

import type { EnvSpec } from './envs.ts';
import type { LanePolicy } from './meta.ts';
import { type Rng, gaussian } from './random.ts';

export interface DqnSettings {
  /** Units of the Q-network's hidden layer. */
  hidden: number;
  /** Transitions per inner update's minibatch. */
  batchSize: number;
  /** Discount of the TD target. */
  discount: number;
  /** Probability of a uniformly random action. */
  exploration: number;
  /** Copy the online network to the target network every this many inner steps (0: no target network). */
  targetUpdateEvery: number;
}

/** One optimiser step for every lane: moves each lane's weights in place, given its gradient and loss. */
export interface InnerOptimizer {
  step(thetas: Float64Array[], gradients: Float64Array[], losses: number[]): void;
  /** The trial is over: `gradients` and `losses` are at each lane's final weights (no step follows). */
  finish?(thetas: Float64Array[], gradients: Float64Array[], losses: number[]): void;
}

/** The Q-network's shape and its forward and backward passes over a flat weight vector [W1, b1, W2, b2]. */
export class QNetwork {
  readonly size: number;
  private readonly hiddenValues: Float64Array;
  private readonly hiddenGradient: Float64Array;

  constructor(readonly inputs: number, readonly hidden: number, readonly actions: number) {
    this.size = inputs * hidden + hidden + hidden * actions + actions;
    this.hiddenValues = new Float64Array(hidden);
    this.hiddenGradient = new Float64Array(hidden);
  }

  /** Fresh weights: N(0, 1 / fanIn) weights, zero biases. */
  init(rng: Rng): Float64Array {
    const { inputs: I, hidden: H, actions: A } = this;
    const theta = new Float64Array(this.size);
    for (let k = 0; k < I * H; k++) theta[k] = gaussian(rng) / Math.sqrt(I);
    const w2 = I * H + H;
    for (let k = 0; k < H * A; k++) theta[w2 + k] = gaussian(rng) / Math.sqrt(H);
    return theta;
  }

  /** Q(obs, .) into out[0..actions); the hidden layer's values stay in this.hiddenValues. */
  forward(theta: Float64Array, obs: ArrayLike<number>, from: number, out: Float64Array): void {
    const { inputs: I, hidden: H, actions: A, hiddenValues: h } = this;
    const b1 = I * H, w2 = b1 + H, b2 = w2 + H * A;
    for (let j = 0; j < H; j++) h[j] = theta[b1 + j];
    for (let i = 0; i < I; i++) {
      const x = obs[from + i];
      if (x === 0) continue;
      for (let j = 0; j < H; j++) h[j] += x * theta[i * H + j];
    }
    for (let j = 0; j < H; j++) h[j] = Math.tanh(h[j]);
    for (let a = 0; a < A; a++) {
      let q = theta[b2 + a];
      for (let j = 0; j < H; j++) q += h[j] * theta[w2 + j * A + a];
      out[a] = q;
    }
  }

  /**
   * Adds d/dtheta of 0.5 (Q(obs, action) - target)^2 * weight to `gradient`; returns that loss term.
   * The target is a constant.
   */
  accumulate(theta: Float64Array, obs: ArrayLike<number>, from: number, action: number, target: number, weight: number, gradient: Float64Array, scratch: Float64Array): number {
    const { inputs: I, hidden: H, actions: A, hiddenValues: h, hiddenGradient: dh } = this;
    this.forward(theta, obs, from, scratch);
    const error = scratch[action] - target;
    const d = error * weight;
    const b1 = I * H, w2 = b1 + H, b2 = w2 + H * A;
    gradient[b2 + action] += d;
    for (let j = 0; j < H; j++) {
      gradient[w2 + j * A + action] += d * h[j];
      dh[j] = d * theta[w2 + j * A + action] * (1 - h[j] * h[j]);
      gradient[b1 + j] += dh[j];
    }
    for (let i = 0; i < I; i++) {
      const x = obs[from + i];
      if (x === 0) continue;
      for (let j = 0; j < H; j++) gradient[i * H + j] += x * dh[j];
    }
    return 0.5 * error * error * weight;
  }
}

/** A lane's transitions: observations and successors (obsSize each), actions, rewards, terminal flags. */
class Replay {
  obs: Float32Array;
  next: Float32Array;
  actions: Int32Array;
  rewards: Float64Array;
  terminal: Uint8Array;
  size = 0;

  constructor(private readonly obsSize: number, capacity = 64) {
    this.obs = new Float32Array(capacity * obsSize);
    this.next = new Float32Array(capacity * obsSize);
    this.actions = new Int32Array(capacity);
    this.rewards = new Float64Array(capacity);
    this.terminal = new Uint8Array(capacity);
  }

  push(obs: Float32Array, next: Float32Array | null, action: number, reward: number): void {
    if (this.size === this.actions.length) this.grow();
    const n = this.size++, S = this.obsSize;
    this.obs.set(obs, n * S);
    if (next) this.next.set(next, n * S);
    this.actions[n] = action;
    this.rewards[n] = reward;
    this.terminal[n] = next ? 0 : 1;
  }

  private grow(): void {
    const capacity = 2 * this.actions.length, S = this.obsSize;
    const widen = <T extends Float32Array | Float64Array | Int32Array | Uint8Array>(old: T, make: (n: number) => T, n: number): T => { const fresh = make(n); fresh.set(old); return fresh; };
    this.obs = widen(this.obs, (n) => new Float32Array(n), capacity * S);
    this.next = widen(this.next, (n) => new Float32Array(n), capacity * S);
    this.actions = widen(this.actions, (n) => new Int32Array(n), capacity);
    this.rewards = widen(this.rewards, (n) => new Float64Array(n), capacity);
    this.terminal = widen(this.terminal, (n) => new Uint8Array(n), capacity);
  }
}

/** Random streams of one lane: its initial network, its action noise and its minibatches. */
export interface DqnLaneStreams { init: Rng; actions: Rng; replay: Rng }

/**
 * DQN learning in `lanes` tasks side by side, lanes in lock-step (every lane makes its inner update t at
 * the same call). `greedy` acts without epsilon (the policy's mode; ties still broken at random).
 */
export class DqnLanes implements LanePolicy {
  readonly network: QNetwork;
  /** [lane] the online weights. */
  readonly thetas: Float64Array[];
  /** Inner updates made so far (per lane; the same in every lane). */
  updates = 0;
  /** Mean minibatch loss over the lanes at each inner update, in order. */
  readonly lossCurve: number[] = [];
  private readonly targets: Float64Array[];
  private readonly replays: Replay[];
  private readonly obsSize: number;
  private readonly lastObs: Float32Array[];
  private readonly lastActions: Int32Array;
  private pendingRewards: Float64Array | null = null;
  private readonly gradients: Float64Array[];
  private readonly qScratch: Float64Array;

  constructor(readonly lanes: number, spec: EnvSpec, readonly settings: DqnSettings, private readonly optimizer: InnerOptimizer, private readonly streams: DqnLaneStreams[], private readonly greedy = false) {
    if (spec.action.kind !== 'discrete') throw new Error('DQN needs discrete actions');
    if (streams.length !== lanes) throw new Error(`DqnLanes: ${streams.length} random streams for ${lanes} lanes`);
    this.obsSize = spec.obsSize;
    this.network = new QNetwork(spec.obsSize, settings.hidden, spec.action.n);
    this.thetas = streams.map((s) => this.network.init(s.init));
    this.targets = this.thetas.map((t) => Float64Array.from(t));
    this.replays = Array.from({ length: lanes }, () => new Replay(spec.obsSize));
    this.lastObs = Array.from({ length: lanes }, () => new Float32Array(spec.obsSize));
    this.lastActions = new Int32Array(lanes);
    this.gradients = Array.from({ length: lanes }, () => new Float64Array(this.network.size));
    this.qScratch = new Float64Array(spec.action.n);
  }

  act(obs: Float32Array): Float32Array {
    const S = this.obsSize, A = this.network.actions;
    if (this.pendingRewards) {
      // The successors of the previous (non-final) steps: those transitions are complete.
      for (let i = 0; i < this.lanes; i++) this.replays[i].push(this.lastObs[i], obs.subarray(i * S, (i + 1) * S), this.lastActions[i], this.pendingRewards[i]);
      this.pendingRewards = null;
      this.learn();
    }
    const actions = new Float32Array(this.lanes);
    for (let i = 0; i < this.lanes; i++) {
      const { actions: rng } = this.streams[i];
      let action: number;
      if (!this.greedy && rng.next() < this.settings.exploration) {
        action = Math.min(A - 1, Math.floor(rng.next() * A));
      } else {
        this.network.forward(this.thetas[i], obs, i * S, this.qScratch);
        action = argmaxRandomTies(this.qScratch, A, rng);
      }
      actions[i] = action;
      this.lastActions[i] = action;
      this.lastObs[i].set(obs.subarray(i * S, (i + 1) * S));
    }
    return actions;
  }

  observe(rewards: ArrayLike<number>, dones: ArrayLike<number>): void {
    // Lanes are in lock-step and every task's episodes have the same length: all lanes end together.
    if (dones[0]) {
      for (let i = 0; i < this.lanes; i++) this.replays[i].push(this.lastObs[i], null, this.lastActions[i], rewards[i]);
      this.learn();
    } else {
      this.pendingRewards = Float64Array.from({ length: this.lanes }, (_, i) => rewards[i]);
    }
  }

  /** One inner update in every lane. */
  private learn(): void {
    const losses = this.minibatchGradients();
    this.optimizer.step(this.thetas, this.gradients, losses);
    this.updates++;
    this.lossCurve.push(losses.reduce((a, b) => a + b, 0) / this.lanes);
    const every = this.settings.targetUpdateEvery;
    if (every > 0 && this.updates % every === 0) this.thetas.forEach((theta, i) => this.targets[i].set(theta));
  }

  /** The trial is over: hands the optimiser the gradients at the final weights (a learned optimiser's last meta-loss term). */
  finish(): void {
    if (this.updates === 0) return;
    this.optimizer.finish?.(this.thetas, this.gradients, this.minibatchGradients());
  }

  /** Each lane's minibatch loss at its current weights, its gradient into this.gradients. */
  private minibatchGradients(): number[] {
    const { batchSize: B, discount, targetUpdateEvery } = this.settings;
    const S = this.obsSize, A = this.network.actions, q = this.qScratch;
    const scratch = new Float64Array(A);
    return this.thetas.map((theta, i) => {
      const replay = this.replays[i], gradient = this.gradients[i], rng = this.streams[i].replay;
      const target = targetUpdateEvery > 0 ? this.targets[i] : theta;
      gradient.fill(0);
      let loss = 0;
      for (let b = 0; b < B; b++) {
        const n = Math.min(replay.size - 1, Math.floor(rng.next() * replay.size));
        let y = replay.rewards[n];
        if (!replay.terminal[n]) {
          this.network.forward(target, replay.next, n * S, q);
          let best = q[0];
          for (let a = 1; a < A; a++) if (q[a] > best) best = q[a];
          y += discount * best;
        }
        loss += this.network.accumulate(theta, replay.obs, n * S, replay.actions[n], y, 1 / B, gradient, scratch);
      }
      return loss;
    });
  }

  dispose(): void {}
}

function argmaxRandomTies(q: Float64Array, count: number, rng: Rng): number {
  let best = q[0], ties = 1;
  for (let a = 1; a < count; a++) {
    if (q[a] > best) { best = q[a]; ties = 1; } else if (q[a] === best) ties++;
  }
  let pick = ties > 1 ? Math.min(ties - 1, Math.floor(rng.next() * ties)) : 0;
  for (let a = 0; a < count; a++) if (q[a] === best && pick-- === 0) return a;
  return 0;
}

/** Adam on each lane's weights (its own moments per lane), the baseline inner optimiser. */
export class InnerAdam implements InnerOptimizer {
  private readonly m: Float64Array[] = [];
  private readonly v: Float64Array[] = [];
  private t = 0;

  constructor(readonly learningRate: number, readonly beta1 = 0.9, readonly beta2 = 0.999, readonly epsilon = 1e-8) {}

  step(thetas: Float64Array[], gradients: Float64Array[]): void {
    if (this.m.length === 0) for (const theta of thetas) { this.m.push(new Float64Array(theta.length)); this.v.push(new Float64Array(theta.length)); }
    this.t++;
    const { beta1, beta2, epsilon } = this;
    const stepSize = this.learningRate * Math.sqrt(1 - beta2 ** this.t) / (1 - beta1 ** this.t);
    thetas.forEach((theta, i) => {
      const g = gradients[i], m = this.m[i], v = this.v[i];
      for (let k = 0; k < theta.length; k++) {
        m[k] = beta1 * m[k] + (1 - beta1) * g[k];
        v[k] = beta2 * v[k] + (1 - beta2) * g[k] * g[k];
        theta[k] -= stepSize * m[k] / (Math.sqrt(v[k]) + epsilon);
      }
    });
  }
}
