// The training loop of a run: sample and learn each iteration, evaluate now and then with the meta-test
// protocol, log every iteration, checkpoint atomically, and resume a killed run bit-exactly. It drives
// any algorithm of the registry (agent/algorithms.ts) through the TrainableAlgorithm interface.

import { cpus, hostname } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import type { AlgorithmDefinition, IterationStats, TrainableAlgorithm } from './algorithm.ts';
import { algorithmByName, unsupportedReason } from './algorithms.ts';
import { type BackendChoice, describeBackend, initBackend } from './backend.ts';
import { createEnvBatch } from './batch-env.ts';
import type { Checkpoint } from './checkpoint.ts';
import { CHECKPOINT_FORMAT, CHECKPOINT_VERSION, readCheckpoint } from './checkpoint.ts';
import type { TaskDistribution } from './envs.ts';
import { distributionByName } from './distributions.ts';
import { type EvaluationReport, evaluate } from './evaluate.ts';
import { ProgressBar } from './progress.ts';
import type { Rl2Config } from './rl2.ts';
import { Rl2Learner } from './rl2-algorithm.ts';
import { type Rl2Sampler, type Rl2SamplerContext, iterateWith } from './rollouts.ts';
import { type MetricsRow, RunDir, gitCommit, resolveCheckpointPath } from './run.ts';
import { withTeacher } from './teacher.ts';

