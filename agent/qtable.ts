// Tabular Q-learning as a meta-RL learner for discrete tasks (the RL2 paper's tabular MDPs, bandits):
// each new task is learned by plain Q-learning over its trial, starting from a table q0. Three
// algorithms share this file and differ only in how q0 is learned:
// - qtable-zeros: q0 = 0 throughout: plain Q-learning, the baseline.
// - qtable-maml: q0 is meta-learned by gradient ascent on the expected trial return (MAML over the table:
//   the inner loop is Q-learning itself). The return depends on q0 through the actions, so the meta-
//   gradient is the score-function one through the inner updates: sum over steps of (return from the step
//   to the trial's end - a baseline) x d log pi(a_t | s_t) / d q0, where pi reads the table Q_t that
//   Q-learning has made of q0 by step t. Every Q-learning update is linear in the table, so Q_t = J_t q0 +
//   c_t and the Jacobian J_t is carried along the trial (one row per table entry; an update mixes rows).
//   Exact, no finite differences; Adam (agent/nn.ts) takes the steps. The table is q0 = level + offsets:
//   on these MDPs the gradient's consistent part is shared by all entries (how optimistic the start is),
//   while each entry's own part is mostly noise (measured: per entry, its mean over iterations is about
//   0.3 of its spread with 1000 MDPs per gradient), and Adam, which steps every parameter by about its
//   learning rate, would random-walk the entries apart. So the level is one parameter of its own, and
//   the offsets shrink by offsetDecay x learningRate of themselves each step: an entry leaves the level
//   only where its gradient keeps pointing the same way.
// - qtable-reptile: Reptile (Nichol et al. 2018): q0 moves towards the mean of the tables the training
//   trials ended with. That mean's level is set by the discount (about the mean reward / (1 - discount)),
//   not by what the trial return needs: at the tuned discount 0.5 it lands near the best optimism, with
//   greedy choice and discount 0.9 it did not (docs/AGENT.md, Results).
// The policy is Boltzmann over the lane's current table at temperature tau (tau = 0: greedy, ties broken at
// random), mixed with epsilon of uniformly random actions. Step size, epsilon, tau and the discount are
// tuned on training tasks only: on tuning iterations every combination of the settings' grid runs on the
// iteration's tasks (the same tasks and env seeds for all) and its mean trial return joins the
// combination's running score; the learner acts with the best. Test tasks never choose anything.

import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import type { AlgorithmDefinition, AlgorithmState, IterationStats, SettingProblem, TrainableAlgorithm } from './algorithm.ts';
import type { EnvBatch } from './batch-env.ts';
import type { EnvSpec, TaskDistribution } from './envs.ts';
import type { LanePolicy } from './meta.ts';
import { Adam, Params, loadWeightsState, weightsState } from './nn.ts';
import { type Rng, rngFor, seedFor } from './random.ts';
import { type TrialStats, runTrials } from './rollout.ts';

export type QTableAlgorithm = 'qtable-maml' | 'qtable-reptile' | 'qtable-zeros';

export interface QTableSettings {
  /** Training tasks per iteration (one trial of the benchmark's length each). */
  tasksPerIteration: number;
  /** Candidate step sizes (learning rates) of Q-learning. */
  stepSizes: number[];
  /** Candidate epsilons: the probability of a uniformly random action. */
  explorations: number[];
  /** Candidate Boltzmann temperatures (0: greedy). qtable-maml needs them all above 0 (a greedy choice has no gradient). */
  temperatures: number[];
  /** Candidate discounts of Q-learning's target r + discount * max_a Q(s', a) (an episode's last step has no successor). */
  discounts: number[];
  /** Tune (run the whole grid) every this many iterations; the others run the best combination only. */
  tuneEvery: number;
  /** A combination's score is the mean over its tuning rounds, then a running average over about this many rounds. */
  scoreMemory: number;
  /** qtable-maml: Adam's learning rate on q0's level and offsets. */
  learningRate: number;
  /** qtable-maml: each step shrinks the offsets by learningRate x this of themselves (0: no shrinking). */
  offsetDecay: number;
  /** qtable-reptile: the step towards the tasks' mean final table. */
  metaStepSize: number;
}

