// The RL2 paper's non-physics task distributions (Duan et al. 2016): Bernoulli bandits and random tabular
// MDPs. Tasks are plain parameter vectors drawn from named seeded streams, like the robot families' tasks.

import type { Rng } from '../sim/rng.ts';
import type { CriticFeatures, EnvSpec, MetaEnv, MetaStep, Task, TaskDistribution } from './envs.ts';
import { gaussian, rngFor } from './random.ts';

function checkCount(what: string, value: number, min: number, max = 10_000): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) throw new RangeError(`${what} must be an integer from ${min} to ${max}, got ${value}`);
}

/** Tasks of a freshly sampled distribution: training tasks per iteration from `seed`, test tasks from `seed + 1`. */
function sampledTasks(family: string, seed: number, draw: (rng: Rng) => number[]) {
  return {
    trainTasks: (iteration: number, count: number): Task[] => {
      const rng = rngFor(seed, family, 'train-tasks', iteration);
      return Array.from({ length: count }, () => ({ family, params: draw(rng) }));
    },
    testTasks: (count: number): Task[] => {
      const rng = rngFor(seed + 1, family, 'test-tasks');
      return Array.from({ length: count }, () => ({ family, params: draw(rng) }));
    },
    testTaskCount: Infinity,
    testTaskSource: `fresh ${family} tasks drawn with seed ${seed + 1}`,
    validationTasks: (count: number): Task[] => {
      const rng = rngFor(seed + 1, family, 'validation-tasks');
      return Array.from({ length: count }, () => ({ family, params: draw(rng) }));
    },
    validationTaskCount: Infinity,
  };
}

function checkTask(task: Task, family: string, size: number): readonly number[] {
  if (task.family !== family) throw new Error(`a '${task.family}' task given to a ${family} env`);
  if (task.params.length !== size) throw new Error(`${family} task needs ${size} parameters, got ${task.params.length}`);
  return task.params;
}

/** Reads a discrete action (one number, an integer index) and names the problem when it is not one. */
function discreteAction(action: ArrayLike<number>, n: number): number {
  const a = action[0];
  if (action.length !== 1 || !Number.isInteger(a) || a < 0 || a >= n) throw new RangeError(`action must be [index] with index an integer in 0..${n - 1}, got [${Array.from(action).join(', ')}]`);
  return a;
}

// ---------------------------------------------------------------------------------------------
// Bernoulli bandits: k arms with p ~ U[0, 1]; one pull per episode, a trial is n pulls.

export function banditDistribution(options: { arms: number; pulls: number; seed?: number }): TaskDistribution {
  const { arms, pulls } = options;
  const seed = options.seed ?? 0;
  checkCount('bandit arms', arms, 2, 1000);
  checkCount('bandit pulls', pulls, 1);
  const family = 'bandit';
  // The observation carries nothing (a bandit has no state): RL2 inputs are the previous action and reward.
  // A privileged critic sees the arms' success probabilities.
  const critic: CriticFeatures = { size: arms, write: (task, _obs, _step, out) => { for (let k = 0; k < arms; k++) out[k] = task.params[k]; } };
  const spec: EnvSpec = { obsSize: 1, action: { kind: 'discrete', n: arms }, episodeSteps: 1, hasSuccess: false, criticFeatures: critic.size };
  return {
    name: `bandit:k${arms}n${pulls}`,
    seed,
    spec,
    protocol: { adaptationEpisodes: pulls, evaluationEpisodes: 0 },
    ...sampledTasks(family, seed, (rng) => Array.from({ length: arms }, () => rng.next())),
    critic,
    makeEnv: () => new BanditEnv(spec, arms),
  };
}

class BanditEnv implements MetaEnv {
  private p: readonly number[] | null = null;
  private rng: Rng = rngFor(0, 'bandit');
  private readonly obs = new Float32Array(1);
  constructor(readonly spec: EnvSpec, private readonly arms: number) {}

  reset(options: { task?: Task; seed: number }): Float32Array {
    if (options.task) this.p = checkTask(options.task, 'bandit', this.arms);
    if (!this.p) throw new Error('the first reset() of a bandit needs a task');
    this.rng = rngFor(options.seed, 'bandit-episode');
    return this.obs.slice();
  }

  step(action: ArrayLike<number>): MetaStep {
    if (!this.p) throw new Error('step() called before reset()');
    const arm = discreteAction(action, this.arms);
    return { obs: this.obs.slice(), reward: this.rng.next() < this.p[arm] ? 1 : 0, done: true, success: false };
  }

  close(): void {}
}

// ---------------------------------------------------------------------------------------------
// Random tabular MDPs: S states, A actions, mean reward per (s, a) ~ N(1, 1), observed reward ~ N(mean, 1),
// transitions ~ Dirichlet(1, ..., 1), episodes of `horizon` steps from state 0; a trial is n episodes.
// Task vector: S*A mean rewards (s-major), then S*A*S transition probabilities.

