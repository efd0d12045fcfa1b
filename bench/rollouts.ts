// Distributed rollouts over NATS (bridge/rollouts-nats.ts, `metamanip worker`) against sampling in the
// trainer's own process, on this machine: a nats-server on loopback and worker processes.
//
//   npx tsx bench/rollouts.ts [--episodes E] [--rounds R] [--kills K] [--skip-throughput] [--skip-kills] [--out FILE]
//
// Throughput: the ML1 reach recipe (scenarios/ml1-reach.yaml: 20 trials per iteration; --episodes sets
// their length, default 13) sampled in turn, round by round, in this process (its 2 sim worker threads),
// by 2 worker processes with 5 and with 10 lanes per job, and by 1 worker process stepping its sims in
// 2 threads (the trainer's own layout); every remote sample is checked bit for bit against the local
// one. Reported: env steps/s, the trainer's CPU per job (this process, all threads) and its timed parts
// (encode, publish, decode, assemble), bytes per job and per weights update, the recipe's learning rate,
// and from these the predicted throughput of 16 and 64 hosts like this one.
// Kill test: 8 one-episode trials per iteration, one lane per job, a 5 s deadline, 2 workers; workers
// past their first job are killed (SIGKILL) mid-job, at most 3 per iteration, K times in all (default
// 20), and replaced; each iteration's assembled record is compared lane by lane with the same iteration
// sampled in this process, then learned from.
// Writes bench/results/rollouts.json.

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { chooseBackend } from '../agent/backend.ts';
import { createEnvBatch } from '../agent/batch-env.ts';
import { distributionByName } from '../agent/distributions.ts';
import { Rl2, type Rl2Config, type Rl2Sample } from '../agent/rl2.ts';
import { RECORD_ARRAYS, type Rl2SamplerContext } from '../agent/rollouts.ts';
import { NatsRolloutFarm, type RolloutStats } from '../bridge/rollouts-nats.ts';
import { loadTrainScenario } from '../scenarios/scenario.ts';

const TOKEN = 'bench-rollouts-token';

// ---------------------------------------------------------------------------------------------
// Peers: nats-server and worker processes

class Proc {
  readonly lines: string[] = [];
  private readonly listeners: Array<(line: string) => void> = [];
  readonly exited: Promise<void>;
  constructor(readonly name: string, readonly child: ChildProcess) {
    let partial = '';
    const take = (chunk: Buffer) => {
      const parts = (partial + chunk.toString()).split('\n');
      partial = parts.pop()!;
      for (const line of parts) { this.lines.push(line); for (const l of this.listeners) l(line); }
    };
    child.stdout?.on('data', take);
    child.stderr?.on('data', take);
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
  }
  onLine(listener: (line: string) => void): void { this.listeners.push(listener); }
  waitFor(pattern: RegExp, ms = 120_000): Promise<void> {
    if (this.lines.some((l) => pattern.test(l))) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.name}: no ${pattern} within ${ms} ms:\n${this.lines.join('\n')}`)), ms);
      this.onLine((l) => { if (pattern.test(l)) { clearTimeout(timer); resolve(); } });
    });
  }
  get alive(): boolean { return this.child.exitCode === null && this.child.signalCode === null; }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address() as { port: number }; s.close(() => resolve(port)); });
  });
}

async function startServer(): Promise<{ url: string; proc: Proc }> {
  const port = await freePort();
  const proc = new Proc('nats-server', spawn('nats-server', ['-a', '127.0.0.1', '-p', String(port), '--auth', TOKEN], { stdio: ['ignore', 'pipe', 'pipe'] }));
  await proc.waitFor(/Server is ready/, 20_000);
  return { url: `nats://127.0.0.1:${port}`, proc };
}

async function startWorker(name: string, url: string, extra: string[] = []): Promise<Proc> {
  const proc = new Proc(name, spawn(process.execPath, ['bin/metamanip.js', 'worker', '--nats', url, '--name', name, ...extra], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, METAMANIP_NATS_TOKEN: TOKEN } }));
  await proc.waitFor(/connected to nats:/);
  return proc;
}

/** CPU ticks (utime + stime) of a process, from /proc. */
function processTicks(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
    return fields[11] + fields[12];
  } catch {
    return 0;
  }
}

