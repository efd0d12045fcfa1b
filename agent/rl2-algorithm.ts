// RL2 (agent/rl2.ts) as a registry entry: its settings block (`rl2:`, RL2 and PPO settings), how a
// scenario's settings resolve for a benchmark, and the learner the trainer drives. The learner is a thin
// wrapper that forwards every call to Rl2, so RL2 runs and checkpoints are what they were before the
// trainer took other algorithms.

import { type AlgorithmDefinition, type AlgorithmState, type IterationStats, type SettingProblem, type TrainableAlgorithm, demonstrationsProblem } from './algorithm.ts';
import type { EnvBatch } from './batch-env.ts';
import type { TaskDistribution } from './envs.ts';
import type { LanePolicy } from './meta.ts';
import { PPO_DEFAULTS } from './ppo.ts';
import { RL2_DEFAULTS, Rl2, type Rl2Config, type Rl2IterationStats, withRl2Defaults } from './rl2.ts';
import { missingSearcher } from './robot-tasks.ts';
import { rl2ConfigSchema, rl2OverridesSchema } from './schema.ts';

/** The trainer's view of an Rl2 learner. */
export class Rl2Learner implements TrainableAlgorithm {
  readonly name = 'rl2';
  readonly adaptUsesEpisodes = false;
  constructor(readonly rl2: Rl2) {}

  get trainingLanes(): number { return this.rl2.config.tasksPerIteration; }
  explorationPolicy(lanes: number, options: { seed: number; deterministic?: boolean }): LanePolicy { return this.rl2.explorationPolicy(lanes, options); }
  adapt(policy: LanePolicy): LanePolicy { return this.rl2.adapt(policy); }

  iterate(envs: EnvBatch, distribution: TaskDistribution, iteration: number, totalIterations: number): IterationStats {
    return Rl2Learner.iterationStats(this.rl2.iterate(envs, distribution, iteration, totalIterations));
  }

  /** RL2's iteration numbers as the trainer logs them: PPO's in `metrics`, in the order of the metrics row. */
  static iterationStats(s: Rl2IterationStats): IterationStats {
    return {
      envSteps: s.envSteps, meanTrialReturn: s.meanTrialReturn,
      firstEpisodeReturn: s.firstEpisodeReturn, lastEpisodeReturn: s.lastEpisodeReturn,
      firstEpisodeSuccess: s.firstEpisodeSuccess, lastEpisodeSuccess: s.lastEpisodeSuccess,
      samplingSeconds: s.samplingSeconds, learningSeconds: s.learningSeconds,
      metrics: {
        policyLoss: s.policyLoss, valueLoss: s.valueLoss, entropy: s.entropy, approxKl: s.approxKl,
        clipFraction: s.clipFraction, gradNorm: s.gradNorm, skippedMinibatches: s.skippedMinibatches, learningRate: s.learningRate, ppoEpochs: s.epochs,
      },
    };
  }

  state(): AlgorithmState { return this.rl2.state(); }
  load(state: AlgorithmState): void { this.rl2.load(state); }
  dispose(): void { this.rl2.dispose(); }
}

export const rl2Definition: AlgorithmDefinition<Rl2Config> = {
  name: 'rl2',
  summary: 'RL2: a GRU policy that adapts in its hidden state, trained with PPO',
  settingsKey: 'rl2',
  actionKinds: ['discrete', 'box'],
  settingsSchema: rl2ConfigSchema as never,
  overridesSchema: rl2OverridesSchema,
  resolve(overrides, distribution): { settings: Rl2Config } | { problems: SettingProblem[] } {
    const given = (overrides ?? {}) as Partial<Omit<Rl2Config, 'ppo'>> & { ppo?: Partial<Rl2Config['ppo']> };
    const rl2: Rl2Config = { ...RL2_DEFAULTS, ...given, ppo: { ...PPO_DEFAULTS, ...(given.ppo ?? {}) } };
    // RL2 trials default to the benchmark's own trial length (n pulls / n episodes, or MetaWorld's 10).
    if (given.episodesPerTrial === undefined) rl2.episodesPerTrial = distribution.protocol.adaptationEpisodes;
    const trialSteps = rl2.episodesPerTrial * distribution.spec.episodeSteps;
    if (given.bpttSteps === undefined) rl2.bpttSteps = Math.min(trialSteps, RL2_DEFAULTS.bpttSteps);
    if ((rl2.demonstrator === 'teacher') !== (rl2.teacher !== null)) {
      return { problems: [{ path: [rl2.teacher === null ? 'teacher' : 'demonstrator'], message: rl2.teacher === null ? 'demonstrator: teacher needs the teacher\'s checkpoint (a qtable-* checkpoint file or run folder)' : `${rl2.demonstrator}: a teacher checkpoint is given; set demonstrator: teacher, or drop teacher` }] };
    }
    if (rl2.demonstrator === 'teacher') {
      if (distribution.spec.action.kind !== 'discrete' || distribution.benchmark) return { problems: [{ path: ['demonstrator'], message: `teacher: a Q-learning teacher needs tabular tasks (bandit:..., tabular-mdp:...); ${distribution.name} is not` }] };
      if (rl2.demonstrationMeanAction) return { problems: [{ path: ['demonstrationMeanAction'], message: 'the policy\'s mean action is for box actions; a teacher\'s DAgger lanes take the policy\'s draws' }] };
    } else {
      const noDemonstrations = rl2.demonstrationIterations > 0 ? demonstrationsProblem(distribution) : null;
      if (noDemonstrations) return { problems: [noDemonstrations] };
    }
    const noSearcher = rl2.demonstrator === 'searcher' ? missingSearcher(distribution) : null;
    if (noSearcher) return { problems: [{ path: ['demonstrator'], message: noSearcher }] };
    if (trialSteps % rl2.bpttSteps !== 0) return { problems: [{ path: ['bpttSteps'], message: `${rl2.bpttSteps} must divide the trial length (${rl2.episodesPerTrial} episodes x ${distribution.spec.episodeSteps} steps = ${trialSteps})` }] };
    return { settings: rl2 };
  },
  withDefaults: (saved) => withRl2Defaults((saved ?? {}) as Parameters<typeof withRl2Defaults>[0]),
  learnerThreads: { default: 2 },
  async create(spec, settings, seed, options) {
    const rl2 = new Rl2(spec, settings, seed);
    try {
      await rl2.startLearnerThreads(options.learnerThreads);
    } catch (error) {
      rl2.dispose();
      throw error;
    }
    return new Rl2Learner(rl2);
  },
};
