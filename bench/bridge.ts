// Gateway benchmark: controller round trips/s and p50/p99 latency of a reset+step loop driven by a
// Node ws client one request at a time, against baselines measured in the same run on the same
// frames: a bare Node ws server that decodes each request and answers a pre-encoded reply of the
// same size, and (when Debian's python3 is there) the minimal Python websockets + msgpack echo
// server of docs/spec. Each server runs in its own process. Also a batched step of 16 sims.
// Prints a table and writes bench/results/bridge.json. Run: `npx tsx bench/bridge.ts [--steps N] [--rounds R]`.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import WebSocket, { WebSocketServer } from 'ws';
import { decodeFrame, encodeFrame, ndarray } from '../bridge/ndarray.ts';
import { MT1, makeEnv } from '../sim/index.ts';

const SELF = fileURLToPath(import.meta.url);
const CHILD_FLAG = '--child';
const PYTHON = '/usr/bin/python3';
const EPISODE_STEPS = 500;

export interface BridgeBenchRow {
  server: string;
  roundTrips: number;
  /** Median of the rounds. */
  roundTripsPerSecond: number;
  /** Latencies pooled over the rounds. */
  p50Us: number;
  p99Us: number;
  /** This row's round trips/s over the Node echo baseline's. */
  ratioToNodeEcho: number;
}

export interface BridgeBenchResult {
  date: string;
  node: string;
  cpu: string;
  cores: number;
  loop: string;
  rows: BridgeBenchRow[];
  batch: { sims: number; roundTripsPerSecond: number; envStepsPerSecond: number; p50Us: number; p99Us: number };
  /** The same reset+step loop on an env in this process, no wire: the sim's share of a round trip. */
  simAlone: { stepsPerSecond: number; p50Us: number };
  /** Gateway round trips/s over the Node echo baseline's, the headline figure. */
  ratio: number;
}

/** The request frames of the loop: a reset every 500 steps, steps with a fixed small action in between. */
function requests(sim: string): { reset: Uint8Array; step: Uint8Array } {
  return {
    reset: encodeFrame({ type: 'reset', id: 1, sim }),
    step: encodeFrame({ type: 'step', id: 1, sim, action: ndarray(new Float32Array([0.1, -0.1, 0.05, 0])) }),
  };
}

/** Real reset/step replies of the gateway's shape and size, for the echo servers to answer with. */
function cannedReplies(): { reset: Uint8Array; step: Uint8Array } {
  const benchmark = MT1('reach', 0);
  const env = makeEnv(benchmark, benchmark.train[0]);
  const reset = env.reset();
  const step = env.step([0.1, -0.1, 0.05, 0]);
  env.close();
  return {
    reset: encodeFrame({ type: 'reset', id: 1, sim: 's1', obs: ndarray(reset.obs), info: reset.info }),
    step: encodeFrame({ type: 'step', id: 1, sim: 's1', obs: ndarray(step.obs), reward: step.reward, terminated: false, truncated: false, info: step.info }),
  };
}

/** Child process: one server, prints its port on stdout. */
async function runChild(kind: string): Promise<void> {
  if (kind === 'gateway') {
    const { startGateway } = await import('../bridge/server.ts');
    const gateway = await startGateway({ port: 0 });
    process.stdout.write(`${gateway.port}\n`);
    return;
  }
  const replies = cannedReplies();
  const server = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false, maxPayload: 1 << 20 });
  server.on('connection', (socket) => {
    socket.send(encodeFrame({ type: 'hello' }));
    socket.on('message', (data) => {
      const request = decodeFrame(data as Buffer) as { type: string };
      if (request.type === 'open') socket.send(encodeFrame({ type: 'open', sim: 's1' }));
      else socket.send(request.type === 'reset' ? replies.reset : replies.step);
    });
  });
  server.on('listening', () => process.stdout.write(`${(server.address() as { port: number }).port}\n`));
}

const PYTHON_ECHO = `
import asyncio, sys, msgpack, websockets
reset_reply, step_reply = bytes.fromhex(sys.argv[1]), bytes.fromhex(sys.argv[2])
async def handle(ws, path=None):
    await ws.send(msgpack.packb({"type": "hello"}))
    async for frame in ws:
        request = msgpack.unpackb(frame, raw=False, strict_map_key=False)
        kind = request["type"]
        await ws.send(msgpack.packb({"type": "open", "sim": "s1"}) if kind == "open" else reset_reply if kind == "reset" else step_reply)
async def main():
    async with websockets.serve(handle, "127.0.0.1", 0, compression=None) as server:
        print(server.sockets[0].getsockname()[1], flush=True)
        await asyncio.Future()
asyncio.run(main())
`;

