// The evaluator: MetaWorld's meta-test protocol for any meta-algorithm. Per test task: adaptation episodes
// with the exploration policy, adapt, then evaluation episodes; an episode succeeds if the success flag
// was set at any step. Reports before/after-adaptation returns and success, per task and averaged, and
// the adaptation curve: return, success and steps to success by episode index within the trial.

import { createEnvBatch } from './batch-env.ts';
import type { Protocol, TaskDistribution } from './envs.ts';
import type { MetaAlgorithm } from './meta.ts';
import { seedFor } from './random.ts';
import { runTrials } from './rollout.ts';

export interface EvaluationOptions {
  /** Tasks to run (default: all of a benchmark's, 1000 for sampled distributions). */
  tasks?: number;
  /** The held-out test tasks (default), or the validation tasks training picks its checkpoints by. */
  split?: 'test' | 'validation';
  protocol?: Protocol;
  /** Names the episode seeds and action-noise streams (not which tasks: that is the benchmark seed). */
  evaluationSeed?: number;
  /** Act with the policy's mode instead of sampling. */
  deterministic?: boolean;
  /** Tasks run side by side in one batch (memory vs. speed). */
  lanes?: number;
  /** Worker threads for robot envs (0: main thread). */
  workers?: number;
  onProgress?: (doneEpisodes: number, totalEpisodes: number) => void;
}

export interface PhaseResult { meanReturn: number; successRate: number }

export interface TaskResult {
  task: number;
  /** The adaptation episodes (the exploration policy, before adapt()). */
  before: PhaseResult;
  /** The evaluation episodes (the adapted policy); null when the protocol has none. */
  after: PhaseResult | null;
  /** Sum of rewards over all episodes of the task (the RL2 paper's score). */
  trialReturn: number;
}

/** One point of the adaptation curve: the k-th episode of every task's trial (adaptation episodes first). */
export interface EpisodeCurvePoint {
  /** 1-based index within the trial. */
  episode: number;
  phase: 'adaptation' | 'evaluation';
  meanReturn: number;
  successRate: number;
  /** Median steps to the first success over the tasks that succeeded in this episode (null: none did, or no success flag). */
  medianStepsToSuccess: number | null;
}

export interface EvaluationReport {
  benchmark: string;
  /** The benchmark seed: which tasks. */
  benchmarkSeed: number;
  /** The seed of the episodes and the action noise. */
  evaluationSeed: number;
  split: 'test' | 'validation';
  /** Where the tasks came from, in words. */
  taskSource: string;
  protocol: Protocol;
  tasks: number;
  deterministic: boolean;
  /** False for tasks without a success flag (bandits, tabular MDPs): success rates are then 0 and meaningless. */
  successTracked: boolean;
  before: PhaseResult;
  after: PhaseResult | null;
  /** Success and return by episode index within the trial (the few-shot curve). */
  byEpisode: EpisodeCurvePoint[];
  /** Mean over tasks of the trial return, and its standard error. */
  meanTrialReturn: number;
  trialReturnStdError: number;
  perTask: TaskResult[];
  envSteps: number;
  seconds: number;
}

