// Frames on the wire: msgpack without msgpackr's private extensions, with arrays as openpi-style
// ndarray maps (binary keys, raw C-order bytes) so numpy clients decode them directly.
// Browser-safe: no Node imports; the viewer uses the same codec.

import { Packr, Unpackr } from 'msgpackr';

/** An n-dimensional array as numpy sends it: a typed array over C-order data, its shape and dtype. */
export interface NdArray {
  readonly kind: 'ndarray';
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly data: TypedArray;
}

export type TypedArray = Float32Array | Float64Array | Int8Array | Int16Array | Int32Array | Uint8Array | Uint16Array | Uint32Array | BigInt64Array | BigUint64Array;

const DTYPES = {
  '<f4': Float32Array, '<f8': Float64Array,
  '|i1': Int8Array, '<i2': Int16Array, '<i4': Int32Array, '<i8': BigInt64Array,
  '|u1': Uint8Array, '<u2': Uint16Array, '<u4': Uint32Array, '<u8': BigUint64Array,
  '|b1': Uint8Array,
} as const;
export type DType = keyof typeof DTYPES;
export const DTYPE_NAMES = Object.keys(DTYPES) as DType[];

/** numpy spells some one-byte and native-order dtypes differently; these are the same arrays. */
const DTYPE_ALIASES: Record<string, DType> = { '<i1': '|i1', 'i1': '|i1', '<u1': '|u1', 'u1': '|u1', '<b1': '|b1', 'b1': '|b1', '?': '|b1', '=f4': '<f4', '=f8': '<f8', '=i4': '<i4', '=i8': '<i8' };

function dtypeOf(data: TypedArray): DType {
  if (data instanceof Float32Array) return '<f4';
  if (data instanceof Float64Array) return '<f8';
  if (data instanceof Int8Array) return '|i1';
  if (data instanceof Int16Array) return '<i2';
  if (data instanceof Int32Array) return '<i4';
  if (data instanceof BigInt64Array) return '<i8';
  if (data instanceof Uint16Array) return '<u2';
  if (data instanceof Uint32Array) return '<u4';
  if (data instanceof BigUint64Array) return '<u8';
  return '|u1';
}

/** Wraps a typed array as an ndarray (default shape: one dimension). */
export function ndarray(data: TypedArray, shape: readonly number[] = [data.length], dtype: DType = dtypeOf(data)): NdArray {
  const size = shape.reduce((a, b) => a * b, 1);
  if (size !== data.length) throw new RangeError(`ndarray shape [${shape.join(', ')}] holds ${size} values, the data has ${data.length}`);
  return { kind: 'ndarray', dtype, shape: [...shape], data };
}

export const isNdArray = (value: unknown): value is NdArray =>
  typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'ndarray' && ArrayBuffer.isView((value as { data?: unknown }).data);

/** Thrown for a frame that is not valid msgpack or holds a malformed ndarray; the message says what was wrong. */
export class FrameError extends Error {
  override name = 'FrameError';
}

const encoder = new TextEncoder();
const KEY = {
  ndarray: encoder.encode('__ndarray__'),
  npgeneric: encoder.encode('__npgeneric__'),
  data: encoder.encode('data'),
  dtype: encoder.encode('dtype'),
  shape: encoder.encode('shape'),
};

const packr = new Packr({ useRecords: false, variableMapSize: true });
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: false });

/** Encodes a message: NdArrays (and bare typed arrays, as 1-D) become openpi ndarray maps. */
export function encodeFrame(message: unknown): Uint8Array {
  return packr.pack(toWire(message));
}

/**
 * The wire form of a value: NdArrays and typed arrays become ndarray maps, `undefined` object
 * values are dropped. Plain objects and arrays that need none of that are passed on as they are
 * (no copy: this runs for every frame); anything else is copied as a plain object, as always.
 */
function toWire(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) {
    let out: unknown[] | null = null;
    for (let i = 0; i < value.length; i++) {
      const v = value[i];
      const w = typeof v === 'object' && v !== null ? toWire(v) : v;
      if (out !== null) out.push(w);
      else if (w !== v) {
        out = value.slice(0, i);
        out.push(w);
      }
    }
    return out ?? value;
  }
  if (isNdArray(value)) return ndarrayMap(value);
  if (value instanceof Uint8Array) return value;
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) return ndarrayMap(ndarray(value as TypedArray));
  if (value instanceof Map) return new Map([...value].map(([k, v]) => [k, toWire(v)]));
  if (Object.getPrototypeOf(value) !== Object.prototype) return copyObject(value);
  const keys = Object.keys(value);
  for (let i = 0; i < keys.length; i++) {
    const v = (value as Record<string, unknown>)[keys[i]];
    if (v === undefined || (typeof v === 'object' && v !== null && toWire(v) !== v)) return copyObject(value);
  }
  return value;
}

