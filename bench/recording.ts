// Recording benchmark (not a test), as the recordings issue asks:
//
// 1. Size. The episodes `npm start` records (scenarios/default.yaml's first sim: the shipped RL2
//    policy on held-out ML1:reach goals, its task schedule) and an ML10 sim switching families every
//    episode (each family's expert), each recorded at once by two Recorders on the same hub: one
//    writing uncompressed chunks (what the gateway wrote before) and one writing zstd chunks (now).
//    Bytes per episode, the ratio, and MB per hour of a real-time sim (80 steps/s).
// 2. Keep-up. 64 controllers on one gateway (in a child process, as a real one runs), each stepping
//    its own sim as fast as its replies come, a reset at every episode's end (a quarter of them on
//    ML10, resetting onto a task of another family every 100 steps), every episode recorded. The
//    recorder's backlog is sampled every 250 ms: frames seen vs written, writes waiting, episodes
//    stopped for backlog. After the run every file is read back and its steps counted against the
//    steps the controllers took. The same load without recording gives the cost.
//
// Run: npx tsx bench/recording.ts [--episodes N] [--seconds S] [--controllers C] [--rounds R] [--out FILE] [--json]
//   --episodes N     episodes of the npm start sim to record (default 4; ML10: one per family)
//   --seconds S      length of each keep-up round (default 20)
//   --controllers C  concurrent controllers (default 64)
//   --rounds R       keep-up rounds, each without and with recording, alternating (default 2)
//   --out FILE       the JSON result (default bench/results/recording.json)
// Prints a table and writes the JSON.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { decodeFrame, encodeFrame, ndarray } from '../protocol/ndarray.ts';
import { Recorder, listRecordings, readRecording, type RecorderStats, type RecordingCompression } from '../bridge/recorder.ts';
import { SimHub, expertDriver, simBenchmark, type Driver, type TaskSchedule } from '../bridge/sims.ts';
import { loadScenarioOfKind } from '../scenarios/scenario.ts';

const SELF = fileURLToPath(import.meta.url);
const CHILD_FLAG = '--child';
const EPISODE_STEPS = 500;
const REAL_TIME_EPISODES_PER_HOUR = 3600 / (EPISODE_STEPS / 80);
const MB = 1024 * 1024;
const ML10_TRAIN_TASKS_PER_FAMILY = 50;
const ML10_FAMILIES = 10;
const ML10_EPISODE_STEPS = 100;

export interface EpisodeSize { name: string; family: string; uncompressedBytes: number; zstdBytes: number; ratio: number }

export interface SizeResult {
  what: string;
  episodes: EpisodeSize[];
  meanUncompressedBytes: number;
  meanZstdBytes: number;
  /** zstd bytes / uncompressed bytes over all the episodes. */
  ratio: number;
  uncompressedMbPerHour: number;
  zstdMbPerHour: number;
}

export interface KeepUpRound {
  recording: boolean;
  controllers: number;
  seconds: number;
  /** Frames the controllers produced: steps plus resets (each is one recorded frame). */
  clientFrames: number;
  steps: number;
  stepsPerSecond: number;
  /** Episodes started (files expected). */
  episodes: number;
  /** Gateway process CPU over the round, in cores. */
  gatewayCores: number;
  final: RecorderStats | null;
  /** framesSeen - framesWritten and pendingWrites, sampled every 250 ms. */
  samples: Array<{ t: number; lag: number; pendingWrites: number }>;
  maxLag: number;
  firstQuarterMeanLag: number;
  lastQuarterMeanLag: number;
  /** Read back after the run: files, and the steps (frames) they hold. */
  files: number;
  filesComplete: number;
  recordedFrames: number;
  bytesOnDisk: number;
  keptUp: boolean | null;
}

export interface RecordingBenchResult {
  date: string;
  node: string;
  cpu: string;
  cores: number;
  loadavgBefore: number[];
  loadavgAfter: number[];
  sizes: SizeResult[];
  keepUp: KeepUpRound[];
}

// ---------------------------------------------------------------------------------------------
// 1. Size: two recorders on the same frames.

