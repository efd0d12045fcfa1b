// Robot task distributions: a simulator benchmark (ML1, MT1, MT10, ML10, MT50, ML45) as the agent sees it.

import { type Benchmark, type Env, FAMILIES, getFamily, makeEnv } from '../sim/index.ts';
import type { CriticFeatures, EnvSpec, MetaEnv, MetaStep, Task, TaskDistribution } from './envs.ts';
import { rngFor } from './random.ts';

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

/** The agent's view of a benchmark's spaces: sizes and bounds read off the benchmark, never assumed. */
function robotSpec(benchmark: Benchmark): EnvSpec {
  const { actionSpace } = benchmark;
  const bound = (values: Array<number | null>, side: string): number => {
    const v = values[0];
    if (v === null || values.some((x) => x !== v)) throw new Error(`${benchmark.name}: the agent needs one finite ${side} bound for every action entry`);
    return v;
  };
  return {
    obsSize: benchmark.observationSpace.shape[0],
    action: { kind: 'box', size: actionSpace.shape[0], low: bound(actionSpace.low, 'low'), high: bound(actionSpace.high, 'high') },
    episodeSteps: benchmark.episodeSteps,
    hasSuccess: true,
    criticFeatures: robotCritic.size,
  };
}

class RobotEnv implements MetaEnv {
  private env: Env | null = null;
  constructor(private readonly benchmark: Benchmark, readonly spec: EnvSpec) {}

  reset(options: { task?: Task; seed: number }): Float32Array {
    if (this.env === null) {
      if (!options.task) throw new Error('the first reset() of a robot env needs a task');
      this.env = makeEnv(this.benchmark, options.task);
    }
    // Without a task the env keeps its current one (a new episode of the same task); a task of
    // another family rebuilds the world.
    return this.env.reset({ task: options.task, seed: options.seed }).obs;
  }

  step(action: ArrayLike<number>): MetaStep {
    if (!this.env) throw new Error('step() called before reset()');
    const r = this.env.step(action);
    return { obs: r.obs, reward: r.reward, done: r.terminated || r.truncated, success: r.info.success === 1 };
  }

  close(): void { this.env?.close(); this.env = null; }
}

/**
 * A benchmark as a task distribution. Benchmarks without a test split (MT10) are evaluated on their
 * training tasks, as MetaWorld evaluates its multi-task benchmarks.
 */
export function robotDistribution(benchmark: Benchmark): TaskDistribution {
  const spec = robotSpec(benchmark);
  const trainFamilies = benchmark.trainFamilies;
  const testSplit = benchmark.test.length > 0 ? benchmark.test : benchmark.train;
  const testOrder = roundRobin(testSplit);
  // Validation (what training evaluates on and picks checkpoints by) is the training tasks: meta-train success.
  const validationOrder = roundRobin(benchmark.train);
  return {
    name: benchmark.name,
    seed: benchmark.seed,
    spec,
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
      if (count > testSplit.length) throw new RangeError(`${benchmark.name} has ${testSplit.length} test tasks, asked for ${count}`);
      return testOrder.slice(0, count);
    },
    testTaskCount: testSplit.length,
    testTaskSource: benchmark.test.length > 0
      ? `${benchmark.name} test tasks drawn with seed ${benchmark.seed + 1} (benchmark seed ${benchmark.seed})`
      : `${benchmark.name} train tasks (it has no test split; benchmark seed ${benchmark.seed})`,
    validationTasks(count) {
      if (count > validationOrder.length) throw new RangeError(`${benchmark.name} has ${validationOrder.length} training tasks, asked for ${count} validation tasks`);
      return validationOrder.slice(0, count);
    },
    validationTaskCount: validationOrder.length,
    critic: robotCritic,
    benchmark,
    makeEnv: () => new RobotEnv(benchmark, spec),
    demonstrator(task, kind = 'expert') {
      const family = getFamily(task.family);
      const goal = family.scene(task.params).goal;
      if (kind === 'expert') return (obs) => family.expert(obs, goal);
      if (kind === 'teacher') throw new Error('a teacher demonstrates only on tabular benchmarks (qtable-* checkpoints)');
      if (!family.searcher) throw new Error(`${family.name} has no scripted searcher (families with one: ${searcherFamilies().join(', ')})`);
      return family.searcher(goal);
    },
    searchers: benchmark.trainFamilies.every((f) => getFamily(f).searcher !== undefined),
  };
}

/** Tasks dealt round-robin over their families, so that the first N cover every family evenly. */
function roundRobin(tasks: readonly Task[]): Task[] {
  const families = [...new Set(tasks.map((t) => t.family))];
  const byFamily = families.map((f) => tasks.filter((t) => t.family === f));
  return Array.from({ length: Math.max(0, ...byFamily.map((l) => l.length)) }, (_, i) => byFamily.flatMap((l) => (i < l.length ? [l[i]] : []))).flat();
}

/** The families with a scripted searcher. */
export const searcherFamilies = (): string[] => [...FAMILIES.values()].filter((f) => f.searcher).map((f) => f.name);

/** Why `demonstrator: searcher` cannot work on a distribution (a family without a searcher), or null. */
export function missingSearcher(distribution: TaskDistribution): string | null {
  if (distribution.searchers) return null;
  const without = (distribution.benchmark?.trainFamilies ?? []).filter((f) => !getFamily(f).searcher);
  return `searcher: ${distribution.name} has a family without a scripted searcher (${without.join(', ')}; families with one: ${searcherFamilies().join(', ')}); use expert`;
}

/** The axes (0: x, 1: y, 2: z) along which a benchmark's goals vary: where some training family's goal box has width. */
export function goalAxes(benchmark: Benchmark): number[] {
  const families = benchmark.trainFamilies.map((f) => getFamily(f));
  return [0, 1, 2].filter((axis) => families.some((f) => f.goalBox.high[axis] > f.goalBox.low[axis]));
}

/**
 * A task's goal code: its goal's place in its family's goal box, scaled to [-1, 1] on each of `axes` (0 on an
 * axis along which the family's box has no width). What a goal-bound latent (MAML's `latentSize`) is taught to mean.
 */
export function goalCode(task: Task, axes: readonly number[]): Float32Array {
  const family = getFamily(task.family);
  const goal = family.scene(task.params).goal;
  const { low, high } = family.goalBox;
  return Float32Array.from(axes, (axis) => (high[axis] > low[axis] ? (2 * (goal[axis] - low[axis])) / (high[axis] - low[axis]) - 1 : 0));
}
