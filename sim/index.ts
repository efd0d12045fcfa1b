// Public surface of the simulator.
export { ManipulationEnv, TIMING, OBS_DIM, ACTION_SCALE, HAND_TARGET_LOW, HAND_TARGET_HIGH, checkAction } from './env.ts';
export type { Env, EnvOptions, StepInfo, StepResult, ResetResult, ResetOptions } from './env.ts';
export { ObservationWrapper, HideGoal, FamilyOneHot } from './wrappers.ts';
export { FAMILIES, getFamily } from './families/index.ts';
export { MT1, ML1, MT10, ML10, MT10_FAMILIES, ML10_TRAIN_FAMILIES, ML10_TEST_FAMILIES, MT50_FAMILIES, ML45_TRAIN_FAMILIES, ML45_TEST_FAMILIES, BENCHMARK_NAMES, benchmarkKinds, concreteBenchmarkNames, customBenchmark, parseBenchmark, UnknownBenchmarkError, benchmarkTask, makeEnv, taskTable, TASKS_PER_FAMILY } from './benchmarks.ts';
export type { Benchmark, MultiFamilyRule, Split } from './benchmarks.ts';
export { sampleTasks } from './family.ts';
export type { Task, TaskFamily, Action } from './family.ts';
export { runExpert } from './rollout.ts';
export { closestName, didYouMean } from './suggest.ts';
export { VectorEnv, VectorEnvError, type VectorEnvOptions, type VectorResetOptions, type VectorStepResult, type VectorResetResult, type AutoresetMode, type EnvFailure } from './vector-env.ts';
