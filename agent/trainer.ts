// The training loop of a run: sample and learn each iteration, evaluate now and then with the meta-test
// protocol, log every iteration, checkpoint atomically, and resume a killed run bit-exactly.

import { cpus, hostname } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { type BackendChoice, describeBackend, initBackend } from './backend.ts';
import { createEnvBatch } from './batch-env.ts';
import type { Checkpoint } from './checkpoint.ts';
import { CHECKPOINT_FORMAT, CHECKPOINT_VERSION, readCheckpoint } from './checkpoint.ts';
import type { TaskDistribution } from './envs.ts';
import { distributionByName } from './distributions.ts';
import { type EvaluationReport, evaluate } from './evaluate.ts';
import { ProgressBar } from './progress.ts';
import { Rl2, type Rl2Config, withRl2Defaults } from './rl2.ts';
import { type MetricsRow, RunDir, gitCommit, resolveCheckpointPath } from './run.ts';

export interface TrainConfig {
  name: string;
  /** Task distribution: "ML1:reach", "bandit:k5n10", "tabular-mdp:n10", ... */
  benchmark: string;
  /** Seeds everything: the benchmark's task lists, initial weights, action noise, minibatches. */
  seed: number;
  algorithm: 'rl2';
  iterations: number;
  /** Worker threads stepping robot envs (0: all in the main thread). */
  workers: number;
  /**
   * Threads computing each minibatch's gradient: the main thread and learnerThreads - 1 workers, each
   * taking a part of the minibatch (learner-threads.ts). The number changes the order in which the parts'
   * gradients are added, so it is part of what makes a run reproducible; runs saved before it existed
   * learned in the main thread alone (1).
   */
  learnerThreads: number;
  /**
   * A checkpoint file or run folder (its best checkpoint) whose weights start the run (fine-tuning);
   * the optimiser starts fresh and env steps count on from the checkpoint's.
   */
  initFrom?: string;
  rl2: Rl2Config;
  evaluation: {
    /** Evaluate after every `every` iterations (and after the last); 0 = only after the last. */
    every: number;
    /** Validation tasks per evaluation (robot benchmarks: training tasks; sampled distributions: a draw apart from the test tasks). */
    tasks: number;
    /** Seed of the evaluation's episodes and action noise. */
    seed: number;
    deterministic: boolean;
  };
  checkpoints: { every: number; keepLast: number };
}

export interface TrainOptions {
  runDir: string;
  resume?: boolean;
  /** No progress output (CI). */
  quiet?: boolean;
  /** Backend to start the chain from (default: METAMANIP_BACKEND or auto). */
  backend?: string;
  /** Stop this session after this many iterations (the run stays resumable). */
  maxIterations?: number;
  /** Where progress goes (default stderr). */
  stream?: NodeJS.WriteStream;
}

export interface TrainResult {
  runDir: string;
  iterations: number;
  envSteps: number;
  backend: BackendChoice;
  lastEvaluation: EvaluationReport | null;
  best: Checkpoint['best'];
  finished: boolean;
}

/** The number a run maximises: meta-test success after adaptation for robot tasks, else the trial return. */
export function evaluationScore(report: EvaluationReport, distribution: TaskDistribution): number {
  return distribution.spec.hasSuccess && report.after ? report.after.successRate : report.meanTrialReturn;
}

