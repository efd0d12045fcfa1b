// Hostile input: random bytes, truncated msgpack, wrong types, deep nesting, huge frames and
// floods. Each bad frame gets an error reply naming the problem; the server stays up and every
// other sim (and the sender's own) keeps working with its state unchanged.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { pack } from 'msgpackr';
import { startGateway, type Gateway } from '../../bridge/index.ts';
import { decodeFrame, encodeFrame, ndarray } from '../../protocol/ndarray.ts';
import { createRng } from '../../sim/rng.ts';

type Message = Record<string, unknown> & { type: string };

class Peer {
  readonly received: Message[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  private waiters: Array<() => void> = [];
  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data) => {
      this.received.push(decodeFrame(data as Buffer) as Message);
      for (const wake of this.waiters.splice(0)) wake();
    });
    this.closed = new Promise((resolve) => socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    socket.on('error', () => {});
  }

  static async connect(url: string): Promise<Peer> {
    const peer = new Peer(new WebSocket(url));
    await new Promise((resolve) => peer.socket.once('open', resolve));
    await peer.waitFor(1); // hello
    return peer;
  }

  async waitFor(count: number, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.received.length < count) {
      if (Date.now() > deadline) throw new Error(`waited for ${count} messages, got ${this.received.length}`);
      await new Promise<void>((resolve) => { this.waiters.push(resolve); setTimeout(resolve, 50); });
    }
  }

  /** Sends a frame and returns the reply to it. */
  async exchange(frame: Uint8Array | string): Promise<Message> {
    const count = this.received.length;
    this.socket.send(frame);
    await this.waitFor(count + 1);
    return this.received[count];
  }

  request(message: Record<string, unknown>): Promise<Message> {
    return this.exchange(encodeFrame(message));
  }
}