export const QTABLE_DEFAULTS: QTableSettings = {
  tasksPerIteration: 100,
  stepSizes: [0.1, 0.3, 0.5, 1],
  explorations: [0, 0.05, 0.1],
  temperatures: [0, 0.1, 0.3, 1],
  discounts: [0.5, 0.7, 0.9, 1],
  tuneEvery: 1,
  scoreMemory: 20,
  learningRate: 0.1,
  offsetDecay: 1,
  metaStepSize: 0.1,
};

/**
 * qtable-maml's defaults where they differ: 1000 tasks per gradient (the score-function gradient is
 * noisy), positive temperatures, and the grid every 20th iteration (the others learn q0).
 */
const MAML_DEFAULTS: Partial<QTableSettings> = { tasksPerIteration: 1000, temperatures: [0.03, 0.1, 0.3, 1], tuneEvery: 20, learningRate: 0.1 };
const REPTILE_DEFAULTS: Partial<QTableSettings> = { tuneEvery: 20 };

const settingsSchema = z.object({
  tasksPerIteration: z.number().int().min(1),
  stepSizes: z.array(z.number().gt(0).max(1)).min(1),
  explorations: z.array(z.number().min(0).max(1)).min(1),
  temperatures: z.array(z.number().min(0)).min(1),
  discounts: z.array(z.number().min(0).max(1)).min(1),
  tuneEvery: z.number().int().min(1),
  scoreMemory: z.number().positive(),
  learningRate: z.number().positive(),
  offsetDecay: z.number().min(0),
  metaStepSize: z.number().min(0).max(1),
}).strict();

/** One combination of Q-learning's settings. */
export interface QLearningSettings { stepSize: number; exploration: number; temperature: number; discount: number }

/** The grid's combinations, step sizes outermost, discounts innermost. */
function grid(s: QTableSettings): QLearningSettings[] {
  return s.stepSizes.flatMap((stepSize) => s.explorations.flatMap((exploration) => s.temperatures.flatMap((temperature) => s.discounts.map((discount) => ({ stepSize, exploration, temperature, discount })))));
}

/** Tabular states: the index of the 1 in a one-hot observation (tabular MDPs), or 0 for a constant observation (bandits). */
function stateOf(obs: Float32Array, offset: number, size: number): number {
  for (let s = 0; s < size; s++) if (obs[offset + s] === 1) return s;
  return 0;
}

/**
 * Q-learning in `lanes` tasks at once, each lane with its own table started from q0 (float64 while it
 * learns). A step's update is made when its successor state is seen (the next act()), or at once when the
 * step ended the episode. With `track`, each lane also carries d Q / d q0 and the score d log pi(a_t) / d q0
 * of every action it took, for the meta-gradient.
 */
export class QLearningLanes implements LanePolicy {
  /** [lane] tables, states x actions, state-major. */
  readonly tables: Float64Array[];
  /** [lane] d table / d q0 (entries x entries, row-major), when tracked. */
  readonly jacobians: Float64Array[] | null;
  /** [lane] scores of the actions taken, one q0-sized vector per step, when tracked. */
  readonly scores: Float64Array[][] | null;
  /** [lane] rewards of every step, when tracked. */
  readonly rewardLog: number[][] | null;
  /** [lane] max_a Q(s_t, a) of the lane's table when it chose each action, when tracked (a baseline feature). */
  readonly valueLog: number[][] | null;
  /** [lane] sum over the steps so far of log pi(a_t | s_t), when tracked (what the scores are the gradient of). */
  readonly logProbabilities: Float64Array | null;
  private readonly states: Int32Array;
  private readonly actions: Float32Array;
  private readonly pending: Float64Array;
  private readonly hasPending: Uint8Array;
  private readonly probabilities: Float64Array;
  private readonly entries: number;

