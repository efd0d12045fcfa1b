// RL2 training throughput, before against after, in one process (bench/agent.ts --throughput): per
// phase (sampling, learning, evaluation) env steps/s for each case's old code path (the shipped run's
// saved settings: learning in the main thread, the original kernels, its sampling workers and PPO
// passes), the same settings on the new code path, and the scenario file's settings with 1 and with 2
// learner threads. The machine is shared: variants alternate round by round, medians are reported, and
// each measurement notes how many cores other processes kept busy meanwhile.

import { readFileSync } from 'node:fs';
import { createEnvBatch } from '../agent/batch-env.ts';
import { distributionByName } from '../agent/distributions.ts';
import { evaluate } from '../agent/evaluate.ts';
import { Rl2 } from '../agent/rl2.ts';
import { type TrainConfig, readTrainConfig } from '../agent/trainer.ts';
import { loadTrainScenario } from '../scenarios/scenario.ts';

/** A benchmark to measure: the shipped run (old path) and the scenario file (new path). */
export interface ThroughputCase { name: string; run: string; scenario: string }

export const THROUGHPUT_CASES: ThroughputCase[] = [
  { name: 'ML1 reach', run: 'training/ml1-reach', scenario: 'scenarios/ml1-reach.yaml' },
  { name: 'tabular MDPs n=10', run: 'training/tabular-mdp-n10', scenario: 'scenarios/tabular-mdp.yaml' },
];

export interface PhaseRates {
  samplingStepsPerSecond: number;
  learningStepsPerSecond: number;
  evaluationStepsPerSecond: number;
  /** Env steps of training per second of sampling + learning + its share of evaluation (evaluation.every). */
  endToEndStepsPerSecond: number;
}

export interface VariantResult {
  label: string;
  settings: { workers: number; learnerThreads: number; fastKernels: boolean; epochs: number; minibatches: number; tasksPerIteration: number; evaluationEvery: number };
  envStepsPerIteration: number;
  evaluationEnvSteps: number;
  /** Every timed iteration and evaluation, in seconds, with the cores other processes kept busy meanwhile. */
  iterations: Array<{ samplingSeconds: number; learningSeconds: number; otherCores: number | null }>;
  evaluations: Array<{ seconds: number; otherCores: number | null }>;
  /** From the medians of the timings above. */
  median: PhaseRates;
}

export interface CaseResult {
  name: string;
  run: string;
  scenario: string;
  variants: VariantResult[];
  /** New path over old path (end to end and per phase), the code alone (old settings), and learning with 2 threads over 1. */
  ratios: { endToEnd: number; sampling: number; learning: number; codeAlone: number; learningThreads2over1: number };
}

export interface ThroughputResult { rounds: number; evaluationRounds: number; cases: CaseResult[] }

/**
 * The variants of a case: the saved run as it ran; its settings on the new code path (fast kernels, 2
 * learner threads, the scenario's sampling workers), which tells the code's share of the speed-up from
 * the settings'; then the scenario's settings with 1 and 2 learner threads.
 */
function variantsOf(c: ThroughputCase): Array<{ label: string; config: TrainConfig }> {
  const old = readTrainConfig(c.run);
  const recipe = loadTrainScenario(c.scenario);
  return [
    { label: 'old code path, old settings', config: old },
    { label: 'new code path, old settings', config: { ...old, workers: recipe.workers, learnerThreads: 2, rl2: { ...old.rl2!, fastKernels: true } } },
    { label: 'new settings, 1 learner thread', config: { ...recipe, learnerThreads: 1 } },
    { label: 'new settings, 2 learner threads', config: { ...recipe, learnerThreads: 2 } },
  ];
}

const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };

/**
 * Measures every case: one untimed warm-up iteration per variant, then `rounds` rounds of one iteration
 * per variant and `evaluationRounds` evaluations per variant, the variants' order rotating each round.
 */