async function recordBoth(what: string, open: () => { hub: SimHub; id: string; driver: Driver; schedule: TaskSchedule }, episodes: number): Promise<SizeResult> {
  const root = mkdtempSync(join(tmpdir(), 'metamanip-bench-rec-'));
  try {
    const { hub, id, driver, schedule } = open();
    const recorders = (['none', 'zstd'] as RecordingCompression[]).map((compression) => {
      const recorder = new Recorder({ dir: join(root, compression), compression });
      recorder.attach(hub);
      return recorder;
    });
    let ended = 0;
    const done = new Promise<void>((resolve) => hub.on('episodeEnd', (info) => { if (info.id === id && ++ended === episodes) resolve(); }));
    // As fast as timers go: the frames, not the rate, make the files.
    const stop = hub.drive(id, driver, { rateHz: 100_000, schedule, onError: (error) => { throw error; } });
    await done;
    stop();
    hub.closeAll();
    for (const recorder of recorders) await recorder.close();
    // The two recorders stamp their own start times: pair the files by sim, family and episode.
    const key = (name: string) => name.replace(/^[^-]+-/, '');
    const plain = await listRecordings(join(root, 'none'));
    const zstd = new Map((await listRecordings(join(root, 'zstd'))).map((entry) => [key(entry.name), entry.bytes]));
    // Complete episodes only (closing the sim may have started one more).
    const rows: EpisodeSize[] = plain.slice(0, episodes).map((entry) => {
      const zstdBytes = zstd.get(key(entry.name));
      if (zstdBytes === undefined) throw new Error(`${entry.name} was recorded uncompressed but not with zstd`);
      return { name: entry.name, family: /-s\d+-([a-z-]+)-ep\d+/.exec(entry.name)?.[1] ?? '', uncompressedBytes: entry.bytes, zstdBytes, ratio: zstdBytes / entry.bytes };
    });
    const sum = (f: (r: EpisodeSize) => number) => rows.reduce((s, r) => s + f(r), 0);
    const meanUncompressedBytes = sum((r) => r.uncompressedBytes) / rows.length;
    const meanZstdBytes = sum((r) => r.zstdBytes) / rows.length;
    return {
      what, episodes: rows, meanUncompressedBytes, meanZstdBytes, ratio: sum((r) => r.zstdBytes) / sum((r) => r.uncompressedBytes),
      uncompressedMbPerHour: (meanUncompressedBytes * REAL_TIME_EPISODES_PER_HOUR) / MB, zstdMbPerHour: (meanZstdBytes * REAL_TIME_EPISODES_PER_HOUR) / MB,
    };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

async function npmStartSizes(episodes: number): Promise<SizeResult> {
  const scenario = loadScenarioOfKind('scenarios/default.yaml', 'serve');
  const sim = scenario.sims[0];
  const { loadPolicies, policyDriver } = await import('../scenarios/serve.ts');
  const policies = await loadPolicies([sim.policy].filter((p) => p !== 'expert'), undefined, () => undefined);
  const driver = sim.policy === 'expert' ? expertDriver() : policyDriver(policies.get(sim.policy)!);
  return recordBoth(`npm start (scenarios/default.yaml: ${sim.benchmark ?? sim.family} ${sim.split}, driven by ${driver.name})`, () => {
    const hub = new SimHub();
    const info = hub.open({ ...simBenchmark(sim), split: sim.split, task: sim.tasks[0], policy: driver.name });
    return { hub, id: info.id, driver, schedule: { tasks: sim.tasks, episodesPerTask: sim.episodesPerTask } };
  }, episodes);
}

async function ml10Sizes(): Promise<SizeResult> {
  return recordBoth('ML10 train, one episode per family (each family\'s expert), one sim switching families', () => {
    const hub = new SimHub();
    const info = hub.open({ ...simBenchmark({ benchmark: 'ML10', seed: 0 }), split: 'train', task: 0, policy: 'expert' });
    const tasks = Array.from({ length: ML10_FAMILIES }, (_, family) => family * ML10_TRAIN_TASKS_PER_FAMILY);
    return { hub, id: info.id, driver: expertDriver(), schedule: { tasks, episodesPerTask: 1 } };
  }, ML10_FAMILIES);
}

// ---------------------------------------------------------------------------------------------
// 2. Keep-up: the gateway in a child process, 64 controllers here.

type ChildRequest = { type: 'stats' } | { type: 'close' };
type ChildReply = { type: 'stats'; stats: RecorderStats | null; cpuMs: number };

/** The child: a gateway recording into argv's folder (or not, for '-'), answering stats requests over IPC. */
async function runChild(recordDir: string): Promise<void> {
  const { startGateway } = await import('../bridge/server.ts');
  const gateway = await startGateway({ port: 0, recordDir: recordDir === '-' ? undefined : recordDir, maxSims: 1024, log: (line) => process.stderr.write(`gateway: ${line}\n`) });
  const cpu = () => { const usage = process.cpuUsage(); return (usage.user + usage.system) / 1000; };
  process.on('message', (message: ChildRequest) => {
    void (async () => {
      if (message.type === 'close') await gateway.close();
      process.send!({ type: 'stats', stats: gateway.recorder?.stats() ?? null, cpuMs: cpu() } satisfies ChildReply);
      if (message.type === 'close') process.disconnect();
    })();
  });
  process.stdout.write(`${gateway.port}\n`);
}

class GatewayChild {
  private readonly waiting: Array<(reply: ChildReply) => void> = [];
  private constructor(readonly process: ChildProcess, readonly port: number) {
    process.on('message', (reply: ChildReply) => this.waiting.shift()?.(reply));
  }

  static async start(recordDir: string | null): Promise<GatewayChild> {
    const child = spawn(process.execPath, ['--import', 'tsx', SELF, CHILD_FLAG, recordDir ?? '-'], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
    const port = await new Promise<number>((resolve, reject) => {
      child.stdout!.once('data', (data: Buffer) => resolve(Number(data.toString().trim())));
      child.once('exit', (code) => reject(new Error(`the gateway child exited with ${code} before listening`)));
    });
    return new GatewayChild(child, port);
  }

  ask(request: ChildRequest): Promise<ChildReply> {
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      this.process.send(request);
    });
  }
}

/** One request at a time on one connection. */
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
    const socket = new WebSocket(url, ['metamanip.v1'], { perMessageDeflate: false });
    const caller = new Caller(socket);
    await new Promise<Buffer>((resolve, reject) => {
      caller.resolveReply = resolve; // the hello
      socket.once('error', reject);
    });
    return caller;
  }

  async call(message: object, type: string): Promise<Record<string, unknown>> {
    const reply = decodeFrame(await new Promise<Buffer>((resolve) => {
      this.resolveReply = resolve;
      this.socket.send(encodeFrame(message));
    })) as Record<string, unknown>;
    if (reply.type !== type) throw new Error(`expected a '${type}' reply, got ${String(reply.type)}: ${String(reply.message ?? '')}`);
    return reply;
  }

  /** Sends a pre-encoded frame; the reply is not decoded (the steps' replies are not the benchmark). */
  send(frame: Uint8Array): Promise<Buffer> {
    return new Promise((resolve) => {
      this.resolveReply = resolve;
      this.socket.send(frame);
    });
  }

  close(): void { this.socket.close(1000); }
}