  constructor(
    readonly lanes: number,
    private readonly stateCount: number,
    private readonly actionCount: number,
    q0: Float32Array,
    private readonly learning: QLearningSettings,
    private readonly rngs: readonly Rng[] | null,
    track = false,
  ) {
    const E = stateCount * actionCount;
    this.entries = E;
    this.tables = Array.from({ length: lanes }, () => Float64Array.from(q0));
    this.jacobians = track ? Array.from({ length: lanes }, () => { const j = new Float64Array(E * E); for (let e = 0; e < E; e++) j[e * E + e] = 1; return j; }) : null;
    this.scores = track ? Array.from({ length: lanes }, () => []) : null;
    this.rewardLog = track ? Array.from({ length: lanes }, () => []) : null;
    this.logProbabilities = track ? new Float64Array(lanes) : null;
    this.valueLog = track ? Array.from({ length: lanes }, () => []) : null;
    if (track && !(learning.temperature > 0)) throw new Error('qtable: the meta-gradient needs a temperature above 0');
    this.states = new Int32Array(lanes);
    this.actions = new Float32Array(lanes);
    this.pending = new Float64Array(lanes);
    this.hasPending = new Uint8Array(lanes);
    this.probabilities = new Float64Array(actionCount);
  }

  act(obs: Float32Array): Float32Array {
    const { stateCount: S, actionCount: A, learning } = this;
    for (let i = 0; i < this.lanes; i++) {
      const q = this.tables[i], s = stateOf(obs, i * S, S);
      if (this.hasPending[i]) {
        const next = argmax(q, s * A, A);
        this.update(i, this.states[i] * A + this.actions[i], this.pending[i], s * A + next);
        this.hasPending[i] = 0;
      }
      this.valueLog?.[i].push(q[s * A + argmax(q, s * A, A)]);
      const action = this.choose(i, q, s);
      this.states[i] = s;
      this.actions[i] = action;
    }
    return this.actions;
  }

  /**
   * The lanes took these actions, not the ones act() chose (a teacher labelling a trial another policy
   * drives): the next observe() updates the entries of the actions taken. Call it between act() and observe().
   */
  tookInstead(actions: ArrayLike<number>): void {
    for (let i = 0; i < this.lanes; i++) {
      const action = actions[i];
      if (!(Number.isInteger(action) && action >= 0 && action < this.actionCount)) throw new Error(`qtable: lane ${i} took action ${action}; expected an integer in [0, ${this.actionCount - 1}]`);
      this.actions[i] = action;
    }
  }

  observe(rewards: ArrayLike<number>, dones: ArrayLike<number>): void {
    const A = this.actionCount;
    for (let i = 0; i < this.lanes; i++) {
      this.rewardLog?.[i].push(rewards[i]);
      if (dones[i]) this.update(i, this.states[i] * A + this.actions[i], rewards[i], -1);
      else {
        this.pending[i] = rewards[i];
        this.hasPending[i] = 1;
      }
    }
  }

  /** Q(e) += stepSize (r + discount Q(successor) - Q(e)); successor -1: the episode ended. The Jacobian's row e moves alike. */
  private update(lane: number, e: number, reward: number, successor: number): void {
    const { stepSize, discount } = this.learning;
    const q = this.tables[lane];
    const target = reward + (successor >= 0 ? discount * q[successor] : 0);
    q[e] += stepSize * (target - q[e]);
    const jacobian = this.jacobians?.[lane];
    if (jacobian) {
      const E = this.entries, row = e * E, from = successor * E;
      for (let k = 0; k < E; k++) jacobian[row + k] = (1 - stepSize) * jacobian[row + k] + (successor >= 0 ? stepSize * discount * jacobian[from + k] : 0);
    }
  }