/** Busy ticks of the whole machine (every core), from /proc/stat. */
function machineTicks(): number {
  const [user, nice, system, , , irq, softirq] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  return user + nice + system + irq + softirq;
}

const TICKS = 100; // USER_HZ on Linux

/** Runs `body`, returning its seconds and how many cores other programs kept busy meanwhile. */
async function measured<T>(ours: () => number, body: () => Promise<T> | T): Promise<{ value: T; seconds: number; otherCores: number }> {
  const machine0 = machineTicks(), ours0 = ours(), started = performance.now();
  const value = await body();
  const seconds = (performance.now() - started) / 1000;
  const other = (machineTicks() - machine0) - (ours() - ours0);
  return { value, seconds, otherCores: Math.max(0, other / TICKS / seconds) };
}

/** Whether two samples hold the same bits, and how many lanes agree. */
function compare(a: Rl2Sample, b: Rl2Sample): { identical: boolean; lanesIdentical: number } {
  const lanes = a.record.lanes;
  let lanesIdentical = 0;
  for (let i = 0; i < lanes; i++) {
    let same = JSON.stringify([a.trials.trialReturns[i], a.trials.episodeReturns[i], a.trials.episodeSuccess[i], a.trials.episodeStepsToSuccess[i]])
      === JSON.stringify([b.trials.trialReturns[i], b.trials.episodeReturns[i], b.trials.episodeSuccess[i], b.trials.episodeStepsToSuccess[i]]);
    for (const name of RECORD_ARRAYS) {
      const x = a.record[name], y = b.record[name];
      const per = x.length / lanes;
      const bx = new Uint8Array(x.buffer, x.byteOffset + i * per * x.BYTES_PER_ELEMENT, per * x.BYTES_PER_ELEMENT);
      const by = new Uint8Array(y.buffer, y.byteOffset + i * per * y.BYTES_PER_ELEMENT, per * y.BYTES_PER_ELEMENT);
      if (!Buffer.from(bx).equals(Buffer.from(by))) same = false;
    }
    if (same) lanesIdentical++;
  }
  return { identical: lanesIdentical === lanes, lanesIdentical };
}

const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };

function samplerContext(name: string, rl2: Rl2, benchmark: string, seed: number): Rl2SamplerContext {
  return { name, benchmark, seed, rl2, distribution: distributionByName(benchmark, { seed }), backend: 'wasm', log: (line) => process.stderr.write(`${line}\n`) };
}

// ---------------------------------------------------------------------------------------------
// Throughput

interface VariantTimes { label: string; lanesPerJob: number | null; farm: NatsRolloutFarm | null; workers: number; seconds: number[]; otherCores: number[]; trainerCpuSeconds: number[]; identical: boolean[] }

/**
 * `workers` take jobs on the default subject; `threaded` (one worker process stepping its sims in 2
 * threads, the trainer's own layout) on the subject "threaded".
 */