interface ControllerCount { frames: number; steps: number; episodes: number }

/**
 * A controller stepping its sim until `stop()` says so. ML10 ones reset onto another family's task
 * every 100 steps (a reset mid-episode ends the file too), so files start and end all the time.
 */
async function controller(url: string, index: number, multiFamily: boolean, stop: () => boolean): Promise<ControllerCount> {
  const caller = await Caller.connect(url);
  const open = multiFamily ? { benchmark: 'ML10' } : { family: 'reach' };
  const { sim } = (await caller.call({ type: 'open', id: 1, ...open }, 'open')) as { sim: string };
  const action = ndarray(Float32Array.from([0.3 * Math.sin(index), -0.2, 0.1 * Math.cos(index), index % 2 ? 1 : -1]));
  const step = encodeFrame({ type: 'step', sim, action });
  const count: ControllerCount = { frames: 0, steps: 0, episodes: 0 };
  while (!stop()) {
    const task = multiFamily ? ((count.episodes % ML10_FAMILIES) * ML10_TRAIN_TASKS_PER_FAMILY + index) % (ML10_FAMILIES * ML10_TRAIN_TASKS_PER_FAMILY) : undefined;
    await caller.call({ type: 'reset', id: 2, sim, ...(task === undefined ? {} : { task }) }, 'reset');
    count.frames++;
    count.episodes++;
    for (let t = 0; t < (multiFamily ? ML10_EPISODE_STEPS : EPISODE_STEPS) && !stop(); t++) {
      await caller.send(step);
      count.frames++;
      count.steps++;
    }
  }
  await caller.call({ type: 'close', id: 3, sim }, 'close');
  caller.close();
  return count;
}

