// Experience replay for off-policy and model-based learners: one ring of transitions per task, each
// transition a fixed set of named float fields (the learner's layout, e.g. obs, action, reward,
// nextObs, done) plus its step within the episode, so that a sample can come with the transitions
// that led to it (context windows). Memory is bounded: a buffer that could outgrow `maxBytes` is
// refused when it is made. `toBlob`/`fromBlob` carry everything for checkpoints (bit-exact).

import type { Rng } from './random.ts';

/** Field name -> floats per transition, e.g. { obs: 39, action: 4, reward: 1, nextObs: 39, done: 1 }. */
export type ReplayLayout = Record<string, number>;

export interface ReplayOptions {
  tasks: number;
  capacityPerTask: number;
  layout: ReplayLayout;
  /** The most the buffer may hold when full, in bytes (default 2 GiB). */
  maxBytes?: number;
}

export interface ReplaySample {
  size: number;
  /** The task of each sampled transition. */
  tasks: Int32Array;
  /** size * layout[field] floats per field. */
  fields: Record<string, Float32Array>;
  /**
   * With `history` > 0: the transitions before each sample in the same episode, oldest first and
   * right-aligned (zeros where the episode had fewer); size * history * layout[field] per field.
   */
  history?: Record<string, Float32Array>;
  /** How many of each sample's history slots are real transitions. */
  historyLength?: Int32Array;
}

export const DEFAULT_MAX_REPLAY_BYTES = 2 * 1024 ** 3;

/** Bytes one stored transition takes: its floats and its episode step. */
export function bytesPerTransition(layout: ReplayLayout): number {
  return 4 * Object.values(layout).reduce((a, b) => a + b, 0) + 4;
}

/** Why a buffer of these dimensions cannot be made (what it needs against the cap, and what would fit), or null. */
export function replayCapProblem(options: ReplayOptions): string | null {
  const per = bytesPerTransition(options.layout);
  const max = options.maxBytes ?? DEFAULT_MAX_REPLAY_BYTES;
  const needed = per * options.capacityPerTask * options.tasks;
  if (needed <= max) return null;
  const fits = Math.floor(max / (per * options.tasks));
  return `a replay buffer of ${options.tasks} tasks x ${options.capacityPerTask} transitions x ${per} bytes needs ${formatBytes(needed)}, over the cap of ${formatBytes(max)}; at most ${fits} transitions per task fit`;
}

export function formatBytes(bytes: number): string {
  if (bytes >= 1024 ** 3) return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
  if (bytes >= 1024 ** 2) return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
  return `${(bytes / 1024).toFixed(1)} KiB`;
}

/** One task's ring: the fields side by side, allocated at its first transition. */
interface TaskRing { fields: Record<string, Float32Array>; episodeStep: Int32Array; added: number }

const BLOB_MAGIC = 0x4d4d5242; // 'MMRB'

export class ReplayBuffer {
  readonly tasks: number;
  readonly capacityPerTask: number;
  readonly layout: ReplayLayout;
  readonly #names: string[];
  readonly #rings: Array<TaskRing | null>;

  constructor(options: ReplayOptions) {
    if (!Number.isInteger(options.tasks) || options.tasks < 1) throw new RangeError(`replay tasks must be a positive integer, got ${options.tasks}`);
    if (!Number.isInteger(options.capacityPerTask) || options.capacityPerTask < 1) throw new RangeError(`replay capacityPerTask must be a positive integer, got ${options.capacityPerTask}`);
    for (const [name, size] of Object.entries(options.layout)) {
      if (!Number.isInteger(size) || size < 1) throw new RangeError(`replay field '${name}' must have a positive integer size, got ${size}`);
    }
    const problem = replayCapProblem(options);
    if (problem) throw new RangeError(problem);
    this.tasks = options.tasks;
    this.capacityPerTask = options.capacityPerTask;
    this.layout = { ...options.layout };
    this.#names = Object.keys(this.layout);
    this.#rings = Array.from({ length: this.tasks }, () => null);
  }

  static bytesPerTransition(layout: ReplayLayout): number { return bytesPerTransition(layout); }

  #ring(task: number): TaskRing {
    if (!Number.isInteger(task) || task < 0 || task >= this.tasks) throw new RangeError(`replay task ${task} out of range [0, ${this.tasks})`);
    let ring = this.#rings[task];
    if (!ring) {
      const fields: Record<string, Float32Array> = {};
      for (const name of this.#names) fields[name] = new Float32Array(this.capacityPerTask * this.layout[name]);
      ring = { fields, episodeStep: new Int32Array(this.capacityPerTask), added: 0 };
      this.#rings[task] = ring;
    }
    return ring;
  }