export async function runThroughputBench(options: { cases?: ThroughputCase[]; rounds?: number; evaluationRounds?: number; log?: (line: string) => void } = {}): Promise<ThroughputResult> {
  const rounds = options.rounds ?? 5, evaluationRounds = options.evaluationRounds ?? 2;
  const log = options.log ?? (() => {});
  const cases: CaseResult[] = [];
  for (const c of options.cases ?? THROUGHPUT_CASES) {
    const variants = await Promise.all(variantsOf(c).map(async ({ label, config }) => {
      const distribution = distributionByName(config.benchmark, { seed: config.seed });
      const rl2 = new Rl2(distribution.spec, config.rl2!, config.seed);
      await rl2.startLearnerThreads(config.learnerThreads);
      const envs = await createEnvBatch(distribution, config.rl2!.tasksPerIteration, { workers: config.workers });
      const evaluationTasks = Math.min(config.evaluation.tasks, distribution.validationTaskCount);
      const protocol = distribution.protocol;
      const result: VariantResult = {
        label,
        settings: {
          workers: config.workers, learnerThreads: config.learnerThreads, fastKernels: config.rl2!.fastKernels, epochs: config.rl2!.ppo.epochs,
          minibatches: config.rl2!.ppo.minibatches, tasksPerIteration: config.rl2!.tasksPerIteration, evaluationEvery: config.evaluation.every,
        },
        envStepsPerIteration: config.rl2!.tasksPerIteration * config.rl2!.episodesPerTrial * distribution.spec.episodeSteps,
        evaluationEnvSteps: evaluationTasks * (protocol.adaptationEpisodes + protocol.evaluationEpisodes) * distribution.spec.episodeSteps,
        iterations: [], evaluations: [], median: { samplingStepsPerSecond: 0, learningStepsPerSecond: 0, evaluationStepsPerSecond: 0, endToEndStepsPerSecond: 0 },
      };
      return { config, distribution, rl2, envs, evaluationTasks, result };
    }));
    try {
      log(`${c.name}: warm-up`);
      for (const v of variants) v.rl2.iterate(v.envs, v.distribution, 0, v.config.iterations);
      for (let round = 0; round < rounds; round++) {
        for (let k = 0; k < variants.length; k++) {
          const v = variants[(k + round) % variants.length];
          const clock = cpuClock();
          const stats = v.rl2.iterate(v.envs, v.distribution, round + 1, v.config.iterations);
          v.result.iterations.push({ samplingSeconds: stats.samplingSeconds, learningSeconds: stats.learningSeconds, otherCores: otherCores(clock) });
          log(`${c.name}, round ${round + 1}/${rounds}, ${v.result.label}: sampling ${stats.samplingSeconds.toFixed(2)} s, learning ${stats.learningSeconds.toFixed(2)} s`);
        }
      }
      for (let round = 0; round < evaluationRounds; round++) {
        for (let k = 0; k < variants.length; k++) {
          const v = variants[(k + round) % variants.length];
          const clock = cpuClock();
          const report = await evaluate(v.rl2, v.distribution, {
            split: 'validation', tasks: v.evaluationTasks, evaluationSeed: v.config.evaluation.seed, deterministic: v.config.evaluation.deterministic, workers: v.config.workers,
          });
          v.result.evaluations.push({ seconds: report.seconds, otherCores: otherCores(clock) });
          log(`${c.name}, evaluation ${round + 1}/${evaluationRounds}, ${v.result.label}: ${report.seconds.toFixed(2)} s`);
        }
      }
    } finally {
      for (const v of variants) { await v.envs.close(); v.rl2.dispose(); }
    }
    for (const { result: r } of variants) {
      const sampling = median(r.iterations.map((i) => i.samplingSeconds)), learning = median(r.iterations.map((i) => i.learningSeconds));
      const evaluation = median(r.evaluations.map((e) => e.seconds));
      const evaluationShare = r.settings.evaluationEvery > 0 ? evaluation / r.settings.evaluationEvery : 0;
      r.median = {
        samplingStepsPerSecond: r.envStepsPerIteration / sampling,
        learningStepsPerSecond: r.envStepsPerIteration / learning,
        evaluationStepsPerSecond: r.evaluationEnvSteps / evaluation,
        endToEndStepsPerSecond: r.envStepsPerIteration / (sampling + learning + evaluationShare),
      };
    }
    const [old, oldSettings, one, two] = variants.map((v) => v.result.median);
    cases.push({
      name: c.name, run: c.run, scenario: c.scenario, variants: variants.map((v) => v.result),
      ratios: {
        endToEnd: two.endToEndStepsPerSecond / old.endToEndStepsPerSecond,
        sampling: two.samplingStepsPerSecond / old.samplingStepsPerSecond,
        learning: two.learningStepsPerSecond / old.learningStepsPerSecond,
        codeAlone: oldSettings.endToEndStepsPerSecond / old.endToEndStepsPerSecond,
        learningThreads2over1: two.learningStepsPerSecond / one.learningStepsPerSecond,
      },
    });
  }
  return { rounds, evaluationRounds, cases };
}

