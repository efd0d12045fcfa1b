// The one environment interface the agent sees: a task distribution (robot benchmark, Bernoulli bandits,
// random tabular MDPs) that hands out tasks and builds envs, and batches of envs stepped in lock-step.

import { type Benchmark, type Task, ML1, ML10, MT1, ManipulationEnv, makeEnv } from '../sim/index.ts';
import { rngFor } from './nn.ts';
import { banditDistribution, tabularMdpDistribution } from './tabular.ts';

export type { Task } from '../sim/index.ts';

export type ActionSpace =
  | { kind: 'discrete'; n: number }
  | { kind: 'box'; size: number; low: number; high: number };

export interface EnvSpec {
  obsSize: number;
  action: ActionSpace;
  /** Every episode of these tasks lasts exactly this many steps (MetaWorld truncates at 500; a bandit pull is 1). */
  episodeSteps: number;
  /** True when episodes report MetaWorld's success flag. */
  hasSuccess: boolean;
  /** Size of the distribution's critic features (TaskDistribution.critic); absent when it has none. */
  criticFeatures?: number;
}

/** Numbers an action takes in a flat buffer: one index for a discrete space, `size` reals for a box. */
export const actionWidth = (space: ActionSpace): number => (space.kind === 'discrete' ? 1 : space.size);

export interface MetaStep { obs: Float32Array; reward: number; done: boolean; success: boolean }

/** One environment, Gymnasium-shaped; `done` is true on the last step of an episode. */
export interface MetaEnv {
  readonly spec: EnvSpec;
  reset(options: { task?: Task; seed: number }): Float32Array;
  step(action: ArrayLike<number>): MetaStep;
  close(): void;
}

/** How tasks are evaluated: MetaWorld's 10 adaptation + 3 evaluation episodes, or an RL2 trial of n episodes. */
export interface Protocol { adaptationEpisodes: number; evaluationEpisodes: number }

/**
 * What a privileged critic may know of a task that the policy must find out: the task's parameters and
 * quantities derived from them. Only the value function reads them during training (an asymmetric
 * actor-critic); the policy, evaluation and serving never do.
 */
export interface CriticFeatures {
  readonly size: number;
  /** Writes the features of `task` at this step into out[0..size): `obs` is the lane's observation, `step` the index within the episode. */
  write(task: Task, obs: Float32Array, step: number, out: Float32Array): void;
}

export interface TaskDistribution {
  /** Canonical name, e.g. "ML1:reach", "bandit:k5n10", "tabular-mdp:n10". */
  readonly name: string;
  /** Seed of the task lists (train tasks per iteration, test tasks). */
  readonly seed: number;
  readonly spec: EnvSpec;
  readonly protocol: Protocol;
  /** `count` training tasks for one training iteration: a pure function of (seed, iteration). */
  trainTasks(iteration: number, count: number): Task[];
  /** The first `count` held-out test tasks (never used for training). */
  testTasks(count: number): Task[];
  /** How many test tasks there are (Infinity for freshly sampled distributions). */
  readonly testTaskCount: number;
  /** Task features for a privileged critic (spec.criticFeatures numbers). */
  readonly critic?: CriticFeatures;
  makeEnv(): MetaEnv;
}

// ---------------------------------------------------------------------------------------------
// Robot benchmarks (ML1 / MT1 over the simulator's families)

/** Every robot family's task parameters are up to two positions (object, goal); shorter ones are zero-padded. */
const ROBOT_TASK_PARAMS = 6;

/** A robot task's critic features: its positions (object, goal), then each position's offset from the hand (obs[0..3]). */
const robotCritic: CriticFeatures = {
  size: 2 * ROBOT_TASK_PARAMS,
  write(task, obs, _step, out) {
    out.fill(0, 0, 2 * ROBOT_TASK_PARAMS);
    const n = Math.min(task.params.length, ROBOT_TASK_PARAMS);
    for (let i = 0; i < n; i++) {
      out[i] = task.params[i];
      out[ROBOT_TASK_PARAMS + i] = task.params[i] - obs[i % 3];
    }
  },
};

const ROBOT_SPEC: EnvSpec = { obsSize: 39, action: { kind: 'box', size: 4, low: -1, high: 1 }, episodeSteps: 500, hasSuccess: true, criticFeatures: robotCritic.size };

class RobotEnv implements MetaEnv {
  readonly spec = ROBOT_SPEC;
  private env: ManipulationEnv | null = null;
  constructor(private readonly benchmark: Benchmark) {}