  /** Appends one transition to `task`'s ring (the oldest is overwritten when full). Step 0 starts an episode. */
  add(task: number, values: Record<string, number | ArrayLike<number>>, episodeStep: number): void {
    const ring = this.#ring(task);
    const slot = ring.added % this.capacityPerTask;
    for (const name of this.#names) {
      const size = this.layout[name];
      const value = values[name];
      if (value === undefined) throw new Error(`replay transition lacks field '${name}' (layout: ${this.#names.join(', ')})`);
      const target = ring.fields[name];
      if (typeof value === 'number') {
        if (size !== 1) throw new Error(`replay field '${name}' holds ${size} floats, got a number`);
        target[slot] = value;
      } else {
        if (value.length !== size) throw new Error(`replay field '${name}' holds ${size} floats, got ${value.length}`);
        for (let i = 0; i < size; i++) target[slot * size + i] = value[i];
      }
    }
    ring.episodeStep[slot] = episodeStep;
    ring.added++;
  }

  /** Transitions stored now for `task`. */
  size(task: number): number {
    const ring = this.#rings[task];
    return ring ? Math.min(ring.added, this.capacityPerTask) : 0;
  }

  /** Transitions ever added for `task`. */
  added(task: number): number { return this.#rings[task]?.added ?? 0; }

  totalSize(): number {
    let total = 0;
    for (let t = 0; t < this.tasks; t++) total += this.size(t);
    return total;
  }

  /** Bytes allocated (rings are allocated at their task's first transition). */
  bytes(): number {
    const per = bytesPerTransition(this.layout);
    return this.#rings.reduce((sum, ring) => sum + (ring ? per * this.capacityPerTask : 0), 0);
  }

  /** Physical slot of the task's logical index (0 = oldest stored). */
  #slot(task: number, index: number): number {
    const ring = this.#rings[task]!;
    return (ring.added - this.size(task) + index) % this.capacityPerTask;
  }

  /**
   * Uniform sample with replacement over the given tasks' stored transitions (all tasks when omitted),
   * or over each task's last `recent` transitions; with `history`, each sample's preceding transitions.
   */
  sample(rng: Rng, batch: number, options: { tasks?: readonly number[]; recent?: number; history?: number } = {}): ReplaySample {
    const tasks = options.tasks ?? Array.from({ length: this.tasks }, (_, t) => t);
    const pools = tasks.map((task) => {
      const size = this.size(task);
      const pool = options.recent === undefined ? size : Math.min(size, options.recent);
      return { task, offset: size - pool, pool };
    });
    const total = pools.reduce((a, p) => a + p.pool, 0);
    if (total === 0) throw new Error(`replay has no transitions for task(s) ${tasks.join(', ')}`);
    const picks: Array<[number, number]> = [];
    for (let b = 0; b < batch; b++) {
      let r = Math.floor(rng.next() * total);
      let p = 0;
      while (r >= pools[p].pool) { r -= pools[p].pool; p++; }
      picks.push([pools[p].task, pools[p].offset + r]);
    }
    return this.#gather(picks, options.history ?? 0);
  }

  /** The task's last `count` transitions (or fewer), oldest first. */
  last(task: number, count: number, history = 0): ReplaySample {
    const size = this.size(task);
    const n = Math.min(size, count);
    const picks: Array<[number, number]> = [];
    for (let i = size - n; i < size; i++) picks.push([task, i]);
    return this.#gather(picks, history);
  }

