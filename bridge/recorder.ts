// Records every episode of the gateway's live sims to its own MCAP file (chunked, zstd-compressed,
// indexed, with statistics), written sequentially through a file handle so a killed process keeps
// every complete chunk. docs/RECORDING.md describes the files; readRecording() reads one back, whole
// or cut off; a size cap on the folder (RecordingRetention) deletes the oldest complete files.

import { mkdirSync } from 'node:fs';
import { open, readdir, stat, type FileHandle } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { McapIndexedReader, McapStreamReader, McapWriter } from '@mcap/core';
import type { DecompressHandlers, IReadable, IWritable } from '@mcap/core';
import { loadDecompressHandlers } from '@mcap/support';
import * as wasmZstd from '@foxglove/wasm-zstd';
import { RecordingRetention, type SweepResult } from './retention.ts';
import { CONTROL_DT_NS, SCHEMAS, type JsonChannelSchema, frameToJointStates, posesToFrameTransforms, sceneToSceneUpdate } from './foxglove-schemas.ts';
import { RECORDING_CHANNELS, type LiveSims, type RecordedEpisode, type RecordedStep, type SimEvents, type SimInfo, type StepFrame } from '../protocol/wire.ts';
import type { SceneDescription } from '../protocol/scene.ts';

export interface RecorderOptions {
  /** Folder the .mcap files go to (created by the caller). */
  dir: string;
  /** Which episodes to record; default all. Asked once at each episode's start. */
  shouldRecord?: (info: SimInfo) => boolean;
  /** Chunk size (bytes) at which a chunk is written out; default 128 KiB. Smaller loses less in a crash. */
  chunkSize?: number;
  /** Told of a file that could not be written; the recording of that episode stops, nothing else does. Default: console.warn. */
  onError?: (error: Error, file: string) => void;
  /**
   * Writes waiting for the disk (about one per step) beyond which an episode's recording stops early:
   * its file is ended cleanly with the steps written so far and onError says so. Bounds the memory
   * a stalled disk can take. Default 20,000 (about 100 MB of converted steps).
   */
  maxBacklog?: number;
  /**
   * How chunks are compressed: 'zstd' (default; what Foxglove, the mcap CLI and @mcap/support read)
   * or 'none'. An episode of npm start takes about 17 % of its uncompressed size (bench/recording.ts).
   */
  compression?: RecordingCompression;
  /**
   * A cap on the folder's .mcap files (bytes): past it the oldest complete files are deleted, never
   * one being written (RecordingRetention). Default: no cap.
   */
  maxBytes?: number;
  /** Lines about the folder (files deleted to stay under maxBytes). Default: console.warn. */
  log?: (line: string) => void;
}

export type RecordingCompression = 'zstd' | 'none';

/** What a Recorder has done so far (benchmarks, health). */
export interface RecorderStats {
  /** Frames (steps, resets included) of recorded episodes the sims produced. */
  framesSeen: number;
  /** Of which written into their file (queued frames not yet written count in neither). */
  framesWritten: number;
  /** Writes waiting for the disk now (the backlog maxBacklog bounds). */
  pendingWrites: number;
  /** The most that ever waited. */
  maxPendingWrites: number;
  /** Episodes whose recording was stopped early because the disk fell behind (maxBacklog). */
  backlogStops: number;
  /** Files ended (summary and footer written). */
  filesEnded: number;
  /** Bytes of the files ended. */
  bytesEnded: number;
  /** Files the retention cap deleted. */
  filesDeleted: number;
}

export const DEFAULT_CHUNK_SIZE = 128 * 1024;
/** zstd level 1: on these JSON chunks it compresses as well as the default level 3 (bench/recording.ts), and faster. */
const ZSTD_LEVEL = 1;
// The package is CommonJS; under Node's ESM loader its exports may sit on `default`.
const zstd = ((wasmZstd as unknown as { default?: typeof wasmZstd }).default ?? wasmZstd);
const PROFILE = 'metamanip';
const LIBRARY = 'metamanip-recorder';

