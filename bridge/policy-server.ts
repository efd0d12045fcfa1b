// The policy server role: a robot asks a trained policy for actions over openpi's websocket policy
// protocol (one metadata frame, then observation map in / action map out, errors as a text frame and
// close 1011). Each connection is one robot with its own memory (RL2's hidden state; MAML's recorded
// adaptation episodes, then its own adapted weights); docs/POLICY_SERVER.md has the maps.

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type RawData, type WebSocket, WebSocketServer } from 'ws';
import { z } from 'zod';
import { actionWidth } from '../agent/envs.ts';
import { type LoadedPolicy, type PolicySession, PolicyInputError } from '../agent/policy.ts';
import { FrameError, type NdArray, decodeFrame, encodeFrame, isNdArray, ndarray } from '../protocol/ndarray.ts';
import { OBSERVATION_KEYS, POLICY_ERROR_CLOSE_CODE, type PolicyMetadata } from '../protocol/policy.ts';

export interface PolicyServerOptions {
  /** Seed of each connection's first trial (default 0); later trials derive theirs, or take `seed` from the reset message. */
  seed?: number;
  /** Serve mean actions instead of sampled ones (default false, as the evaluator). A reset message may override it per trial. */
  deterministic?: boolean;
  /** Extra entries for the metadata frame (e.g. the gateway's version). */
  metadata?: Record<string, unknown>;
  /** Connection events for the gateway's log: opened, closed (with steps served), failed (with the message sent). */
  onEvent?: (event: PolicyServerEvent) => void;
}

export type PolicyServerEvent =
  | { type: 'opened'; policy: string }
  /** steps: actions served over the connection, all trials together. */
  | { type: 'closed'; policy: string; code: number; trials: number; steps: number }
  | { type: 'failed'; policy: string; message: string; internal: boolean };

const flag = z.union([z.boolean(), z.literal(0), z.literal(1)], { error: 'expected true, false, 0 or 1' }).transform((v) => v === true || v === 1);
const finite = z.number().refine(Number.isFinite, 'must be a finite number');
const ndarrayValue = z.custom<NdArray>(isNdArray, 'expected an ndarray');
const vector = z.union([ndarrayValue, z.array(z.number())], { error: 'expected an ndarray or a list of numbers' });

/**
 * A request. Every key is optional so one schema covers the three requests: an observation (actions
 * back), {reset: true} alone (acknowledged), and reset + observation (new trial, then its first action).
 * Unknown keys (images, prompts from openpi clients) are ignored.
 */
const requestSchema = z.object({
  reset: flag.optional(),
  seed: z.number().int().min(0).max(0xffffffff).optional(),
  deterministic: z.boolean().optional(),
  /** What the previous action earned (a number, a numpy scalar or a one-value array). */
  reward: z.union([finite, ndarrayValue], { error: 'must be a finite number (or a one-value array)' }).optional(),
  /** This observation starts a new episode of the same trial: the previous action ended its episode. */
  episode_start: flag.optional(),
  /** The same as episode_start, for clients that report the previous step's done flag. */
  done: flag.optional(),
  'observation/state': vector.optional(),
  observation: z.union([vector, z.object({ state: vector })], { error: 'expected an ndarray, a list of numbers or a map with \'state\'' }).optional(),
  state: vector.optional(),
  obs: vector.optional(),
});
type Request = z.infer<typeof requestSchema>;

/** The metadata frame for `policy` (before the server's extra entries and the connection's seed). */
export function policyMetadata(policy: LoadedPolicy): PolicyMetadata {
  const { spec } = policy;
  return {
    server: 'metamanip',
    protocol: 'openpi-websocket',
    policy: policy.name,
    algorithm: policy.algorithm === 'maml' ? 'maml' : 'rl2',
    benchmark: policy.benchmark,
    iteration: policy.iteration,
    trained_steps: policy.envSteps,
    obs_size: spec.obsSize,
    observation_keys: [...OBSERVATION_KEYS],
    action_space: spec.action.kind === 'box'
      ? { kind: 'box', shape: [spec.action.size], low: spec.action.low, high: spec.action.high, dtype: 'float32' }
      : { kind: 'discrete', n: spec.action.n, dtype: 'int32' },
    action_horizon: 1,
    action_dim: actionWidth(spec.action),
    episode_steps: spec.episodeSteps,
    trial_episodes: policy.episodesPerTrial,
    recurrent: true,
    adaptation_episodes: policy.adaptationEpisodes,
    has_success: spec.hasSuccess,
    evaluation: policy.evaluation,
  };
}

