// The hot path's shortcuts change nothing on the wire: encodeFrame gives the same bytes as the
// copy-everything encoder it replaced, and fastStep accepts exactly what the zod step schema accepts.

import { describe, expect, it } from 'vitest';
import { Packr } from 'msgpackr';
import { decodeFrame, encodeFrame, isNdArray, ndarray, type NdArray, type TypedArray } from '../../protocol/ndarray.ts';
import { ControllerRequest, fastStep } from '../../bridge/messages.ts';
import { MT1, makeEnv } from '../../sim/index.ts';
import { createRng } from '../../sim/rng.ts';

// The encoder before the fast path: every object and array copied, ndarray data copied.
const reference = (() => {
  const encoder = new TextEncoder();
  const KEY = { ndarray: encoder.encode('__ndarray__'), data: encoder.encode('data'), dtype: encoder.encode('dtype'), shape: encoder.encode('shape') };
  const packr = new Packr({ useRecords: false, variableMapSize: true });
  const ndarrayMap = (array: NdArray) => new Map<Uint8Array, unknown>([
    [KEY.ndarray, true], [KEY.data, new Uint8Array(array.data.buffer, array.data.byteOffset, array.data.byteLength).slice()], [KEY.dtype, array.dtype], [KEY.shape, [...array.shape]],
  ]);
  const toWire = (value: unknown): unknown => {
    if (isNdArray(value)) return ndarrayMap(value);
    if (ArrayBuffer.isView(value) && !(value instanceof DataView) && !(value instanceof Uint8Array)) return ndarrayMap(ndarray(value as TypedArray));
    if (Array.isArray(value)) return value.map(toWire);
    if (value instanceof Map) return new Map([...value].map(([k, v]) => [k, toWire(v)]));
    if (typeof value === 'object' && value !== null && !(value instanceof Uint8Array)) {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = toWire(v);
      return out;
    }
    return value;
  };
  return (message: unknown) => packr.pack(toWire(message));
})();

describe('encodeFrame without copies', () => {
  it('gives the same bytes as the copying encoder for replies, nested values, typed arrays, undefined and class instances', () => {
    const benchmark = MT1('pick-place', 0);
    const env = makeEnv(benchmark, benchmark.train[0]);
    const reset = env.reset();
    const step = env.step([0.1, 0.2, -0.3, 1]);
    env.close();
    const messages: unknown[] = [
      { type: 'step', id: 7, sim: 's1', obs: ndarray(step.obs), reward: step.reward, terminated: false, truncated: false, info: step.info },
      { type: 'step', id: undefined, sim: 's1', obs: ndarray(step.obs), reward: step.reward, terminated: false, truncated: true, info: step.info },
      { type: 'reset', id: 'abc', sim: 's2', obs: ndarray(reset.obs), info: reset.info },
      { type: 'step_batch', results: [{ sim: 's1', obs: ndarray(step.obs.subarray(3, 9)), info: { a: [1, 2, undefined, { b: undefined, c: new Float64Array([1, 2]) }] } }] },
      { type: 'error', code: 'bad_message', message: 'x' },
      { plain: { deep: { deeper: [1, 'two', null, true, [3, [4, new Int16Array([5, -6])]]] } }, bytes: new Uint8Array([1, 2, 3]) },
      { map: new Map<unknown, unknown>([['k', new Float32Array([1.5])], [2, { u: undefined }]]), date: new Date(0), nullProto: Object.assign(Object.create(null), { a: 1 }) },
      [1, undefined, { x: undefined }, ndarray(new BigInt64Array([1n, -2n]), [2, 1])],
      { poses: new Float32Array(14).fill(0.25), dv: new DataView(new ArrayBuffer(4)) },
      'text', 42, null,
    ];
    messages.forEach((message, i) => expect(Buffer.from(encodeFrame(message)).toString('hex'), `message ${i}`).toBe(Buffer.from(reference(message)).toString('hex')));
  });

  it('leaves the caller\'s objects untouched', () => {
    const info = { success: 0, tcp: [1, 2, 3] };
    const message = { type: 'step', sim: 's1', obs: ndarray(new Float32Array([1, 2])), info };
    encodeFrame(message);
    expect(message.info).toBe(info);
    expect(info).toEqual({ success: 0, tcp: [1, 2, 3] });
    expect(isNdArray(message.obs)).toBe(true);
  });
});