function copyObject(value: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = toWire(v);
  return out;
}

function ndarrayMap(array: NdArray): Map<Uint8Array, unknown> {
  const { data } = array;
  // A byte view of exactly the array's data: msgpackr copies a Uint8Array's bytes as they are
  // (packing the typed array itself would convert each element to a byte).
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return new Map<Uint8Array, unknown>([
    [KEY.ndarray, true], [KEY.data, bytes], [KEY.dtype, array.dtype], [KEY.shape, [...array.shape]],
  ]);
}

/**
 * Decodes a frame. Maps with string keys become plain objects, ndarray maps become NdArrays (data
 * copied, so aligned), numpy scalars become numbers. Throws FrameError naming what was malformed.
 */
export function decodeFrame(frame: Uint8Array): unknown {
  let raw: unknown;
  try {
    raw = unpackr.unpack(frame);
  } catch (error) {
    throw new FrameError(`the frame is not valid msgpack (${(error as Error).message})`);
  }
  return fromWire(raw, '');
}

const decoder = new TextDecoder();
const keyText = (key: unknown): string | null => {
  if (typeof key === 'string') return key;
  if (key instanceof Uint8Array) {
    // Short ASCII keys (all the protocol's) without TextDecoder; the same string it would give.
    if (key.length <= 32) {
      let text = '';
      for (let i = 0; i < key.length; i++) {
        const byte = key[i];
        if (byte >= 0x80) return decoder.decode(key);
        text += String.fromCharCode(byte);
      }
      return text;
    }
    return decoder.decode(key);
  }
  return null;
};

/** Maps and arrays are converted; anything else is already what it decodes to. */
const nested = (value: unknown): boolean => value instanceof Map || Array.isArray(value);

function fromWire(value: unknown, path: string): unknown {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (nested(value[i])) value[i] = fromWire(value[i], `${path}[${i}]`);
    return value;
  }
  if (!(value instanceof Map)) return value;
  const entries = new Map<string, unknown>();
  for (const [k, v] of value) {
    const key = keyText(k);
    if (key === null) throw new FrameError(`map key ${String(k)} at ${path || 'the top level'} is not a string`);
    entries.set(key, v);
  }
  if (entries.get('__ndarray__') === true) return decodeNdArray(entries, path);
  if (entries.get('__npgeneric__') === true) {
    const item = entries.get('data');
    if (typeof item !== 'number' && typeof item !== 'boolean' && typeof item !== 'bigint') throw new FrameError(`numpy scalar at ${path || 'the top level'} has no numeric data`);
    return typeof item === 'bigint' ? Number(item) : item;
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of entries) {
    // Refuse keys that would reach the object's prototype.
    if (k === '__proto__') throw new FrameError(`map key '__proto__' at ${path || 'the top level'} is not allowed`);
    out[k] = nested(v) ? fromWire(v, path ? `${path}.${k}` : k) : v;
  }
  return out;
}

function decodeNdArray(entries: Map<string, unknown>, path: string): NdArray {
  const where = path || 'the top level';
  const dtypeName = entries.get('dtype');
  const dtype = typeof dtypeName === 'string' ? (dtypeName in DTYPES ? (dtypeName as DType) : DTYPE_ALIASES[dtypeName]) : undefined;
  if (dtype === undefined) throw new FrameError(`ndarray at ${where} has dtype ${JSON.stringify(dtypeName)}; expected one of ${DTYPE_NAMES.join(', ')}`);
  const shape = entries.get('shape');
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) throw new FrameError(`ndarray at ${where} has shape ${JSON.stringify(shape)}; expected a list of non-negative integers`);
  const bytes = entries.get('data');
  if (!(bytes instanceof Uint8Array)) throw new FrameError(`ndarray at ${where} has no binary data`);
  const Type = DTYPES[dtype];
  const size = (shape as number[]).reduce((a, b) => a * b, 1);
  if (bytes.byteLength !== size * Type.BYTES_PER_ELEMENT) {
    throw new FrameError(`ndarray at ${where}: shape [${shape.join(', ')}] of ${dtype} needs ${size * Type.BYTES_PER_ELEMENT} bytes, got ${bytes.byteLength}`);
  }
  // Copy (new Uint8Array copies; a Buffer's slice() would not): a decoded Buffer can be an unaligned view into the frame.
  const data = new Type(new Uint8Array(bytes).buffer);
  return { kind: 'ndarray', dtype, shape: shape as number[], data };
}
