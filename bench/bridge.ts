// Gateway benchmark (the controller role on loopback), as the gateway issue asks:
//
// - one controller: step round trip p50/p99 and steps/s, the physics step included (the real
//   gateway) and excluded (the same gateway process with ManipulationEnv.prototype.step replaced,
//   in the benchmark's child process only, by a stub that checks the action like the real one and
//   answers the env's last real step result: every part of the gateway runs, the physics does not);
// - 16 concurrent controllers (16 connections, one sim each, one request at a time each):
//   aggregate steps/s and pooled p50/p99, with and without the physics;
// - in the same run, the same Node clients against a minimal Python websockets 10.4 + msgpack server
//   doing the same exchange (the step request's action decoded to a numpy array, a reply of the
//   gateway's shape built and packed per request: obs float32 [39] as an ndarray map, reward,
//   flags, the same info map), and a bare Node ws server answering pre-encoded replies (the floor
//   of client + kernel + ws);
// - the physics time measured inside the real gateway (env.step per request, a timer around it),
//   the same step loop in-process with no wire, and a step_batch of 16 sims.
//
// Every server runs in its own process; rounds alternate between the servers so that load from
// other programs falls on all alike; steps/s is the median round, latencies are pooled over rounds.
// Each loop resets its sim, then steps it 500 times (an episode), and again: resets are not timed
// as steps but their time counts in steps/s (wall time). The machine's load (loadavg, and the CPU
// time other processes used during the run) is recorded: the machine may be shared.
//
// Run: `npx tsx bench/bridge.ts [--rounds R] [--steps N] [--out FILE]`
//   --rounds R  alternating rounds per server (default 5)
//   --steps N   timed steps per round for one controller; the 16 controllers take N/4 each (default 3000)
//   --out FILE  the JSON result (default bench/results/bridge.json)
// Prints a table and writes the JSON.

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import WebSocket, { WebSocketServer } from 'ws';
import { decodeFrame, encodeFrame, ndarray } from '../protocol/ndarray.ts';
import { MT1, makeEnv } from '../sim/index.ts';

const SELF = fileURLToPath(import.meta.url);
const CHILD_FLAG = '--child';
const PYTHON = '/usr/bin/python3';
const EPISODE_STEPS = 500;
const CONCURRENT = 16;
const ACTION = new Float32Array([0.1, -0.1, 0.05, 0]);

type ServerKind = 'gateway' | 'gateway-no-physics' | 'python' | 'node-echo';
const SERVER_NOTES: Record<ServerKind, string> = {
  gateway: 'the gateway (startGateway), physics included',
  'gateway-no-physics': 'the same gateway, env.step stubbed in the bench child (action checked, last real result answered): physics excluded',
  python: 'minimal Python websockets 10.4 + msgpack server: decodes the request (action to numpy), packs a reply of the gateway step shape per request',
  'node-echo': 'bare Node ws server: decodes the request, answers a pre-encoded gateway reply (client + kernel + ws floor)',
};

export interface LoopStats {
  /** Timed steps over all rounds. */
  steps: number;
  /** Median over rounds of steps / wall time (resets included in the wall time). */
  stepsPerSecond: number;
  /** Every round's steps/s. */
  roundStepsPerSecond: number[];
  /** Step round trips pooled over rounds (microseconds). */
  p50Us: number;
  p99Us: number;
  maxUs: number;
}

export interface BridgeBenchRow {
  server: ServerKind;
  what: string;
  /** Bytes of the step reply this server sends. */
  stepReplyBytes: number;
  one: LoopStats;
  concurrent: LoopStats;
}

export interface BridgeBenchResult {
  date: string;
  node: string;
  python: string | null;
  cpu: string;
  cores: number;
  rounds: number;
  loop: string;
  rows: BridgeBenchRow[];
  /** env.step timed inside the real gateway process, over every step it served (1 and 16 controllers). */
  serverEnvStep: { steps: number; meanUs: number; p50Us: number; p99Us: number } | null;
  /** The same reset + 500 steps loop on an env in this process, no wire. */
  simAlone: { stepsPerSecond: number; p50Us: number; p99Us: number };
  batch: { sims: number; framesPerSecond: number; envStepsPerSecond: number; p50Us: number; p99Us: number };
  /** Gateway steps/s over the Python server's, each case. */
  ratios: { oneWithPhysics: number; oneWithoutPhysics: number; concurrentWithPhysics: number; concurrentWithoutPhysics: number } | null;
  targets: { oneP99UsMax: number; oneP99Met: boolean; oneP99WithoutPhysicsMet: boolean; ratioMin: number };
  load: MachineLoad;
}