describe('fastStep', () => {
  const nd = ndarray(new Float32Array([0, 0, 0, 1]));
  const decoded = decodeFrame(encodeFrame({ type: 'step', id: 3, sim: 's1', action: nd }));
  const variants: unknown[] = [
    decoded,
    { type: 'step', sim: 's1', action: nd },
    { type: 'step', sim: 's1', action: [0, 0, 0, 1] },
    { type: 'step', id: 'x'.repeat(64), sim: 's'.repeat(32), action: [] },
    { type: 'step', id: 'x'.repeat(65), sim: 's1', action: nd },
    { type: 'step', id: -1, sim: 's1', action: nd },
    { type: 'step', id: 1.5, sim: 's1', action: nd },
    { type: 'step', id: Number.MAX_SAFE_INTEGER, sim: 's1', action: nd },
    { type: 'step', id: Number.MAX_SAFE_INTEGER + 2, sim: 's1', action: nd },
    { type: 'step', id: Infinity, sim: 's1', action: nd },
    { type: 'step', id: NaN, sim: 's1', action: nd },
    { type: 'step', id: null, sim: 's1', action: nd },
    { type: 'step', id: undefined, sim: 's1', action: nd },
    { type: 'step', id: true, sim: 's1', action: nd },
    { type: 'step', sim: '', action: nd },
    { type: 'step', sim: 's'.repeat(33), action: nd },
    { type: 'step', sim: 3, action: nd },
    { type: 'step', action: nd },
    { type: 'step', sim: 's1' },
    { type: 'step', sim: 's1', action: new Array(65).fill(0) },
    { type: 'step', sim: 's1', action: new Array(64).fill('a') },
    { type: 'step', sim: 's1', action: { kind: 'ndarray' } },
    { type: 'step', sim: 's1', action: 'nope' },
    { type: 'step', sim: 's1', action: nd, extra: 1 },
    { type: 'step', sim: 's1', action: nd, sed: 1 },
    { type: 'reset', sim: 's1' },
    { type: 'STEP', sim: 's1', action: nd },
    Object.assign(Object.create(null), { type: 'step', sim: 's1', action: nd }),
    null, [], 'step', 5,
  ];
  const rng = createRng(9);
  for (let i = 0; i < 200; i++) {
    const pick = <T>(xs: T[]) => xs[Math.floor(rng.uniform(0, xs.length))];
    const message: Record<string, unknown> = { type: pick(['step', 'step', 'open']) };
    if (rng.uniform(0, 1) < 0.7) message.sim = pick(['s1', '', 's'.repeat(40), 4, null]);
    if (rng.uniform(0, 1) < 0.8) message.action = pick([nd, [1, 2, 3, 4], 'x', {}, new Array(70).fill(0)]);
    if (rng.uniform(0, 1) < 0.5) message.id = pick([0, 1, -3, 2.5, 'id', 'i'.repeat(70), null, Number.MAX_SAFE_INTEGER + 10]);
    if (rng.uniform(0, 1) < 0.1) message.seed = 1;
    variants.push(message);
  }

  it('accepts exactly what the step schema accepts, with the same fields', () => {
    let accepted = 0;
    for (const value of variants) {
      const fast = fastStep(value);
      // Decoded frames are plain objects; anything else is left to zod.
      const isStep = typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype && (value as { type?: unknown }).type === 'step';
      const parsed = isStep ? ControllerRequest.safeParse(value) : { success: false as const };
      expect(fast !== null, JSON.stringify(value, (_, v) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v))).toBe(parsed.success);
      if (fast !== null && parsed.success) {
        accepted++;
        expect(fast).toEqual(parsed.data);
      }
    }
    expect(accepted).toBeGreaterThan(10);
  });
});
