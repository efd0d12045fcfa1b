// Benchmarks: which tasks a run trains and tests on, and what its envs observe. A benchmark name is
// parsed once, where it enters (YAML, CLI, wire), into a `Benchmark` value that everything below
// takes. Task lists are a pure function of (families, seed): train tasks are drawn with `seed`, test
// tasks with `seed + 1`.

import { type Env, ManipulationEnv, TIMING } from './env.ts';
import { type Task, sampleTasks } from './family.ts';
import { FAMILIES, getFamily } from './families/index.ts';
import type { BoxSpace } from './spaces.ts';
import { FamilyOneHot, HideGoal } from './wrappers.ts';
import { closestName, didYouMean } from './suggest.ts';

export const TASKS_PER_FAMILY = 50;

export type Split = 'train' | 'test';

/** A benchmark as plain, frozen data (it crosses to worker threads by structured clone). */
export interface Benchmark {
  /** e.g. "ML1:reach", "MT10". */
  readonly name: string;
  readonly seed: number;
  /** Every family whose tasks the benchmark holds: train families, then held-out ones. */
  readonly families: readonly string[];
  readonly trainFamilies: readonly string[];
  /** Held-out families (ML10); for one-family benchmarks the family itself; empty without a test split. */
  readonly testFamilies: readonly string[];
  /** Goal in obs[36:39] (MT) or zeros (ML). */
  readonly goalVisible: boolean;
  /** The observation ends with a one-hot id of the task's family among these (MT10); null: no one-hot. */
  readonly oneHotFamilies: readonly string[] | null;
  readonly train: readonly Task[];
  readonly test: readonly Task[];
  /** What its envs observe (39-D, or 39 + the one-hot size) and take (4-D). */
  readonly observationSpace: BoxSpace;
  readonly actionSpace: BoxSpace;
  /** Steps before an episode is truncated (MetaWorld's 500). */
  readonly episodeSteps: number;
}

/** How a benchmark of several families is made (MetaWorld's MT10 and ML10, or one of your own). */
export interface MultiFamilyRule {
  trainFamilies: readonly string[];
  /** Held-out families: 50 tasks each drawn with seed + 1 (empty: no test split). */
  testFamilies: readonly string[];
  goalVisible: boolean;
  /** Append a one-hot id of the task's family among the train families. */
  oneHot: boolean;
}

export const MT10_FAMILIES = ['reach', 'push', 'pick-place', 'door-open', 'drawer-open', 'drawer-close', 'button-press-topdown', 'peg-insert-side', 'window-open', 'window-close'] as const;
export const ML10_TRAIN_FAMILIES = ['reach', 'push', 'pick-place', 'door-open', 'drawer-close', 'button-press-topdown', 'peg-insert-side', 'window-open', 'sweep', 'basketball'] as const;
export const ML10_TEST_FAMILIES = ['drawer-open', 'door-close', 'shelf-place', 'sweep-into', 'lever-pull'] as const;
/** All 50 families in MetaWorld's own order (its MT50 one-hot order). */
export const MT50_FAMILIES = [
  'assembly', 'basketball', 'bin-picking', 'box-close', 'button-press-topdown', 'button-press-topdown-wall', 'button-press', 'button-press-wall',
  'coffee-button', 'coffee-pull', 'coffee-push', 'dial-turn', 'disassemble', 'door-close', 'door-lock', 'door-open', 'door-unlock', 'hand-insert',
  'drawer-close', 'drawer-open', 'faucet-open', 'faucet-close', 'hammer', 'handle-press-side', 'handle-press', 'handle-pull-side', 'handle-pull',
  'lever-pull', 'peg-insert-side', 'pick-place-wall', 'pick-out-of-hole', 'reach', 'push-back', 'push', 'pick-place', 'plate-slide', 'plate-slide-side',
  'plate-slide-back', 'plate-slide-back-side', 'peg-unplug-side', 'soccer', 'stick-push', 'stick-pull', 'push-wall', 'reach-wall', 'shelf-place',
  'sweep-into', 'sweep', 'window-open', 'window-close',
] as const;
export const ML45_TEST_FAMILIES = ['bin-picking', 'box-close', 'hand-insert', 'door-lock', 'door-unlock'] as const;
export const ML45_TRAIN_FAMILIES = MT50_FAMILIES.filter((f) => !(ML45_TEST_FAMILIES as readonly string[]).includes(f));

const MULTI_FAMILY: Readonly<Record<string, MultiFamilyRule & { summary: string }>> = {
  MT10: { trainFamilies: MT10_FAMILIES, testFamilies: [], goalVisible: true, oneHot: true, summary: 'multi-task, ten families, goal visible, one-hot family id appended; no test split' },
  ML10: { trainFamilies: ML10_TRAIN_FAMILIES, testFamilies: ML10_TEST_FAMILIES, goalVisible: false, oneHot: false, summary: 'meta-learning, ten train families and five held-out ones, goal hidden' },
  MT50: { trainFamilies: MT50_FAMILIES, testFamilies: [], goalVisible: true, oneHot: true, summary: 'multi-task, all fifty families, goal visible, one-hot family id appended; no test split' },
  ML45: { trainFamilies: ML45_TRAIN_FAMILIES, testFamilies: ML45_TEST_FAMILIES, goalVisible: false, oneHot: false, summary: 'meta-learning, 45 train families and five held-out ones, goal hidden' },
};