export interface MachineLoad {
  loadavgBefore: number[];
  loadavgAfter: number[];
  seconds: number;
  /** Cores busy over the run, every process (from /proc/stat). */
  busyCores: number;
  /** Of which this benchmark's processes (client and servers). */
  benchCores: number;
  /** The rest: other programs on the machine. */
  otherCores: number;
  /** Hypervisor steal over the run, in cores. */
  stealCores: number;
}

// ---------------------------------------------------------------------------------------------
// Frames.

function requests(sim: string): { reset: Uint8Array; step: Uint8Array } {
  return {
    reset: encodeFrame({ type: 'reset', id: 1, sim }),
    step: encodeFrame({ type: 'step', id: 1, sim, action: ndarray(ACTION) }),
  };
}

/** A real reset and step of the reach task: what the gateway answers, for the baselines to answer alike. */
function realStep() {
  const benchmark = MT1('reach', 0);
  const env = makeEnv(benchmark, benchmark.train[0]);
  const reset = env.reset();
  const step = env.step(ACTION);
  env.close();
  return { reset, step };
}

function cannedReplies(): { reset: Uint8Array; step: Uint8Array } {
  const { reset, step } = realStep();
  return {
    reset: encodeFrame({ type: 'reset', id: 1, sim: 's1', obs: ndarray(reset.obs), info: reset.info }),
    step: encodeFrame({ type: 'step', id: 1, sim: 's1', obs: ndarray(step.obs), reward: step.reward, terminated: false, truncated: false, info: step.info }),
  };
}

// ---------------------------------------------------------------------------------------------
// Servers, each in its own process.

/** Child process: one server; prints its port on stdout, answers 'stats' over IPC. */
async function runChild(kind: string): Promise<void> {
  if (kind === 'gateway' || kind === 'gateway-no-physics') {
    const { ManipulationEnv, checkAction } = await import('../sim/index.ts');
    const realStepFn = ManipulationEnv.prototype.step;
    const times: number[] = [];
    if (kind === 'gateway') {
      ManipulationEnv.prototype.step = function timedStep(this: InstanceType<typeof ManipulationEnv>, action) {
        const t0 = performance.now();
        try {
          return realStepFn.call(this, action);
        } finally {
          times.push(performance.now() - t0);
        }
      };
    } else {
      const last = new WeakMap<object, ReturnType<typeof realStepFn>>();
      ManipulationEnv.prototype.step = function stubStep(this: InstanceType<typeof ManipulationEnv>, action) {
        const previous = last.get(this);
        if (previous === undefined) {
          const result = realStepFn.call(this, action);
          last.set(this, result);
          return result;
        }
        checkAction(action);
        return previous;
      };
    }
    process.on('message', (message) => {
      if (message !== 'stats') return;
      const sorted = Float64Array.from(times).sort();
      const mean = times.reduce((a, b) => a + b, 0) / Math.max(1, times.length);
      process.send!({ steps: times.length, meanUs: mean * 1000, p50Us: quantile(sorted, 0.5) * 1000, p99Us: quantile(sorted, 0.99) * 1000 });
    });
    const { startGateway } = await import('../bridge/server.ts');
    const gateway = await startGateway({ port: 0 });
    process.stdout.write(`${gateway.port}\n`);
    return;
  }
  const replies = cannedReplies();
  const server = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false, maxPayload: 1 << 20 });
  let sims = 0;
  server.on('connection', (socket) => {
    socket.send(encodeFrame({ type: 'hello' }));
    socket.on('message', (data) => {
      const request = decodeFrame(data as Buffer) as { type: string };
      if (request.type === 'open') socket.send(encodeFrame({ type: 'open', id: 1, sim: `s${++sims}` }));
      else socket.send(request.type === 'reset' ? replies.reset : replies.step);
    });
  });
  server.on('listening', () => process.stdout.write(`${(server.address() as { port: number }).port}\n`));
}