  /** Draws the action in state s (Boltzmann at the temperature, or greedy, mixed with epsilon of uniform) and, tracked, its score. */
  private choose(lane: number, q: Float64Array, s: number): number {
    const { actionCount: A, learning: { exploration, temperature }, probabilities: p } = this;
    const rng = this.rngs?.[lane];
    const from = s * A;
    if (!rng) return argmax(q, from, A);
    if (exploration > 0 && rng.next() < exploration) {
      const action = Math.min(A - 1, Math.floor(rng.next() * A));
      this.recordScore(lane, from, action);
      return action;
    }
    if (temperature === 0) return greedy(q, from, A, rng);
    softmax(q, from, A, temperature, p);
    let u = rng.next(), action = A - 1;
    for (let a = 0; a < A; a++) {
      u -= p[a];
      if (u < 0) { action = a; break; }
    }
    this.recordScore(lane, from, action);
    return action;
  }

  /**
   * d log pi(action | s) / d q0 for pi = (1 - epsilon) softmax(Q(s, .) / tau) + epsilon / A:
   * (1 - epsilon) p(action) / pi(action) / tau x (dQ(s, action) - sum_a p(a) dQ(s, a)), dQ rows of the Jacobian.
   */
  private recordScore(lane: number, from: number, action: number): void {
    if (!this.jacobians || !this.scores) return;
    const { actionCount: A, entries: E, learning: { exploration, temperature }, probabilities: p } = this;
    const q = this.tables[lane], jacobian = this.jacobians[lane];
    softmax(q, from, A, temperature, p);
    const pi = (1 - exploration) * p[action] + exploration / A;
    this.logProbabilities![lane] += Math.log(pi);
    const scale = (1 - exploration) * p[action] / pi / temperature;
    const score = new Float64Array(E);
    for (let a = 0; a < A; a++) {
      const weight = ((a === action ? 1 : 0) - p[a]) * scale, row = (from + a) * E;
      if (weight !== 0) for (let k = 0; k < E; k++) score[k] += weight * jacobian[row + k];
    }
    this.scores[lane].push(score);
  }

  dispose(): void {}
}

/** Least squares with three features (a small ridge keeps it defined when a feature is constant). */
function leastSquares(x: ReadonlyArray<[number, number, number]>, y: readonly number[]): [number, number, number] {
  const a = [[1e-6, 0, 0], [0, 1e-6, 0], [0, 0, 1e-6]], b = [0, 0, 0];
  x.forEach((row, n) => { for (let i = 0; i < 3; i++) { b[i] += row[i] * y[n]; for (let j = 0; j < 3; j++) a[i][j] += row[i] * row[j]; } });
  // Gaussian elimination with partial pivoting on the 3 x 3 system.
  for (let c = 0; c < 3; c++) {
    let p = c;
    for (let r = c + 1; r < 3; r++) if (Math.abs(a[r][c]) > Math.abs(a[p][c])) p = r;
    [a[c], a[p]] = [a[p], a[c]];
    [b[c], b[p]] = [b[p], b[c]];
    for (let r = c + 1; r < 3; r++) {
      const f = a[r][c] / a[c][c];
      for (let k = c; k < 3; k++) a[r][k] -= f * a[c][k];
      b[r] -= f * b[c];
    }
  }
  const w: [number, number, number] = [0, 0, 0];
  for (let r = 2; r >= 0; r--) {
    let rest = b[r];
    for (let k = r + 1; k < 3; k++) rest -= a[r][k] * w[k];
    w[r] = rest / a[r][r];
  }
  return w;
}

function argmax(q: Float64Array, from: number, count: number): number {
  let best = 0;
  for (let a = 1; a < count; a++) if (q[from + a] > q[from + best]) best = a;
  return best;
}

/** The greedy action, ties broken uniformly at random. */
function greedy(q: Float64Array, from: number, count: number, rng: Rng): number {
  const best = q[from + argmax(q, from, count)];
  let ties = 0;
  for (let a = 0; a < count; a++) if (q[from + a] === best) ties++;
  let pick = ties > 1 ? Math.min(ties - 1, Math.floor(rng.next() * ties)) : 0;
  for (let a = 0; a < count; a++) if (q[from + a] === best && pick-- === 0) return a;
  return 0;
}