describe('fuzzing the controller role', () => {
  let gateway: Gateway;
  let bystander: Peer;
  let bystanderSim: string;
  beforeAll(async () => {
    gateway = await startGateway({ port: 0 });
    bystander = await Peer.connect(`${gateway.url}/controller`);
    bystanderSim = (await bystander.request({ type: 'open', family: 'push' })).sim as string;
    await bystander.request({ type: 'reset', sim: bystanderSim });
  });
  afterAll(() => gateway.close());

  /** The bystander's sim still steps, and the gateway still answers HTTP. */
  async function othersStillWork(): Promise<void> {
    const reply = await bystander.request({ type: 'step', sim: bystanderSim, action: [0.1, 0, 0, 0] });
    expect(reply).toMatchObject({ type: 'step', sim: bystanderSim });
    const health = await fetch(`${gateway.httpUrl}/healthz`);
    expect(health.status).toBe(200);
  }

  it('answers every malformed frame with an error and keeps the connection and its sim', async () => {
    const fuzzer = await Peer.connect(`${gateway.url}/controller`);
    const own = (await fuzzer.request({ type: 'open', family: 'reach' })).sim as string;
    await fuzzer.request({ type: 'reset', sim: own });
    await fuzzer.request({ type: 'step', sim: own, action: [0, 0, 1, 0] });

    const rng = createRng(1234);
    const frames: Array<Uint8Array | string> = [];
    // Random bytes of random lengths.
    for (let i = 0; i < 150; i++) frames.push(Uint8Array.from({ length: 1 + Math.floor(rng.uniform(0, 200)) }, () => Math.floor(rng.uniform(0, 256))));
    // A valid step cut off at every length.
    const valid = encodeFrame({ type: 'step', id: 9, sim: own, action: ndarray(new Float32Array([0, 0, 0, 0])) });
    for (let cut = 1; cut < valid.length; cut++) frames.push(valid.subarray(0, cut));
    // Valid msgpack of the wrong shape.
    const wrong: unknown[] = [
      null, 42, 'step', [1, 2, 3], true, {}, { type: 7 }, { type: 'step' }, { type: 'step', sim: own }, { type: 'step', sim: own, action: 'left' },
      { type: 'step', sim: own, action: { x: 1 } }, { type: 'step', sim: 5, action: [0, 0, 0, 0] }, { type: 'open', family: 'reach', task: -1 },
      { type: 'open', family: 'reach', seed: 1.5 }, { type: 'open', family: 'x'.repeat(1000) }, { type: 'reset', sim: own, task: 1e12 },
      { type: 'step_batch', sims: [], actions: [] }, { type: 'step_batch', sims: [own], actions: 'no' }, { type: 'close' }, { type: '__proto__' },
      { type: 'step', sim: own, action: Array(1000).fill(0) }, { type: 'step', id: { nested: true }, sim: own, action: [0, 0, 0, 0] },
      { type: 'resume', token: '' }, { type: 'list', extra: 1 }, { type: 'toString' }, { type: 'constructor' },
    ];
    for (const value of wrong) frames.push(encodeFrame(value));
    // Hand-made frames: ndarrays that lie about their size or dtype, non-string map keys, a __proto__ key, deep nesting.
    frames.push(pack(new Map<unknown, unknown>([['type', 'step'], ['sim', own], ['action', new Map<unknown, unknown>([[Buffer.from('__ndarray__'), true], [Buffer.from('data'), Buffer.alloc(3)], [Buffer.from('dtype'), '<f4'], [Buffer.from('shape'), [4]]])]])));
    frames.push(pack(new Map<unknown, unknown>([['type', 'step'], ['sim', own], ['action', new Map<unknown, unknown>([[Buffer.from('__ndarray__'), true], [Buffer.from('data'), Buffer.alloc(16)], [Buffer.from('dtype'), '<c16'], [Buffer.from('shape'), [4]]])]])));
    frames.push(pack(new Map<unknown, unknown>([[1, 'step'], [2, own]])));
    frames.push(Buffer.concat([Buffer.from([0x81, 0xa9]), Buffer.from('__proto__'), Buffer.from([0x81, 0xa1, 0x61, 0x01])]));
    frames.push(Buffer.concat([Buffer.alloc(50_000, 0x91), Buffer.from([0xc0])]));
    // Text frames are not the protocol.
    frames.push('{"type":"step"}', '');
    // Over the message limit but under maxPayload: an error reply, not a disconnect.
    frames.push(Buffer.alloc(200_000, 0x00));

    for (const [i, frame] of frames.entries()) {
      const reply = await fuzzer.exchange(frame);
      if (reply.type !== 'error') throw new Error(`frame ${i} (${Buffer.from(typeof frame === 'string' ? frame : frame.subarray(0, 16)).toString('hex')}) got ${JSON.stringify(reply)}`);
      expect(['bad_frame', 'bad_message', 'unknown_type', 'bad_action', 'too_large', 'bad_resume_token', 'bad_task']).toContain(reply.code);
      expect(typeof reply.message).toBe('string');
      expect((reply.message as string).length).toBeGreaterThan(10);
    }
    // Errors name the problem: a few spot checks.
    const messages = fuzzer.received.filter((m) => m.type === 'error').map((m) => m.message as string);
    expect(messages.some((m) => m.includes('not valid msgpack'))).toBe(true);
    expect(messages.some((m) => m.includes('needs 16 bytes, got 3'))).toBe(true);
    expect(messages.some((m) => m.includes('text frames are not accepted'))).toBe(true);
    expect(messages.some((m) => m.includes('the limit is'))).toBe(true);

    // The fuzzer's own sim was never moved by any of it.
    expect(gateway.sims.info(own)).toMatchObject({ episode: 1, step: 1 });
    expect(await fuzzer.request({ type: 'step', id: 77, sim: own, action: [0, 0, 0, 0] })).toMatchObject({ type: 'step', id: 77, sim: own });
    await othersStillWork();
    fuzzer.socket.close();
  });

  it('echoes the request id of a malformed request', async () => {
    const peer = await Peer.connect(`${gateway.url}/controller`);
    expect(await peer.request({ type: 'step', id: 'abc', sim: 3 })).toMatchObject({ type: 'error', id: 'abc', code: 'bad_message' });
    expect(await peer.request({ type: 'jump', id: 12 })).toMatchObject({ type: 'error', id: 12, code: 'unknown_type' });
    peer.socket.close();
  });

  it('closes a connection that sends a frame over maxPayload (1009), and only that one', async () => {
    const peer = await Peer.connect(`${gateway.url}/controller`);
    peer.socket.send(Buffer.alloc(2 << 20));
    expect((await peer.closed).code).toBe(1009);
    await othersStillWork();
  });

  it('sends rate_limited errors to a flooding client, then disconnects it; others are unaffected', async () => {
    const strict = await startGateway({ port: 0, controllerLimits: { messagesPerSecond: 100, burst: 50 } });
    try {
      const calm = await Peer.connect(`${strict.url}/controller`);
      const sim = (await calm.request({ type: 'open', family: 'reach' })).sim as string;
      await calm.request({ type: 'reset', sim });
      const flooder = await Peer.connect(`${strict.url}/controller`);
      const frame = encodeFrame({ type: 'list' });
      for (let i = 0; i < 2000 && flooder.socket.readyState === WebSocket.OPEN; i++) flooder.socket.send(frame);
      const { code, reason } = await flooder.closed;
      expect(code).toBe(1008);
      expect(reason).toContain('rate limit');
      expect(flooder.received.some((m) => m.code === 'rate_limited')).toBe(true);
      expect(await calm.request({ type: 'step', sim, action: [0, 0, 0, 0] })).toMatchObject({ type: 'step', sim });
      calm.socket.close();
    } finally {
      await strict.close();
    }
  });

  it('keeps a viewer connection alive through garbage and refuses frames over its small maxPayload', async () => {
    const viewer = new WebSocket(`${gateway.url}/viewer`);
    const received: Message[] = [];
    viewer.on('message', (data) => received.push(decodeFrame(data as Buffer) as Message));
    await new Promise((resolve) => viewer.once('open', resolve));
    viewer.send(Buffer.from([0x92, 0x01])); // an array of two holding one
    viewer.send(encodeFrame({ type: 'subscribe', sim: ['x'] }));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(received.filter((m) => m.type === 'error').map((m) => m.code)).toEqual(['bad_frame', 'bad_message']);
    const closed = new Promise<number>((resolve) => viewer.on('close', resolve));
    viewer.send(Buffer.alloc(64 << 10));
    expect(await closed).toBe(1009);
    await othersStillWork();
  });
});