export async function train(config: TrainConfig, options: TrainOptions): Promise<TrainResult> {
  const backend = await initBackend(options.backend);
  const run = new RunDir(options.runDir);
  const progress = new ProgressBar(options.stream ?? process.stderr, options.quiet ?? false);
  let checkpoint: Checkpoint | null = null;
  const distribution = distributionByName(config.benchmark, { seed: config.seed });
  const algorithm = new Rl2(distribution.spec, config.rl2, config.seed);
  // Weights to start from are checked before a run folder is made for them.
  let source: ReturnType<typeof initFromCheckpoint> | null = null;
  try {
    await algorithm.startLearnerThreads(config.learnerThreads);
    if (!options.resume && config.initFrom) source = initFromCheckpoint(algorithm, config.initFrom, distribution);
    checkpoint = await openRun(run, config, options, backend);
  } catch (error) {
    algorithm.dispose();
    throw error;
  }
  const startIteration = (checkpoint?.iteration ?? -1) + 1;
  const envs = await createEnvBatch(distribution, config.rl2.tasksPerIteration, { workers: config.workers });
  run.recordSession({ startedAt: new Date().toISOString(), fromIteration: startIteration, backend: backend.backend, samplingWorkers: envs.workers, learnerThreads: config.learnerThreads, git: gitCommit() });
  progress.log(`${config.name}: ${config.benchmark}, ${describeBackend(backend)}, ${envs.size} lanes ${envs.workers > 0 ? `in ${envs.workers} worker thread${envs.workers > 1 ? 's' : ''}` : 'in the main thread'}, learning in ${config.learnerThreads} thread${config.learnerThreads > 1 ? 's' : ''}${startIteration > 0 ? `, resuming at iteration ${startIteration}` : ''}`);

  let envSteps = checkpoint?.envSteps ?? 0;
  if (checkpoint) {
    algorithm.load(checkpoint.state);
  } else if (source) {
    envSteps = source.envSteps;
    progress.log(`starting from the weights of ${source.path} (iteration ${source.iteration}, ${source.envSteps} env steps)`);
  }
  let best = checkpoint?.best ?? null;
  let lastEvaluation: EvaluationReport | null = null;
  let lastSummary: Record<string, unknown> | null = checkpoint?.evaluation ?? null;
  const stopAt = Math.min(config.iterations, startIteration + (options.maxIterations ?? Infinity));
  let iteration = startIteration;
  try {
    for (; iteration < stopAt; iteration++) {
      const started = performance.now();
      const stats = algorithm.iterate(envs, distribution, iteration, config.iterations);
      envSteps += stats.envSteps;
      const last = iteration === config.iterations - 1;
      const due = last || (config.evaluation.every > 0 && (iteration + 1) % config.evaluation.every === 0);
      let evaluationSeconds = 0, isBest = false;
      if (due) {
        const evaluationStarted = performance.now();
        // On validation tasks, never the test tasks: the best checkpoint is picked by this score.
        lastEvaluation = await evaluate(algorithm, distribution, {
          split: 'validation', tasks: Math.min(config.evaluation.tasks, distribution.validationTaskCount), evaluationSeed: config.evaluation.seed,
          deterministic: config.evaluation.deterministic, workers: config.workers,
        });
        evaluationSeconds = (performance.now() - evaluationStarted) / 1000;
        const score = evaluationScore(lastEvaluation, distribution);
        isBest = best === null || score > best.score;
        if (isBest) best = { score, iteration };
        lastSummary = { iteration, split: lastEvaluation.split, tasks: lastEvaluation.tasks, before: lastEvaluation.before, after: lastEvaluation.after, meanTrialReturn: lastEvaluation.meanTrialReturn, byEpisode: lastEvaluation.byEpisode };
        const phase = lastEvaluation.after ?? lastEvaluation.before;
        progress.log(`validation @${iteration + 1}: ${distribution.spec.hasSuccess ? `success before ${pct(lastEvaluation.before.successRate)} after ${pct(phase.successRate)}, ` : ''}trial return ${lastEvaluation.meanTrialReturn.toFixed(2)} ± ${lastEvaluation.trialReturnStdError.toFixed(2)} (${lastEvaluation.tasks} tasks, ${evaluationSeconds.toFixed(1)} s)${isBest ? ' best' : ''}`);
      }
      const row: MetricsRow = {
        iteration, envSteps,
        meanTrialReturn: stats.meanTrialReturn,
        firstEpisodeReturn: stats.firstEpisodeReturn, lastEpisodeReturn: stats.lastEpisodeReturn,
        firstEpisodeSuccess: distribution.spec.hasSuccess ? stats.firstEpisodeSuccess : null,
        lastEpisodeSuccess: distribution.spec.hasSuccess ? stats.lastEpisodeSuccess : null,
        evalBeforeReturn: due ? lastEvaluation!.before.meanReturn : null,
        evalBeforeSuccess: due && distribution.spec.hasSuccess ? lastEvaluation!.before.successRate : null,
        evalAfterReturn: due && lastEvaluation!.after ? lastEvaluation!.after.meanReturn : null,
        evalAfterSuccess: due && lastEvaluation!.after && distribution.spec.hasSuccess ? lastEvaluation!.after.successRate : null,
        evalTrialReturn: due ? lastEvaluation!.meanTrialReturn : null,
        policyLoss: stats.policyLoss, valueLoss: stats.valueLoss, entropy: stats.entropy, approxKl: stats.approxKl,
        clipFraction: stats.clipFraction, gradNorm: stats.gradNorm, learningRate: stats.learningRate, ppoEpochs: stats.epochs,
        // Training throughput counts sampling and learning; evaluation is timed on its own.
        stepsPerSecond: stats.envSteps / (stats.samplingSeconds + stats.learningSeconds),
        samplingSeconds: stats.samplingSeconds, learningSeconds: stats.learningSeconds, evaluationSeconds,
        wallSeconds: (performance.now() - started) / 1000,
      };
      run.append(row);
      if (last || isBest || (iteration + 1) % config.checkpoints.every === 0 || iteration + 1 === stopAt) {
        run.saveCheckpoint({
          format: CHECKPOINT_FORMAT, version: CHECKPOINT_VERSION, algorithm: 'rl2',
          benchmark: distribution.name, seed: config.seed, spec: distribution.spec, config: config.rl2,
          iteration, envSteps, best, evaluation: lastSummary, state: algorithm.state(),
        }, { keepLast: config.checkpoints.keepLast, isBest });
      }
      progress.update({
        iteration, iterations: config.iterations, envSteps, stepsPerSecond: row.stepsPerSecond as number,
        success: distribution.spec.hasSuccess ? (lastEvaluation?.after?.successRate ?? stats.lastEpisodeSuccess) : null,
        trialReturn: stats.meanTrialReturn, secondsPerIteration: row.wallSeconds as number,
      });
    }
  } finally {
    progress.end();
    await envs.close();
    algorithm.dispose();
  }
  return { runDir: options.runDir, iterations: iteration, envSteps, backend, lastEvaluation, best, finished: iteration >= config.iterations };
}