function softmax(q: Float64Array, from: number, count: number, temperature: number, out: Float64Array): void {
  const top = q[from + argmax(q, from, count)];
  let total = 0;
  for (let a = 0; a < count; a++) total += out[a] = Math.exp((q[from + a] - top) / temperature);
  for (let a = 0; a < count; a++) out[a] /= total;
}

/** Q-learning from a learned (or zero) start table with tuned settings; one per run. */
export class QTableLearner implements TrainableAlgorithm {
  readonly adaptUsesEpisodes = false;
  readonly states: number;
  readonly actions: number;
  /** q0 = level + offsets (states x actions; trained by qtable-maml) and the grid's scores (not trained): float32, as checkpoints hold them. */
  readonly params = new Params();
  private readonly optimizer: Adam | null;
  private readonly combinations: QLearningSettings[];

  constructor(readonly name: QTableAlgorithm, readonly spec: EnvSpec, readonly settings: QTableSettings, readonly seed: number) {
    if (spec.action.kind !== 'discrete') throw new Error(`${name}: needs discrete actions`);
    this.states = spec.obsSize;
    this.actions = spec.action.n;
    this.combinations = grid(settings);
    this.params.add('level', [1], new Float32Array(1), name === 'qtable-maml');
    this.params.add('offsets', [this.states, this.actions], new Float32Array(this.states * this.actions), name === 'qtable-maml');
    this.params.add('scores', [this.combinations.length], new Float32Array(this.combinations.length), false);
    this.optimizer = name === 'qtable-maml'
      ? new Adam(this.params, { learningRate: settings.learningRate, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, maxGradNorm: Infinity })
      : null;
  }

  get trainingLanes(): number { return this.settings.tasksPerIteration; }

  /** The start table. */
  get q0(): Float32Array {
    const level = this.params.get('level').dataSync()[0];
    return Float32Array.from(this.params.get('offsets').dataSync(), (offset) => level + offset);
  }

  /** Each combination's running score (mean trial return on training tasks). */
  get scores(): Float32Array { return this.params.get('scores').dataSync() as Float32Array; }

  /** The combination the learner acts with: the best score (the first on the grid among equals). */
  get chosen(): QLearningSettings {
    const scores = this.scores;
    let best = 0;
    for (let k = 1; k < scores.length; k++) if (scores[k] > scores[best]) best = k;
    return this.combinations[best];
  }

  explorationPolicy(lanes: number, options: { seed: number; deterministic?: boolean }): QLearningLanes {
    const rngs = options.deterministic ? null : Array.from({ length: lanes }, (_, i) => rngFor(options.seed, 'actions', i));
    return new QLearningLanes(lanes, this.states, this.actions, this.q0, this.chosen, rngs);
  }

  /** Q-learning adapts while it explores: the adapted policy is the same lanes, tables kept. */
  adapt(policy: LanePolicy): LanePolicy { return policy; }

