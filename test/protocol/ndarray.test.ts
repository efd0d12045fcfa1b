// The wire codec: openpi ndarray maps over msgpack, checked against itself and against numpy.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { pack } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { FrameError, decodeFrame, encodeFrame, isNdArray, ndarray, type NdArray } from '../../protocol/ndarray.ts';

const PYTHON = '/usr/bin/python3';

describe('ndarray codec', () => {
  it('round-trips every dtype and shape, including views with an offset', () => {
    const backing = new Float32Array([9, 1.5, -2, 3.25, 4, 9]);
    const view = backing.subarray(1, 5); // byteOffset 4: packing the view directly is msgpackr pitfall 3
    const message = {
      type: 'x',
      f4: ndarray(view, [2, 2]),
      f8: ndarray(new Float64Array([Math.PI, -0])),
      i4: ndarray(new Int32Array([-1, 2 ** 31 - 1])),
      u1: ndarray(new Uint8Array([0, 255]), [2], '|u1'),
      i8: ndarray(new BigInt64Array([-5n])),
      empty: ndarray(new Float32Array(0), [0, 4]),
      bare: new Float32Array([1, 2]),
      nested: [{ inner: ndarray(new Int16Array([7])) }],
    };
    const back = decodeFrame(encodeFrame(message)) as Record<string, NdArray> & { nested: Array<{ inner: NdArray }> };
    expect(back.f4).toMatchObject({ kind: 'ndarray', dtype: '<f4', shape: [2, 2] });
    expect(Array.from(back.f4.data as Float32Array)).toEqual([1.5, -2, 3.25, 4]);
    expect(Array.from(back.f8.data as Float64Array)).toEqual([Math.PI, -0]);
    expect(Array.from(back.i4.data as Int32Array)).toEqual([-1, 2 ** 31 - 1]);
    expect(back.u1.dtype).toBe('|u1');
    expect(Array.from(back.i8.data as BigInt64Array)).toEqual([-5n]);
    expect(back.empty.shape).toEqual([0, 4]);
    expect(back.bare).toMatchObject({ dtype: '<f4', shape: [2] });
    expect(isNdArray(back.nested[0].inner)).toBe(true);
    // Decoded data is an aligned copy, not a view into the frame.
    expect(back.f8.data.byteOffset).toBe(0);
  });

  it('writes no msgpackr records: a plain decoder sees maps with binary keys', () => {
    const frame = encodeFrame({ a: ndarray(new Float32Array([1])), list: [{ b: 1 }, { b: 2 }] });
    expect(frame.includes(0xd4)).toBe(false); // no fixext1 (msgpackr's record extension)
    const back = decodeFrame(frame) as { list: Array<{ b: number }> };
    expect(back.list).toEqual([{ b: 1 }, { b: 2 }]);
  });

  it('refuses malformed frames with a FrameError naming the problem', () => {
    const bad = (value: unknown) => () => decodeFrame(pack(value));
    const arrayMap = (entries: Array<[string, unknown]>) => new Map<unknown, unknown>(entries.map(([k, v]) => [Buffer.from(k), v]));
    expect(() => decodeFrame(Uint8Array.from([0x92, 0x01]))).toThrow(FrameError);
    expect(() => decodeFrame(Uint8Array.from([0x92, 0x01]))).toThrow(/not valid msgpack/);
    expect(bad(new Map([['a', arrayMap([['__ndarray__', true], ['data', Buffer.alloc(3)], ['dtype', '<f4'], ['shape', [1]]])]]))).toThrow(/at a: shape \[1\] of <f4 needs 4 bytes, got 3/);
    expect(bad(arrayMap([['__ndarray__', true], ['data', Buffer.alloc(4)], ['dtype', '<U4'], ['shape', [1]]]))).toThrow(/dtype "<U4"/);
    expect(bad(arrayMap([['__ndarray__', true], ['data', Buffer.alloc(4)], ['dtype', '<f4'], ['shape', [-1]]]))).toThrow(/non-negative integers/);
    expect(bad(new Map([[1, 2]]))).toThrow(/not a string/);
    expect(() => decodeFrame(Buffer.concat([Buffer.from([0x81, 0xa9]), Buffer.from('__proto__'), Buffer.from([0x01])]))).toThrow(/__proto__/);
  });

  it.runIf(existsSync(PYTHON))('round-trips through numpy (Debian python3 + msgpack + numpy)', () => {
    const script = [
      'import sys, msgpack, numpy as np',
      'def dec(m):',
      '    if b"__ndarray__" in m: return np.frombuffer(m[b"data"], dtype=np.dtype(m[b"dtype"])).reshape(m[b"shape"])',
      '    return m',
      'def enc(a): return {b"__ndarray__": True, b"data": a.tobytes(), b"dtype": a.dtype.str, b"shape": list(a.shape)}',
      'msg = msgpack.unpackb(sys.stdin.buffer.read(), raw=False, strict_map_key=False, object_hook=dec)',
      'obs = msg["obs"]',
      'assert obs.dtype == np.float32 and obs.shape == (2, 3), (obs.dtype, obs.shape)',
      'out = {"sum": float(obs.sum()), "doubled": enc(obs * 2), "ints": enc(np.arange(4, dtype=np.int64).reshape(2, 2)),',
      '       "bools": enc(np.array([True, False])), "scalar": {b"__npgeneric__": True, b"data": 2.5, b"dtype": "<f8"}, "text": msg["text"]}',
      'sys.stdout.buffer.write(msgpack.packb(out, use_bin_type=True))',
    ].join('\n');
    const frame = encodeFrame({ obs: ndarray(new Float32Array([1, 2, 3, 4, 5, 6.5]), [2, 3]), text: 'héllo' });
    const result = spawnSync(PYTHON, ['-c', script], { input: frame, maxBuffer: 1 << 20 });
    expect(result.stderr.toString()).toBe('');
    const back = decodeFrame(result.stdout) as { sum: number; doubled: NdArray; ints: NdArray; bools: NdArray; scalar: number; text: string };
    expect(back.sum).toBe(21.5);
    expect(back.doubled).toMatchObject({ dtype: '<f4', shape: [2, 3] });
    expect(Array.from(back.doubled.data as Float32Array)).toEqual([2, 4, 6, 8, 10, 13]);
    expect(back.ints).toMatchObject({ dtype: '<i8', shape: [2, 2] });
    expect(Array.from(back.ints.data as BigInt64Array)).toEqual([0n, 1n, 2n, 3n]);
    expect(back.bools).toMatchObject({ dtype: '|b1', shape: [2] });
    expect(Array.from(back.bools.data as Uint8Array)).toEqual([1, 0]);
    expect(back.scalar).toBe(2.5);
    expect(back.text).toBe('héllo');
  });
});
