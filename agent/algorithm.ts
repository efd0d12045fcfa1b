// What a meta-RL algorithm gives the trainer, the evaluator and the command line: a definition (its
// name, the action spaces it acts in, its settings and their schema, how to build it) and the learner
// it builds (MetaAlgorithm plus one training iteration, state for checkpoints, dispose). The registry
// of definitions is agent/algorithms.ts: adding an algorithm is one module exporting a definition and
// one line there.

import type { z } from 'zod';
import type { EnvBatch } from './batch-env.ts';
import type { ActionSpace, EnvSpec, TaskDistribution } from './envs.ts';
import type { MetaAlgorithm } from './meta.ts';
import type { TensorJSON } from './nn.ts';

/** What one training iteration reports; the trainer adds evaluation, timing and env-step counts to it. */
export interface IterationStats {
  /** Env steps this iteration took (all of them: exploration, adaptation, tuning). */
  envSteps: number;
  meanTrialReturn: number;
  /** Mean return and success rate of the first and the last episode of the iteration's trials (MAML: before and after its inner step). */
  firstEpisodeReturn: number;
  lastEpisodeReturn: number;
  firstEpisodeSuccess: number;
  lastEpisodeSuccess: number;
  samplingSeconds: number;
  learningSeconds: number;
  /**
   * The learner's own numbers for the metrics row (losses, KL, step sizes), in the order they should
   * appear there, between the evaluation columns and the timings.
   */
  metrics: Record<string, number | null>;
}

/**
 * What a checkpoint keeps of a learner: named float32 tensors, the optimiser's state when it has one,
 * and large binary state (replay buffers, datasets) as named blobs, which the checkpoint keeps in a
 * .bin file beside its JSON (agent/checkpoint.ts).
 */
export interface AlgorithmState {
  params: Record<string, TensorJSON>;
  optimizer?: { t: number; m: Record<string, TensorJSON>; v: Record<string, TensorJSON> };
  blobs?: Record<string, Uint8Array>;
}

/** A meta-learner being trained: the evaluator's MetaAlgorithm plus what the training loop needs. */
export interface TrainableAlgorithm extends MetaAlgorithm {
  /** Lanes (tasks side by side) the training env batch needs. */
  readonly trainingLanes: number;
  /** One training iteration on `distribution`'s training tasks of `iteration`. */
  iterate(envs: EnvBatch, distribution: TaskDistribution, iteration: number, totalIterations: number): IterationStats | Promise<IterationStats>;
  /** Everything needed to continue training bit-exactly. */
  state(): AlgorithmState;
  /** Loads a state; without `optimizer` only the weights (initFrom, acting), with the blobs it was given. Throws when they do not fit. */
  load(state: AlgorithmState): void;
  dispose(): void;
}

/** A problem with a setting: its path inside the algorithm's settings block, and what is wrong. */
export interface SettingProblem { path: Array<string | number>; message: string }

/** The problem with `demonstrationIterations` on a distribution without scripted experts (box actions only), or null. */
export function demonstrationsProblem(distribution: TaskDistribution): SettingProblem | null {
  if (distribution.demonstrator && distribution.spec.action.kind === 'box') return null;
  if (distribution.spec.action.kind === 'discrete') return { path: ['demonstrationIterations'], message: `${distribution.name} has no scripted experts; rl2 can learn from a trained tabular learner there instead (demonstrator: teacher, teacher: <a qtable-* checkpoint>)` };
  return { path: ['demonstrationIterations'], message: `needs a benchmark with scripted experts (the simulator benchmarks: ML1:<family>, MT10, ML10, ...); ${distribution.name} has none` };
}

/** Everything the rest of the code needs to know about one algorithm. */
export interface AlgorithmDefinition<Settings = unknown> {
  /** The scenario's `algorithm` value and the checkpoint's `algorithm` field. */
  readonly name: string;
  /** One line: what it is (listings, errors). */
  readonly summary: string;
  /** The scenario and config key holding its settings (several algorithms may share one). */
  readonly settingsKey: string;
  /** The action spaces it can act in. */
  readonly actionKinds: ReadonlyArray<ActionSpace['kind']>;
  /** Further limits on the benchmark: why it cannot train on `distribution`, or null. */
  unsupported?(distribution: TaskDistribution): string | null;
  /** The full settings (as stored in config.json and checkpoints). */
  readonly settingsSchema: z.ZodType<Settings>;
  /** What a scenario may set (any subset). */
  readonly overridesSchema: z.ZodType;
  /** A scenario's settings block (already schema-checked; undefined when absent) resolved for this benchmark. */
  resolve(overrides: unknown, distribution: TaskDistribution): { settings: Settings } | { problems: SettingProblem[] };
  /** Saved settings with those added since they were saved filled in as the run had them. */
  withDefaults(saved: unknown): Settings;
  /** Blobs it acts with (evaluation, serving): exported policies keep these and drop the rest. None when absent. */
  readonly actingBlobs?: readonly string[];
  /** Learner threads it can use (absent: it learns in the main thread alone); the default when a scenario sets none. */
  readonly learnerThreads?: { default: number };
  /** A learner for a new run (weights from `seed`). */
  create(spec: EnvSpec, settings: Settings, seed: number, options: { learnerThreads: number }): Promise<TrainableAlgorithm>;
}