async function throughput(url: string, workers: Proc[], threaded: Proc, episodes: number, rounds: number) {
  const scenario = loadTrainScenario('scenarios/ml1-reach.yaml');
  const config: Rl2Config = { ...(scenario.rl2 as Rl2Config), episodesPerTrial: episodes };
  const distribution = distributionByName(scenario.benchmark, { seed: scenario.seed });
  const rl2 = new Rl2(distribution.spec, config, scenario.seed);
  const envSteps = config.tasksPerIteration * episodes * distribution.spec.episodeSteps;
  const localEnvs = await createEnvBatch(distribution, config.tasksPerIteration, { workers: scenario.workers });
  const farm = async (name: string, lanesPerJob: number, subject?: string) => NatsRolloutFarm.start(samplerContext(name, rl2, scenario.benchmark, scenario.seed), { url, credentials: { token: TOKEN }, lanesPerJob, subject });
  const variant = (label: string, lanesPerJob: number | null, f: NatsRolloutFarm | null, count: number): VariantTimes => ({ label, lanesPerJob, farm: f, workers: count, seconds: [], otherCores: [], trainerCpuSeconds: [], identical: [] });
  const variants: VariantTimes[] = [
    variant(`this process (${scenario.workers} sim threads)`, null, null, 0),
    variant(`${workers.length} worker processes, 5 lanes per job`, 5, await farm('bench-5', 5), workers.length),
    variant(`${workers.length} worker processes, 10 lanes per job`, 10, await farm('bench-10', 10), workers.length),
    variant('1 worker process with 2 sim threads, 10 lanes per job', 10, await farm('bench-threaded', 10, 'threaded'), 1),
  ];
  const ours = () => processTicks(process.pid) + [...workers, threaded].reduce((n, w) => n + processTicks(w.child.pid), 0);
  // Round 0 warms up (JIT, the workers' backend and envs) and is not timed.
  for (let round = 0; round <= rounds; round++) {
    let reference: Rl2Sample | null = null;
    for (const v of variants) {
      const cpu0 = process.cpuUsage();
      const run = await measured(ours, () => (v.farm === null ? rl2.sampleTrials(localEnvs, distribution, round) : v.farm.sample(round)));
      const cpu = process.cpuUsage(cpu0);
      if (v.lanesPerJob === null) reference = run.value;
      const same = v.lanesPerJob === null ? true : compare(reference!, run.value).identical;
      process.stderr.write(`round ${round} ${v.label}: ${run.seconds.toFixed(2)} s, ${(envSteps / run.seconds).toFixed(0)} env steps/s, other programs ${run.otherCores.toFixed(2)} cores${v.lanesPerJob === null ? '' : `, bit-identical to this process: ${same}`}\n`);
      if (round === 0) continue;
      v.seconds.push(run.seconds);
      v.otherCores.push(run.otherCores);
      v.trainerCpuSeconds.push((cpu.user + cpu.system) / 1e6);
      v.identical.push(same);
    }
  }
  // The recipe's learning rate (env steps/s of PPO), for the end-to-end predictions.
  let learning: { stepsPerSecond: number; learnerThreads: number } | null = null;
  try {
    await rl2.startLearnerThreads(scenario.learnerThreads);
    const sample = rl2.sampleTrials(localEnvs, distribution, rounds + 1);
    const stats = rl2.learn(sample, rounds + 1, scenario.iterations, 0);
    learning = { stepsPerSecond: envSteps / stats.learningSeconds, learnerThreads: scenario.learnerThreads };
  } catch (error) {
    process.stderr.write(`learning rate not measured: ${(error as Error).message}\n`);
  }
  const results = variants.map((v) => {
    const s = v.farm?.stats;
    const jobs = s ? s.jobs : 0;
    const timedJobs = jobs * rounds / (rounds + 1);
    return {
      label: v.label, lanesPerJob: v.lanesPerJob,
      medianSeconds: median(v.seconds), envStepsPerSecond: envSteps / median(v.seconds),
      roundEnvStepsPerSecond: v.seconds.map((x) => envSteps / x), otherCores: v.otherCores,
      bitIdenticalToLocal: v.lanesPerJob === null ? null : v.identical.every(Boolean),
      ...(s ? {
        workers: v.workers,
        perWorkerEnvStepsPerSecond: envSteps / median(v.seconds) / v.workers,
        trainerCpuSecondsPerJob: median(v.trainerCpuSeconds) / (jobs / (rounds + 1)),
        trainerMsPerJob: { encode: 1000 * s.encodeSeconds / jobs, publish: 1000 * s.publishSeconds / jobs, decode: 1000 * s.decodeSeconds / jobs, assemble: 1000 * s.assembleSeconds / jobs },
        bytesPerJob: s.resultBytes / jobs, bytesPerLane: s.resultBytes / s.lanes, bytesPerEnvStep: s.resultBytes / (s.lanes * episodes * distribution.spec.episodeSteps),
        weightsBytesPerUpdate: s.weightsBytes, weightsServedBytesPerIteration: s.weightsServedBytes / (rounds + 1),
        stats: s, timedJobs,
      } : {}),
    };
  });
  for (const v of variants) await v.farm?.close();
  await localEnvs.close();
  rl2.dispose();
  return { scenario: 'scenarios/ml1-reach.yaml', episodesPerTrial: episodes, tasksPerIteration: config.tasksPerIteration, envStepsPerIteration: envSteps, rounds, variants: results, learning };
}

// ---------------------------------------------------------------------------------------------
// Kill test

