// The rollout messages' frames and parts, the NATS credentials and URLs, and the scenario's rollouts
// field: round trips bit for bit, and clear errors for what is malformed or missing.

import { describe, expect, it } from 'vitest';
import { natsCredentials, natsServers, subjectToken } from '../../bridge/nats.ts';
import { PartAssembler, WireError, decodeFrame, encodeFrame, splitParts } from '../../bridge/rollouts-wire.ts';
import { parseScenario } from '../../scenarios/scenario.ts';

describe('rollout frames', () => {
  it('carries a header and float32 / byte arrays bit for bit, NaN payloads and -0 included', () => {
    const floats = new Float32Array([1.5, -0, Number.NaN, 3.4e38, 1e-45]);
    const raw = new Uint32Array(floats.buffer);
    raw[2] = 0x7fc00123; // a NaN with a payload
    const bytes = new Uint8Array([0, 1, 255]);
    const frame = encodeFrame({ job: 'x', trials: { returns: [0.1 + 0.2] } }, [['f', floats], ['b', bytes], ['empty', new Float32Array(0)]]);
    expect(frame.length % 8).toBe(0);
    const { header, arrays } = decodeFrame(frame);
    expect(header).toEqual({ job: 'x', trials: { returns: [0.1 + 0.2] } });
    expect([...new Uint32Array((arrays.get('f') as Float32Array).buffer)]).toEqual([...raw]);
    expect(arrays.get('b')).toEqual(bytes);
    expect(arrays.get('empty')).toEqual(new Float32Array(0));
    // Decoded from an unaligned view (as a message buffer may be), the arrays are aligned copies.
    const shifted = new Uint8Array(frame.length + 1);
    shifted.set(frame, 1);
    expect(decodeFrame(shifted.subarray(1)).arrays.get('f')!.byteOffset).toBe(0);
  });

  it('says what is wrong with a malformed frame', () => {
    expect(() => decodeFrame(new TextEncoder().encode('{"job":1}'), 'answer')).toThrow(/answer: not a metamanip rollout frame \(expected it to start with "MMR1", got 9 bytes\)/);
    const frame = encodeFrame({ a: 1 }, [['f', new Float32Array(4)]]);
    expect(() => decodeFrame(frame.subarray(0, frame.length - 8))).toThrow(/array f \(16 bytes\) runs past the end of the frame/);
    const badHeader = frame.slice();
    new DataView(badHeader.buffer).setUint32(4, 100_000, true);
    expect(() => decodeFrame(badHeader)).toThrow(/header of 100000 bytes in a frame of/);
    const notJson = encodeFrame({});
    notJson[8] = 0x7b + 1;
    expect(() => decodeFrame(notJson)).toThrow(WireError);
  });

  it('splits a frame into parts and puts it back together in any arrival order', () => {
    const frame = encodeFrame({ n: 1 }, [['f', Float32Array.from({ length: 1000 }, (_, i) => i / 7)]]);
    const parts = splitParts(frame, 1000);
    expect(parts.length).toBe(Math.ceil(frame.length / 1000));
    expect(splitParts(new Uint8Array(0), 10)).toHaveLength(1);
    const assembler = new PartAssembler();
    const order = parts.map((_, i) => i).reverse();
    let whole: Uint8Array | null = null;
    for (const i of order) {
      expect(whole).toBeNull();
      whole = assembler.add('job#1#w', i, parts.length, parts[i]);
    }
    expect(whole).toEqual(frame);
    expect(assembler.size).toBe(0);
    // A repeated part changes nothing; parts of another sending never mix in.
    expect(assembler.add('job#1#a', 0, 2, parts[0])).toBeNull();
    expect(assembler.add('job#1#a', 0, 2, parts[0])).toBeNull();
    expect(assembler.add('job#1#b', 1, 2, parts[1])).toBeNull();
    expect(() => assembler.add('job#1#a', 1, 3, parts[1])).toThrow(/earlier parts said 2/);
    expect(() => assembler.add('job#1#c', 2, 2, parts[1])).toThrow(/expected 0 <= part < parts/);
    expect(assembler.dropOlderThan(Date.now() + 1)).toBe(2);
  });
});