export function tabularMdpDistribution(options: { states?: number; actions?: number; horizon?: number; episodes: number; seed?: number }): TaskDistribution {
  const states = options.states ?? 10, actions = options.actions ?? 5, horizon = options.horizon ?? 10;
  const seed = options.seed ?? 0;
  checkCount('MDP states', states, 2, 1000);
  checkCount('MDP actions', actions, 2, 1000);
  checkCount('MDP horizon', horizon, 1);
  checkCount('MDP episodes per trial', options.episodes, 1);
  const family = 'tabular-mdp';
  const critic = mdpCritic(states, actions, horizon);
  const spec: EnvSpec = { obsSize: states, action: { kind: 'discrete', n: actions }, episodeSteps: horizon, hasSuccess: false, criticFeatures: critic.size };
  const draw = (rng: Rng): number[] => {
    const params: number[] = [];
    for (let i = 0; i < states * actions; i++) params.push(1 + gaussian(rng));
    for (let i = 0; i < states * actions; i++) {
      // Dirichlet(1, ..., 1) = normalised Exp(1) draws.
      const e = Array.from({ length: states }, () => -Math.log(1 - rng.next()));
      const total = e.reduce((a, b) => a + b, 0);
      params.push(...e.map((x) => x / total));
    }
    return params;
  };
  const sizeName = states === 10 && actions === 5 ? '' : `s${states}a${actions}`;
  return {
    name: `tabular-mdp:${sizeName}n${options.episodes}`,
    seed,
    spec,
    protocol: { adaptationEpisodes: options.episodes, evaluationEpisodes: 0 },
    ...sampledTasks(family, seed, draw),
    critic,
    makeEnv: () => new TabularMdpEnv(spec, states, actions, horizon),
  };
}

/**
 * What a privileged critic sees of an MDP at state s with k steps left in the episode: the optimal
 * value V*_k(s), the optimal value of a fresh episode V*_H(0) and the optimal action values Q*_k(s, .),
 * each divided by the horizon H, then the mean rewards R(s, .). Computed by backward induction once per task.
 */
function mdpCritic(states: number, actions: number, horizon: number): CriticFeatures {
  const tables = new WeakMap<Task, Float64Array>();
  // q[(k - 1) * S * A + s * A + a] = Q*_k(s, a): the best expected reward over k steps after taking a in s.
  const solve = (p: readonly number[]): Float64Array => {
    const SA = states * actions;
    const q = new Float64Array(horizon * SA);
    let v = new Float64Array(states);
    for (let k = 1; k <= horizon; k++) {
      const next = new Float64Array(states).fill(-Infinity);
      for (let s = 0; s < states; s++) {
        for (let a = 0; a < actions; a++) {
          const sa = s * actions + a, row = SA + sa * states;
          let value = p[sa];
          for (let t = 0; t < states; t++) value += p[row + t] * v[t];
          q[(k - 1) * SA + sa] = value;
          if (value > next[s]) next[s] = value;
        }
      }
      v = next;
    }
    return q;
  };
  return {
    size: 2 + 2 * actions,
    write(task, obs, step, out) {
      let q = tables.get(task);
      if (!q) { q = solve(task.params); tables.set(task, q); }
      const state = Math.max(0, obs.indexOf(1));
      const k = horizon - step, SA = states * actions;
      let best = -Infinity, fresh = -Infinity;
      for (let a = 0; a < actions; a++) {
        const value = q[(k - 1) * SA + state * actions + a];
        out[2 + a] = value / horizon;
        out[2 + actions + a] = task.params[state * actions + a];
        best = Math.max(best, value);
        fresh = Math.max(fresh, q[(horizon - 1) * SA + a]);
      }
      out[0] = best / horizon;
      out[1] = fresh / horizon;
    },
  };
}

class TabularMdpEnv implements MetaEnv {
  private params: readonly number[] | null = null;
  private rng: Rng = rngFor(0, 'mdp');
  private state = 0;
  private t = 0;
  constructor(readonly spec: EnvSpec, private readonly states: number, private readonly actions: number, private readonly horizon: number) {}

  reset(options: { task?: Task; seed: number }): Float32Array {
    if (options.task) this.params = checkTask(options.task, 'tabular-mdp', this.states * this.actions * (1 + this.states));
    if (!this.params) throw new Error('the first reset() of a tabular MDP needs a task');
    this.rng = rngFor(options.seed, 'mdp-episode');
    this.state = 0;
    this.t = 0;
    return this.observe();
  }

  step(action: ArrayLike<number>): MetaStep {
    const p = this.params;
    if (!p) throw new Error('step() called before reset()');
    if (this.t >= this.horizon) throw new Error(`step() called after the episode ended (${this.horizon} steps); call reset()`);
    const a = discreteAction(action, this.actions);
    const sa = this.state * this.actions + a;
    const reward = p[sa] + gaussian(this.rng);
    // Sample the next state from row (s, a) of the transition table.
    const row = this.states * this.actions + sa * this.states;
    let u = this.rng.next(), next = this.states - 1;
    for (let s = 0; s < this.states; s++) {
      u -= p[row + s];
      if (u < 0) { next = s; break; }
    }
    this.state = next;
    this.t++;
    return { obs: this.observe(), reward, done: this.t >= this.horizon, success: false };
  }

  close(): void {}

  private observe(): Float32Array {
    const obs = new Float32Array(this.states);
    obs[this.state] = 1;
    return obs;
  }
}