/** One-family benchmarks: `<kind>:<family>`. */
const ONE_FAMILY = {
  MT1: { goalVisible: true, summary: 'multi-task, one family: 50 train goals, 50 held-out goals, goal visible' },
  ML1: { goalVisible: false, summary: 'meta-learning, one family: 50 train goals, 50 test goals, goal hidden' },
} as const;
type OneFamilyKind = keyof typeof ONE_FAMILY;

/** Every benchmark name the parser accepts, for listings and error messages. */
export const BENCHMARK_NAMES: readonly string[] = [...Object.keys(ONE_FAMILY).map((kind) => `${kind}:<family>`), ...Object.keys(MULTI_FAMILY)];

/** Every benchmark kind with a name that parses to one (one-family kinds: their first family), for listings. */
export function benchmarkKinds(): Array<{ name: string; summary: string; example: string }> {
  const firstFamily = [...FAMILIES.keys()][0];
  return [
    ...Object.entries(ONE_FAMILY).map(([kind, rule]) => ({ name: `${kind}:<family>`, summary: rule.summary, example: `${kind}:${firstFamily}` })),
    ...Object.entries(MULTI_FAMILY).map(([name, rule]) => ({ name, summary: rule.summary, example: name })),
  ];
}

/** A name that is no benchmark (callers that know more kinds of names add theirs to the message). */
export class UnknownBenchmarkError extends Error {
  override name = 'UnknownBenchmarkError';
  /** The closest benchmark name when the name looks like a typo of it (e.g. "ML1:reach" for "ML1:reech"), else null. */
  constructor(message: string, readonly suggestion: string | null = null) {
    super(message);
  }
}

/** Every concrete benchmark name (MT1:<family> and ML1:<family> for each family, and the named multi-family ones): what a typo is matched against. */
export function concreteBenchmarkNames(): string[] {
  return [...Object.keys(ONE_FAMILY).flatMap((kind) => [...FAMILIES.keys()].map((family) => `${kind}:${family}`)), ...Object.keys(MULTI_FAMILY)];
}

function checkSeed(name: string, seed: number): void {
  if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`${name}: seed must be a non-negative integer, got ${seed}`);
}

const tasksOf = (families: readonly string[], seed: number): Task[] => families.flatMap((f) => sampleTasks(getFamily(f), seed, TASKS_PER_FAMILY));

type BenchmarkFields = Omit<Benchmark, 'observationSpace' | 'actionSpace' | 'episodeSteps'>;

/** Freezes a benchmark, with the spaces of its envs read off an env (no world is built for that). */
function freeze(fields: BenchmarkFields): Benchmark {
  const probe = wrapForBenchmark(new ManipulationEnv({ families: fields.families, task: fields.train[0] ?? fields.test[0] }), fields);
  return Object.freeze({
    ...fields,
    families: Object.freeze([...fields.families]),
    trainFamilies: Object.freeze([...fields.trainFamilies]),
    testFamilies: Object.freeze([...fields.testFamilies]),
    oneHotFamilies: fields.oneHotFamilies && Object.freeze([...fields.oneHotFamilies]),
    train: Object.freeze([...fields.train]),
    test: Object.freeze([...fields.test]),
    observationSpace: probe.observationSpace,
    actionSpace: probe.actionSpace,
    episodeSteps: TIMING.maxEpisodeSteps,
  });
}

function oneFamily(kind: OneFamilyKind, family: string, seed: number): Benchmark {
  const spec = getFamily(family);
  checkSeed(`${kind}:${family}`, seed);
  return freeze({
    name: `${kind}:${family}`, seed, families: [family], trainFamilies: [family], testFamilies: [family],
    goalVisible: ONE_FAMILY[kind].goalVisible, oneHotFamilies: null,
    train: sampleTasks(spec, seed, TASKS_PER_FAMILY), test: sampleTasks(spec, seed + 1, TASKS_PER_FAMILY),
  });
}

/**
 * A benchmark of your own families (50 train tasks per train family from `seed`, 50 per held-out
 * family from `seed + 1`), named `name`. The named benchmarks (MT10, ML10, MT50, ML45) are made the same way.
 */
export function customBenchmark(name: string, rule: MultiFamilyRule, seed = 0): Benchmark {
  checkSeed(name, seed);
  for (const family of [...rule.trainFamilies, ...rule.testFamilies]) getFamily(family);
  if (rule.trainFamilies.length === 0) throw new RangeError(`${name}: a benchmark needs at least one train family`);
  return freeze({
    name, seed, families: [...rule.trainFamilies, ...rule.testFamilies], trainFamilies: rule.trainFamilies, testFamilies: rule.testFamilies,
    goalVisible: rule.goalVisible, oneHotFamilies: rule.oneHot ? rule.trainFamilies : null,
    train: tasksOf(rule.trainFamilies, seed), test: tasksOf(rule.testFamilies, seed + 1),
  });
}