/** An MCAP sink writing straight through to a file handle, in order, without holding the file in memory. */
class FileWritable implements IWritable {
  #position = 0n;
  constructor(private readonly handle: FileHandle) {}
  position(): bigint { return this.#position; }
  async write(buffer: Uint8Array): Promise<void> {
    // McapWriter reuses `buffer` once this resolves, so all of it is written before returning.
    let done = 0;
    while (done < buffer.byteLength) {
      const { bytesWritten } = await this.handle.write(buffer, done, buffer.byteLength - done);
      done += bytesWritten;
    }
    this.#position += BigInt(buffer.byteLength);
  }
}

/** Random access to a file for McapIndexedReader. */
class FileReadable implements IReadable {
  constructor(private readonly handle: FileHandle, private readonly bytes: bigint) {}
  async size(): Promise<bigint> { return this.bytes; }
  async read(offset: bigint, size: bigint): Promise<Uint8Array> {
    const buffer = new Uint8Array(Number(size));
    let done = 0;
    while (done < buffer.byteLength) {
      const { bytesRead } = await this.handle.read(buffer, done, buffer.byteLength - done, Number(offset) + done);
      if (bytesRead === 0) throw new RangeError(`read past the end of the file at ${Number(offset) + done}`);
      done += bytesRead;
    }
    return buffer;
  }
}

// Safe in a file name on every OS, so a name never carries a path separator.
const plain = (text: string): string => text.replace(/[^A-Za-z0-9_.-]+/g, '_').replace(/^\.+/, '_').slice(0, 64) || '_';

/** `20261122T061501.123Z`: ISO 8601 basic format with milliseconds, so names sort by time. */
export function fileTimestamp(date: Date): string {
  return date.toISOString().replace(/[-:]/g, '');
}

/** The file name of a recording: when, which sim, which family, which episode. Never holds a path separator. */
export function recordingName(info: SimInfo, startedAt: Date, attempt = 0): string {
  const episode = Math.max(0, info.episode - 1);
  return `${fileTimestamp(startedAt)}-${plain(info.id)}-${plain(info.family)}-ep${episode}${attempt > 0 ? `-${attempt}` : ''}.mcap`;
}

export const toRecordedStep = (frame: StepFrame): RecordedStep => ({
  episode: frame.episode,
  step: frame.step,
  poses: Array.from(frame.poses),
  reward: frame.reward,
  success: frame.success,
  gripper: frame.gripper,
  obs: Array.from(frame.obs),
  action: frame.action ? Array.from(frame.action) : null,
  jointPositions: [...frame.jointPositions],
});

const encoder = new TextEncoder();
const json = (value: unknown): Uint8Array => encoder.encode(JSON.stringify(value));

type ChannelKey = keyof typeof RECORDING_CHANNELS;
const CHANNEL_SCHEMAS: Record<ChannelKey, JsonChannelSchema> = {
  episode: SCHEMAS.recordedEpisode,
  step: SCHEMAS.recordedStep,
  transforms: SCHEMAS.frameTransforms,
  scene: SCHEMAS.sceneUpdate,
  joints: SCHEMAS.jointStates,
};

type Entry = readonly [ChannelKey, bigint, unknown];

/** One episode's open file. Writer calls are chained: McapWriter must finish one call before the next. */
class EpisodeFile {
  readonly #channels = new Map<ChannelKey, number>();
  readonly #sequences = new Map<ChannelKey, number>();
  #queue: Promise<unknown> = Promise.resolve();
  #failed = false;
  #ended = false;

  private constructor(
    readonly path: string,
    private readonly handle: FileHandle,
    private readonly writable: FileWritable,
    private readonly writer: McapWriter,
    private readonly onError: (error: Error, file: string) => void,
  ) {}

