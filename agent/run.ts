// A training run is a folder: config.json (resolved), metadata.json (versions, backend, seeds, git
// commit), progress.csv and metrics.jsonl (one row per iteration), evaluations.jsonl (one line per
// validation evaluation, with its adaptation curve by episode), TensorBoard event files (the same
// scalars, step = env steps), checkpoints/ (last K and the best).

import { execFileSync } from 'node:child_process';
import { appendFileSync, copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { type Checkpoint, blobPath, readCheckpoint, writeCheckpoint, writeFileAtomic } from './checkpoint.ts';
import { EventFileWriter, dropEventsAfter, eventFiles } from './tensorboard.ts';

/** One row of progress.csv / metrics.jsonl. Numbers only, so both files carry the same thing. */
export type MetricsRow = Record<string, number | null>;

/** One line of evaluations.jsonl: a validation evaluation during training and its adaptation curve. */
export interface EvaluationEntry {
  iteration: number;
  envSteps: number;
  split: string;
  tasks: number;
  meanTrialReturn: number;
  /** Return, success rate and median steps to success by episode index within the trial (1-based). */
  byEpisode: ReadonlyArray<{ episode: number; phase: string; meanReturn: number; successRate: number; medianStepsToSuccess: number | null }>;
}

/** Columns of progress.csv, in order (metrics.jsonl has every field of the row). */
export const PROGRESS_COLUMNS = [
  'iteration', 'envSteps', 'meanTrialReturn', 'firstEpisodeReturn', 'lastEpisodeReturn', 'firstEpisodeSuccess', 'lastEpisodeSuccess',
  'evalBeforeReturn', 'evalBeforeSuccess', 'evalAfterReturn', 'evalAfterSuccess', 'evalTrialReturn',
  'policyLoss', 'valueLoss', 'entropy', 'approxKl', 'clipFraction', 'gradNorm', 'learningRate',
  'stepsPerSecond', 'samplingSeconds', 'learningSeconds', 'evaluationSeconds', 'wallSeconds',
] as const;

const CHECKPOINT_NAME = /^iter-(\d+)\.json$/;

/** A row's TensorBoard scalars, grouped into sections by what they measure; null and non-numbers are left out. */
export function tensorBoardScalars(row: MetricsRow): Record<string, number> {
  const scalars: Record<string, number> = {};
  for (const [name, value] of Object.entries(row)) {
    if (name === 'envSteps' || typeof value !== 'number' || !Number.isFinite(value)) continue;
    const section = /Seconds$|^stepsPerSecond$/.test(name) ? 'time'
      : name.startsWith('eval') ? 'eval'
        : /Loss$|^entropy$|^approxKl$|^clipFraction$|^gradNorm$|^skippedMinibatches$|^learningRate$|^ppoEpochs$/.test(name) ? 'ppo' : 'train';
    scalars[`${section}/${name}`] = value;
  }
  return scalars;
}

export class RunDir {
  readonly checkpoints: string;
  /** The event file this session appends to; opened at the first row (or when the run is created). */
  #events: EventFileWriter | null = null;
  /** Set by truncateAfter (a resume): the new event file starts with a SessionLog START at this step. */
  #resumeStep: number | null = null;

  constructor(readonly path: string) { this.checkpoints = join(path, 'checkpoints'); }

  get configPath(): string { return join(this.path, 'config.json'); }
  get metadataPath(): string { return join(this.path, 'metadata.json'); }
  get progressPath(): string { return join(this.path, 'progress.csv'); }
  get metricsPath(): string { return join(this.path, 'metrics.jsonl'); }
  get bestPath(): string { return join(this.checkpoints, 'best.json'); }
  get evaluationsPath(): string { return join(this.path, 'evaluations.jsonl'); }

  exists(): boolean { return existsSync(this.configPath); }

  /** Starts a new run folder; refuses to overwrite an existing run. */
  create(config: unknown, metadata: unknown): void {
    if (this.exists()) throw new Error(`${this.path} already holds a run; resume it with --resume or choose another --run-dir`);
    mkdirSync(this.checkpoints, { recursive: true });
    writeFileAtomic(this.configPath, JSON.stringify(config, null, 2) + '\n');
    writeFileAtomic(this.metadataPath, JSON.stringify(metadata, null, 2) + '\n');
    writeFileAtomic(this.progressPath, PROGRESS_COLUMNS.join(',') + '\n');
    writeFileAtomic(this.metricsPath, '');
    this.#events = EventFileWriter.create(this.path);
  }

  readConfig<T>(): T { return JSON.parse(readFileSync(this.configPath, 'utf8')) as T; }

  /** Adds the session's metadata (a resumed run keeps a list of its sessions). */
  recordSession(session: Record<string, unknown>): void {
    const metadata = JSON.parse(readFileSync(this.metadataPath, 'utf8')) as { sessions?: unknown[] };
    metadata.sessions = [...(metadata.sessions ?? []), session];
    writeFileAtomic(this.metadataPath, JSON.stringify(metadata, null, 2) + '\n');
  }

  append(row: MetricsRow): void {
    appendFileSync(this.metricsPath, JSON.stringify(row) + '\n');
    appendFileSync(this.progressPath, PROGRESS_COLUMNS.map((c) => formatCell(row[c])).join(',') + '\n');
    this.#appendEvent(row);
  }

  /** Adds a validation evaluation (evaluations.jsonl; the file starts with the first one). */
  appendEvaluation(entry: EvaluationEntry): void {
    appendFileSync(this.evaluationsPath, JSON.stringify(entry) + '\n');
  }

  /** The evaluations logged so far; none for a run from before evaluations.jsonl. */
  evaluations(): EvaluationEntry[] {
    if (!existsSync(this.evaluationsPath)) return [];
    return readFileSync(this.evaluationsPath, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as EvaluationEntry);
  }

  /** The row's scalars as one TensorBoard event at step = envSteps (the x axis RL curves use). */
  #appendEvent(row: MetricsRow, wallTime = Date.now() / 1000): void {
    if (this.#events === null) {
      this.#events = EventFileWriter.create(this.path);
      if (this.#resumeStep !== null) this.#events.write({ wallTime, step: this.#resumeStep, sessionLog: 1 });
      this.#resumeStep = null;
    }
    this.#events.write({ wallTime, step: row.envSteps ?? row.iteration ?? 0, scalars: tensorBoardScalars(row) });
  }

  /** Rows logged so far (metrics.jsonl). */
  rows(): MetricsRow[] {
    if (!existsSync(this.metricsPath)) return [];
    return readFileSync(this.metricsPath, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as MetricsRow);
  }

  /**
   * Forgets rows after `iteration`: a run killed between a log line and its checkpoint logged
   * iterations the resumed run will redo; both files are rewritten atomically.
   */
  truncateAfter(iteration: number): void {
    const kept = this.rows().filter((r) => (r.iteration ?? -1) <= iteration);
    writeFileAtomic(this.metricsPath, kept.map((r) => JSON.stringify(r) + '\n').join(''));
    writeFileAtomic(this.progressPath, [PROGRESS_COLUMNS.join(','), ...kept.map((r) => PROGRESS_COLUMNS.map((c) => formatCell(r[c])).join(','))].join('\n') + '\n');
    if (existsSync(this.evaluationsPath)) writeFileAtomic(this.evaluationsPath, this.evaluations().filter((e) => e.iteration <= iteration).map((e) => JSON.stringify(e) + '\n').join(''));
    // The TensorBoard events of the forgotten rows go too; the resumed session writes a new file
    // that opens with a SessionLog START, so a TensorBoard that already read them purges them.
    const lastStep = kept.length ? (kept[kept.length - 1].envSteps ?? kept[kept.length - 1].iteration ?? 0) : -1;
    const hadEvents = eventFiles(this.path).length > 0;
    dropEventsAfter(this.path, lastStep);
    this.#events = null;
    if (!hadEvents && kept.length) {
      // A run from before event files: its curves so far, then this session's.
      this.#events = EventFileWriter.create(this.path);
      const written = statSync(this.metricsPath).mtimeMs / 1000;
      for (const row of kept) this.#appendEvent(row, written);
    }
    this.#events = null;
    this.#resumeStep = lastStep + 1;
  }

  /** Checkpoint files iter-NNNNNN.json, oldest first. */
  checkpointFiles(): string[] {
    if (!existsSync(this.checkpoints)) return [];
    return readdirSync(this.checkpoints).filter((f) => CHECKPOINT_NAME.test(f)).sort().map((f) => join(this.checkpoints, f));
  }

  latestCheckpoint(): string | null { return this.checkpointFiles().at(-1) ?? null; }

  /**
   * Writes iteration's checkpoint atomically, copies it to best.json when it is the best (its .bin
   * first, so best.json never points at another checkpoint's blobs), keeps the last `keepLast` (each
   * with its .bin of blobs, when it has blobs).
   */
  saveCheckpoint(checkpoint: Checkpoint, options: { keepLast: number; isBest: boolean }): string {
    const path = join(this.checkpoints, `iter-${String(checkpoint.iteration).padStart(6, '0')}.json`);
    writeCheckpoint(path, checkpoint);
    if (options.isBest) {
      if (existsSync(blobPath(path))) copyAtomic(blobPath(path), blobPath(this.bestPath));
      else rmSync(blobPath(this.bestPath), { force: true });
      copyAtomic(path, this.bestPath);
    }
    const files = this.checkpointFiles();
    for (const old of files.slice(0, Math.max(0, files.length - options.keepLast))) {
      rmSync(old, { force: true });
      rmSync(blobPath(old), { force: true });
    }
    return path;
  }

  readLatest(): Checkpoint | null {
    const path = this.latestCheckpoint();
    return path ? readCheckpoint(path) : null;
  }
}

/** Copies, then renames: `to` is never half-written. */
function copyAtomic(from: string, to: string): void {
  const temporary = `${to}.tmp-${process.pid}`;
  copyFileSync(from, temporary);
  renameSync(temporary, to);
}

function formatCell(value: number | null | undefined): string {
  if (value === null || value === undefined || Number.isNaN(value)) return '';
  return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(7)));
}

/** The git commit of the working tree (and whether it has uncommitted changes), or null outside git. */
export function gitCommit(cwd = process.cwd()): { commit: string; dirty: boolean } | null {
  try {
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const status = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return { commit, dirty: status.trim().length > 0 };
  } catch {
    return null;
  }
}

/** Resolves a path given to `eval`: a checkpoint file, or a run folder (its best checkpoint, else its latest). */
export function resolveCheckpointPath(path: string): string {
  if (!existsSync(path)) throw new Error(`no such checkpoint or run folder: ${path}`);
  if (path.endsWith('.json')) return path;
  const run = new RunDir(path);
  if (existsSync(run.bestPath)) return run.bestPath;
  const latest = run.latestCheckpoint();
  if (latest) return latest;
  throw new Error(`${path} holds no checkpoints (expected ${run.checkpoints}/best.json or iter-*.json)`);
}
