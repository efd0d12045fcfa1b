import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { chooseBackend } from '../../agent/backend.ts';
import { distributionByName } from '../../agent/distributions.ts';
import { type LoadedPolicy, loadPolicy } from '../../agent/policy.ts';
import { type NdArray, decodeFrame, encodeFrame, isNdArray, ndarray } from '../../protocol/ndarray.ts';
import { type PolicyListener, type PolicyServerEvent, listenPolicy, policyMetadata } from '../../bridge/policy-server.ts';
import { OBSERVATION_KEYS } from '../../protocol/policy.ts';

const REACH = 'training/ml1-reach/checkpoints/best.json';

let policy: LoadedPolicy;
let server: PolicyListener;
const events: PolicyServerEvent[] = [];

beforeAll(async () => {
  await chooseBackend('wasm');
  policy = loadPolicy(REACH);
  server = await listenPolicy(policy, { seed: 11, metadata: { gateway: 'test' }, onEvent: (e) => events.push(e) });
});

afterAll(async () => {
  await server?.close();
  // Every connection's session was disposed on close, or this throws.
  policy?.dispose();
});

type Frame = { binary: true; value: Record<string, unknown> } | { binary: false; text: string };

/** A ws client reading frames in order: metadata first, then one reply per request. */
class Client {
  readonly socket: WebSocket;
  private readonly frames: Frame[] = [];
  private waiting: ((frame: Frame) => void) | null = null;
  readonly closed: Promise<{ code: number; reason: string }>;