/** Multi-task, one family: 50 train goals (seed), 50 held-out goals (seed + 1), goal visible. */
export const MT1 = (family: string, seed = 0): Benchmark => oneFamily('MT1', family, seed);

/** Meta-learning, one family: 50 train goals (seed), 50 test goals (seed + 1), goal hidden. */
export const ML1 = (family: string, seed = 0): Benchmark => oneFamily('ML1', family, seed);

/** Multi-task, ten families: 50 goals each (seed), goal visible, one-hot family id appended (49-D). No test split. */
export const MT10 = (seed = 0): Benchmark => customBenchmark('MT10', MULTI_FAMILY.MT10, seed);

/** Meta-learning, ten train families x 50 goals (seed) and five held-out families x 50 goals (seed + 1), goal hidden. */
export const ML10 = (seed = 0): Benchmark => customBenchmark('ML10', MULTI_FAMILY.ML10, seed);

/**
 * Parses a benchmark name ("ML1:reach", "MT1:push", "MT10", "ML10"; the seed given separately). The
 * one place names become benchmarks: an unknown name or family gets one error listing what exists.
 */
export function parseBenchmark(name: string, seed = 0): Benchmark {
  if (typeof name !== 'string') throw new TypeError(`a benchmark name must be a string such as "ML1:reach", got ${typeof name}`);
  if (Object.hasOwn(MULTI_FAMILY, name)) return customBenchmark(name, MULTI_FAMILY[name], seed);
  const [kind, family, ...rest] = name.split(':');
  if (Object.hasOwn(ONE_FAMILY, kind) && family !== undefined && rest.length === 0 && FAMILIES.has(family)) return oneFamily(kind as OneFamilyKind, family, seed);
  // Unknown: say what the name is probably a typo of, and what exists.
  const known = concreteBenchmarkNames(), hint = didYouMean(name, known);
  if (Object.hasOwn(ONE_FAMILY, kind) && family !== undefined && rest.length === 0) throw new Error(`unknown family '${family}' in benchmark '${name}'${hint}; families: ${[...FAMILIES.keys()].join(', ')}`);
  throw new UnknownBenchmarkError(`unknown benchmark '${name}'${hint}; expected one of: ${BENCHMARK_NAMES.join(', ')} (families: ${[...FAMILIES.keys()].join(', ')})`, closestName(name, known));
}

/** Task `index` of a split, or an error naming the benchmark, what was given and what exists. */
export function benchmarkTask(benchmark: Benchmark, split: Split, index: number): Task {
  if (split !== 'train' && split !== 'test') throw new Error(`${benchmark.name}: split must be "train" or "test", got ${JSON.stringify(split)}`);
  const tasks = benchmark[split];
  if (tasks.length === 0) throw new Error(`${benchmark.name} has no ${split} tasks (it has ${benchmark.train.length} train tasks); use split "train"`);
  if (!Number.isInteger(index) || index < 0 || index >= tasks.length) {
    throw new Error(`task ${JSON.stringify(index)} is not a task of ${benchmark.name} ${split}; expected an index in [0, ${tasks.length - 1}]`);
  }
  return tasks[index];
}

/** Applies a benchmark's observation wrappers: the goal hidden (ML), the family one-hot (MT10). */
function wrapForBenchmark(env: Env, benchmark: Pick<Benchmark, 'goalVisible' | 'oneHotFamilies'>): Env {
  let wrapped = env;
  if (!benchmark.goalVisible) wrapped = new HideGoal(wrapped);
  if (benchmark.oneHotFamilies) wrapped = new FamilyOneHot(wrapped, benchmark.oneHotFamilies);
  return wrapped;
}

/**
 * An env of the benchmark: it takes tasks of any of the benchmark's families (resetting to another
 * family rebuilds the world) and observes as the benchmark says. Starts on `task` (default: train[0]).
 */
export function makeEnv(benchmark: Benchmark, task: Task = benchmark.train[0] ?? benchmark.test[0]): Env {
  return wrapForBenchmark(new ManipulationEnv({ families: benchmark.families, task }), benchmark);
}

/** The benchmark's task table as plain JSON. */
export function taskTable(benchmark: Benchmark) {
  const row = (split: Split) => (task: Task, index: number) => ({ split, index, family: task.family, params: [...task.params] });
  return {
    name: benchmark.name, seed: benchmark.seed, goalVisible: benchmark.goalVisible, oneHotFamilies: benchmark.oneHotFamilies,
    observationSize: benchmark.observationSpace.shape[0], episodeSteps: benchmark.episodeSteps,
    tasks: [...benchmark.train.map(row('train')), ...benchmark.test.map(row('test'))],
  };
}