/** Serves `policy` on an open socket until it closes: one PolicySession for this connection, disposed on close. */
export function servePolicy(socket: WebSocket, policy: LoadedPolicy, options: PolicyServerOptions = {}): void {
  // A socket that closed before it reached us would never emit 'close' to free a session.
  if (socket.readyState !== socket.OPEN) return;
  const base = { seed: options.seed ?? 0, deterministic: options.deterministic ?? false };
  const session = policy.session(base);
  const event = (e: PolicyServerEvent) => options.onEvent?.(e);
  let failed = false;
  let previousTotalMs: number | null = null;
  let served = 0;

  const fail = (error: unknown) => {
    if (failed) return;
    failed = true;
    const known = error instanceof FrameError || error instanceof RequestError || error instanceof PolicyInputError;
    // Input errors say what to fix; anything else is ours: send the stack, as openpi sends its traceback.
    const message = known ? `bad request: ${(error as Error).message}` : `internal error: ${(error as Error)?.stack ?? String(error)}`;
    event({ type: 'failed', policy: policy.name, message, internal: !known });
    if (socket.readyState !== socket.OPEN) return;
    socket.send(message);
    socket.close(POLICY_ERROR_CLOSE_CODE, known ? 'Bad request. Message in previous frame.' : 'Internal server error. Traceback in previous frame.');
  };

  socket.on('message', (data: RawData, isBinary: boolean) => {
    if (failed) return;
    const started = performance.now();
    try {
      if (!isBinary) throw new RequestError('expected a binary msgpack frame, got a text frame');
      const request = parseRequest(decodeFrame(toBytes(data)));
      const reply = answer(request, session, policy);
      const timing: Record<string, number> = { infer_ms: reply.inferMs };
      if (previousTotalMs !== null) timing.prev_total_ms = previousTotalMs;
      socket.send(encodeFrame({ ...reply.body, server_timing: timing }));
      if (reply.body.actions !== undefined) served++;
      previousTotalMs = performance.now() - started;
    } catch (error) {
      fail(error);
    }
  });
  // ws emits 'error' before 'close' for protocol violations (oversized frames, bad UTF-8): the close does the cleanup.
  socket.on('error', () => {});
  socket.on('close', (code: number) => {
    event({ type: 'closed', policy: policy.name, code, trials: session.trial, steps: served });
    session.dispose();
  });

  event({ type: 'opened', policy: policy.name });
  socket.send(encodeFrame({ ...policyMetadata(policy), ...options.metadata, seed: base.seed, deterministic: base.deterministic }));
}

export interface PolicyListener {
  /** ws://host:port/ */
  readonly url: string;
  readonly port: number;
  /** Closes every connection (1001) and stops listening. */
  close(): Promise<void>;
}

/**
 * A standalone policy server: HTTP on host:port with GET /healthz (200, as openpi) and the policy role
 * on every WebSocket path. For tests, benchmarks and a robot-side server without the gateway; the
 * gateway mounts servePolicy on its own server instead.
 */
export async function listenPolicy(policy: LoadedPolicy, options: PolicyServerOptions & { host?: string; port?: number; maxPayload?: number } = {}): Promise<PolicyListener> {
  const http = createServer((request, response) => {
    const healthy = request.method === 'GET' && request.url === '/healthz';
    response.writeHead(healthy ? 200 : 404, { 'content-type': 'text/plain' }).end(healthy ? 'OK\n' : 'not found: the policy server speaks WebSocket\n');
  });
  // Observations are small; 16 MiB still lets openpi clients send camera images we ignore.
  const wss = new WebSocketServer({ server: http, perMessageDeflate: false, maxPayload: options.maxPayload ?? 16 << 20 });
  wss.on('connection', (socket) => servePolicy(socket, policy, options));
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => { http.off('error', reject); resolve(); });
  });
  const { port, address } = http.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;
  return {
    url: `ws://${host}:${port}/`,
    port,
    close: async () => {
      for (const client of wss.clients) client.close(1001, 'server shutting down');
      // wss.close() waits for every socket to close: cut off those that do not answer the close handshake.
      const cutOff = setTimeout(() => { for (const client of wss.clients) client.terminate(); }, 1000);
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      clearTimeout(cutOff);
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

class RequestError extends Error {
  override name = 'RequestError';
}

function toBytes(data: RawData): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data);
  return data instanceof ArrayBuffer ? new Uint8Array(data) : data;
}