async function startServer(kind: 'gateway' | 'node-echo' | 'python-echo'): Promise<{ port: number; process: ChildProcess }> {
  const child = kind === 'python-echo'
    ? (() => {
      const replies = cannedReplies();
      return spawn(PYTHON, ['-c', PYTHON_ECHO, Buffer.from(replies.reset).toString('hex'), Buffer.from(replies.step).toString('hex')], { stdio: ['ignore', 'pipe', 'inherit'] });
    })()
    : spawn(process.execPath, ['--import', 'tsx', SELF, CHILD_FLAG, kind === 'gateway' ? 'gateway' : 'echo'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.once('data', (data: Buffer) => resolve(Number(data.toString().trim())));
    child.once('exit', (code) => reject(new Error(`${kind} server exited with ${code} before listening`)));
  });
  return { port, process: child };
}

/** One request at a time: send, wait for the reply, next. */
class Caller {
  private resolveReply: ((data: Buffer) => void) | null = null;
  private constructor(private readonly socket: WebSocket) {
    socket.on('message', (data) => this.resolveReply?.(data as Buffer));
  }

  static async connect(url: string): Promise<Caller> {
    const socket = new WebSocket(url, { perMessageDeflate: false });
    const caller = new Caller(socket);
    await new Promise<Buffer>((resolve, reject) => {
      caller.resolveReply = resolve; // the hello
      socket.once('error', reject);
    });
    return caller;
  }

  call(frame: Uint8Array): Promise<Buffer> {
    return new Promise((resolve) => {
      this.resolveReply = resolve;
      this.socket.send(frame);
    });
  }

  close(): void {
    this.socket.close(1000); // a normal close: Python's websockets treats a bare close (1005) as an error
  }
}

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];

async function loop(url: string, steps: number, warmup: number): Promise<{ latencies: number[]; roundTripsPerSecond: number }> {
  const caller = await Caller.connect(url);
  const opened = decodeFrame(await caller.call(encodeFrame({ type: 'open', id: 1, family: 'reach' }))) as { sim: string };
  const frames = requests(opened.sim);
  const latencies = new Float64Array(steps);
  let started = 0;
  for (let i = -warmup; i < steps; i++) {
    if (i === 0) started = performance.now();
    const t0 = performance.now();
    // Request n of the run (warm-up included): a reset, then 500 steps, and again.
    const n = i + warmup;
    const reply = await caller.call(n % (EPISODE_STEPS + 1) === 0 ? frames.reset : frames.step);
    // Replies are checked in the warm-up and at the end only: decoding each would time the client.
    if (i < 0 || i === steps - 1) {
      const message = decodeFrame(reply) as { type: string; message?: string };
      if (message.type === 'error') throw new Error(`${url}: request ${n} failed: ${message.message}`);
    }
    if (i >= 0) latencies[i] = performance.now() - t0;
  }
  const seconds = (performance.now() - started) / 1000;
  caller.close();
  return { latencies: Array.from(latencies), roundTripsPerSecond: steps / seconds };
}

async function batchLoop(url: string, sims: number, rounds: number): Promise<BridgeBenchResult['batch']> {
  const caller = await Caller.connect(url);
  const ids: string[] = [];
  for (let i = 0; i < sims; i++) ids.push((decodeFrame(await caller.call(encodeFrame({ type: 'open', id: 1, family: 'reach', task: i }))) as { sim: string }).sim);
  const resetAll = async () => { for (const sim of ids) await caller.call(encodeFrame({ type: 'reset', id: 1, sim })); };
  const batch = encodeFrame({ type: 'step_batch', id: 1, sims: ids, actions: ndarray(new Float32Array(sims * 4).fill(0.05), [sims, 4]) });
  await resetAll();
  const latencies: number[] = [];
  let timed = 0;
  for (let i = 0; i < rounds; i++) {
    if ((i + 1) % EPISODE_STEPS === 0) await resetAll();
    const t0 = performance.now();
    await caller.call(batch);
    const dt = performance.now() - t0;
    latencies.push(dt);
    timed += dt;
  }
  caller.close();
  latencies.sort((a, b) => a - b);
  return { sims, roundTripsPerSecond: rounds / (timed / 1000), envStepsPerSecond: (rounds * sims) / (timed / 1000), p50Us: quantile(latencies, 0.5) * 1000, p99Us: quantile(latencies, 0.99) * 1000 };
}

function simAlone(steps: number): BridgeBenchResult['simAlone'] {
  const benchmark = MT1('reach', 0);
  const env = makeEnv(benchmark, benchmark.train[0]);
  const action = new Float32Array([0.1, -0.1, 0.05, 0]);
  const times: number[] = [];
  const warmup = 4000;
  for (let i = -warmup; i < steps; i++) {
    const t0 = performance.now();
    if ((i + warmup) % (EPISODE_STEPS + 1) === 0) env.reset();
    else env.step(action);
    if (i >= 0) times.push(performance.now() - t0);
  }
  env.close();
  const total = times.reduce((a, b) => a + b, 0);
  times.sort((a, b) => a - b);
  return { stepsPerSecond: steps / (total / 1000), p50Us: quantile(times, 0.5) * 1000 };
}