  iterate(envs: EnvBatch, distribution: TaskDistribution, iteration: number): IterationStats {
    const { settings } = this;
    const started = performance.now();
    const tasks = distribution.trainTasks(iteration, settings.tasksPerIteration);
    const episodes = distribution.protocol.adaptationEpisodes + distribution.protocol.evaluationEpisodes;
    const episodeSeed = seedFor(this.seed, 'train', iteration);
    const q0 = this.q0;
    const trialSteps = episodes * distribution.spec.episodeSteps;
    const run = (learning: QLearningSettings, k: number, track: boolean) => {
      const rngs = tasks.map((_, i) => rngFor(this.seed, 'actions', iteration, k, i));
      const policy = new QLearningLanes(tasks.length, this.states, this.actions, q0, learning, rngs, track);
      return { policy, trials: runTrials(envs, policy, tasks, episodes, episodeSeed) };
    };
    let envSteps = 0;
    const mean = (xs: ArrayLike<number>) => Array.from(xs).reduce((a, b) => a + b, 0) / xs.length;
    let result: { policy: QLearningLanes; trials: TrialStats } | null = null;
    if (iteration % settings.tuneEvery === 0) {
      // Every combination on the same tasks and env seeds (its own action noise); its score moves to the new mean.
      const round = Math.floor(iteration / settings.tuneEvery);
      const weight = Math.max(1 / (round + 1), 1 / settings.scoreMemory);
      const scores = Float32Array.from(this.scores);
      const runs = this.combinations.map((learning, k) => {
        const r = run(learning, k, false);
        envSteps += tasks.length * trialSteps;
        scores[k] += weight * (mean(r.trials.trialReturns) - scores[k]);
        return r;
      });
      this.params.load({ ...this.params.toJSON(), scores: { shape: [scores.length], data: Buffer.from(scores.buffer).toString('base64') } });
      if (this.name !== 'qtable-maml') result = runs[this.combinations.indexOf(this.chosen)];
    }
    if (!result) {
      // The chosen combination (tracked for the meta-gradient when q0 is learned by gradient).
      const k = this.combinations.indexOf(this.chosen);
      result = run(this.combinations[k], k, this.name === 'qtable-maml');
      envSteps += tasks.length * trialSteps;
    }
    const sampled = performance.now();
    let gradNorm: number | null = null;
    if (this.name === 'qtable-maml') gradNorm = this.metaStep(result.policy);
    if (this.name === 'qtable-reptile' && settings.metaStepSize > 0) {
      // Reptile: q0 moves towards the mean of the tables the tasks ended with.
      const { tables } = result.policy;
      const next = Float32Array.from(q0, (value, j) => value + settings.metaStepSize * (tables.reduce((total, t) => total + t[j], 0) / tables.length - value));
      tf.tidy(() => this.params.get('offsets').assign(tf.tensor(next, [this.states, this.actions], 'float32')));
    }
    const learned = performance.now();
    const { trials } = result;
    const table = this.q0, q0Mean = mean(table), chosen = this.chosen;
    return {
      envSteps,
      meanTrialReturn: mean(trials.trialReturns),
      firstEpisodeReturn: mean(trials.episodeReturns.map((r) => r[0])),
      lastEpisodeReturn: mean(trials.episodeReturns.map((r) => r[episodes - 1])),
      firstEpisodeSuccess: mean(trials.episodeSuccess.map((s) => (s[0] ? 1 : 0))),
      lastEpisodeSuccess: mean(trials.episodeSuccess.map((s) => (s[episodes - 1] ? 1 : 0))),
      samplingSeconds: (sampled - started) / 1000,
      learningSeconds: (learned - sampled) / 1000,
      metrics: {
        stepSize: chosen.stepSize, exploration: chosen.exploration, temperature: chosen.temperature, discount: chosen.discount,
        bestScore: Math.max(...this.scores), q0Mean, q0Std: Math.sqrt(mean(Array.from(table, (x) => (x - q0Mean) ** 2))), gradNorm,
      },
    };
  }

