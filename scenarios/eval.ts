// `metamanip eval <checkpoint|run-dir>`: loads a trained policy and runs the meta-test protocol on a
// benchmark's test tasks, printing before/after-adaptation returns and success (or the report as JSON).

import { initBackend } from '../agent/backend.ts';
import { MAX_EXACT_PULLS, bayesOptimalBanditReturn, exactBanditReturn } from '../agent/bandit-exact.ts';
import { readCheckpoint } from '../agent/checkpoint.ts';
import type { EnvSpec } from '../agent/envs.ts';
import { distributionByName } from '../agent/distributions.ts';
import { type EvaluationReport, evaluate } from '../agent/evaluate.ts';
import { learnerFromCheckpoint } from '../agent/algorithms.ts';
import { resolveCheckpointPath } from '../agent/run.ts';

export interface EvalCommandOptions {
  benchmark?: string;
  tasks?: number;
  /** Benchmark seed (which test tasks); default: the seed the checkpoint was trained with. */
  seed?: number;
  /** Seed of the episodes and the action noise (default 0). */
  evaluationSeed?: number;
  deterministic?: boolean;
  backend?: string;
  workers?: number;
  onProgress?: (done: number, total: number) => void;
}

/** Bandits of up to MAX_EXACT_PULLS pulls: the policy's exact expected trial return acting with its mode, and the Bayes-optimal one. */
export interface ExactBanditScore { modeReturn: number; bayesOptimal: number }

export interface EvalResult { checkpoint: string; algorithm: string; iteration: number; backend: string; report: EvaluationReport; exact?: ExactBanditScore }

export async function evalCommand(path: string, options: EvalCommandOptions): Promise<EvalResult> {
  const backend = await initBackend(options.backend);
  const file = resolveCheckpointPath(path);
  const checkpoint = readCheckpoint(file);
  const distribution = distributionByName(options.benchmark ?? checkpoint.benchmark, { seed: options.seed ?? checkpoint.seed });
  const mismatch = specMismatch(checkpoint.spec, distribution.spec);
  if (mismatch) throw new Error(`${file} was trained on ${checkpoint.benchmark} and cannot act in ${distribution.name}: ${mismatch}`);
  const algorithm = await learnerFromCheckpoint(checkpoint);
  try {
    const tasks = options.tasks ?? (Number.isFinite(distribution.testTaskCount) ? distribution.testTaskCount : 1000);
    if (tasks > distribution.testTaskCount) throw new RangeError(`${distribution.name} has ${distribution.testTaskCount} test tasks, asked for ${tasks}`);
    const report = await evaluate(algorithm, distribution, { tasks, evaluationSeed: options.evaluationSeed, deterministic: options.deterministic, workers: options.workers, onProgress: options.onProgress });
    const pulls = distribution.protocol.adaptationEpisodes, action = distribution.spec.action;
    const exact = distribution.name.startsWith('bandit:') && action.kind === 'discrete' && pulls <= MAX_EXACT_PULLS
      ? { modeReturn: exactBanditReturn(algorithm, action.n, pulls), bayesOptimal: bayesOptimalBanditReturn(action.n, pulls) }
      : undefined;
    return { checkpoint: file, algorithm: checkpoint.algorithm, iteration: checkpoint.iteration, backend: backend.backend, report, ...(exact ? { exact } : {}) };
  } finally {
    algorithm.dispose();
  }
}

function specMismatch(trained: EnvSpec, target: EnvSpec): string | null {
  if (trained.obsSize !== target.obsSize) return `observations have ${target.obsSize} entries, the policy reads ${trained.obsSize}`;
  const a = trained.action, b = target.action;
  if (a.kind !== b.kind) return `the policy outputs ${a.kind} actions, the tasks take ${b.kind} actions`;
  if (a.kind === 'discrete' && b.kind === 'discrete' && a.n !== b.n) return `the policy chooses among ${a.n} actions, the tasks have ${b.n}`;
  if (a.kind === 'box' && b.kind === 'box' && a.size !== b.size) return `the policy outputs ${a.size} action entries, the tasks take ${b.size}`;
  return null;
}

export function formatEvalResult(result: EvalResult): string {
  const r = result.report;
  const p = r.protocol;
  const lines = [
    `${r.benchmark}: ${r.tasks} test tasks, ${p.adaptationEpisodes} adaptation + ${p.evaluationEpisodes} evaluation episodes per task${r.deterministic ? ', deterministic actions' : ''}`,
    `tasks: ${r.taskSource}; episodes and action noise from evaluation seed ${r.evaluationSeed}`,
    `checkpoint ${result.checkpoint} (${result.algorithm}, iteration ${result.iteration}), backend ${result.backend}`,
    '',
    'phase                 mean return   success',
  ];
  const success = (rate: number) => (r.successTracked ? `${(100 * rate).toFixed(1).padStart(5)} %` : '    -');
  lines.push(`before adaptation  ${r.before.meanReturn.toFixed(2).padStart(14)}   ${success(r.before.successRate)}`);
  if (r.after) lines.push(`after adaptation   ${r.after.meanReturn.toFixed(2).padStart(14)}   ${success(r.after.successRate)}`);
  // The few-shot curve; bandits (one-step episodes, many of them) are summarised by the lines above.
  if (r.protocol.adaptationEpisodes + r.protocol.evaluationEpisodes <= 20) {
    lines.push('', 'episode  phase         mean return   success   median steps to success');
    for (const point of r.byEpisode) {
      const steps = point.medianStepsToSuccess === null ? '-' : point.medianStepsToSuccess.toFixed(0);
      lines.push(`${String(point.episode).padStart(7)}  ${point.phase.padEnd(12)} ${point.meanReturn.toFixed(2).padStart(12)}   ${success(point.successRate)}   ${steps.padStart(23)}`);
    }
  }
  lines.push('', `mean trial return ${r.meanTrialReturn.toFixed(3)} ± ${r.trialReturnStdError.toFixed(3)} (standard error over tasks)`);
  lines.push(`${r.envSteps} env steps in ${r.seconds.toFixed(1)} s (${(r.envSteps / r.seconds).toFixed(0)} steps/s)`);
  if (result.exact) lines.push(`exact expected trial return acting with the mode ${result.exact.modeReturn.toFixed(4)} (Bayes-optimal ${result.exact.bayesOptimal.toFixed(4)}; arms ~ U[0, 1])`);
  return lines.join('\n');
}