const pct = (x: number) => `${(100 * x).toFixed(0)}%`;

/** Checks a resumed run against the scenario and returns its newest checkpoint, or makes a new run folder (null). */
async function openRun(run: RunDir, config: TrainConfig, options: TrainOptions, backend: BackendChoice): Promise<Checkpoint | null> {
  if (!options.resume) {
    run.create(config, {
      name: config.name, benchmark: config.benchmark, seed: config.seed, algorithm: config.algorithm,
      createdAt: new Date().toISOString(),
      versions: { node: process.version, tfjs: tf.version.tfjs, metamanip: await packageVersion() },
      backend, git: gitCommit(), host: { name: hostname(), cpus: cpus().length }, command: process.argv.slice(1),
    });
    return null;
  }
  if (!run.exists()) throw new Error(`cannot resume: ${options.runDir} holds no run (no config.json)`);
  const saved = readTrainConfig(run.path);
  const changed = differingFields(saved, config).filter((f) => f !== 'iterations');
  if (changed.length) throw new Error(`cannot resume ${options.runDir}: the scenario changed since the run started (${changed.join(', ')}); start a new run with another --run-dir`);
  const checkpoint = run.readLatest();
  run.truncateAfter(checkpoint?.iteration ?? -1);
  return checkpoint;
}

/**
 * A run folder's settings (its config.json); settings added since it started take the values that
 * reproduce what it did (learnerThreads 1, RL2's in withRl2Defaults).
 */
export function readTrainConfig(runDir: string): TrainConfig {
  const stored = new RunDir(runDir).readConfig<Omit<TrainConfig, 'learnerThreads'> & { learnerThreads?: number }>();
  return { ...stored, learnerThreads: stored.learnerThreads ?? 1, rl2: withRl2Defaults(stored.rl2) };
}

/**
 * Loads the weights (not the optimiser state) of a checkpoint file or run folder into a new run's
 * network. The checkpoint must come from the same benchmark and a network of the same shape.
 */
export function initFromCheckpoint(algorithm: Rl2, path: string, distribution: TaskDistribution): { path: string; iteration: number; envSteps: number } {
  let file: string, source: Checkpoint;
  try {
    file = resolveCheckpointPath(path);
    source = readCheckpoint(file);
  } catch (error) {
    throw new Error(`initFrom: ${(error as Error).message}`);
  }
  if (source.benchmark !== distribution.name) throw new Error(`initFrom: ${file} was trained on ${source.benchmark}, this run trains on ${distribution.name}`);
  try {
    algorithm.load({ params: source.state.params });
  } catch (error) {
    throw new Error(`initFrom: ${file} does not fit this run's network (same rl2 network settings needed): ${(error as Error).message}`);
  }
  return { path: file, iteration: source.iteration, envSteps: source.envSteps };
}

/** Top-level fields whose JSON differs (a changed scenario must not silently continue an old run). */
function differingFields(a: object, b: object): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].filter((k) => JSON.stringify((a as Record<string, unknown>)[k]) !== JSON.stringify((b as Record<string, unknown>)[k]));
}

async function packageVersion(): Promise<string> {
  const { readFileSync } = await import('node:fs');
  try {
    return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}