async function killTest(url: string, workers: Proc[], kills: number) {
  const scenario = loadTrainScenario('scenarios/ml1-reach.yaml');
  const config: Rl2Config = { ...(scenario.rl2 as Rl2Config), tasksPerIteration: 8, episodesPerTrial: 1 };
  const distribution = distributionByName(scenario.benchmark, { seed: scenario.seed });
  const rl2 = new Rl2(distribution.spec, config, scenario.seed);
  const localEnvs = await createEnvBatch(distribution, config.tasksPerIteration);
  const farm = await NatsRolloutFarm.start(samplerContext('bench-kills', rl2, scenario.benchmark, scenario.seed), { url, credentials: { token: TOKEN }, lanesPerJob: 1, deadlineSeconds: 5 });
  let killed = 0, spawned = 0, killsThisIteration = 0;
  const pending: Array<Promise<void>> = [];
  const supervise = (w: Proc) => {
    w.onLine((line) => {
      const taken = /taking job (\S+) /.exec(line);
      // Workers past their first job (whose start-up would dominate), at most 3 per iteration, in the
      // first half of a job (about 0.5 s for one lane of 500 steps here).
      if (!taken || killed >= kills || killsThisIteration >= 3 || !w.lines.some((l) => l.includes('answered job')) || Math.random() < 0.5) return;
      killsThisIteration++;
      const job = taken[1];
      pending.push((async () => {
        await new Promise((r) => setTimeout(r, Math.random() * 250));
        // Only mid-job: not if it answered already.
        if (!w.alive || w.lines.some((l) => l.includes(`answered job ${job} `)) || killed >= kills) return;
        killed++;
        w.child.kill('SIGKILL');
        await w.exited;
        const next = await startWorker(`kill-replacement-${++spawned}`, url);
        workers[workers.indexOf(w)] = next;
        supervise(next);
      })());
    });
  };
  for (const w of workers) supervise(w);
  const iterations: Array<{ iteration: number; lanes: number; lanesIdentical: number; killsSoFar: number }> = [];
  for (let iteration = 0; iteration < 200 && (killed < kills || pending.length > 0); iteration++) {
    killsThisIteration = 0;
    const remote = await farm.sample(iteration);
    const local = rl2.sampleTrials(localEnvs, distribution, iteration);
    const { lanesIdentical } = compare(local, remote);
    iterations.push({ iteration, lanes: remote.record.lanes, lanesIdentical, killsSoFar: killed });
    process.stderr.write(`kill test: iteration ${iteration}: ${lanesIdentical}/${remote.record.lanes} lanes identical to this process's, ${killed} kills so far\n`);
    rl2.learn(remote, iteration, 200, 0);
    if (killed >= kills) { await Promise.all(pending); pending.length = 0; }
  }
  const s: RolloutStats = { ...farm.stats };
  await farm.close();
  await localEnvs.close();
  rl2.dispose();
  const lanes = iterations.reduce((n, it) => n + it.lanes, 0), identical = iterations.reduce((n, it) => n + it.lanesIdentical, 0);
  return {
    kills: killed, iterations: iterations.length, lanesExpected: iterations.length * config.tasksPerIteration, lanesAssembled: s.lanes,
    lanesIdenticalToLocal: identical, lost: iterations.length * config.tasksPerIteration - identical, duplicated: lanes - iterations.length * config.tasksPerIteration,
    redispatched: s.redispatched, lateDuplicatesIgnored: s.lateDuplicates, refusedStale: s.refusedStale, refusedInvalid: s.refusedInvalid, stats: s,
  };
}

// ---------------------------------------------------------------------------------------------
// Scaling arithmetic

/**
 * Predicted throughput of H hosts like this one, each sampling as fast as the best worker layout measured
 * here (the whole 2-core machine), from the measured figures: sampling H x that rate while there are jobs
 * for every worker; capped by the trainer's link and by its CPU for receiving answers; end to end with
 * the trainer's learning in series (sampling and learning do not overlap: on-policy).
 */