const PYTHON_SERVER = `
import asyncio, json, sys, msgpack, numpy as np, websockets
obs_reset = np.frombuffer(bytes.fromhex(sys.argv[1]), dtype=np.float32)
obs_step = np.frombuffer(bytes.fromhex(sys.argv[2]), dtype=np.float32)
info_reset, info_step, reward = json.loads(sys.argv[3]), json.loads(sys.argv[4]), float(sys.argv[5])

def nd(a):
    a = np.ascontiguousarray(a)
    return {b"__ndarray__": True, b"data": a.tobytes(), b"dtype": a.dtype.str, b"shape": list(a.shape)}

def un_nd(m):
    if b"__ndarray__" in m:
        return np.frombuffer(m[b"data"], dtype=np.dtype(m[b"dtype"])).reshape(m[b"shape"])
    return m

sims = 0
async def handle(ws, path=None):
    global sims
    await ws.send(msgpack.packb({"type": "hello"}))
    async for frame in ws:
        r = msgpack.unpackb(frame, raw=False, strict_map_key=False, object_hook=un_nd)
        kind = r["type"]
        if kind == "step":
            action = np.asarray(r["action"], dtype=np.float32)
            reply = {"type": "step", "id": r.get("id"), "sim": r["sim"], "obs": nd(obs_step), "reward": reward, "terminated": False, "truncated": False, "info": info_step}
        elif kind == "reset":
            reply = {"type": "reset", "id": r.get("id"), "sim": r["sim"], "obs": nd(obs_reset), "info": info_reset}
        else:
            sims += 1
            reply = {"type": "open", "id": r.get("id"), "sim": "s%d" % sims}
        await ws.send(msgpack.packb(reply, use_bin_type=True))

async def main():
    async with websockets.serve(handle, "127.0.0.1", 0, compression=None, max_size=1 << 20) as server:
        print(server.sockets[0].getsockname()[1], flush=True)
        await asyncio.Future()
asyncio.run(main())
`;

interface Server {
  kind: ServerKind;
  port: number;
  process: ChildProcess;
}

async function startServer(kind: ServerKind): Promise<Server> {
  let child: ChildProcess;
  if (kind === 'python') {
    const { reset, step } = realStep();
    const hex = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('hex');
    child = spawn(PYTHON, ['-c', PYTHON_SERVER, hex(reset.obs), hex(step.obs), JSON.stringify(reset.info), JSON.stringify(step.info), String(step.reward)], { stdio: ['ignore', 'pipe', 'inherit'] });
  } else {
    child = spawn(process.execPath, ['--import', 'tsx', SELF, CHILD_FLAG, kind], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  }
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.once('data', (data: Buffer) => resolve(Number(data.toString().trim())));
    child.once('exit', (code) => reject(new Error(`${kind} server exited with ${code} before listening`)));
  });
  return { kind, port, process: child };
}

const urlOf = (server: Server) => `ws://127.0.0.1:${server.port}${server.kind.startsWith('gateway') ? '/controller' : ''}`;

// ---------------------------------------------------------------------------------------------
// Clients.