export async function runBridgeBench(options: { steps?: number; rounds?: number; log?: (line: string) => void } = {}): Promise<BridgeBenchResult> {
  const steps = options.steps ?? 12_000;
  const rounds = options.rounds ?? 3;
  const log = options.log ?? (() => {});
  const kinds: Array<'gateway' | 'node-echo' | 'python-echo'> = ['node-echo', 'gateway', ...(existsSync(PYTHON) ? (['python-echo'] as const) : [])];
  const servers = await Promise.all(kinds.map(startServer));
  const perKind = new Map(kinds.map((kind) => [kind, { rates: [] as number[], latencies: [] as number[] }]));
  let batch: BridgeBenchResult['batch'] | null = null;
  try {
    const url = (i: number) => `ws://127.0.0.1:${servers[i].port}${kinds[i] === 'gateway' ? '/controller' : ''}`;
    // Rounds alternate between the servers so that load from other programs on a shared machine
    // falls on all of them alike; the first round of each starts with a long warm-up (wasm tiers up).
    for (let round = 0; round < rounds; round++) {
      for (const [i, kind] of kinds.entries()) {
        log(`round ${round + 1}/${rounds}: ${kind}, ${Math.floor(steps / rounds)} round trips`);
        const result = await loop(url(i), Math.floor(steps / rounds), round === 0 ? 4000 : 500);
        perKind.get(kind)!.rates.push(result.roundTripsPerSecond);
        perKind.get(kind)!.latencies.push(...result.latencies);
      }
    }
    log('gateway: batched steps of 16 sims');
    batch = await batchLoop(url(kinds.indexOf('gateway')), 16, Math.max(200, Math.floor(steps / 10)));
  } finally {
    for (const server of servers) server.process.kill();
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  const measured = kinds.map((kind) => {
    const { rates, latencies } = perKind.get(kind)!;
    latencies.sort((a, b) => a - b);
    return { server: kind, roundTrips: latencies.length, roundTripsPerSecond: median(rates), p50Us: quantile(latencies, 0.5) * 1000, p99Us: quantile(latencies, 0.99) * 1000 };
  });
  const echo = measured.find((r) => r.server === 'node-echo')!.roundTripsPerSecond;
  const rows = measured.map((r) => ({ ...r, ratioToNodeEcho: r.roundTripsPerSecond / echo }));
  return {
    date: new Date().toISOString(), node: process.version, cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length,
    loop: `controller role, one request at a time: reset, then ${EPISODE_STEPS} steps of the reach task, repeated; Node ws client; servers in their own process; ${rounds} alternating rounds, round trips/s = median round, latencies pooled`,
    rows, batch: batch!, simAlone: simAlone(steps), ratio: rows.find((r) => r.server === 'gateway')!.ratioToNodeEcho,
  };
}

export function formatBridgeBench(result: BridgeBenchResult): string {
  const lines = [
    `gateway benchmark (${result.cpu}, ${result.cores} cores, Node ${result.node})`,
    'server          round trips/s   p50 (us)   p99 (us)   vs Node echo',
    ...result.rows.map((r) => `${r.server.padEnd(14)} ${r.roundTripsPerSecond.toFixed(0).padStart(14)} ${r.p50Us.toFixed(0).padStart(10)} ${r.p99Us.toFixed(0).padStart(10)} ${r.ratioToNodeEcho.toFixed(2).padStart(13)}`),
    '',
    `batched step, ${result.batch.sims} sims per frame: ${result.batch.roundTripsPerSecond.toFixed(0)} frames/s = ${result.batch.envStepsPerSecond.toFixed(0)} env steps/s, p50 ${result.batch.p50Us.toFixed(0)} us, p99 ${result.batch.p99Us.toFixed(0)} us`,
    `the same loop on an env in-process (no wire): ${result.simAlone.stepsPerSecond.toFixed(0)} round trips/s, p50 ${result.simAlone.p50Us.toFixed(0)} us`,
    `gateway / Node echo: ${result.ratio.toFixed(2)}`,
  ];
  return lines.join('\n');
}

if (process.argv[1] === SELF && process.argv[2] === CHILD_FLAG) {
  await runChild(process.argv[3]);
} else if (process.argv[1] === SELF) {
  const { values } = parseArgs({ options: { steps: { type: 'string' }, rounds: { type: 'string' }, out: { type: 'string' } }, strict: true });
  const rounds = values.rounds === undefined ? undefined : Number(values.rounds);
  if (rounds !== undefined && !(Number.isInteger(rounds) && rounds >= 1)) throw new Error(`--rounds must be an integer >= 1, got '${values.rounds}'`);
  const steps = values.steps === undefined ? undefined : Number(values.steps);
  if (steps !== undefined && !(Number.isInteger(steps) && steps >= 100)) throw new Error(`--steps must be an integer >= 100, got '${values.steps}'`);
  const out = values.out ?? 'bench/results/bridge.json';
  const result = await runBridgeBench({ steps, rounds, log: (line) => process.stderr.write(line + '\n') });
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
  console.log(`${formatBridgeBench(result)}\n\nwrote ${out}`);
}