export interface TrainConfig {
  name: string;
  /** Task distribution: "ML1:reach", "bandit:k5n10", "tabular-mdp:n10", ... */
  benchmark: string;
  /** Seeds everything: the benchmark's task lists, initial weights, action noise, minibatches. */
  seed: number;
  /** The algorithm (agent/algorithms.ts); its settings are under its settings key (rl2, qtable, ...). */
  algorithm: string;
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
  /** RL2's settings (algorithm rl2); other algorithms' settings sit under their own keys. */
  rl2?: Rl2Config;
  /** The settings of an algorithm other than RL2, under its settings key (e.g. qtable). */
  [settingsKey: string]: unknown;
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
  /**
   * Samples each iteration's trials elsewhere instead of in this process's env batch: e.g. rollout
   * workers over NATS (bridge/rollouts-nats.ts, built by scenarios/train.ts). Built once the learner
   * exists; the run's numbers are the same either way (agent/rollouts.ts).
   */
  sampler?: (context: Rl2SamplerContext) => Promise<Rl2Sampler>;
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

/**
 * Whether a validation result beats the best so far: a higher score, or the same score (success rates
 * tie often, at 100 % in particular) with a higher mean trial return: a trial that succeeds sooner earns more.
 */
export function beatsBest(best: Checkpoint['best'], score: number, trialReturn: number): boolean {
  return best === null || score > best.score || (score === best.score && trialReturn > (best.trialReturn ?? -Infinity));
}

export async function train(config: TrainConfig, options: TrainOptions): Promise<TrainResult> {
  const backend = await initBackend(options.backend);
  const run = new RunDir(options.runDir);
  const progress = new ProgressBar(options.stream ?? process.stderr, options.quiet ?? false);
  let checkpoint: Checkpoint | null = null;
  const benchmark = distributionByName(config.benchmark, { seed: config.seed });
  // The algorithm, its settings and the benchmark (and an RL2 teacher) are checked before a run folder is made for them.
  const { definition, settings } = algorithmOf(config, benchmark);
  const distribution = definition.name === 'rl2' ? withTeacher(benchmark, settings as Rl2Config) : benchmark;
  if (options.sampler && !(definition.name === 'rl2')) throw new Error(`rollouts: rollout workers sample RL2 trials only; ${definition.name} samples in this process (leave rollouts out)`);
  const algorithm = await definition.create(distribution.spec, settings, config.seed, { learnerThreads: config.learnerThreads });
  // Weights to start from are checked before a run folder is made for them.
  let source: ReturnType<typeof initFromCheckpoint> | null = null;
  let sampler: Rl2Sampler | null = null;
  try {
    if (!options.resume && config.initFrom) source = initFromCheckpoint(algorithm, config.initFrom, distribution);
    // Before the run folder is made: a sampler that cannot start (e.g. no NATS server) leaves no run behind.
    if (options.sampler) sampler = await options.sampler({ name: config.name, benchmark: config.benchmark, seed: config.seed, rl2: (algorithm as Rl2Learner).rl2, distribution, backend: backend.backend, log: (line) => progress.log(line) });
    checkpoint = await openRun(run, config, options, backend);
  } catch (error) {
    await sampler?.close();
    algorithm.dispose();
    throw error;
  }
  const startIteration = (checkpoint?.iteration ?? -1) + 1;
  const envs = sampler ? null : await createEnvBatch(distribution, algorithm.trainingLanes, { workers: config.workers });
  run.recordSession({ startedAt: new Date().toISOString(), fromIteration: startIteration, backend: backend.backend, samplingWorkers: envs?.workers ?? 0, ...(sampler ? { sampling: sampler.description } : {}), learnerThreads: config.learnerThreads, git: gitCommit() });
  const lanes = envs ? `${envs.size} lanes ${envs.workers > 0 ? `in ${envs.workers} worker thread${envs.workers > 1 ? 's' : ''}` : 'in the main thread'}` : `${algorithm.trainingLanes} lanes sampled by ${sampler!.description}`;
  progress.log(`${config.name}: ${config.algorithm} on ${config.benchmark}, ${describeBackend(backend)}, ${lanes}, learning in ${config.learnerThreads} thread${config.learnerThreads > 1 ? 's' : ''}${startIteration > 0 ? `, resuming at iteration ${startIteration}` : ''}`);

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
      const stats: IterationStats = envs
        ? await algorithm.iterate(envs, distribution, iteration, config.iterations)
        : Rl2Learner.iterationStats(await iterateWith(sampler!, (algorithm as Rl2Learner).rl2, iteration, config.iterations));
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
        const trialReturn = lastEvaluation.meanTrialReturn;
        isBest = beatsBest(best, score, trialReturn);
        if (isBest) best = { score, iteration, trialReturn };
        lastSummary = { iteration, split: lastEvaluation.split, tasks: lastEvaluation.tasks, before: lastEvaluation.before, after: lastEvaluation.after, meanTrialReturn: lastEvaluation.meanTrialReturn, byEpisode: lastEvaluation.byEpisode };
        run.appendEvaluation({ iteration, envSteps, split: lastEvaluation.split, tasks: lastEvaluation.tasks, meanTrialReturn: lastEvaluation.meanTrialReturn, byEpisode: lastEvaluation.byEpisode });
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
        // The learner's own numbers (RL2: PPO's losses, KL, clip fraction, gradient norm, learning rate, epochs).
        ...stats.metrics,
        // Training throughput counts sampling and learning; evaluation is timed on its own.
        stepsPerSecond: stats.envSteps / (stats.samplingSeconds + stats.learningSeconds),
        samplingSeconds: stats.samplingSeconds, learningSeconds: stats.learningSeconds, evaluationSeconds,
        wallSeconds: (performance.now() - started) / 1000,
      };
      run.append(row);
      if (last || isBest || (iteration + 1) % config.checkpoints.every === 0 || iteration + 1 === stopAt) {
        run.saveCheckpoint({
          format: CHECKPOINT_FORMAT, version: CHECKPOINT_VERSION, algorithm: definition.name,
          benchmark: distribution.name, seed: config.seed, spec: distribution.spec, config: settings,
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
    await envs?.close();
    if (sampler?.summary) progress.log(sampler.summary());
    await sampler?.close();
    algorithm.dispose();
  }
  return { runDir: options.runDir, iterations: iteration, envSteps, backend, lastEvaluation, best, finished: iteration >= config.iterations };
}

const pct = (x: number) => `${(100 * x).toFixed(0)}%`;

/**
 * The run's algorithm and its settings, once checked against the benchmark: an unknown algorithm, one
 * that cannot act in the benchmark's spaces, missing settings or a learner-thread count it cannot use
 * are errors that name what would work.
 */
export function algorithmOf(config: TrainConfig, distribution: TaskDistribution): { definition: AlgorithmDefinition; settings: unknown } {
  const definition = algorithmByName(config.algorithm);
  const unsupported = unsupportedReason(definition, distribution);
  if (unsupported) throw new Error(`algorithm: ${unsupported}`);
  const settings = config[definition.settingsKey];
  if (settings === undefined) throw new Error(`${definition.settingsKey}: ${definition.name} needs its settings under '${definition.settingsKey}'`);
  if (!definition.learnerThreads && config.learnerThreads !== 1) throw new Error(`learnerThreads: ${definition.name} learns in the main thread alone (${config.learnerThreads} given; set 1)`);
  return { definition, settings };
}

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
 * reproduce what it did (learnerThreads 1, the algorithm's withDefaults: RL2's in withRl2Defaults).
 */
export function readTrainConfig(runDir: string): TrainConfig {
  const stored = new RunDir(runDir).readConfig<Omit<TrainConfig, 'learnerThreads' | 'algorithm'> & { learnerThreads?: number; algorithm?: string }>();
  const definition = algorithmByName(stored.algorithm ?? 'rl2');
  return { ...stored, algorithm: definition.name, learnerThreads: stored.learnerThreads ?? 1, [definition.settingsKey]: definition.withDefaults(stored[definition.settingsKey]) } as TrainConfig;
}

/**
 * Loads the weights (not the optimiser state) of a checkpoint file or run folder into a new run's
 * network. The checkpoint must come from a benchmark with the same observation and action spaces
 * (the same one, or a transfer such as ML1 reach to ML1 push) and a network of the same shape.
 */
export function initFromCheckpoint(algorithm: Pick<TrainableAlgorithm, 'name' | 'load'>, path: string, distribution: TaskDistribution): { path: string; iteration: number; envSteps: number } {
  let file: string, source: Checkpoint;
  try {
    file = resolveCheckpointPath(path);
    source = readCheckpoint(file);
  } catch (error) {
    throw new Error(`initFrom: ${(error as Error).message}`);
  }
  if (source.algorithm !== algorithm.name) throw new Error(`initFrom: ${file} is a ${source.algorithm} checkpoint, this run trains ${algorithm.name}`);
  // Another benchmark with the same spaces is a transfer (reach to push); other spaces cannot fit.
  const spaces = (spec: { obsSize: number; action: unknown }) => JSON.stringify({ obsSize: spec.obsSize, action: spec.action });
  if (spaces(source.spec) !== spaces(distribution.spec)) {
    throw new Error(`initFrom: ${file} was trained on ${source.benchmark}, whose observation and action spaces (${spaces(source.spec)}) differ from ${distribution.name}'s (${spaces(distribution.spec)})`);
  }
  try {
    algorithm.load({ params: source.state.params });
  } catch (error) {
    throw new Error(`initFrom: ${file} does not fit this run's network (same ${algorithm.name} network settings needed): ${(error as Error).message}`);
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