/** One request at a time: send, wait for the reply, next. */
class Caller {
  private resolveReply: ((data: Buffer) => void) | null = null;
  private constructor(private readonly socket: WebSocket) {
    socket.on('message', (data) => {
      const resolve = this.resolveReply;
      this.resolveReply = null;
      resolve?.(data as Buffer);
    });
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

function quantile(sorted: ArrayLike<number>, q: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

function check(url: string, reply: Buffer, type: string): void {
  const message = decodeFrame(reply) as { type: string; message?: string };
  if (message.type !== type) throw new Error(`${url}: expected a '${type}' reply, got ${message.type}: ${message.message ?? ''}`);
}

/** One controller: opens a sim, then warm-up + `steps` timed steps, a reset before every episode. */
async function controller(url: string, steps: number, warmup: number, latencies: number[]): Promise<{ seconds: number; replyBytes: number }> {
  const caller = await Caller.connect(url);
  const opened = decodeFrame(await caller.call(encodeFrame({ type: 'open', id: 1, family: 'reach' }))) as { sim: string };
  const frames = requests(opened.sim);
  let replyBytes = 0;
  let started = 0;
  let inEpisode = EPISODE_STEPS;
  for (let i = -warmup; i < steps; i++) {
    if (i === 0) started = performance.now();
    if (inEpisode === EPISODE_STEPS) {
      check(url, await caller.call(frames.reset), 'reset');
      inEpisode = 0;
    }
    const t0 = performance.now();
    const reply = await caller.call(frames.step);
    const dt = performance.now() - t0;
    inEpisode++;
    if (i >= 0) latencies.push(dt);
    // Replies are checked in the warm-up and at the end only: decoding each would time the client.
    if (i === -warmup || i === steps - 1) {
      check(url, reply, 'step');
      replyBytes = reply.byteLength;
    }
  }
  const seconds = (performance.now() - started) / 1000;
  caller.close();
  return { seconds, replyBytes };
}

/** `clients` controllers at once; steps/s = all their timed steps / the wall time until the last one is done. */
async function concurrentRound(url: string, clients: number, steps: number, warmup: number, latencies: number[]): Promise<{ stepsPerSecond: number; replyBytes: number }> {
  // Connect and warm up all first, then time them together.
  const callers = await Promise.all(Array.from({ length: clients }, () => Caller.connect(url)));
  const sims = await Promise.all(callers.map(async (caller) => (decodeFrame(await caller.call(encodeFrame({ type: 'open', id: 1, family: 'reach' }))) as { sim: string }).sim));
  let replyBytes = 0;
  const run = async (caller: Caller, sim: string, count: number, timed: boolean) => {
    const frames = requests(sim);
    check(url, await caller.call(frames.reset), 'reset');
    for (let i = 0, inEpisode = 0; i < count; i++, inEpisode++) {
      if (inEpisode === EPISODE_STEPS) {
        check(url, await caller.call(frames.reset), 'reset');
        inEpisode = 0;
      }
      const t0 = performance.now();
      const reply = await caller.call(frames.step);
      if (timed) latencies.push(performance.now() - t0);
      if (i === count - 1) {
        check(url, reply, 'step');
        replyBytes = reply.byteLength;
      }
    }
  };
  await Promise.all(callers.map((caller, i) => run(caller, sims[i], warmup, false)));
  const t0 = performance.now();
  await Promise.all(callers.map((caller, i) => run(caller, sims[i], steps, true)));
  const seconds = (performance.now() - t0) / 1000;
  for (const caller of callers) caller.close();
  return { stepsPerSecond: (clients * steps) / seconds, replyBytes };
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
    const reply = await caller.call(batch);
    const dt = performance.now() - t0;
    if (i === 0) check(url, reply, 'step_batch');
    latencies.push(dt);
    timed += dt;
  }
  caller.close();
  latencies.sort((a, b) => a - b);
  return { sims, framesPerSecond: rounds / (timed / 1000), envStepsPerSecond: (rounds * sims) / (timed / 1000), p50Us: quantile(latencies, 0.5) * 1000, p99Us: quantile(latencies, 0.99) * 1000 };
}

function simAlone(steps: number): BridgeBenchResult['simAlone'] {
  const benchmark = MT1('reach', 0);
  const env = makeEnv(benchmark, benchmark.train[0]);
  const times: number[] = [];
  const warmup = 4000;
  let started = 0;
  for (let i = -warmup, inEpisode = EPISODE_STEPS; i < steps; i++, inEpisode++) {
    if (i === 0) started = performance.now();
    if (inEpisode === EPISODE_STEPS) {
      env.reset();
      inEpisode = 0;
    }
    const t0 = performance.now();
    env.step(ACTION);
    if (i >= 0) times.push(performance.now() - t0);
  }
  const seconds = (performance.now() - started) / 1000;
  env.close();
  times.sort((a, b) => a - b);
  return { stepsPerSecond: steps / seconds, p50Us: quantile(times, 0.5) * 1000, p99Us: quantile(times, 0.99) * 1000 };
}

// ---------------------------------------------------------------------------------------------
// Machine load.

function cpuTicks(): { busy: number; steal: number } {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, , , irq, softirq, steal] = fields;
  return { busy: user + nice + system + irq + softirq, steal };
}

/** utime + stime of a process and its waited-for children (clock ticks). */
function processTicks(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
    // fields[0] is field 3 (state): utime is field 14, stime 15, cutime 16, cstime 17.
    return fields[11] + fields[12] + fields[13] + fields[14];
  } catch {
    return 0;
  }
}

const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

// ---------------------------------------------------------------------------------------------

