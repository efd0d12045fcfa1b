// Benchmark builders: which tasks a run trains and tests on. Task lists are a pure function of
// (family, seed): train tasks are drawn with `seed`, test tasks with `seed + 1`.

import { type Task, sampleTasks } from './family.ts';
import { getFamily } from './families/index.ts';
import { ManipulationEnv } from './env.ts';

export const TASKS_PER_FAMILY = 50;

export interface Benchmark {
  /** e.g. "ML1:reach" */
  name: string;
  seed: number;
  families: string[];
  /** Goal in obs[36:39] (MT) or zeros (ML). */
  goalVisible: boolean;
  train: readonly Task[];
  test: readonly Task[];
}

function singleFamily(kind: 'MT1' | 'ML1', family: string, seed: number): Benchmark {
  const spec = getFamily(family);
  if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`${kind}: seed must be a non-negative integer, got ${seed}`);
  return Object.freeze({
    name: `${kind}:${family}`,
    seed,
    families: [family],
    goalVisible: kind === 'MT1',
    train: Object.freeze(sampleTasks(spec, seed, TASKS_PER_FAMILY)),
    test: Object.freeze(sampleTasks(spec, seed + 1, TASKS_PER_FAMILY)),
  });
}

/** Multi-task, one family: 50 train goals (seed), 50 held-out goals (seed + 1), goal visible. */
export const MT1 = (family: string, seed = 0): Benchmark => singleFamily('MT1', family, seed);

/** Meta-learning, one family: 50 train goals (seed), 50 test goals (seed + 1), goal hidden. */
export const ML1 = (family: string, seed = 0): Benchmark => singleFamily('ML1', family, seed);

/** Parses "ML1:reach" or "MT1:push" (seed given separately). */
export function benchmarkByName(name: string, seed = 0): Benchmark {
  const match = /^(MT1|ML1):(.+)$/.exec(name);
  if (!match) throw new Error(`unknown benchmark '${name}'; expected MT1:<family> or ML1:<family>`);
  return match[1] === 'MT1' ? MT1(match[2], seed) : ML1(match[2], seed);
}

/** An environment for one task of a benchmark, observing the goal as the benchmark says. */
export function makeEnv(benchmark: Benchmark, task: Task): ManipulationEnv {
  return new ManipulationEnv({ family: task.family, task, goalVisible: benchmark.goalVisible });
}

/** The benchmark's task table as plain JSON. */
export function taskTable(benchmark: Benchmark) {
  const row = (split: 'train' | 'test') => (task: Task, index: number) => ({ split, index, family: task.family, params: [...task.params] });
  return { name: benchmark.name, seed: benchmark.seed, goalVisible: benchmark.goalVisible, tasks: [...benchmark.train.map(row('train')), ...benchmark.test.map(row('test'))] };
}
