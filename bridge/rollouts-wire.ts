// The messages of distributed rollouts (bridge/rollouts-nats.ts, bridge/rollout-worker.ts): a frame is a
// JSON header plus named binary arrays, so float32 records and weights cross the wire bit for bit with no
// text encoding; a frame larger than the NATS server's max_payload is sent in parts and put back together
// by the receiver. Every decoder checks what it reads and says what was wrong.
//
// Frame layout: "MMR1" | u32 LE header length | header (UTF-8 JSON) | zero padding to a multiple of 8 |
// each array's bytes, in the header's `arrays` order, each padded to a multiple of 8.

import { createHash } from 'node:crypto';

const MAGIC = [0x4d, 0x4d, 0x52, 0x31]; // "MMR1"

export type WireArray = Float32Array | Uint8Array;

interface ArrayEntry { name: string; type: 'f32' | 'u8'; length: number }

const pad8 = (n: number) => (n + 7) & ~7;

/** One frame: `header` (any JSON object) and the arrays, in order. */
export function encodeFrame(header: Record<string, unknown>, arrays: ReadonlyArray<readonly [string, WireArray]> = []): Uint8Array {
  const entries: ArrayEntry[] = arrays.map(([name, a]) => ({ name, type: a instanceof Float32Array ? 'f32' : 'u8', length: a.length }));
  const text = new TextEncoder().encode(JSON.stringify({ ...header, arrays: entries }));
  let size = pad8(8 + text.length);
  for (const [, a] of arrays) size += pad8(a.byteLength);
  const out = new Uint8Array(size);
  out.set(MAGIC, 0);
  new DataView(out.buffer).setUint32(4, text.length, true);
  out.set(text, 8);
  let at = pad8(8 + text.length);
  for (const [, a] of arrays) {
    out.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), at);
    at += pad8(a.byteLength);
  }
  return out;
}

export class WireError extends Error { override name = 'WireError'; }

/** A frame's header and arrays (fresh, aligned copies). Throws a WireError saying what is malformed. */
export function decodeFrame(bytes: Uint8Array, what = 'message'): { header: Record<string, unknown>; arrays: Map<string, WireArray> } {
  if (bytes.length < 8 || MAGIC.some((b, i) => bytes[i] !== b)) throw new WireError(`${what}: not a metamanip rollout frame (expected it to start with "MMR1", got ${bytes.length} bytes)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getUint32(4, true);
  if (8 + headerLength > bytes.length) throw new WireError(`${what}: header of ${headerLength} bytes in a frame of ${bytes.length}`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength))) as Record<string, unknown>;
  } catch (error) {
    throw new WireError(`${what}: header is not JSON (${(error as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw new WireError(`${what}: header is not a JSON object`);
  const entries = header.arrays;
  if (!Array.isArray(entries)) throw new WireError(`${what}: header has no "arrays" list`);
  const arrays = new Map<string, WireArray>();
  let at = pad8(8 + headerLength);
  for (const entry of entries as ArrayEntry[]) {
    const { name, type, length } = entry ?? {};
    if (typeof name !== 'string' || (type !== 'f32' && type !== 'u8') || !Number.isSafeInteger(length) || length < 0) throw new WireError(`${what}: bad array entry ${JSON.stringify(entry)} (expected {name, type: "f32" | "u8", length})`);
    const byteLength = type === 'f32' ? 4 * length : length;
    if (at + byteLength > bytes.length) throw new WireError(`${what}: array ${name} (${byteLength} bytes) runs past the end of the frame (${bytes.length} bytes)`);
    const copy = bytes.slice(at, at + byteLength);
    arrays.set(name, type === 'f32' ? new Float32Array(copy.buffer) : copy);
    at += pad8(byteLength);
  }
  delete header.arrays;
  return { header, arrays };
}

/** A frame cut into parts of at most `partBytes` bytes each (at least one part). */
export function splitParts(bytes: Uint8Array, partBytes: number): Uint8Array[] {
  if (!(partBytes >= 1)) throw new Error(`splitParts: part size must be >= 1 byte, got ${partBytes}`);
  const parts: Uint8Array[] = [];
  for (let at = 0; at < bytes.length || parts.length === 0; at += partBytes) parts.push(bytes.subarray(at, Math.min(bytes.length, at + partBytes)));
  return parts;
}

/** Puts parts of frames back together: `add` returns the whole frame once its last part has arrived, else null. */
export class PartAssembler {
  private readonly pending = new Map<string, { parts: Array<Uint8Array | undefined>; received: number; at: number }>();

  /** `key` names one sending of one frame (parts of different sendings never mix). */
  add(key: string, part: number, parts: number, bytes: Uint8Array): Uint8Array | null {
    if (!Number.isInteger(parts) || parts < 1 || !Number.isInteger(part) || part < 0 || part >= parts) throw new WireError(`part ${part} of ${parts}: expected 0 <= part < parts`);
    let entry = this.pending.get(key);
    if (!entry) this.pending.set(key, entry = { parts: new Array(parts), received: 0, at: Date.now() });
    if (entry.parts.length !== parts) throw new WireError(`part ${part} of ${parts} for ${key}, whose earlier parts said ${entry.parts.length}`);
    if (entry.parts[part] === undefined) entry.received++;
    entry.parts[part] = bytes.slice();
    if (entry.received < parts) return null;
    this.pending.delete(key);
    const total = entry.parts.reduce((n, p) => n + p!.length, 0);
    const out = new Uint8Array(total);
    let at = 0;
    for (const p of entry.parts) { out.set(p!, at); at += p!.length; }
    return out;
  }

  /** Drops sendings whose parts stopped coming (their senders died) before `before` (ms since the epoch). */
  dropOlderThan(before: number): number {
    let dropped = 0;
    for (const [key, entry] of this.pending) if (entry.at < before) { this.pending.delete(key); dropped++; }
    return dropped;
  }

  get size(): number { return this.pending.size; }
}

/** A short content hash (hex) for weights versions. */
export function contentHash(...chunks: Array<Uint8Array | string>): string {
  const hash = createHash('sha256');
  for (const c of chunks) hash.update(c);
  return hash.digest('hex').slice(0, 16);
}

/** JSON text as bytes, and back (with a clear error). */
export const jsonBytes = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value));
export function parseJson(bytes: Uint8Array, what: string): Record<string, unknown> {
  try {
    const value = JSON.parse(new TextDecoder().decode(bytes)) as unknown;
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch { /* reported below */ }
  throw new WireError(`${what}: expected a JSON object`);
}
