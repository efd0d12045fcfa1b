// Task distributions by name: the simulator's benchmarks (parsed by sim's parseBenchmark, the one
// parser of benchmark names) and the RL2 paper's bandits and tabular MDPs.

import { BENCHMARK_NAMES, UnknownBenchmarkError, parseBenchmark } from '../sim/index.ts';
import type { TaskDistribution } from './envs.ts';
import { robotDistribution } from './robot-tasks.ts';
import { banditDistribution, tabularMdpDistribution } from './tabular.ts';

export interface DistributionOptions { seed?: number }

/** The names distributionByName takes, for error messages and listings. */
export const DISTRIBUTION_NAMES: readonly string[] = [...BENCHMARK_NAMES, 'bandit:k<arms>n<pulls>', 'tabular-mdp:n<episodes>'];

/**
 * A task distribution by name: a simulator benchmark ("ML1:<family>", "MT1:<family>", "MT10", "ML10"),
 * "bandit:k<arms>n<pulls>" or "tabular-mdp:n<episodes>" (10 states, 5 actions, 10-step episodes;
 * "tabular-mdp:s<S>a<A>n<N>" for others).
 */
export function distributionByName(name: string, options: DistributionOptions = {}): TaskDistribution {
  const seed = options.seed ?? 0;
  const bandit = /^bandit:k(\d+)n(\d+)$/.exec(name);
  if (bandit) return banditDistribution({ arms: Number(bandit[1]), pulls: Number(bandit[2]), seed });
  const mdp = /^tabular-mdp:(?:s(\d+)a(\d+))?n(\d+)$/.exec(name);
  if (mdp) return tabularMdpDistribution({ states: Number(mdp[1] ?? 10), actions: Number(mdp[2] ?? 5), episodes: Number(mdp[3]), seed });
  try {
    return robotDistribution(parseBenchmark(name, seed));
  } catch (error) {
    if (error instanceof UnknownBenchmarkError) {
      const hint = error.suggestion === null ? '' : ` (did you mean '${error.suggestion}'?)`;
      throw new UnknownBenchmarkError(`unknown benchmark '${name}'${hint}; expected one of: ${DISTRIBUTION_NAMES.join(', ')}`, error.suggestion);
    }
    throw error;
  }
}