export async function runBridgeBench(options: { steps?: number; rounds?: number; log?: (line: string) => void } = {}): Promise<BridgeBenchResult> {
  const steps = options.steps ?? 3000;
  const rounds = options.rounds ?? 5;
  const concurrentSteps = Math.max(100, Math.floor(steps / 4));
  const log = options.log ?? (() => {});
  const hasPython = existsSync(PYTHON);
  const python = hasPython ? execFileSync(PYTHON, ['-c', 'import sys, websockets, msgpack, numpy; print(sys.version.split()[0], "websockets", websockets.__version__, "msgpack", ".".join(map(str, msgpack.version)), "numpy", numpy.__version__)']).toString().trim() : null;
  const kinds: ServerKind[] = ['gateway', 'gateway-no-physics', ...(hasPython ? (['python'] as const) : []), 'node-echo'];

  const loadBefore = loadavg();
  const ticksBefore = cpuTicks();
  const selfBefore = processTicks(process.pid);
  const wallStart = performance.now();

  const servers = await Promise.all(kinds.map(startServer));
  const stats = new Map(kinds.map((kind) => [kind, {
    one: { rates: [] as number[], latencies: [] as number[] },
    concurrent: { rates: [] as number[], latencies: [] as number[] },
    replyBytes: 0,
  }]));
  let batch: BridgeBenchResult['batch'];
  let serverEnvStep: BridgeBenchResult['serverEnvStep'] = null;
  let serverTicks = 0;
  try {
    // Rounds alternate between the servers; the first round of each has a long warm-up (wasm and JIT tier up).
    for (let round = 0; round < rounds; round++) {
      for (const server of servers) {
        const s = stats.get(server.kind)!;
        log(`round ${round + 1}/${rounds}: ${server.kind}: 1 controller x ${steps} steps, ${CONCURRENT} controllers x ${concurrentSteps} steps`);
        const one = await controller(urlOf(server), steps, round === 0 ? 3000 : 300, s.one.latencies);
        s.one.rates.push(steps / one.seconds);
        s.replyBytes = one.replyBytes;
        const many = await concurrentRound(urlOf(server), CONCURRENT, concurrentSteps, round === 0 ? 200 : 30, s.concurrent.latencies);
        s.concurrent.rates.push(many.stepsPerSecond);
      }
    }
    log(`gateway: step_batch of ${CONCURRENT} sims`);
    batch = await batchLoop(urlOf(servers[0]), CONCURRENT, Math.max(200, Math.floor(steps / 5)));
    const gateway = servers[0].process;
    serverEnvStep = await new Promise((resolve) => {
      gateway.once('message', (message) => resolve(message as BridgeBenchResult['serverEnvStep']));
      gateway.send('stats');
    });
  } finally {
    for (const server of servers) serverTicks += processTicks(server.process.pid);
    for (const server of servers) server.process.kill();
  }
  const seconds = (performance.now() - wallStart) / 1000;
  const ticksAfter = cpuTicks();
  const benchTicks = processTicks(process.pid) - selfBefore + serverTicks;
  const busy = ticksAfter.busy - ticksBefore.busy;
  const cores = (ticks: number) => ticks / CLOCK_TICKS / seconds;
  const load: MachineLoad = {
    loadavgBefore: loadBefore, loadavgAfter: loadavg(), seconds,
    busyCores: cores(busy), benchCores: cores(benchTicks), otherCores: Math.max(0, cores(busy - benchTicks)), stealCores: cores(ticksAfter.steal - ticksBefore.steal),
  };

  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  const summarise = ({ rates, latencies }: { rates: number[]; latencies: number[] }): LoopStats => {
    const sorted = Float64Array.from(latencies).sort();
    return { steps: sorted.length, stepsPerSecond: median(rates), roundStepsPerSecond: rates, p50Us: quantile(sorted, 0.5) * 1000, p99Us: quantile(sorted, 0.99) * 1000, maxUs: sorted[sorted.length - 1] * 1000 };
  };
  const rows: BridgeBenchRow[] = kinds.map((kind) => {
    const s = stats.get(kind)!;
    return { server: kind, what: SERVER_NOTES[kind], stepReplyBytes: s.replyBytes, one: summarise(s.one), concurrent: summarise(s.concurrent) };
  });
  const row = (kind: ServerKind) => rows.find((r) => r.server === kind)!;
  const ratios = hasPython ? {
    oneWithPhysics: row('gateway').one.stepsPerSecond / row('python').one.stepsPerSecond,
    oneWithoutPhysics: row('gateway-no-physics').one.stepsPerSecond / row('python').one.stepsPerSecond,
    concurrentWithPhysics: row('gateway').concurrent.stepsPerSecond / row('python').concurrent.stepsPerSecond,
    concurrentWithoutPhysics: row('gateway-no-physics').concurrent.stepsPerSecond / row('python').concurrent.stepsPerSecond,
  } : null;
  return {
    date: new Date().toISOString(), node: process.version, python, cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, rounds,
    loop: `controller role on loopback, Node ws clients, one request at a time per connection: reset, then ${EPISODE_STEPS} steps of the reach task (39 floats out, 4 in), repeated; 1 controller x ${steps} timed steps and ${CONCURRENT} concurrent controllers x ${concurrentSteps} per round; servers in their own process; ${rounds} alternating rounds; steps/s = median round (resets in the wall time), latencies pooled over rounds`,
    rows, serverEnvStep, simAlone: simAlone(steps * 2), batch: batch!, ratios,
    targets: { oneP99UsMax: 1000, oneP99Met: row('gateway').one.p99Us <= 1000, oneP99WithoutPhysicsMet: row('gateway-no-physics').one.p99Us <= 1000, ratioMin: 3 },
    load,
  };
}