  reset(options: { task?: Task; seed: number }): Float32Array {
    // Without a task the env keeps its current one (a new episode of the same task).
    const task = options.task ?? this.env?.currentTask;
    if (!task) throw new Error('the first reset() of a robot env needs a task');
    // One ManipulationEnv per family; switching task within a family is a reset option.
    if (this.env === null || this.env.family.name !== task.family) {
      this.env?.close();
      this.env = makeEnv(this.benchmark, task);
    }
    return this.env.reset({ task, seed: options.seed }).obs;
  }

  step(action: ArrayLike<number>): MetaStep {
    if (!this.env) throw new Error('step() called before reset()');
    const r = this.env.step(action);
    return { obs: r.obs, reward: r.reward, done: r.terminated || r.truncated, success: r.info.success === 1 };
  }

  close(): void { this.env?.close(); this.env = null; }
}

export function robotDistribution(benchmark: Benchmark): TaskDistribution {
  if (benchmark.oneHotFamilies) throw new Error(`${benchmark.name}: multi-task benchmarks with a one-hot family id (49-D observations) are not supported by the agent yet`);
  const trainFamilies = [...new Set(benchmark.train.map((t) => t.family))];
  // Test tasks dealt round-robin over the families, so the first N cover every family evenly.
  const families = [...new Set(benchmark.test.map((t) => t.family))];
  const byFamily = families.map((f) => benchmark.test.filter((t) => t.family === f));
  const testOrder = Array.from({ length: Math.max(0, ...byFamily.map((l) => l.length)) }, (_, i) => byFamily.flatMap((l) => (i < l.length ? [l[i]] : []))).flat();
  return {
    name: benchmark.name,
    seed: benchmark.seed,
    spec: ROBOT_SPEC,
    protocol: { adaptationEpisodes: 10, evaluationEpisodes: 3 },
    trainTasks(iteration, count) {
      // Shuffle the 50 train tasks per iteration and deal them out (again from the top when count > 50).
      const rng = rngFor(benchmark.seed, 'train-tasks', iteration);
      const shuffled = <T>(items: readonly T[]): T[] => {
        const order = [...items];
        for (let i = order.length - 1; i > 0; i--) {
          const j = Math.floor(rng.next() * (i + 1));
          [order[i], order[j]] = [order[j], order[i]];
        }
        return order;
      };
      if (trainFamilies.length === 1) {
        const order = shuffled([...benchmark.train.keys()]);
        return Array.from({ length: count }, (_, i) => benchmark.train[order[i % order.length]]);
      }
      // Several families: every family equally often (family order shuffled too), tasks shuffled within each.
      const families = shuffled(trainFamilies).map((f) => shuffled(benchmark.train.filter((t) => t.family === f)));
      return Array.from({ length: count }, (_, i) => {
        const tasks = families[i % families.length];
        return tasks[Math.floor(i / families.length) % tasks.length];
      });
    },
    testTasks(count) {
      if (count > benchmark.test.length) throw new RangeError(`${benchmark.name} has ${benchmark.test.length} test tasks, asked for ${count}`);
      return testOrder.slice(0, count);
    },
    testTaskCount: benchmark.test.length,
    critic: robotCritic,
    makeEnv: () => new RobotEnv(benchmark),
  };
}

// ---------------------------------------------------------------------------------------------
// Names

export interface DistributionOptions { seed?: number }

/**
 * Parses a benchmark name: "ML1:<family>", "MT1:<family>", "ML10", "bandit:k<arms>n<pulls>",
 * "tabular-mdp:n<episodes>" (10 states, 5 actions, 10-step episodes; "tabular-mdp:s<S>a<A>n<N>" for others).
 */
export function distributionByName(name: string, options: DistributionOptions = {}): TaskDistribution {
  const seed = options.seed ?? 0;
  const robot = /^(ML1|MT1):([a-z-]+)$/.exec(name);
  if (robot) return robotDistribution(robot[1] === 'ML1' ? ML1(robot[2], seed) : MT1(robot[2], seed));
  if (name === 'ML10') return robotDistribution(ML10(seed));
  const bandit = /^bandit:k(\d+)n(\d+)$/.exec(name);
  if (bandit) return banditDistribution({ arms: Number(bandit[1]), pulls: Number(bandit[2]), seed });
  const mdp = /^tabular-mdp:(?:s(\d+)a(\d+))?n(\d+)$/.exec(name);
  if (mdp) return tabularMdpDistribution({ states: Number(mdp[1] ?? 10), actions: Number(mdp[2] ?? 5), episodes: Number(mdp[3]), seed });
  throw new Error(`unknown benchmark '${name}'; expected ML1:<family>, MT1:<family>, ML10, bandit:k<arms>n<pulls> or tabular-mdp:n<episodes>`);
}