const mean = (values: number[]) => (values.length ? values.reduce((a, b) => a + b, 0) / values.length : 0);

async function keepUpRound(recording: boolean, controllers: number, seconds: number, log: (line: string) => void): Promise<KeepUpRound> {
  const dir = recording ? mkdtempSync(join(tmpdir(), 'metamanip-bench-keepup-')) : null;
  const gateway = await GatewayChild.start(dir);
  try {
    const url = `ws://127.0.0.1:${gateway.port}/controller`;
    let stopped = false;
    const startCpu = (await gateway.ask({ type: 'stats' })).cpuMs;
    const started = performance.now();
    const samples: KeepUpRound['samples'] = [];
    const sampler = setInterval(() => {
      void gateway.ask({ type: 'stats' }).then(({ stats }) => {
        if (stats) samples.push({ t: (performance.now() - started) / 1000, lag: stats.framesSeen - stats.framesWritten, pendingWrites: stats.pendingWrites });
      });
    }, 250);
    const timer = setTimeout(() => { stopped = true; }, seconds * 1000);
    // A quarter on ML10, switching families each episode.
    const counts = await Promise.all(Array.from({ length: controllers }, (_, i) => controller(url, i, i % 4 === 0, () => stopped)));
    const elapsed = (performance.now() - started) / 1000;
    clearTimeout(timer);
    clearInterval(sampler);
    const endCpu = (await gateway.ask({ type: 'stats' })).cpuMs;
    const { stats: final } = await gateway.ask({ type: 'close' });
    const total = (f: (c: ControllerCount) => number) => counts.reduce((s, c) => s + f(c), 0);
    const steps = total((c) => c.steps);
    const quarter = Math.max(1, Math.floor(samples.length / 4));
    const round: KeepUpRound = {
      recording, controllers, seconds: elapsed, clientFrames: total((c) => c.frames), steps, stepsPerSecond: steps / elapsed,
      episodes: total((c) => c.episodes), gatewayCores: (endCpu - startCpu) / 1000 / elapsed, final, samples,
      maxLag: Math.max(0, ...samples.map((s) => s.lag)),
      firstQuarterMeanLag: mean(samples.slice(0, quarter).map((s) => s.lag)),
      lastQuarterMeanLag: mean(samples.slice(-quarter).map((s) => s.lag)),
      files: 0, filesComplete: 0, recordedFrames: 0, bytesOnDisk: 0, keptUp: null,
    };
    if (dir) {
      log(`reading back the recordings of ${round.episodes} episodes...`);
      for (const entry of await listRecordings(dir)) {
        const file = await readRecording(join(dir, entry.name));
        round.files++;
        if (file.complete) round.filesComplete++;
        round.recordedFrames += file.steps.length;
        round.bytesOnDisk += entry.bytes;
      }
      round.keptUp = final !== null && final.backlogStops === 0 && final.framesWritten === final.framesSeen && final.framesSeen === round.clientFrames
        && round.recordedFrames === round.clientFrames && round.files === round.episodes && round.filesComplete === round.files
        && round.lastQuarterMeanLag <= Math.max(2 * round.firstQuarterMeanLag, 4 * controllers);
    }
    return round;
  } finally {
    gateway.process.kill();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------

export function formatRecordingBench(result: RecordingBenchResult): string {
  const kb = (bytes: number) => `${(bytes / 1024).toFixed(0)} KiB`;
  const lines = ['Episode files: uncompressed chunks (before) vs zstd chunks (now), the same frames', ''];
  lines.push('| recorded | episodes | uncompressed / episode | zstd / episode | zstd / uncompressed | MB an hour (real time): before -> now |', '|---|---|---|---|---|---|');
  for (const size of result.sizes) {
    lines.push(`| ${size.what} | ${size.episodes.length} | ${kb(size.meanUncompressedBytes)} | ${kb(size.meanZstdBytes)} | ${(100 * size.ratio).toFixed(1)} % | ${size.uncompressedMbPerHour.toFixed(0)} -> ${size.zstdMbPerHour.toFixed(0)} |`);
  }
  const ml10 = result.sizes.find((s) => s.what.startsWith('ML10'));
  if (ml10) lines.push('', `ML10 by family (zstd / uncompressed): ${ml10.episodes.map((e) => `${e.family} ${kb(e.zstdBytes)} (${(100 * e.ratio).toFixed(0)} %)`).join(', ')}`);
  lines.push('', `Keep-up: controllers stepping as fast as answered (a quarter on ML10, switching families every 100 steps)`, '');
  lines.push('| recording | controllers | s | steps/s | gateway cores | frames | written | backlog stops | lag max / first q / last q | files (complete) | MB on disk | kept up |', '|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of result.keepUp) {
    lines.push(`| ${r.recording ? 'zstd' : 'off'} | ${r.controllers} | ${r.seconds.toFixed(1)} | ${r.stepsPerSecond.toFixed(0)} | ${r.gatewayCores.toFixed(2)} | ${r.clientFrames} | ${r.final ? r.final.framesWritten : '-'} | ${r.final ? r.final.backlogStops : '-'} | ${r.recording ? `${r.maxLag} / ${r.firstQuarterMeanLag.toFixed(0)} / ${r.lastQuarterMeanLag.toFixed(0)}` : '-'} | ${r.recording ? `${r.files} (${r.filesComplete})` : '-'} | ${r.recording ? (r.bytesOnDisk / MB).toFixed(1) : '-'} | ${r.keptUp === null ? '-' : r.keptUp ? 'yes' : 'NO'} |`);
  }
  lines.push('', `load average before ${result.loadavgBefore.map((x) => x.toFixed(2)).join(' ')}, after ${result.loadavgAfter.map((x) => x.toFixed(2)).join(' ')} (${result.cores} cores)`);
  return lines.join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { episodes: { type: 'string' }, seconds: { type: 'string' }, controllers: { type: 'string' }, rounds: { type: 'string' }, out: { type: 'string' }, json: { type: 'boolean' } } });
  const episodes = Number(values.episodes ?? 4);
  const seconds = Number(values.seconds ?? 20);
  const controllers = Number(values.controllers ?? 64);
  const rounds = Number(values.rounds ?? 2);
  const out = values.out ?? 'bench/results/recording.json';
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const loadavgBefore = loadavg();
  log(`recording ${episodes} npm start episodes, uncompressed and zstd...`);
  const sizes = [await npmStartSizes(episodes)];
  log('recording ML10, one episode per family...');
  sizes.push(await ml10Sizes());
  const keepUp: KeepUpRound[] = [];
  // Rounds alternate, so that load from other programs falls on both alike.
  for (let round = 0; round < rounds; round++) {
    for (const recording of [false, true]) {
      log(`keep-up round ${round + 1}/${rounds}: ${controllers} controllers for ${seconds} s, recording ${recording ? 'on' : 'off'}...`);
      keepUp.push(await keepUpRound(recording, controllers, seconds, log));
    }
  }
  const result: RecordingBenchResult = {
    date: new Date().toISOString(), node: process.version, cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length,
    loadavgBefore, loadavgAfter: loadavg(), sizes, keepUp,
  };
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
  console.log(values.json ? JSON.stringify(result, null, 2) : `${formatRecordingBench(result)}\n\nwrote ${out}`);
}

if (process.argv[2] === CHILD_FLAG) await runChild(process.argv[3]);
else if (process.argv[1] === SELF) await main();