  /**
   * One Adam step on q0 up the expected trial return. The gradient is the mean over lanes of
   * sum_t (G_t - b_t) score_t, G_t the return from step t to the trial's end. The baseline b_t may depend on
   * anything the lane knew before its action at t, so it predicts G_t from the lane's mean reward so far and
   * its table's value of the current state (a least-squares fit over the lanes, per step): tasks differ far
   * more than the returns of one task's actions do, and the fit removes most of that spread from the
   * gradient. Returns the gradient's norm.
   */
  private metaStep(policy: QLearningLanes): number {
    const scores = policy.scores!, rewards = policy.rewardLog!, values = policy.valueLog!;
    const lanes = scores.length, steps = scores[0].length, E = this.states * this.actions;
    const togo = rewards.map((r) => { const g = new Float64Array(steps); let acc = 0; for (let t = steps - 1; t >= 0; t--) g[t] = acc += r[t]; return g; });
    const features = (i: number, t: number): [number, number, number] => {
      let sum = 0;
      for (let u = 0; u < t; u++) sum += rewards[i][u];
      return [1, t > 0 ? sum / t : 0, values[i][t]];
    };
    const gradient = new Float64Array(E);
    for (let t = 0; t < steps; t++) {
      const x = Array.from({ length: lanes }, (_, i) => features(i, t));
      const w = leastSquares(x, Array.from({ length: lanes }, (_, i) => togo[i][t]));
      for (let i = 0; i < lanes; i++) {
        const advantage = togo[i][t] - (x[i][0] * w[0] + x[i][1] * w[1] + x[i][2] * w[2]);
        const score = scores[i][t];
        for (let k = 0; k < E; k++) gradient[k] += advantage * score[k] / lanes;
      }
    }
    // d/d level is the sum over the entries; Adam descends, so the ascent direction goes in negated.
    const grads = new Map<string, tf.Tensor>([
      ['level', tf.tensor1d([-gradient.reduce((a, b) => a + b, 0)])],
      ['offsets', tf.tensor(Float32Array.from(gradient, (g) => -g), [this.states, this.actions], 'float32')],
    ]);
    try {
      const norm = this.optimizer!.apply(grads);
      const offsets = this.params.get('offsets');
      const keep = 1 - this.settings.learningRate * this.settings.offsetDecay;
      if (keep !== 1) tf.tidy(() => offsets.assign(tf.mul(offsets, Math.max(0, keep))));
      return norm;
    } finally {
      for (const g of grads.values()) g.dispose();
    }
  }

  state(): AlgorithmState {
    return weightsState(this.params, this.optimizer);
  }

  load(state: AlgorithmState): void {
    loadWeightsState(this.params, this.optimizer, state);
  }

  dispose(): void {
    this.optimizer?.dispose();
    this.params.dispose();
  }
}

const overridesSchema = settingsSchema.partial();

function definition(name: QTableAlgorithm, summary: string): AlgorithmDefinition<QTableSettings> {
  const own = name === 'qtable-maml' ? MAML_DEFAULTS : name === 'qtable-reptile' ? REPTILE_DEFAULTS : {};
  return {
    name,
    summary,
    settingsKey: 'qtable',
    actionKinds: ['discrete'],
    unsupported: (distribution) => (distribution.benchmark ? `${name} keeps a table over states, and ${distribution.name}'s observations are continuous` : null),
    settingsSchema,
    overridesSchema,
    resolve(overrides): { settings: QTableSettings } | { problems: SettingProblem[] } {
      const given = (overrides ?? {}) as Partial<QTableSettings>;
      const problems: SettingProblem[] = [];
      if (name !== 'qtable-maml' && given.learningRate !== undefined) problems.push({ path: ['learningRate'], message: `${name} takes no gradient steps on q0; learningRate is qtable-maml's` });
      if (name !== 'qtable-maml' && given.offsetDecay !== undefined) problems.push({ path: ['offsetDecay'], message: `${name} takes no gradient steps on q0; offsetDecay is qtable-maml's` });
      if (name !== 'qtable-reptile' && given.metaStepSize !== undefined) problems.push({ path: ['metaStepSize'], message: `${name} makes no Reptile step; metaStepSize is qtable-reptile's` });
      const settings = { ...QTABLE_DEFAULTS, ...own, ...given };
      if (name === 'qtable-maml') {
        settings.temperatures.forEach((t, i) => { if (!(t > 0)) problems.push({ path: ['temperatures', i], message: 'qtable-maml needs temperatures above 0: a greedy choice has no gradient' }); });
      }
      return problems.length ? { problems } : { settings };
    },
    withDefaults: (saved) => ({ ...QTABLE_DEFAULTS, ...own, ...(saved as Partial<QTableSettings>) }),
    create: async (spec, settings, seed) => new QTableLearner(name, spec, settings, seed),
  };
}

export const qtableMaml = definition('qtable-maml', 'tabular Q-learning from a start table meta-learned by gradient ascent on the trial return through the Q-learning updates (MAML over the table)');
export const qtableReptile = definition('qtable-reptile', 'tabular Q-learning from a start table meta-learned with Reptile');
export const qtableZeros = definition('qtable-zeros', 'tabular Q-learning from a zero table (the baseline)');