describe('NATS credentials and URLs', () => {
  it('takes a token or a user and password, from flags or the environment, and nothing else', () => {
    expect(natsCredentials({ token: 't' }, {})).toEqual({ token: 't' });
    expect(natsCredentials({}, { METAMANIP_NATS_TOKEN: 'e' })).toEqual({ token: 'e' });
    expect(natsCredentials({ user: 'u', password: 'p' }, { METAMANIP_NATS_TOKEN: 'e' })).toEqual({ user: 'u', password: 'p' });
    expect(natsCredentials({}, { METAMANIP_NATS_USER: 'u', METAMANIP_NATS_PASSWORD: 'p' })).toEqual({ user: 'u', password: 'p' });
    expect(() => natsCredentials({}, {})).toThrow(/NATS credentials are required: give --token TOKEN \(or METAMANIP_NATS_TOKEN\), or --user USER --password PASSWORD \(or METAMANIP_NATS_USER and METAMANIP_NATS_PASSWORD\)/);
    expect(() => natsCredentials({}, { METAMANIP_NATS_TOKEN: '' })).toThrow(/credentials are required/);
    expect(() => natsCredentials({ user: 'u' }, {})).toThrow(/a user needs a password and a password a user \(got user "u" and no password\)/);
    expect(() => natsCredentials({ token: 't', password: 'p' }, {})).toThrow(/give a token or a user and password, not both/);
    expect(() => natsCredentials({ token: '' }, {})).toThrow(/the token is empty/);
  });

  it('accepts nats://HOST:PORT lists and names a bad one', () => {
    expect(natsServers('nats://10.0.0.5:4222, nats://10.0.0.6:4222')).toEqual(['nats://10.0.0.5:4222', 'nats://10.0.0.6:4222']);
    expect(natsServers('localhost:4222')).toEqual(['localhost:4222']);
    expect(() => natsServers('http://x:1/path')).toThrow(/expected nats:\/\/HOST:PORT, got "http:\/\/x:1\/path"/);
    expect(() => natsServers(' , ')).toThrow(/expected nats:\/\/HOST:PORT/);
    expect(subjectToken('ml1.reach v2')).toBe('ml1_reach_v2');
  });

  it('checks a train scenario\'s rollouts field by name', () => {
    const base = 'kind: train\nbenchmark: ML1:reach\niterations: 1\n';
    const ok = parseScenario(`${base}rollouts: { nats: "nats://10.0.0.5:4222", lanesPerJob: 5, deadlineSeconds: 60, subject: lab.rl }\n`, 'x.yaml');
    expect(ok.kind === 'train' && ok.rollouts).toEqual({ nats: 'nats://10.0.0.5:4222', lanesPerJob: 5, deadlineSeconds: 60, subject: 'lab.rl' });
    expect(() => parseScenario(`${base}rollouts: { nats: "nats://h:1", lanesPerJob: 0 }\n`, 'x.yaml')).toThrow(/x\.yaml:4:\d+: rollouts\.lanesPerJob: .*(>=|at least) ?1/);
    expect(() => parseScenario(`${base}rollouts: { nats: "nats://h:1", token: s3cret }\n`, 'x.yaml')).toThrow(/rollouts\.token: unknown key/);
    expect(() => parseScenario(`${base}rollouts: { nats: "a b" }\n`, 'x.yaml')).toThrow(/rollouts\.nats: expected nats:\/\/HOST:PORT/);
    expect(() => parseScenario(`${base}rollouts: { subject: x }\n`, 'x.yaml')).toThrow(/rollouts\.nats: required/);
  });
});