  static async create(path: string, info: SimInfo, options: { chunkSize: number; compression: RecordingCompression }, onError: (error: Error, file: string) => void): Promise<EpisodeFile> {
    if (options.compression === 'zstd') await zstd.isLoaded;
    // 'wx': never overwrite an existing recording.
    const handle = await open(path, 'wx');
    try {
      const compressChunk = options.compression === 'zstd'
        ? (chunk: Uint8Array) => ({ compression: 'zstd', compressedData: zstd.compress(chunk, ZSTD_LEVEL) })
        : undefined;
      const writable = new FileWritable(handle);
      const writer = new McapWriter({ writable, useChunks: true, useStatistics: true, useSummaryOffsets: true, chunkSize: options.chunkSize, compressChunk });
      const file = new EpisodeFile(path, handle, writable, writer, onError);
      await writer.start({ profile: PROFILE, library: LIBRARY });
      for (const key of Object.keys(RECORDING_CHANNELS) as ChannelKey[]) {
        const schema = CHANNEL_SCHEMAS[key];
        const schemaId = await writer.registerSchema({ name: schema.name, encoding: schema.encoding, data: encoder.encode(schema.data) });
        file.#channels.set(key, await writer.registerChannel({ topic: RECORDING_CHANNELS[key], messageEncoding: 'json', schemaId, metadata: new Map() }));
        file.#sequences.set(key, 0);
      }
      // Written before any chunk, so even a file cut off by a crash says what it holds.
      await writer.addMetadata({ name: 'metamanip', metadata: new Map(Object.entries(recordingMetadata(info))) });
      return file;
    } catch (error) {
      await handle.close().catch(() => undefined);
      throw error;
    }
  }

  /** Queues work on the writer; after a failure nothing more is written (and `fallback` is the result). */
  #enqueue<T>(work: () => Promise<T>, fallback: T): Promise<T> {
    const next = this.#queue.then(async () => {
      if (this.#failed) return fallback;
      try {
        return await work();
      } catch (error) {
        this.#failed = true;
        this.onError(error instanceof Error ? error : new Error(String(error)), this.path);
        await this.handle.close().catch(() => undefined);
        return fallback;
      }
    });
    this.#queue = next;
    return next;
  }

  /** Appends messages (already converted, so the caller's arrays may be reused). Resolves with the step messages written. */
  write(entries: readonly Entry[]): Promise<number> {
    if (this.#ended) return this.#queue.then(() => 0);
    return this.#enqueue(async () => {
      let steps = 0;
      for (const [key, logTime, message] of entries) {
        const sequence = this.#sequences.get(key)!;
        this.#sequences.set(key, sequence + 1);
        await this.writer.addMessage({ channelId: this.#channels.get(key)!, sequence, logTime, publishTime: logTime, data: json(message) });
        if (key === 'step') steps++;
      }
      return steps;
    }, 0);
  }

  /**
   * Writes the last chunk, the summary and the footer, then closes the file. Resolves with the
   * file's size, or null when it was ended before or could not be written. Idempotent.
   */
  end(reason: string, steps: number): Promise<number | null> {
    if (this.#ended) return this.#queue.then(() => null);
    this.#ended = true;
    return this.#enqueue(async () => {
      await this.writer.addMetadata({ name: 'metamanip.end', metadata: new Map([['reason', reason], ['steps', String(steps)]]) });
      await this.writer.end();
      await this.handle.close();
      return Number(this.writable.position());
    }, null);
  }
}

/** A sim's episode being recorded: what converting its frames needs, and its file once open. */
interface Episode {
  scene: SceneDescription;
  startNs: bigint;
  /** Frames seen, including the reset. */
  frames: number;
  file: Promise<EpisodeFile | null>;
}

/** The step's messages, at the episode's simulated time: start + step x 12.5 ms. */
function frameEntries(episode: Episode, frame: StepFrame): Entry[] {
  const t = episode.startNs + BigInt(frame.step) * CONTROL_DT_NS;
  return [
    ['step', t, toRecordedStep(frame)],
    ['transforms', t, posesToFrameTransforms(episode.scene, frame.poses, t)],
    ['joints', t, frameToJointStates(frame, t)],
  ];
}

/** The `metamanip` metadata record: which sim, task and policy the episode is. */
export function recordingMetadata(info: SimInfo): Record<string, string> {
  return {
    sim: info.id,
    family: info.family,
    benchmark: info.benchmark ?? '',
    task: String(info.task),
    split: info.split,
    seed: String(info.seed),
    policy: info.policy,
    episode: String(Math.max(0, info.episode - 1)),
  };
}

/**
 * Writes one MCAP file per episode of the sims it is attached to. Files close when the episode ends
 * (or the sim closes, or a new episode starts without an end), and on close().
 */
