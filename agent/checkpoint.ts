// Checkpoint files: one JSON document holding what a run needs to continue bit-exactly (weights,
// optimiser state, counters) or to be evaluated; written atomically (temporary file, then rename).
// Large binary state (replay buffers, datasets: AlgorithmState.blobs) lives beside it in a file of the
// same name ending in .bin, which the JSON describes (each blob's place, the total length and its
// SHA-256) and which is written first, so a JSON on disk always has its blobs.

import { createHash } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename } from 'node:path';
import { z } from 'zod';
import { ALGORITHMS, ALGORITHM_NAMES, actingState, algorithmByName } from './algorithms.ts';
import type { Rl2Config } from './rl2.ts';

export const CHECKPOINT_FORMAT = 'metamanip-checkpoint';
export const CHECKPOINT_VERSION = 1;

const tensorJson = z.object({ shape: z.array(z.number().int().nonnegative()), data: z.string() });
const tensorMap = z.record(z.string(), tensorJson);

const blobFileSchema = z.object({
  bytes: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  entries: z.record(z.string(), z.object({ offset: z.number().int().nonnegative(), length: z.number().int().nonnegative() })),
});

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
  best: z.object({ score: z.number(), iteration: z.number().int(), trialReturn: z.number().optional() }).nullable(),
  /** The latest evaluation's summary, for people reading the file. */
  evaluation: z.record(z.string(), z.unknown()).nullable(),
  state: z.object({
    params: tensorMap,
    optimizer: z.object({ t: z.number().int().nonnegative(), m: tensorMap, v: tensorMap }).optional(),
    /** Blobs in the .bin file beside this one (read back into `blobs` by readCheckpoint). */
    blobFile: blobFileSchema.optional(),
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

type ParsedCheckpoint = z.infer<typeof checkpointSchema>;

/**
 * A checkpoint of any algorithm: `config` holds its settings (see the algorithm's definition); the
 * state's `blobs` are kept in the .bin file beside the JSON.
 */
export type Checkpoint = Omit<ParsedCheckpoint, 'config' | 'state'> & {
  config: unknown;
  state: Omit<ParsedCheckpoint['state'], 'blobFile'> & { blobs?: Record<string, Uint8Array> };
};

/** An RL2 checkpoint: `config` holds RL2's settings. */
export type Rl2Checkpoint = Checkpoint & { algorithm: 'rl2'; config: Rl2Config };

export const isRl2Checkpoint = (checkpoint: Checkpoint): checkpoint is Rl2Checkpoint => checkpoint.algorithm === 'rl2';

/** Writes `data` (pieces written one after another) to `path` so that a reader (or a crash) never sees a half-written file. */
export function writeFileAtomic(path: string, data: string | readonly Uint8Array[]): void {
  const temporary = `${path}.tmp-${process.pid}`;
  const fd = openSync(temporary, 'w');
  try {
    if (typeof data === 'string') writeSync(fd, data);
    else for (const piece of data) writeSync(fd, piece);
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

/** The file holding a checkpoint's blobs: its name with .bin for .json. */
export const blobPath = (checkpointPath: string): string => checkpointPath.replace(/\.json$/, '') + '.bin';

export function writeCheckpoint(path: string, checkpoint: Checkpoint): void {
  const { blobs, ...state } = checkpoint.state;
  let blobFile: z.infer<typeof blobFileSchema> | undefined;
  if (blobs && Object.keys(blobs).length > 0) {
    const pieces = Object.values(blobs);
    const hash = createHash('sha256');
    const entries: Record<string, { offset: number; length: number }> = {};
    let offset = 0;
    for (const [name, blob] of Object.entries(blobs)) {
      entries[name] = { offset, length: blob.byteLength };
      offset += blob.byteLength;
      hash.update(blob);
    }
    writeFileAtomic(blobPath(path), pieces);
    blobFile = { bytes: offset, sha256: hash.digest('hex'), entries };
  } else {
    rmSync(blobPath(path), { force: true });
  }
  writeFileAtomic(path, JSON.stringify({ ...checkpoint, state: blobFile ? { ...state, blobFile } : state }));
}

/** Reads the blobs a checkpoint's JSON describes, checking length and hash. */
function readBlobs(path: string, file: z.infer<typeof blobFileSchema>): Record<string, Uint8Array> {
  const binary = blobPath(path);
  if (!existsSync(binary)) throw new Error(`checkpoint ${path} keeps ${file.bytes} bytes of blobs (${Object.keys(file.entries).join(', ')}) in ${basename(binary)}, which is missing; copy it along with the .json`);
  const data = readFileSync(binary);
  if (data.byteLength !== file.bytes || createHash('sha256').update(data).digest('hex') !== file.sha256) {
    throw new Error(`${binary} does not match ${path} (expected ${file.bytes} bytes with SHA-256 ${file.sha256.slice(0, 12)}..., found ${data.byteLength} bytes); the pair was not written together`);
  }
  const blobs: Record<string, Uint8Array> = {};
  for (const [name, { offset, length }] of Object.entries(file.entries)) blobs[name] = new Uint8Array(data.buffer, data.byteOffset + offset, length);
  return blobs;
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
  const { blobFile, ...state } = parsed.data.state;
  return { ...parsed.data, state: blobFile ? { ...state, blobs: readBlobs(path, blobFile) } : state };
}

/** Reads a checkpoint that must be RL2's (an error names the algorithm it is of otherwise). */
export function readRl2Checkpoint(path: string): Rl2Checkpoint {
  const checkpoint = readCheckpoint(path);
  if (!isRl2Checkpoint(checkpoint)) throw new Error(`${path} is a ${checkpoint.algorithm} checkpoint, not an rl2 one`);
  return checkpoint;
}

/**
 * A copy of a checkpoint for acting only (no optimiser state: about a third of the size; of the blobs
 * only those the algorithm acts with), for shipping trained policies. It still evaluates like the
 * original; it cannot continue training bit-exactly.
 */
export function exportPolicy(from: string, to: string): Checkpoint {
  const checkpoint = readCheckpoint(from);
  const policy: Checkpoint = { ...checkpoint, state: actingState(algorithmByName(checkpoint.algorithm), checkpoint.state) };
  writeCheckpoint(to, policy);
  return policy;
}