function parseRequest(message: unknown): Request {
  // decodeFrame gives plain objects for maps; anything else (an array, an ndarray, a msgpack oddity) is not a request.
  if (typeof message !== 'object' || message === null || Object.getPrototypeOf(message) !== Object.prototype || isNdArray(message)) {
    throw new RequestError(`expected a map (an observation or {"reset": true}), got ${describe(message)}`);
  }
  const parsed = requestSchema.safeParse(message);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const at = issue.path.join('.');
    throw new RequestError(`${at ? `'${at}': ` : ''}${issue.message}`);
  }
  return parsed.data;
}

interface Reply { body: Record<string, unknown>; inferMs: number }

function answer(request: Request, session: PolicySession, policy: LoadedPolicy): Reply {
  const observation = findObservation(request);
  if (request.reset) {
    session.reset({ seed: request.seed, deterministic: request.deterministic });
    if (!observation) {
      return { body: { reset: true, trial: session.trial, seed: session.seed, deterministic: session.deterministic }, inferMs: 0 };
    }
  } else if (!observation) {
    throw new RequestError(`no observation: send the state vector under one of ${OBSERVATION_KEYS.map((k) => `'${k}'`).join(', ')}, or {"reset": true}`);
  }
  const obs = toObservation(observation.value, observation.key, policy.spec.obsSize);
  const reward = request.reward === undefined ? 0 : toReward(request.reward);
  const done = (request.episode_start ?? false) || (request.done ?? false);
  const started = performance.now();
  const action = session.act(obs, reward, done);
  const inferMs = performance.now() - started;
  const actions = policy.spec.action.kind === 'discrete' ? ndarray(Int32Array.from(action), [1, 1]) : ndarray(action, [1, action.length]);
  const body: Record<string, unknown> = { actions, trial: session.trial, step: session.step - 1, value: session.value };
  // MAML: whether the inner step for this connection has been taken (after the adaptation episodes).
  if (session.adapted !== undefined) body.adapted = session.adapted;
  if (request.reset) body.reset = true;
  return { body, inferMs };
}

function findObservation(request: Request): { key: string; value: NdArray | number[] } | null {
  for (const key of OBSERVATION_KEYS) {
    const value = request[key as keyof Request];
    if (value === undefined) continue;
    // {"observation": {"state": ...}}: a nested map as some clients build it.
    if (typeof value === 'object' && !Array.isArray(value) && !isNdArray(value) && 'state' in value) return { key: `${key}.state`, value: value.state };
    return { key, value: value as NdArray | number[] };
  }
  return null;
}

function toObservation(value: NdArray | number[], key: string, size: number): Float32Array {
  let values: Float32Array;
  if (Array.isArray(value)) {
    values = Float32Array.from(value);
  } else {
    if (value.data instanceof BigInt64Array || value.data instanceof BigUint64Array || value.dtype === '|b1') {
      throw new RequestError(`'${key}' has dtype ${value.dtype}; send float32 or float64 values`);
    }
    values = value.data instanceof Float32Array ? value.data : Float32Array.from(value.data as ArrayLike<number>);
  }
  if (values.length !== size) {
    const shape = Array.isArray(value) ? `${value.length} values` : `shape [${value.shape.join(', ')}] (${values.length} values)`;
    throw new RequestError(`'${key}' has ${shape}; the policy reads ${size} values`);
  }
  const bad = values.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) throw new RequestError(`'${key}'[${bad}] is ${values[bad]}; every value must be a finite number`);
  return values;
}

function toReward(value: number | NdArray): number {
  if (typeof value === 'number') return value;
  if (value.data.length !== 1 || typeof value.data[0] !== 'number') throw new RequestError(`'reward' must be one number, got an array of shape [${value.shape.join(', ')}]`);
  const reward = value.data[0];
  if (!Number.isFinite(reward)) throw new RequestError(`'reward' is ${reward}; expected a finite number`);
  return reward;
}

function describe(value: unknown): string {
  if (value === null) return 'nil';
  if (Array.isArray(value)) return 'an array';
  if (isNdArray(value)) return 'an ndarray';
  if (typeof value !== 'object') return `a ${typeof value}`;
  return Object.getPrototypeOf(value) === Object.prototype ? 'a map' : `a ${value.constructor?.name ?? 'non-map value'}`;
}