export class Recorder {
  readonly dir: string;
  readonly #shouldRecord: (info: SimInfo) => boolean;
  readonly #chunkSize: number;
  readonly #onError: (error: Error, file: string) => void;
  readonly #maxBacklog: number;
  readonly #compression: RecordingCompression;
  /** Episodes being recorded, by sim id. */
  readonly #open = new Map<string, Episode>();
  readonly #pending = new Set<Promise<unknown>>();
  readonly #detachers = new Set<() => void>();
  /** Names of the files this recorder has open or is opening (the retention cap never deletes them). */
  readonly #writing = new Set<string>();
  readonly #retention: RecordingRetention | null;
  readonly #stats: RecorderStats = { framesSeen: 0, framesWritten: 0, pendingWrites: 0, maxPendingWrites: 0, backlogStops: 0, filesEnded: 0, bytesEnded: 0, filesDeleted: 0 };

  constructor(options: RecorderOptions) {
    this.dir = options.dir;
    // A folder that cannot be made is reported through onError when the first file cannot be opened.
    try { mkdirSync(this.dir, { recursive: true }); } catch { /* see above */ }
    this.#shouldRecord = options.shouldRecord ?? (() => true);
    this.#chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
    this.#maxBacklog = options.maxBacklog ?? 20_000;
    this.#compression = options.compression ?? 'zstd';
    this.#onError = options.onError ?? ((error, file) => console.warn(`recording ${file} stopped: ${error.message}`));
    this.#retention = options.maxBytes === undefined ? null : new RecordingRetention({
      dir: this.dir, maxBytes: options.maxBytes, isWriting: (name) => this.#writing.has(name), log: options.log,
    });
    // Files left from earlier runs count against the cap from the start.
    if (this.#retention) this.#track(this.#retention.sweep().catch((error: Error) => this.#onError(error, this.dir)));
  }

  /** The folder's size cap in bytes, or null without one. */
  get maxBytes(): number | null { return this.#retention?.maxBytes ?? null; }

  /** Checks the folder against the cap now, deleting the oldest complete files while over it; null without a cap. */
  async enforceCap(): Promise<SweepResult | null> {
    return this.#retention ? this.#track(this.#retention.sweep()) : null;
  }

  /** What has been recorded so far. */
  stats(): RecorderStats {
    return { ...this.#stats, pendingWrites: this.#pending.size, filesDeleted: this.#retention?.deletedFiles ?? 0 };
  }

  /** Starts recording the sims' episodes from their next reset on. Returns a function that stops it (ending open files). */
  attach(sims: LiveSims): () => void {
    // A listener must never throw into the hub: a recording problem must not stop the sim.
    const guard = <A extends unknown[]>(handler: (...args: A) => void) => (...args: A): void => {
      try {
        handler(...args);
      } catch (error) {
        this.#onError(error instanceof Error ? error : new Error(String(error)), this.dir);
      }
    };
    const listeners: { [E in keyof SimEvents]: SimEvents[E] } = {
      opened: () => undefined,
      episode: guard((info: SimInfo, scene: SceneDescription, frame: StepFrame) => this.#startEpisode(info, scene, frame)),
      frame: guard((info: SimInfo, frame: StepFrame) => this.#frame(info.id, frame)),
      episodeEnd: guard((info: SimInfo, reason: string) => this.#endEpisode(info.id, reason)),
      closed: guard((info: SimInfo) => this.#endEpisode(info.id, 'closed')),
    };
    for (const event of Object.keys(listeners) as Array<keyof SimEvents>) sims.on(event, listeners[event] as never);
    const detach = () => {
      if (!this.#detachers.delete(detach)) return;
      for (const event of Object.keys(listeners) as Array<keyof SimEvents>) sims.off(event, listeners[event] as never);
      for (const sim of sims.list()) this.#endEpisode(sim.id, 'closed');
    };
    this.#detachers.add(detach);
    return detach;
  }

  /** Detaches from every hub and ends every open file cleanly (last chunk, summary, footer). */
  async close(): Promise<void> {
    for (const detach of [...this.#detachers]) detach();
    for (const sim of [...this.#open.keys()]) this.#endEpisode(sim, 'closed');
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
  }

  /** Resolves once every write, file end and cap sweep queued so far is done (files stay open). */
  async settled(): Promise<void> {
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
  }

  /** Paths of the files open now. */
  async openFiles(): Promise<string[]> {
    const files = await Promise.all([...this.#open.values()].map((episode) => episode.file));
    return files.filter((f): f is EpisodeFile => f !== null).map((f) => f.path);
  }

  #track<T>(promise: Promise<T>): Promise<T> {
    this.#pending.add(promise);
    if (this.#pending.size > this.#stats.maxPendingWrites) this.#stats.maxPendingWrites = this.#pending.size;
    void promise.finally(() => this.#pending.delete(promise)).catch(() => undefined);
    return promise;
  }

  #startEpisode(info: SimInfo, scene: SceneDescription, frame: StepFrame): void {
    // An episode that started without an end event of the last one: end that file first.
    this.#endEpisode(info.id, 'closed');
    let record: boolean;
    try {
      record = this.#shouldRecord(info);
    } catch (error) {
      this.#onError(error as Error, `(episode ${info.episode - 1} of ${info.id})`);
      return;
    }
    if (!record) return;
    const startedAt = new Date();
    const snapshot: RecordedEpisode = { info: { ...info }, scene: structuredClone(scene) };
    const startNs = BigInt(startedAt.getTime()) * 1_000_000n;
    const episode: Episode = { scene: snapshot.scene, startNs, frames: 0, file: this.#track(this.#create(snapshot.info, startedAt)) };
    this.#open.set(info.id, episode);
    this.#write(episode, [
      ['episode', startNs, snapshot],
      ['scene', startNs, sceneToSceneUpdate(snapshot.scene, startNs)],
    ]);
    this.#frame(info.id, frame);
  }

  #frame(sim: string, frame: StepFrame): void {
    const episode = this.#open.get(sim);
    if (episode === undefined) return;
    if (this.#pending.size >= this.#maxBacklog) {
      void episode.file.then((file) => this.#onError(new Error(`the disk is not keeping up (${this.#pending.size} writes waiting): the recording of this episode stopped at step ${frame.step}; the file holds the steps before it`), file?.path ?? this.dir));
      this.#stats.backlogStops++;
      this.#endEpisode(sim, 'backlog');
      return;
    }
    episode.frames++;
    this.#stats.framesSeen++;
    this.#write(episode, frameEntries(episode, frame));
  }

  #write(episode: Episode, entries: Entry[]): void {
    // Writes keep their order: then() callbacks on the same promise run in the order they were attached.
    this.#track(episode.file.then(async (file) => {
      if (!file) return;
      const steps = await file.write(entries);
      this.#stats.framesWritten += steps;
    }));
  }

  async #create(info: SimInfo, startedAt: Date): Promise<EpisodeFile | null> {
    for (let attempt = 0; attempt < 100; attempt++) {
      const name = recordingName(info, startedAt, attempt);
      const path = join(this.dir, name);
      // Marked before the file exists, so a retention sweep never sees it unmarked.
      const alreadyMine = this.#writing.has(name);
      this.#writing.add(name);
      try {
        return await EpisodeFile.create(path, info, { chunkSize: this.#chunkSize, compression: this.#compression }, this.#onError);
      } catch (error) {
        if (!alreadyMine) this.#writing.delete(name);
        if ((error as NodeJS.ErrnoException).code === 'EEXIST') continue;
        this.#onError(error as Error, path);
        return null;
      }
    }
    this.#onError(new Error('100 files of that name exist already'), join(this.dir, recordingName(info, startedAt)));
    return null;
  }

  #endEpisode(sim: string, reason: string): void {
    const episode = this.#open.get(sim);
    if (episode === undefined) return;
    this.#open.delete(sim);
    this.#track(episode.file.then(async (file) => {
      if (!file) return;
      const bytes = await file.end(reason, episode.frames);
      this.#writing.delete(basename(file.path));
      if (bytes === null) return;
      this.#stats.filesEnded++;
      this.#stats.bytesEnded += bytes;
      await this.#retention?.fileEnded(bytes).catch((error: Error) => this.#onError(error, this.dir));
    }));
  }
}

// ---------------------------------------------------------------------------------------------
// Reading recordings back (tests, tooling, the gateway's recordings listing).

export interface RecordingEntry {
  name: string;
  bytes: number;
  /** ISO 8601. */
  modified: string;
}

/** The .mcap files of a folder, oldest first (their names sort by time). */
export async function listRecordings(dir: string): Promise<RecordingEntry[]> {
  const names = (await readdir(dir)).filter((name) => name.endsWith('.mcap')).sort();
  const entries: RecordingEntry[] = [];
  for (const name of names) {
    const info = await stat(join(dir, name)).catch(() => null);
    if (info?.isFile()) entries.push({ name, bytes: info.size, modified: info.mtime.toISOString() });
  }
  return entries;
}

export interface RecordedMessage {
  topic: string;
  logTime: bigint;
  sequence: number;
  /** The decoded JSON message. */
  message: unknown;
}

export interface Recording {
  name: string;
  /** True when the file has its summary (it was ended cleanly); false for a file cut off mid-episode. */
  complete: boolean;
  /** Metadata records by name (`metamanip`, and `metamanip.end` when complete). */
  metadata: Record<string, Record<string, string>>;
  episode: RecordedEpisode | null;
  steps: RecordedStep[];
  /** Every message in log-time order (stream order for a cut-off file). */
  messages: RecordedMessage[];
  /** Channels by topic: schema name, encoding and schema text. */
  channels: Record<string, { messageEncoding: string; schemaName: string; schemaEncoding: string; schema: string }>;
}

const decoder = new TextDecoder();

/**
 * Reads a recording: through its index when it has one, else (a file cut off by a crash) by
 * streaming its records up to the last complete one; chunks are checked against their CRCs.
 * Compressed chunks (zstd, lz4, bz2) are decompressed with @mcap/support's handlers.
 */
export async function readRecording(path: string): Promise<Recording> {
  const decompressHandlers: DecompressHandlers = await loadDecompressHandlers();
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    const result: Recording = { name: basename(path), complete: false, metadata: {}, episode: null, steps: [], messages: [], channels: {} };
    let reader: McapIndexedReader | null = null;
    try {
      reader = await McapIndexedReader.Initialize({ readable: new FileReadable(handle, BigInt(size)), decompressHandlers });
    } catch {
      reader = null;
    }
    if (reader !== null) {
      result.complete = true;
      for (const channel of reader.channelsById.values()) {
        const schema = reader.schemasById.get(channel.schemaId);
        result.channels[channel.topic] = { messageEncoding: channel.messageEncoding, schemaName: schema?.name ?? '', schemaEncoding: schema?.encoding ?? '', schema: schema ? decoder.decode(schema.data) : '' };
      }
      for await (const record of reader.readMetadata()) result.metadata[record.name] = Object.fromEntries(record.metadata);
      for await (const message of reader.readMessages({ validateCrcs: true })) {
        const channel = reader.channelsById.get(message.channelId)!;
        result.messages.push({ topic: channel.topic, logTime: message.logTime, sequence: message.sequence, message: JSON.parse(decoder.decode(message.data)) });
      }
    } else {
      const bytes = new Uint8Array(size);
      await handle.read(bytes, 0, size, 0);
      const stream = new McapStreamReader({ validateCrcs: true, decompressHandlers });
      stream.append(bytes);
      const topics = new Map<number, string>();
      const schemas = new Map<number, { name: string; encoding: string; data: Uint8Array }>();
      for (;;) {
        let record;
        try {
          record = stream.nextRecord();
        } catch {
          break; // A damaged tail: everything before it has been read.
        }
        if (record === undefined) break;
        if (record.type === 'Schema') schemas.set(record.id, record);
        else if (record.type === 'Channel') {
          topics.set(record.id, record.topic);
          const schema = schemas.get(record.schemaId);
          result.channels[record.topic] = { messageEncoding: record.messageEncoding, schemaName: schema?.name ?? '', schemaEncoding: schema?.encoding ?? '', schema: schema ? decoder.decode(schema.data) : '' };
        } else if (record.type === 'Metadata') result.metadata[record.name] = Object.fromEntries(record.metadata);
        else if (record.type === 'Message') {
          result.messages.push({ topic: topics.get(record.channelId) ?? '', logTime: record.logTime, sequence: record.sequence, message: JSON.parse(decoder.decode(record.data)) });
        }
      }
    }
    for (const { topic, message } of result.messages) {
      if (topic === RECORDING_CHANNELS.episode && result.episode === null) result.episode = message as RecordedEpisode;
      else if (topic === RECORDING_CHANNELS.step) result.steps.push(message as RecordedStep);
    }
    return result;
  } finally {
    await handle.close();
  }
}