  #gather(picks: ReadonlyArray<[number, number]>, history: number): ReplaySample {
    const size = picks.length;
    const fields: Record<string, Float32Array> = {};
    for (const name of this.#names) fields[name] = new Float32Array(size * this.layout[name]);
    const taskIds = new Int32Array(size);
    const hist: Record<string, Float32Array> | undefined = history > 0 ? {} : undefined;
    if (hist) for (const name of this.#names) hist[name] = new Float32Array(size * history * this.layout[name]);
    const historyLength = history > 0 ? new Int32Array(size) : undefined;
    picks.forEach(([task, index], b) => {
      taskIds[b] = task;
      const ring = this.#rings[task]!;
      const slot = this.#slot(task, index);
      for (const name of this.#names) {
        const width = this.layout[name];
        fields[name].set(ring.fields[name].subarray(slot * width, (slot + 1) * width), b * width);
      }
      if (!hist || !historyLength) return;
      // Walk back while the stored transition is the previous step of the same episode.
      const step = ring.episodeStep[slot];
      let k = 0;
      while (k < history && k < step && index - k - 1 >= 0) {
        const previous = this.#slot(task, index - k - 1);
        if (ring.episodeStep[previous] !== step - k - 1) break;
        const position = history - 1 - k; // right-aligned, oldest first
        for (const name of this.#names) {
          const width = this.layout[name];
          hist[name].set(ring.fields[name].subarray(previous * width, (previous + 1) * width), (b * history + position) * width);
        }
        k++;
      }
      historyLength[b] = k;
    });
    return { size, tasks: taskIds, fields, ...(hist ? { history: hist, historyLength } : {}) };
  }

  /**
   * Everything in one byte array: a header (magic, tasks, capacity, layout as JSON) then, per task,
   * its count and its stored slots as they lie. fromBlob(toBlob()) samples exactly as the original.
   */
  toBlob(): Uint8Array {
    const header = new TextEncoder().encode(JSON.stringify({ tasks: this.tasks, capacityPerTask: this.capacityPerTask, layout: this.layout }));
    const per = bytesPerTransition(this.layout);
    let length = 8 + header.length;
    for (let t = 0; t < this.tasks; t++) length += 12 + per * this.size(t);
    length += (4 - (length % 4)) % 4;
    const blob = new Uint8Array(length);
    const view = new DataView(blob.buffer);
    view.setUint32(0, BLOB_MAGIC, true);
    view.setUint32(4, header.length, true);
    blob.set(header, 8);
    let offset = 8 + header.length;
    for (let t = 0; t < this.tasks; t++) {
      const ring = this.#rings[t];
      const added = ring?.added ?? 0;
      const stored = this.size(t);
      // `added` may pass 2^32 in principle; two words keep it exact.
      view.setUint32(offset, added % 2 ** 32, true);
      view.setUint32(offset + 4, Math.floor(added / 2 ** 32), true);
      view.setUint32(offset + 8, stored, true);
      offset += 12;
      if (!ring) continue;
      // Slots in physical order: restoring them to the same slots keeps the ring's arithmetic.
      const slots = stored < this.capacityPerTask ? stored : this.capacityPerTask;
      for (const name of this.#names) {
        const bytes = new Uint8Array(ring.fields[name].buffer, ring.fields[name].byteOffset, slots * this.layout[name] * 4);
        blob.set(bytes, offset);
        offset += bytes.length;
      }
      blob.set(new Uint8Array(ring.episodeStep.buffer, ring.episodeStep.byteOffset, slots * 4), offset);
      offset += slots * 4;
    }
    return blob;
  }

  static fromBlob(blob: Uint8Array, maxBytes?: number): ReplayBuffer {
    const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
    if (blob.byteLength < 8 || view.getUint32(0, true) !== BLOB_MAGIC) throw new Error('not a replay buffer blob (bad magic number)');
    const headerLength = view.getUint32(4, true);
    const header = JSON.parse(new TextDecoder().decode(blob.subarray(8, 8 + headerLength))) as { tasks: number; capacityPerTask: number; layout: ReplayLayout };
    const buffer = new ReplayBuffer({ ...header, maxBytes });
    let offset = 8 + headerLength;
    for (let t = 0; t < buffer.tasks; t++) {
      if (offset + 12 > blob.byteLength) throw new Error(`replay blob truncated at task ${t}`);
      const added = view.getUint32(offset, true) + view.getUint32(offset + 4, true) * 2 ** 32;
      const stored = view.getUint32(offset + 8, true);
      offset += 12;
      if (added === 0) continue;
      if (stored !== Math.min(added, buffer.capacityPerTask)) throw new Error(`replay blob task ${t}: ${stored} stored of ${added} added does not fit capacity ${buffer.capacityPerTask}`);
      const ring = buffer.#ring(t);
      for (const name of buffer.#names) {
        const floats = stored * buffer.layout[name];
        if (offset + floats * 4 > blob.byteLength) throw new Error(`replay blob truncated in task ${t}, field '${name}'`);
        ring.fields[name].set(new Float32Array(blob.slice(offset, offset + floats * 4).buffer));
        offset += floats * 4;
      }
      ring.episodeStep.set(new Int32Array(blob.slice(offset, offset + stored * 4).buffer));
      offset += stored * 4;
      ring.added = added;
    }
    return buffer;
  }
}