  constructor(url: string) {
    this.socket = new WebSocket(url, { perMessageDeflate: false });
    this.socket.on('message', (data: Buffer, isBinary: boolean) => {
      const frame: Frame = isBinary ? { binary: true, value: decodeFrame(data) as Record<string, unknown> } : { binary: false, text: data.toString('utf8') };
      if (this.waiting) { const w = this.waiting; this.waiting = null; w(frame); } else this.frames.push(frame);
    });
    this.closed = new Promise((resolve) => this.socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  next(): Promise<Frame> {
    const frame = this.frames.shift();
    if (frame) return Promise.resolve(frame);
    return new Promise((resolve, reject) => {
      this.waiting = resolve;
      this.closed.then(({ code }) => reject(new Error(`closed (${code}) while waiting for a frame`)));
    });
  }

  async metadata(): Promise<Record<string, unknown>> {
    const frame = await this.next();
    if (!frame.binary) throw new Error(`expected the metadata frame, got text: ${frame.text}`);
    return frame.value;
  }

  async request(message: unknown): Promise<Record<string, unknown>> {
    this.socket.send(encodeFrame(message));
    const frame = await this.next();
    if (!frame.binary) throw new Error(`server error: ${frame.text}`);
    return frame.value;
  }

  /** Sends raw data and expects the openpi error reply: a text frame, then close 1011. */
  async expectError(data: Uint8Array | string): Promise<string> {
    this.socket.send(data);
    const frame = await this.next();
    expect(frame.binary).toBe(false);
    expect((await this.closed).code).toBe(1011);
    return frame.binary ? '' : frame.text;
  }

  close(): Promise<unknown> { this.socket.close(); return this.closed; }
}

async function connect(): Promise<Client> {
  const client = new Client(server.url);
  await new Promise<void>((resolve, reject) => { client.socket.once('open', () => resolve()); client.socket.once('error', reject); });
  await client.metadata();
  return client;
}

const actionOf = (reply: Record<string, unknown>): NdArray => {
  expect(isNdArray(reply.actions)).toBe(true);
  return reply.actions as NdArray;
};
const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
const observation = (k: number) => Float32Array.from({ length: 39 }, (_, i) => Math.sin(i + k) * 0.2);

describe('policy server (openpi websocket protocol)', () => {
  it('sends one metadata map right after the handshake', async () => {
    const client = new Client(server.url);
    const metadata = await client.metadata();
    expect(metadata).toMatchObject({
      server: 'metamanip', protocol: 'openpi-websocket', policy: 'ml1-reach/best', algorithm: 'rl2', benchmark: 'ML1:reach',
      iteration: 79, trained_steps: 5_200_000, obs_size: 39, action_horizon: 1, action_dim: 4, episode_steps: 500, trial_episodes: 13,
      recurrent: true, has_success: true, observation_keys: [...OBSERVATION_KEYS], evaluation: expect.anything(),
      gateway: 'test', seed: 11, deterministic: false,
    });
    expect(metadata.observation_keys).toContain('observation/state');
    expect(metadata.action_space).toEqual({ kind: 'box', shape: [4], low: -1, high: 1, dtype: 'float32' });
    await client.close();
  });

  it('describes a discrete-action policy as one int32 per action', () => {
    const tiny = { ...policy, name: 'tiny', spec: { obsSize: 1, action: { kind: 'discrete', n: 3 }, episodeSteps: 1, hasSuccess: false }, evaluation: null } as LoadedPolicy;
    expect(policyMetadata(tiny)).toMatchObject({ policy: 'tiny', action_space: { kind: 'discrete', n: 3, dtype: 'int32' }, action_dim: 1, obs_size: 1, has_success: false, evaluation: null });
  });

  it('drives a 500-step ML1 reach episode: float32 (1, 4) actions with server_timing, as a local session would act', async () => {
    const client = await connect();
    const reach = distributionByName('ML1:reach', { seed: 1 });
    const env = reach.makeEnv();
    const reference = policy.session({ seed: 11 });
    let obs = env.reset({ task: reach.testTasks(1)[0], seed: 5 });
    let reward = 0, episodeReturn = 0, success = false;
    for (let t = 0; t < 500; t++) {
      const reply = await client.request({ 'observation/state': ndarray(obs.slice()), reward, episode_start: false });
      const actions = actionOf(reply);
      expect(actions.dtype).toBe('<f4');
      expect(actions.shape).toEqual([1, 4]);
      expect(reply.step).toBe(t);
      expect(reply.trial).toBe(1);
      const timing = reply.server_timing as Record<string, number>;
      expect(timing.infer_ms).toBeGreaterThanOrEqual(0);
      if (t > 0) expect(timing.prev_total_ms).toBeGreaterThanOrEqual(0);
      else expect(timing.prev_total_ms).toBeUndefined();
      expect(bits(actions.data as Float32Array)).toEqual(bits(reference.act(obs, reward, false)));
      const step = env.step(actions.data as Float32Array);
      episodeReturn += step.reward;
      success ||= step.success;
      obs = step.obs;
      reward = step.reward;
      if (t === 499) expect(step.done).toBe(true);
    }
    expect(episodeReturn).toBeGreaterThan(0);
    reference.dispose(); env.close();
    await client.close();
  }, 60_000);

  it('starts a new trial on {reset: true} (acknowledged) or reset with an observation', async () => {
    const client = await connect();
    const first = actionOf(await client.request({ 'observation/state': observation(0) }));
    await client.request({ 'observation/state': observation(1), reward: 3 });
    const ack = await client.request({ reset: true });
    expect(ack).toMatchObject({ reset: true, trial: 2, deterministic: false });
    expect(ack.actions).toBeUndefined();
    expect(typeof ack.seed).toBe('number');
    // A reset with the connection's first seed replays the first trial.
    expect(await client.request({ reset: true, seed: 11 })).toMatchObject({ reset: true, trial: 3, seed: 11 });
    const again = await client.request({ 'observation/state': observation(0) });
    expect(again.step).toBe(0);
    expect(bits(actionOf(again).data as Float32Array)).toEqual(bits(first.data as Float32Array));
    // Reset and observation in one request; deterministic for this trial: mean actions, whatever the seed.
    const meanA = await client.request({ reset: true, seed: 1, deterministic: true, obs: Array.from(observation(0)) });
    expect(meanA).toMatchObject({ reset: true, trial: 4, step: 0 });
    const meanB = await client.request({ reset: 1, seed: 2, deterministic: true, obs: Array.from(observation(0)) });
    expect(bits(actionOf(meanB).data as Float32Array)).toEqual(bits(actionOf(meanA).data as Float32Array));
    await client.close();
  });

  it('accepts the observation as float64, shape (1, 39), a list or a nested {observation: {state}} map, and numpy-style scalars', async () => {
    const client = await connect();
    const obs = observation(2);
    const replies = [
      await client.request({ 'observation/state': ndarray(Float64Array.from(obs), [1, 39]), prompt: 'reach', image: ndarray(new Uint8Array(12), [2, 2, 3]) }),
    ];
    for (const message of [{ observation: { state: Array.from(obs) } }, { state: ndarray(obs) }]) {
      await client.request({ reset: true, seed: 11 });
      replies.push(await client.request(message));
    }
    const expected = bits(actionOf(replies[0]).data as Float32Array);
    for (const reply of replies) expect(bits(actionOf(reply).data as Float32Array)).toEqual(expected);
    // Reward as a one-value array and the done flag as 0/1.
    const next = await client.request({ state: ndarray(obs), reward: ndarray(new Float32Array([0.5])), done: 1 });
    expect(next.step).toBe(1);
    await client.close();
  });

  it('keeps the recurrent state per connection: interleaved robots do not disturb each other', async () => {
    const a = await connect(), b = await connect();
    const solo = policy.session({ seed: 11 });
    const fromA: number[][] = [], fromB: number[][] = [];
    for (let t = 0; t < 30; t++) {
      // Same observations, different rewards: the two memories must drift apart.
      const [ra, rb] = await Promise.all([
        a.request({ 'observation/state': observation(t), reward: 1 }),
        b.request({ 'observation/state': observation(t), reward: -1 }),
      ]);
      fromA.push(bits(actionOf(ra).data as Float32Array));
      fromB.push(bits(actionOf(rb).data as Float32Array));
      expect(fromA[t]).toEqual(bits(solo.act(observation(t), 1)));
    }
    expect(fromA[0]).toEqual(fromB[0]);
    expect(fromA.slice(1)).not.toEqual(fromB.slice(1));
    solo.dispose();
    await Promise.all([a.close(), b.close()]);
  });

  it.each([
    ['not msgpack', new Uint8Array([0x85, 0xa3, 0x6f]), /bad request: the frame is not valid msgpack/],
    ['a text frame', 'hello', /expected a binary msgpack frame/],
    ['not a map', encodeFrame([1, 2, 3]), /expected a map \(an observation or \{"reset": true\}\), got an array/],
    ['a reserved msgpack byte', new Uint8Array([0xc1]), /expected a map/],
    ['no observation', encodeFrame({ reward: 1 }), /no observation: send the state vector under one of 'observation\/state'/],
    ['38 values', encodeFrame({ 'observation/state': ndarray(new Float32Array(38)) }), /'observation\/state' has shape \[38\] \(38 values\); the policy reads 39 values/],
    ['a NaN', encodeFrame({ obs: ndarray(Float32Array.from({ length: 39 }, (_, i) => (i === 7 ? Number.NaN : 0))) }), /'obs'\[7\] is NaN/],
    ['a string reward', encodeFrame({ obs: ndarray(new Float32Array(39)), reward: 'lots' }), /'reward': must be a finite number \(or a one-value array\)/],
    ['an infinite reward', encodeFrame({ obs: ndarray(new Float32Array(39)), reward: Number.POSITIVE_INFINITY }), /'reward': must be a finite number/],
    ['a malformed ndarray', encodeFrame({ obs: new Map<Uint8Array, unknown>([[new TextEncoder().encode('__ndarray__'), true], [new TextEncoder().encode('data'), new Uint8Array(3)], [new TextEncoder().encode('dtype'), '<f4'], [new TextEncoder().encode('shape'), [39]]]) }), /ndarray at obs: shape \[39\] of <f4 needs 156 bytes, got 3/],
    ['a bad seed', encodeFrame({ reset: true, seed: -4 }), /'seed': /],
  ])('answers %s with a text frame and close 1011', async (_name, data, message) => {
    const client = await connect();
    expect(await client.expectError(data)).toMatch(message);
  });

  it('reports every connection closed, with its steps, and disposed every session', async () => {
    // Wait for the server side of the last closes.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const opened = events.filter((e) => e.type === 'opened').length;
    const closed = events.filter((e) => e.type === 'closed');
    expect(closed.length).toBe(opened);
    expect(closed.some((e) => e.type === 'closed' && e.steps === 500)).toBe(true);
    expect(events.filter((e) => e.type === 'failed').length).toBe(11);
    expect(events.every((e) => e.type !== 'failed' || !e.internal)).toBe(true);
  });
});