export function formatThroughputBench(r: ThroughputResult): string {
  const lines = [`RL2 training throughput, env steps/s (medians of ${r.rounds} iterations and ${r.evaluationRounds} evaluations per variant, variants alternating)`];
  for (const c of r.cases) {
    lines.push('', `${c.name}: old = ${c.run}, new = ${c.scenario}`);
    lines.push(`  ${'variant'.padEnd(34)} ${'sampling'.padStart(9)} ${'learning'.padStart(9)} ${'evaluation'.padStart(10)} ${'end to end'.padStart(10)}   settings (tasks per iteration, sampling workers, learner threads, kernels, epochs x minibatches); other processes' cores`);
    for (const v of c.variants) {
      const m = v.median, s = v.settings;
      const busy = [...v.iterations, ...v.evaluations].map((x) => x.otherCores).filter((x): x is number => x !== null);
      lines.push(`  ${v.label.padEnd(34)} ${m.samplingStepsPerSecond.toFixed(0).padStart(9)} ${m.learningStepsPerSecond.toFixed(0).padStart(9)} ${m.evaluationStepsPerSecond.toFixed(0).padStart(10)} ${m.endToEndStepsPerSecond.toFixed(0).padStart(10)}   `
        + `${s.tasksPerIteration}, ${s.workers}, ${s.learnerThreads}, ${s.fastKernels ? 'fast' : 'original'}, ${s.epochs} x ${s.minibatches}; ${busy.length ? `${median(busy).toFixed(1)} (${Math.min(...busy).toFixed(1)}-${Math.max(...busy).toFixed(1)})` : 'n/a'}`);
    }
    const x = c.ratios;
    lines.push(`  new settings, 2 threads / old: end to end ${x.endToEnd.toFixed(2)}x, sampling ${x.sampling.toFixed(2)}x, learning ${x.learning.toFixed(2)}x; the code alone (old settings): ${x.codeAlone.toFixed(2)}x end to end; learning with 2 threads / 1: ${x.learningThreads2over1.toFixed(2)}x`);
  }
  return lines.join('\n');
}

// The machine's and this process's CPU seconds (as bench/sim.ts measures them): their difference over
// a stretch of wall clock is the cores other processes kept busy. Null off Linux.
function cpuClock(): { machine: number; own: number; wall: number } | null {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const own = process.cpuUsage();
    // /proc/stat counts in USER_HZ ticks, 100 per second on Linux.
    return { machine: (fields.reduce((a, b) => a + b, 0) - fields[3] - fields[4]) / 100, own: (own.user + own.system) / 1e6, wall: performance.now() / 1000 };
  } catch {
    return null;
  }
}

function otherCores(since: ReturnType<typeof cpuClock>): number | null {
  const now = cpuClock();
  if (!since || !now || now.wall <= since.wall) return null;
  return Math.max(0, (now.machine - since.machine - (now.own - since.own)) / (now.wall - since.wall));
}