export async function evaluate(algorithm: MetaAlgorithm, distribution: TaskDistribution, options: EvaluationOptions = {}): Promise<EvaluationReport> {
  const protocol = options.protocol ?? distribution.protocol;
  const split = options.split ?? 'test';
  const available = split === 'test' ? distribution.testTaskCount : distribution.validationTaskCount;
  const count = options.tasks ?? (Number.isFinite(available) ? available : 1000);
  const seed = options.evaluationSeed ?? 0;
  const tasks = split === 'test' ? distribution.testTasks(count) : distribution.validationTasks(count);
  const episodesPerTrial = protocol.adaptationEpisodes + protocol.evaluationEpisodes;
  // [episode][task] over the whole trial, for the adaptation curve.
  const curve = Array.from({ length: episodesPerTrial }, () => ({ returns: [] as number[], success: [] as boolean[], stepsToSuccess: [] as number[] }));
  const laneLimit = Math.max(1, options.lanes ?? 1000);
  const started = performance.now();
  const perTask: TaskResult[] = [];
  const totalEpisodes = count * (protocol.adaptationEpisodes + protocol.evaluationEpisodes);
  let doneEpisodes = 0;
  const phase = (returns: number[], success: boolean[]): PhaseResult => ({
    meanReturn: mean(returns), successRate: mean(success.map((s) => (s ? 1 : 0))),
  });
  for (let first = 0; first < count; first += laneLimit) {
    const group = tasks.slice(first, first + laneLimit);
    const envs = await createEnvBatch(distribution, group.length, { workers: options.workers });
    try {
      const policy = algorithm.explorationPolicy(group.length, { seed: seedFor(seed, 'eval-actions', first), deterministic: options.deterministic });
      const tick = (n: number) => () => { doneEpisodes += n; options.onProgress?.(doneEpisodes, totalEpisodes); };
      const adaptation = runTrials(envs, policy, group, protocol.adaptationEpisodes, seedFor(seed, 'eval-adaptation', first), tick(group.length));
      const adapted = await algorithm.adapt(policy, adaptation.episodes);
      const evaluation = protocol.evaluationEpisodes > 0
        ? runTrials(envs, adapted, group, protocol.evaluationEpisodes, seedFor(seed, 'eval-evaluation', first), tick(group.length))
        : null;
      if (adapted !== policy) adapted.dispose();
      policy.dispose();
      for (const [offset, trial] of [[0, adaptation], [protocol.adaptationEpisodes, evaluation]] as const) {
        trial?.episodeReturns.forEach((returns, i) => returns.forEach((value, e) => {
          const point = curve[offset + e];
          point.returns.push(value);
          point.success.push(trial.episodeSuccess[i][e]);
          if (trial.episodeStepsToSuccess[i][e] > 0) point.stepsToSuccess.push(trial.episodeStepsToSuccess[i][e]);
        }));
      }
      group.forEach((_, i) => perTask.push({
        task: first + i,
        before: phase(adaptation.episodeReturns[i], adaptation.episodeSuccess[i]),
        after: evaluation ? phase(evaluation.episodeReturns[i], evaluation.episodeSuccess[i]) : null,
        trialReturn: adaptation.trialReturns[i] + (evaluation?.trialReturns[i] ?? 0),
      }));
    } finally {
      await envs.close();
    }
  }
  const trialReturns = perTask.map((t) => t.trialReturn);
  const average = (pick: (t: TaskResult) => PhaseResult): PhaseResult => ({
    meanReturn: mean(perTask.map((t) => pick(t).meanReturn)),
    successRate: mean(perTask.map((t) => pick(t).successRate)),
  });
  return {
    benchmark: distribution.name,
    benchmarkSeed: distribution.seed,
    evaluationSeed: seed,
    split,
    taskSource: split === 'test' ? distribution.testTaskSource : `validation tasks of ${distribution.name} (${distribution.benchmark ? 'its training tasks' : 'a draw apart from the test tasks'})`,
    protocol,
    tasks: count,
    deterministic: options.deterministic ?? false,
    successTracked: distribution.spec.hasSuccess,
    before: average((t) => t.before),
    after: protocol.evaluationEpisodes > 0 ? average((t) => t.after!) : null,
    byEpisode: curve.map((point, e) => ({
      episode: e + 1,
      phase: e < protocol.adaptationEpisodes ? 'adaptation' : 'evaluation',
      meanReturn: mean(point.returns),
      successRate: mean(point.success.map((s) => (s ? 1 : 0))),
      medianStepsToSuccess: distribution.spec.hasSuccess && point.stepsToSuccess.length > 0 ? median(point.stepsToSuccess) : null,
    })),
    meanTrialReturn: mean(trialReturns),
    trialReturnStdError: standardError(trialReturns),
    perTask,
    envSteps: totalEpisodes * distribution.spec.episodeSteps,
    seconds: (performance.now() - started) / 1000,
  };
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function standardError(xs: number[]): number {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1) / xs.length);
}
