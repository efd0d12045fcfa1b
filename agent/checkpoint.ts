// Checkpoint files: one JSON document holding what a run needs to continue bit-exactly (weights,
// optimiser state, counters) or to be evaluated; written atomically (temporary file, then rename).

import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { z } from 'zod';
import { ALGORITHMS, ALGORITHM_NAMES } from './algorithms.ts';
import type { Rl2Config } from './rl2.ts';

export const CHECKPOINT_FORMAT = 'metamanip-checkpoint';
export const CHECKPOINT_VERSION = 1;

const tensorJson = z.object({ shape: z.array(z.number().int().nonnegative()), data: z.string() });
const tensorMap = z.record(z.string(), tensorJson);

const checkpointSchema = z.object({
  format: z.literal(CHECKPOINT_FORMAT),
  version: z.literal(CHECKPOINT_VERSION),
  /** The algorithm (agent/algorithms.ts) whose settings `config` holds; checkpoints without it are RL2's. */
  algorithm: z.string().default('rl2'),
  /** The task distribution trained on and its seed. */
  benchmark: z.string(),
  seed: z.number().int(),
  spec: z.object({
    obsSize: z.number().int().positive(),
    action: z.union([
      z.object({ kind: z.literal('discrete'), n: z.number().int().positive() }),
      z.object({ kind: z.literal('box'), size: z.number().int().positive(), low: z.number(), high: z.number() }),
    ]),
    episodeSteps: z.number().int().positive(),
    hasSuccess: z.boolean(),
    criticFeatures: z.number().int().nonnegative().optional(),
  }),
  /** The algorithm's settings, checked against its own schema below. */
  config: z.unknown(),
  /** The last finished iteration (training continues with iteration + 1). */
  iteration: z.number().int(),
  envSteps: z.number().int().nonnegative(),
  /** Best evaluation score so far and the iteration it came from (null before the first evaluation). */
  best: z.object({ score: z.number(), iteration: z.number().int() }).nullable(),
  /** The latest evaluation's summary, for people reading the file. */
  evaluation: z.record(z.string(), z.unknown()).nullable(),
  state: z.object({
    params: tensorMap,
    optimizer: z.object({ t: z.number().int().nonnegative(), m: tensorMap, v: tensorMap }).optional(),
  }),
}).transform((checkpoint, context) => {
  const algorithm = ALGORITHMS.find((a) => a.name === checkpoint.algorithm);
  if (!algorithm) {
    context.addIssue({ code: 'custom', path: ['algorithm'], message: `unknown algorithm '${checkpoint.algorithm}' (expected one of: ${ALGORITHM_NAMES.join(', ')})` });
    return z.NEVER;
  }
  // Settings added after a checkpoint was written take the values that keep the old behaviour.
  const config = algorithm.settingsSchema.safeParse(typeof checkpoint.config === 'object' && checkpoint.config !== null ? algorithm.withDefaults(checkpoint.config) : checkpoint.config);
  if (!config.success) {
    for (const issue of config.error.issues) context.addIssue({ code: 'custom', path: ['config', ...issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p))], message: issue.message });
    return z.NEVER;
  }
  return { ...checkpoint, config: config.data };
});

/** A checkpoint of any algorithm: `config` holds its settings (see the algorithm's definition). */
export type Checkpoint = Omit<z.infer<typeof checkpointSchema>, 'config'> & { config: unknown };

/** An RL2 checkpoint: `config` holds RL2's settings. */
export type Rl2Checkpoint = Checkpoint & { algorithm: 'rl2'; config: Rl2Config };

export const isRl2Checkpoint = (checkpoint: Checkpoint): checkpoint is Rl2Checkpoint => checkpoint.algorithm === 'rl2';

/** Writes `data` to `path` so that a reader (or a crash) never sees a half-written file. */
export function writeFileAtomic(path: string, data: string): void {
  const temporary = `${path}.tmp-${process.pid}`;
  const fd = openSync(temporary, 'w');
  try {
    writeSync(fd, data);
    // Flush before the rename, or a power cut could leave the new name pointing at an empty file.
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    renameSync(temporary, path);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  }
}

export function writeCheckpoint(path: string, checkpoint: Checkpoint): void {
  writeFileAtomic(path, JSON.stringify(checkpoint));
}

/** Reads and validates a checkpoint; the error names the file and what is wrong with it. */
export function readCheckpoint(path: string): Checkpoint {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new Error(`cannot read checkpoint ${path}: ${(error as Error).message}`);
  }
  const parsed = checkpointSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`${path} is not a metamanip checkpoint (version ${CHECKPOINT_VERSION}): ${issue.path.join('.') || 'document'}: ${issue.message}`);
  }
  return parsed.data;
}

/** Reads a checkpoint that must be RL2's (an error names the algorithm it is of otherwise). */
export function readRl2Checkpoint(path: string): Rl2Checkpoint {
  const checkpoint = readCheckpoint(path);
  if (!isRl2Checkpoint(checkpoint)) throw new Error(`${path} is a ${checkpoint.algorithm} checkpoint, not an rl2 one`);
  return checkpoint;
}

/**
 * A copy of a checkpoint for acting only (no optimiser state: about a third of the size), for shipping
 * trained policies. It still evaluates like the original; it cannot continue training bit-exactly.
 */
export function exportPolicy(from: string, to: string): Checkpoint {
  const checkpoint = readCheckpoint(from);
  const policy: Checkpoint = { ...checkpoint, state: { params: checkpoint.state.params } };
  writeCheckpoint(to, policy);
  return policy;
}