export function formatBridgeBench(result: BridgeBenchResult): string {
  const f = (n: number, width: number, digits = 0) => n.toFixed(digits).padStart(width);
  const { load } = result;
  const lines = [
    `gateway benchmark (${result.cpu}, ${result.cores} cores, Node ${result.node}${result.python ? `, Python ${result.python}` : ''}), ${result.rounds} rounds`,
    `machine load: loadavg ${load.loadavgBefore.map((l) => l.toFixed(2)).join(' ')} before, ${load.loadavgAfter.map((l) => l.toFixed(2)).join(' ')} after; over the ${load.seconds.toFixed(0)} s run ${load.busyCores.toFixed(2)} cores busy: this bench ${load.benchCores.toFixed(2)}, other programs ${load.otherCores.toFixed(2)}, steal ${load.stealCores.toFixed(2)}`,
    '',
    '                      |     1 controller: step round trip     | 16 controllers: aggregate, pooled',
    'server                | reply B |  steps/s | p50 us | p99 us |  steps/s | p50 us | p99 us',
    ...result.rows.map((r) => `${r.server.padEnd(21)} | ${f(r.stepReplyBytes, 7)} | ${f(r.one.stepsPerSecond, 8)} | ${f(r.one.p50Us, 6)} | ${f(r.one.p99Us, 6)} | ${f(r.concurrent.stepsPerSecond, 8)} | ${f(r.concurrent.p50Us, 6)} | ${f(r.concurrent.p99Us, 6)}`),
    '',
    ...result.rows.map((r) => `  ${r.server}: ${r.what}`),
    '',
  ];
  if (result.serverEnvStep) lines.push(`physics inside the gateway (env.step, timed in the server, ${result.serverEnvStep.steps} steps): mean ${f(result.serverEnvStep.meanUs, 0)} us, p50 ${f(result.serverEnvStep.p50Us, 0)} us, p99 ${f(result.serverEnvStep.p99Us, 0)} us`);
  lines.push(`the same loop in-process, no wire: ${f(result.simAlone.stepsPerSecond, 0)} steps/s, p50 ${f(result.simAlone.p50Us, 0)} us, p99 ${f(result.simAlone.p99Us, 0)} us`);
  lines.push(`step_batch of ${result.batch.sims} sims on one connection: ${f(result.batch.framesPerSecond, 0)} frames/s = ${f(result.batch.envStepsPerSecond, 0)} env steps/s, p50 ${f(result.batch.p50Us, 0)} us, p99 ${f(result.batch.p99Us, 0)} us`);
  lines.push('');
  const t = result.targets;
  const gateway = result.rows.find((r) => r.server === 'gateway')!;
  const noPhysics = result.rows.find((r) => r.server === 'gateway-no-physics')!;
  lines.push(`target p99 <= ${t.oneP99UsMax} us, 1 controller: ${f(gateway.one.p99Us, 0)} us with physics (${t.oneP99Met ? 'met' : 'NOT met'}), ${f(noPhysics.one.p99Us, 0)} us without (${t.oneP99WithoutPhysicsMet ? 'met' : 'NOT met'})`);
  if (result.ratios) {
    const r = result.ratios;
    const mark = (x: number) => `${x.toFixed(2)}x${x >= t.ratioMin ? '' : ' (below)'}`;
    lines.push(`target >= ${t.ratioMin}x the Python server's steps/s: 1 controller ${mark(r.oneWithPhysics)} with physics, ${mark(r.oneWithoutPhysics)} without; ${CONCURRENT} controllers ${mark(r.concurrentWithPhysics)} with physics, ${mark(r.concurrentWithoutPhysics)} without`);
  } else {
    lines.push(`no Python baseline: ${PYTHON} is missing`);
  }
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
