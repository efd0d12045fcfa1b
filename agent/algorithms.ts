// The meta-RL algorithms by name: one line per algorithm (its module exports an AlgorithmDefinition,
// agent/algorithm.ts). Scenario files, config.json and checkpoints name an algorithm here; the scenario
// schema, the trainer, `metamanip eval` and checkpoint validation all read this list.

import type { AlgorithmDefinition, AlgorithmState, TrainableAlgorithm } from './algorithm.ts';
import type { EnvSpec, TaskDistribution } from './envs.ts';
import type { TensorJSON } from './nn.ts';
import { dqnAdam, dqnLearnedOptimizer } from './learned-optimizer.ts';
import { grbalDefinition } from './grbal.ts';
import { mamlDefinition } from './maml.ts';
import { mqlDefinition } from './mql.ts';
import { qtableMaml, qtableReptile, qtableZeros } from './qtable.ts';
import { rl2Definition } from './rl2-algorithm.ts';

export const ALGORITHMS: ReadonlyArray<AlgorithmDefinition> = [
  rl2Definition,
  mamlDefinition,
  qtableMaml,
  qtableReptile,
  qtableZeros,
  mqlDefinition,
  grbalDefinition,
  dqnLearnedOptimizer,
  dqnAdam,
] as unknown as ReadonlyArray<AlgorithmDefinition>;

export const ALGORITHM_NAMES = ALGORITHMS.map((a) => a.name) as [string, ...string[]];

/** The settings keys (`rl2`, `qtable`, ...), each once. */
export const SETTINGS_KEYS: readonly string[] = [...new Set(ALGORITHMS.map((a) => a.settingsKey))];

/** The algorithm of `name`; an unknown name is an error listing the known ones. */
export function algorithmByName(name: string): AlgorithmDefinition {
  const found = ALGORITHMS.find((a) => a.name === name);
  if (!found) throw new Error(`unknown algorithm '${name}'; expected one of: ${ALGORITHM_NAMES.join(', ')}`);
  return found;
}

/** Why `algorithm` cannot train on or act in `distribution` (naming what would), or null when it can. */
export function unsupportedReason(algorithm: AlgorithmDefinition, distribution: TaskDistribution): string | null {
  const kind = distribution.spec.action.kind;
  const own = !algorithm.actionKinds.includes(kind)
    ? `${algorithm.name} acts in ${algorithm.actionKinds.join(' or ')} action spaces, and ${distribution.name} has ${kind} actions`
    : algorithm.unsupported?.(distribution) ?? null;
  if (own === null) return null;
  const others = ALGORITHMS.filter((a) => a.actionKinds.includes(kind) && !a.unsupported?.(distribution)).map((a) => a.name);
  return `${own}; algorithms for ${distribution.name}: ${others.join(', ') || 'none'}; ${algorithm.name} trains on ${benchmarksFor(algorithm)}`;
}

/** Example benchmarks for each kind of action space, for error messages. */
const BENCHMARKS_OF = { box: 'simulator benchmarks (ML1:<family>, MT1:<family>, ML10, ...)', discrete: 'bandit:k<arms>n<pulls>, tabular-mdp:n<episodes>' } as const;

/** What an algorithm trains on, in words: its action spaces' benchmarks. */
export function benchmarksFor(algorithm: AlgorithmDefinition): string {
  return algorithm.actionKinds.map((kind) => BENCHMARKS_OF[kind]).join(' or ');
}

/** What acting needs of a learner's state: its weights and the blobs `algorithm` acts with (no optimiser state). */
export function actingState(algorithm: AlgorithmDefinition, state: { params: Record<string, TensorJSON>; blobs?: Record<string, Uint8Array> }): AlgorithmState {
  const keep = algorithm.actingBlobs ?? [];
  const blobs = Object.fromEntries(Object.entries(state.blobs ?? {}).filter(([name]) => keep.includes(name)));
  return { params: state.params, ...(Object.keys(blobs).length ? { blobs } : {}) };
}

/**
 * A checkpoint's learner, to act with (evaluation, serving): built from its algorithm, settings and seed
 * in the main thread, with its weights (the optimiser state stays behind). Disposed again when the weights
 * do not fit.
 */
export async function learnerFromCheckpoint(checkpoint: { algorithm: string; spec: EnvSpec; config: unknown; seed: number; state: { params: Record<string, TensorJSON>; blobs?: Record<string, Uint8Array> } }): Promise<TrainableAlgorithm> {
  const algorithm = algorithmByName(checkpoint.algorithm);
  const learner = await algorithm.create(checkpoint.spec, checkpoint.config, checkpoint.seed, { learnerThreads: 1 });
  try {
    learner.load(actingState(algorithm, checkpoint.state));
  } catch (error) {
    learner.dispose();
    throw error;
  }
  return learner;
}