function predict(t: Awaited<ReturnType<typeof throughput>>) {
  const remote = t.variants.filter((v) => v.lanesPerJob !== null).sort((a, b) => b.envStepsPerSecond - a.envStepsPerSecond)[0];
  const perHost = remote.envStepsPerSecond;
  const bytesPerStep = remote.bytesPerEnvStep!;
  const trainerCpuPerStep = remote.trainerCpuSecondsPerJob! / (remote.lanesPerJob! * t.episodesPerTrial * 500);
  const learning = t.learning?.stepsPerSecond ?? null;
  const link = { '1 Gbit/s': 125e6, '10 Gbit/s': 1250e6 };
  return [1, 16, 64].map((hosts) => {
    const workers = remote.workers! * hosts;
    const sampling = hosts * perHost;
    const network = Object.fromEntries(Object.entries(link).map(([k, bytes]) => [k, bytes / bytesPerStep]));
    const trainerReceive = 1 / trainerCpuPerStep;
    const sampleCap = Math.min(sampling, network['10 Gbit/s'], trainerReceive);
    return {
      hosts, layout: remote.label, workers, samplingEnvStepsPerSecond: sampling, networkCapEnvStepsPerSecond: network, trainerReceiveCapEnvStepsPerSecond: trainerReceive,
      /** Lanes an iteration needs so that every worker has a job of the layout's size. */
      lanesPerIterationNeeded: remote.lanesPerJob! * workers,
      endToEndEnvStepsPerSecond: learning ? 1 / (1 / sampleCap + 1 / learning) : null,
      resultMegabytesPerSecond: sampleCap * bytesPerStep / 1e6,
      weightsMegabytesPerIteration: workers * remote.weightsBytesPerUpdate! / 1e6,
    };
  });
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { episodes: { type: 'string' }, rounds: { type: 'string' }, kills: { type: 'string' }, 'skip-throughput': { type: 'boolean' }, 'skip-kills': { type: 'boolean' }, out: { type: 'string' } } });
  const episodes = Number(values.episodes ?? 13), rounds = Number(values.rounds ?? 3), kills = Number(values.kills ?? 20);
  const out = values.out ?? 'bench/results/rollouts.json';
  await chooseBackend('wasm');
  const server = await startServer();
  const workers = [await startWorker('bench-w1', server.url), await startWorker('bench-w2', server.url)];
  const threaded = await startWorker('bench-threaded', server.url, ['--threads', '2', '--subject', 'threaded']);
  const result: Record<string, unknown> = { date: new Date().toISOString(), command: `npx tsx bench/rollouts.ts ${process.argv.slice(2).join(' ')}`.trim(), natsServer: 'nats-server (Debian package), loopback, token auth' };
  try {
    if (!values['skip-throughput']) {
      const t = await throughput(server.url, workers, threaded, episodes, rounds);
      result.throughput = t;
      result.scaling = predict(t);
    }
    if (!values['skip-kills']) result.killTest = await killTest(server.url, workers, kills);
  } finally {
    // Workers first (they leave cleanly while the server is up), then the server.
    const all = [...workers, threaded];
    for (const w of all) w.child.kill('SIGTERM');
    await Promise.race([Promise.all(all.map((w) => w.exited)), new Promise((resolve) => setTimeout(resolve, 10_000))]);
    for (const w of all) if (w.alive) w.child.kill('SIGKILL');
    server.proc.child.kill('SIGTERM');
  }
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
  const t = result.throughput as Awaited<ReturnType<typeof throughput>> | undefined;
  if (t) {
    for (const v of t.variants) {
      console.log(`${v.label.padEnd(44)} ${v.envStepsPerSecond.toFixed(0).padStart(7)} env steps/s${v.bitIdenticalToLocal === null ? '' : `, identical: ${v.bitIdenticalToLocal}`}${v.trainerCpuSecondsPerJob === undefined ? '' : `, trainer CPU ${(1000 * v.trainerCpuSecondsPerJob).toFixed(1)} ms/job, ${(v.bytesPerJob! / 1e6).toFixed(2)} MB/job, weights ${(v.weightsBytesPerUpdate! / 1e3).toFixed(1)} kB/update`}`);
    }
    if (t.learning) console.log(`learning: ${t.learning.stepsPerSecond.toFixed(0)} env steps/s (${t.learning.learnerThreads} learner threads)`);
  }
  if (result.killTest) console.log(`kill test: ${JSON.stringify({ ...(result.killTest as Record<string, unknown>), stats: undefined })}`);
  console.log(`wrote ${out}`);
}

await main();
