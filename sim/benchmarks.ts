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
  /** MT10: the observation ends with a one-hot id of the task's family, in this order. */
  oneHotFamilies?: readonly string[];
  train: readonly Task[];
  test: readonly Task[];
}

function singleFamily(kind: 'MT1' | 'ML1', family: string, seed: number): Benchmark {
  const spec = getFamily(family);
  checkSeed(kind, seed);
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

export const MT10_FAMILIES = ['reach', 'push', 'pick-place', 'door-open', 'drawer-open', 'drawer-close', 'button-press-topdown', 'peg-insert-side', 'window-open', 'window-close'] as const;
export const ML10_TRAIN_FAMILIES = ['reach', 'push', 'pick-place', 'door-open', 'drawer-close', 'button-press-topdown', 'peg-insert-side', 'window-open', 'sweep', 'basketball'] as const;
export const ML10_TEST_FAMILIES = ['drawer-open', 'door-close', 'shelf-place', 'sweep-into', 'lever-pull'] as const;

function checkSeed(kind: string, seed: number): void {
  if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`${kind}: seed must be a non-negative integer, got ${seed}`);
}

const tasksOf = (families: readonly string[], seed: number): Task[] => families.flatMap((f) => sampleTasks(getFamily(f), seed, TASKS_PER_FAMILY));

/** Multi-task, ten families: 50 goals each (seed), goal visible, one-hot family id appended (49-D). No test split. */
export function MT10(seed = 0): Benchmark {
  checkSeed('MT10', seed);
  return Object.freeze({
    name: 'MT10', seed, families: [...MT10_FAMILIES], goalVisible: true, oneHotFamilies: Object.freeze([...MT10_FAMILIES]),
    train: Object.freeze(tasksOf(MT10_FAMILIES, seed)), test: Object.freeze([]),
  });
}

/** Meta-learning, ten train families x 50 goals (seed) and five held-out families x 50 goals (seed + 1), goal hidden. */
export function ML10(seed = 0): Benchmark {
  checkSeed('ML10', seed);
  return Object.freeze({
    name: 'ML10', seed, families: [...ML10_TRAIN_FAMILIES, ...ML10_TEST_FAMILIES], goalVisible: false,
    train: Object.freeze(tasksOf(ML10_TRAIN_FAMILIES, seed)), test: Object.freeze(tasksOf(ML10_TEST_FAMILIES, seed + 1)),
  });
}

/** Every benchmark name the builders accept, for listings and error messages. */
export const BENCHMARK_NAMES = ['MT1:<family>', 'ML1:<family>', 'MT10', 'ML10'] as const;

/** Parses "ML1:reach", "MT1:push", "MT10" or "ML10" (seed given separately). */
export function benchmarkByName(name: string, seed = 0): Benchmark {
  if (name === 'MT10') return MT10(seed);
  if (name === 'ML10') return ML10(seed);
  const match = /^(MT1|ML1):(.+)$/.exec(name);
  if (!match) throw new Error(`unknown benchmark '${name}'; expected one of: ${BENCHMARK_NAMES.join(', ')}`);
  return match[1] === 'MT1' ? MT1(match[2], seed) : ML1(match[2], seed);
}

/** An environment for one task of a benchmark, observing the goal (and the family id) as the benchmark says. */
export function makeEnv(benchmark: Benchmark, task: Task): ManipulationEnv {
  const oneHot = benchmark.oneHotFamilies ? { index: benchmark.oneHotFamilies.indexOf(task.family), size: benchmark.oneHotFamilies.length } : undefined;
  if (oneHot && oneHot.index < 0) throw new Error(`${benchmark.name} has no family '${task.family}'`);
  return new ManipulationEnv({ family: task.family, task, goalVisible: benchmark.goalVisible, oneHot });
}

/** The benchmark's task table as plain JSON. */
export function taskTable(benchmark: Benchmark) {
  const row = (split: 'train' | 'test') => (task: Task, index: number) => ({ split, index, family: task.family, params: [...task.params] });
  return {
    name: benchmark.name, seed: benchmark.seed, goalVisible: benchmark.goalVisible, oneHotFamilies: benchmark.oneHotFamilies ?? null,
    tasks: [...benchmark.train.map(row('train')), ...benchmark.test.map(row('test'))],
  };
}
