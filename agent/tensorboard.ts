// TensorBoard event files (`tensorboard --logdir runs/`): TFRecord framing (length, masked CRC32C of
// the length, the record, masked CRC32C of the record) around hand-encoded Event protobufs, one per
// metrics row holding all its scalars. Each record goes out in one append, so TensorBoard can read
// a file while training writes it. A resumed run drops the events after its checkpoint and starts
// a new file with a SessionLog START, which tells a TensorBoard already showing them to purge them.

import { appendFileSync, closeSync, existsSync, fsyncSync, openSync, readFileSync, readdirSync, renameSync, statSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';

export const EVENT_FILE_PREFIX = 'events.out.tfevents.';
const FILE_VERSION = 'brain.Event:2';

// ---------------------------------------------------------------------------------------------
// TFRecord framing.

const CRC32C_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32C (Castagnoli), as TFRecord uses. */
export function crc32c(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) crc = CRC32C_TABLE[(crc ^ bytes[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** TFRecord's masked CRC: rotate right by 15 bits and add a constant, so CRCs of CRCs stay useful. */
export function maskedCrc32c(bytes: Uint8Array): number {
  const crc = crc32c(bytes);
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

/** One TFRecord: u64 length, u32 masked CRC of those 8 bytes, the data, u32 masked CRC of the data (little-endian). */
export function tfRecord(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + 4 + data.length + 4);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(data.length), true);
  view.setUint32(8, maskedCrc32c(out.subarray(0, 8)), true);
  out.set(data, 12);
  view.setUint32(12 + data.length, maskedCrc32c(data), true);
  return out;
}

/** The records of a TFRecord file, up to the first incomplete or damaged one (a file being written may end in part of one). */
export function readTfRecords(bytes: Uint8Array): Uint8Array[] {
  const records: Uint8Array[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  while (at + 12 <= bytes.length) {
    if (view.getUint32(at + 8, true) !== maskedCrc32c(bytes.subarray(at, at + 8))) break;
    const length = Number(view.getBigUint64(at, true));
    const end = at + 12 + length;
    if (end + 4 > bytes.length) break;
    const data = bytes.subarray(at + 12, end);
    if (view.getUint32(end, true) !== maskedCrc32c(data)) break;
    records.push(data);
    at = end + 4;
  }
  return records;
}

// ---------------------------------------------------------------------------------------------
// The protobufs (tensorflow/core/util/event.proto, tensorflow/core/framework/summary.proto), only
// the fields written here.

const textEncoder = new TextEncoder();

class ProtoWriter {
  readonly #bytes: number[] = [];
  varint(value: bigint | number): this {
    let v = BigInt.asUintN(64, BigInt(value));
    while (v >= 0x80n) {
      this.#bytes.push(Number((v & 0x7fn) | 0x80n));
      v >>= 7n;
    }
    this.#bytes.push(Number(v));
    return this;
  }
  key(field: number, wireType: number): this { return this.varint((field << 3) | wireType); }
  double(field: number, value: number): this {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, value, true);
    this.key(field, 1).#bytes.push(...b);
    return this;
  }
  float(field: number, value: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    this.key(field, 5).#bytes.push(...b);
    return this;
  }
  int(field: number, value: number): this { return this.key(field, 0).varint(value); }
  bytes(field: number, value: Uint8Array): this {
    this.key(field, 2).varint(value.length).#bytes.push(...value);
    return this;
  }
  string(field: number, value: string): this { return this.bytes(field, textEncoder.encode(value)); }
  finish(): Uint8Array { return Uint8Array.from(this.#bytes); }
}

export interface TensorBoardEvent {
  /** Seconds since the Unix epoch. */
  wallTime: number;
  step: number;
  fileVersion?: string;
  /** Scalars by tag (Summary.Value.simple_value, float32). */
  scalars?: Record<string, number>;
  /** SessionLog status: 1 START (a TensorBoard purges events at or after this step), 2 STOP, 3 CHECKPOINT. */
  sessionLog?: 1 | 2 | 3;
}

/** An Event protobuf: wall_time = 1 (double), step = 2 (int64), file_version = 3, summary = 5, session_log = 7. */
export function encodeEvent(event: TensorBoardEvent): Uint8Array {
  const writer = new ProtoWriter().double(1, event.wallTime).int(2, event.step);
  if (event.fileVersion !== undefined) writer.string(3, event.fileVersion);
  if (event.scalars !== undefined) {
    // Summary { repeated Value value = 1 }; Value { string tag = 1; float simple_value = 2 }.
    const summary = new ProtoWriter();
    for (const [tag, value] of Object.entries(event.scalars)) summary.bytes(1, new ProtoWriter().string(1, tag).float(2, value).finish());
    writer.bytes(5, summary.finish());
  }
  if (event.sessionLog !== undefined) writer.bytes(7, new ProtoWriter().int(1, event.sessionLog).finish());
  return writer.finish();
}

/** Reads the wall time and step of an Event written by encodeEvent (enough to rewrite a file without some steps). */
function eventStep(data: Uint8Array): number {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let at = 0;
  const varint = (): bigint => {
    let result = 0n, shift = 0n;
    for (;;) {
      const byte = data[at++];
      result |= BigInt(byte & 0x7f) << shift;
      if (byte < 0x80) return result;
      shift += 7n;
    }
  };
  while (at < data.length) {
    const key = Number(varint());
    const field = key >> 3, wire = key & 7;
    if (field === 2 && wire === 0) return Number(BigInt.asIntN(64, varint()));
    if (wire === 0) varint();
    else if (wire === 1) at += 8;
    else if (wire === 5) at += 4;
    else if (wire === 2) at += Number(varint());
    else throw new Error(`unexpected protobuf wire type ${wire} in an event`);
    if (at > view.byteLength) break;
  }
  return 0; // proto3 leaves a zero step out
}

// ---------------------------------------------------------------------------------------------
// Event files in a folder.

/** The folder's event files, in the order TensorBoard reads them (by name: the time they were started). */
export function eventFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((name) => name.startsWith(EVENT_FILE_PREFIX)).sort().map((name) => join(dir, name));
}

/** One event file being written: appends whole records. */
export class EventFileWriter {
  private constructor(readonly path: string) {}

  /**
   * Starts a new event file in `dir`, named `events.out.tfevents.<seconds>.<host>.<pid>` so that it
   * sorts after the folder's other event files (TensorBoard reads them in name order).
   */
  static create(dir: string, now = Date.now()): EventFileWriter {
    let seconds = Math.floor(now / 1000);
    for (const file of eventFiles(dir)) {
      const existing = Number(file.slice(file.lastIndexOf(EVENT_FILE_PREFIX) + EVENT_FILE_PREFIX.length).split('.')[0]);
      if (Number.isFinite(existing) && existing >= seconds) seconds = existing + 1;
    }
    const host = hostname().replace(/[^A-Za-z0-9_-]+/g, '_') || 'host';
    const writer = new EventFileWriter(join(dir, `${EVENT_FILE_PREFIX}${String(seconds).padStart(10, '0')}.${host}.${process.pid}`));
    writer.write({ wallTime: now / 1000, step: 0, fileVersion: FILE_VERSION });
    return writer;
  }

  write(event: TensorBoardEvent): void {
    appendFileSync(this.path, tfRecord(encodeEvent(event)));
  }
}

/**
 * Rewrites (atomically) every event file of `dir` that holds events after `maxStep`, without them.
 * Returns the files changed.
 */
export function dropEventsAfter(dir: string, maxStep: number): string[] {
  const changed: string[] = [];
  for (const file of eventFiles(dir)) {
    if (!statSync(file).isFile()) continue;
    const records = readTfRecords(readFileSync(file));
    // The first record is the file_version (step 0): it stays.
    const kept = records.filter((record, i) => i === 0 || eventStep(record) <= maxStep);
    if (kept.length === records.length) continue;
    const bytes = kept.map(tfRecord);
    const out = new Uint8Array(bytes.reduce((n, b) => n + b.length, 0));
    let at = 0;
    for (const b of bytes) { out.set(b, at); at += b.length; }
    replaceFile(file, out);
    changed.push(file);
  }
  return changed;
}

/** Writes a temporary file, flushes it and renames it over `path`. The temporary name has no "tfevents" in it: TensorBoard would read it as an event file. */
function replaceFile(path: string, bytes: Uint8Array): void {
  const temporary = join(dirname(path), `.rewrite-${process.pid}.tmp`);
  const fd = openSync(temporary, 'w');
  try {
    let done = 0;
    while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temporary, path);
}
