// Simulator benchmark: single-thread control steps/s per family with uniform random actions and
// with the scripted expert, physics steps/s, a bare-Rapier baseline measured in the same run, and
// the vector env's aggregate rate with 1 and 2 worker threads. Writes a JSON result file; run with
// `metamanip bench sim` or `npm run bench`.

import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RAPIER } from '../sim/rapier.ts';
import { TIMING } from '../sim/env.ts';
import { FAMILIES } from '../sim/families/index.ts';
import { ML1, MT1, customBenchmark, makeEnv } from '../sim/benchmarks.ts';
import { createRng } from '../sim/rng.ts';
import { VectorEnv } from '../sim/vector-env.ts';

export interface SimBenchOptions {
  /** Control steps timed per family and policy. */
  steps?: number;
  /** Untimed control steps before timing each family and policy (Node runs wasm unoptimised at first). */
  warmupSteps?: number;
  /**
   * Untimed control steps of the first family, random actions, before any family is timed (default
   * 12,000). Node compiles the simulator's JavaScript and wasm with its optimising tiers over the
   * process's first ~10,000 env steps, whichever family takes them: CPU time per reach step measured
   * per 2,000-step chunk from a fresh process was 300-390 us, then 60-100, 55-95, 45-55, and 41-45 us
   * from 8,000 steps on. A family's own 3,000 warm-up steps cover only its own code, so without this
   * the first row was timed while the shared code was still being optimised: reach's first row read
   * up to 1.7x slower than reach timed again later in the run; in CPU time per step, 1.13-1.30x
   * without this warm-up and 0.96-1.08x with it (3 runs each, 2026-12-04).
   */
  processWarmupSteps?: number;
  families?: string[];
  /** Vector env rows; false skips them. */
  vector?: false | VectorBenchOptions;
  onProgress?: (line: string) => void;
}

export interface VectorBenchOptions {
  /** Envs in the vector; default 2 x F x ceil(8 / F) for F families: each half holds every family, repeated to at least 8 envs. */
  envs?: number;
  /** Worker counts to compare; the first is the baseline of the speed-up (default [1, 2]). */
  workers?: number[];
  /** Timed rounds per worker count, interleaved so that load from other processes hits all counts alike (default 5). */
  rounds?: number;
  /**
   * Untimed control steps per worker before timing (default 6 x steps). Far longer than the
   * single-thread warm-up: workers stepping 16-32 worlds were still speeding up after 20,000
   * steps each (W = 2 rounds climbing from 26 k to 33 k steps/s with 2 x 10,000).
   */
  warmupStepsPerWorker?: number;
}

export interface VectorBenchRow {
  workers: number;
  /** Control steps (env steps, all envs together) per timed round. */
  controlSteps: number;
  /** Aggregate control steps/s of each round. */
  samples: number[];
  /** Median of the samples. */
  controlStepsPerSec: number;
  /** Cores kept busy by other processes during each round (Linux; empty elsewhere): the shared machine's noise. */
  otherLoad: number[];
  /** This row's median over the first row's. */
  speedup: number;
}

export interface VectorBenchResult {
  envs: number;
  families: string[];
  cores: number;
  rounds: number;
  rows: VectorBenchRow[];
}

export interface SimBenchRow {
  family: string;
  policy: 'random' | 'expert';
  controlSteps: number;
  seconds: number;
  controlStepsPerSec: number;
  physicsStepsPerSec: number;
  /** Share of the bare-Rapier baseline's step rate. */
  ratioToBareRapier: number;
}

export interface SimBenchResult {
  name: 'sim';
  date: string;
  node: string;
  rapier: string;
  physicsSubstepsPerControlStep: number;
  bareRapierStepsPerSec: number;
  rows: SimBenchRow[];
  vector?: VectorBenchResult;
}

/** Steps a world holding only the table and a resting puck: the floor under any env step. */
function bareRapierStepsPerSec(steps: number): number {
  const world = new RAPIER.World({ x: 0, y: 0, z: -9.81 });
  world.timestep = TIMING.controlDt / TIMING.physicsSubsteps;
  world.numSolverIterations = TIMING.solverIterations;
  world.createCollider(RAPIER.ColliderDesc.cuboid(0.7, 0.5, 0.05), world.createRigidBody(RAPIER.RigidBodyDesc.fixed().setTranslation(0, 0.6, -0.05)));
  const puck = world.createRigidBody(RAPIER.RigidBodyDesc.dynamic().setTranslation(0, 0.6, 0.02).setCanSleep(false));
  world.createCollider(RAPIER.ColliderDesc.cylinder(0.02, 0.02).setRotation({ w: Math.SQRT1_2, x: Math.SQRT1_2, y: 0, z: 0 }).setMass(0.75), puck);
  for (let i = 0; i < steps; i++) world.step();
  const started = performance.now();
  for (let i = 0; i < steps; i++) world.step();
  const rate = steps / ((performance.now() - started) / 1000);
  world.free();
  return rate;
}

function timeFamily(family: string, policy: 'random' | 'expert', steps: number, warmup: number): { seconds: number; controlSteps: number; resets: number } {
  const benchmark = MT1(family, 0);
  const spec = FAMILIES.get(family)!;
  const env = makeEnv(benchmark);
  let taskIndex = 0, resets = 0;
  let obs = env.reset({ task: benchmark.train[0], seed: 0 }).obs;
  const run = (count: number) => {
    for (let i = 0; i < count; i++) {
      const action = policy === 'random' ? env.sampleAction() : spec.expert(obs, env.goalPosition);
      const result = env.step(action);
      obs = result.obs;
      if (result.truncated) {
        taskIndex = (taskIndex + 1) % benchmark.train.length;
        obs = env.reset({ task: benchmark.train[taskIndex], seed: taskIndex }).obs;
        resets++;
      }
    }
  };
  run(warmup);
  resets = 0;
  const started = performance.now();
  run(steps);
  const seconds = (performance.now() - started) / 1000;
  env.close();
  return { seconds, controlSteps: steps, resets };
}

export function runSimBench(options: SimBenchOptions = {}): SimBenchResult {
  const steps = options.steps ?? 10_000, warmup = options.warmupSteps ?? 3_000;
  const families = options.families ?? [...FAMILIES.keys()];
  const bare = bareRapierStepsPerSec(steps);
  options.onProgress?.(`bare Rapier (table + puck): ${bare.toFixed(0)} steps/s`);
  const processWarmup = options.processWarmupSteps ?? 12_000;
  if (processWarmup > 0 && families.length > 0) {
    options.onProgress?.(`warming up: ${processWarmup} untimed steps of ${families[0]}`);
    timeFamily(families[0], 'random', 0, processWarmup);
  }
  const rows: SimBenchRow[] = [];
  for (const family of families) {
    for (const policy of ['random', 'expert'] as const) {
      const { seconds, controlSteps, resets } = timeFamily(family, policy, steps, warmup);
      // Physics steps include the settle steps of every reset inside the timed window.
      const physicsSteps = (controlSteps + resets * TIMING.settleSteps) * TIMING.physicsSubsteps;
      const row: SimBenchRow = {
        family, policy, controlSteps, seconds,
        controlStepsPerSec: controlSteps / seconds,
        physicsStepsPerSec: physicsSteps / seconds,
        ratioToBareRapier: physicsSteps / seconds / bare,
      };
      rows.push(row);
      options.onProgress?.(`${family.padEnd(12)} ${policy.padEnd(6)} ${row.controlStepsPerSec.toFixed(0).padStart(7)} control steps/s`);
    }
  }
  const vector = options.vector === false ? undefined : vectorBenchInChild({ steps, families, ...options.vector }, options.onProgress);
  return {
    name: 'sim',
    date: new Date().toISOString(),
    node: process.version,
    rapier: `@dimforge/rapier3d-simd-compat ${RAPIER.version()}`,
    physicsSubstepsPerControlStep: TIMING.physicsSubsteps,
    bareRapierStepsPerSec: bare,
    rows,
    vector,
  };
}

type VectorRunOptions = VectorBenchOptions & { steps: number; families: string[] };

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/**
 * Aggregate control steps/s of one vector env per worker count, with uniform random actions
 * (episode autoresets included). Every count gets its own VectorEnv, warmed up until each of its
 * workers has run `warmupStepsPerWorker` control steps, then timed rounds alternate between the counts.
 */
export async function runVectorBench(options: VectorRunOptions, onProgress?: (line: string) => void): Promise<VectorBenchResult> {
  const families = options.families;
  // Both halves of the vector hold the same family mix (different tasks), so that two workers
  // carry equal work: the speed-up then measures the vector env, not how the families fell.
  const numEnvs = options.envs ?? 2 * families.length * Math.ceil(8 / families.length);
  const counts = options.workers ?? [1, 2], rounds = options.rounds ?? 5;
  const warmup = options.warmupStepsPerWorker ?? 6 * options.steps;
  const half = Math.ceil(numEnvs / 2);
  const benchmark = customBenchmark('bench:vector', { trainFamilies: families, testFamilies: [], goalVisible: true, oneHot: false });
  const tasks = Array.from({ length: numEnvs }, (_, i) => {
    const familyTasks = ML1(families[(i % half) % families.length], 0).train;
    return familyTasks[i % familyTasks.length];
  });
  // All envs end their episodes together and reset at the next step (next-step autoreset), once
  // per 501 vector steps: a round long enough covers whole periods, so that every round, of
  // either worker count, carries the same share of resets.
  const period = TIMING.maxEpisodeSteps + 1;
  // Rounds of about 3 x steps in all: long enough that one stall (GC, a scheduler hiccup) moves a round little.
  const wanted = Math.ceil((3 * options.steps) / numEnvs);
  const vectorSteps = wanted >= period / 2 ? Math.max(1, Math.round(wanted / period)) * period : wanted;
  const rng = createRng(0);
  const run = (venv: VectorEnv, count: number) => {
    const actions = venv.actions;
    for (let s = 0; s < count; s++) {
      for (let j = 0; j < actions.length; j++) actions[j] = rng.uniform(-1, 1);
      venv.step(actions);
    }
  };
  const venvs: VectorEnv[] = [];
  try {
    for (const workers of counts) {
      const venv = await VectorEnv.create({ benchmark, tasks, workers, seed: 0 });
      venvs.push(venv);
      venv.reset();
      run(venv, Math.ceil((warmup * workers) / numEnvs));
    }
    const samples = counts.map((): number[] => []);
    const otherLoad = counts.map((): number[] => []);
    for (let round = 0; round < rounds; round++) {
      venvs.forEach((venv, k) => {
        const before = cpuClock();
        const started = performance.now();
        run(venv, vectorSteps);
        samples[k].push((vectorSteps * numEnvs) / ((performance.now() - started) / 1000));
        const after = cpuClock();
        if (before && after) otherLoad[k].push(Math.max(0, (after.machine - before.machine - (after.own - before.own)) / (after.wall - before.wall)));
        const load = otherLoad[k].length > round ? ` (other processes: ${otherLoad[k][round].toFixed(2)} cores)` : '';
        onProgress?.(`vector env, ${counts[k]} worker${counts[k] > 1 ? 's' : ''}, round ${round + 1}/${rounds}: ${samples[k][round].toFixed(0)} control steps/s${load}`);
      });
    }
    const base = median(samples[0]);
    const rows = counts.map((workers, k): VectorBenchRow => ({
      workers, controlSteps: vectorSteps * numEnvs, samples: samples[k], controlStepsPerSec: median(samples[k]), otherLoad: otherLoad[k], speedup: median(samples[k]) / base,
    }));
    return { envs: numEnvs, families, cores: availableParallelism(), rounds, rows };
  } finally {
    await Promise.all(venvs.map((venv) => venv.close()));
  }
}

/**
 * Runs runVectorBench in a fresh Node process and waits for it: runSimBench is synchronous (the
 * CLI calls it so) while VectorEnv.create is async, and a fresh process keeps the vector rows from
 * sharing a heap and JIT state with the single-thread rows. Progress lines are passed on at the end.
 */
function vectorBenchInChild(options: VectorRunOptions, onProgress?: (line: string) => void): VectorBenchResult {
  const child = spawnSync(process.execPath, ['--import', import.meta.resolve('tsx'), fileURLToPath(import.meta.url), VECTOR_CHILD_FLAG, JSON.stringify(options)], { encoding: 'utf8', maxBuffer: 1 << 24 });
  for (const line of child.stderr.split('\n')) if (line.startsWith(PROGRESS_PREFIX)) onProgress?.(line.slice(PROGRESS_PREFIX.length));
  if (child.status !== 0) throw new Error(`vector env benchmark failed (${child.error?.message ?? `exit code ${child.status}`}): ${child.stderr.trim()}`);
  return JSON.parse(child.stdout) as VectorBenchResult;
}

/**
 * CPU seconds spent by the whole machine (/proc/stat, all cores) and by this process (all its
 * threads), and the wall clock: their differences tell other processes' load apart. Null off Linux.
 */
function cpuClock(): { machine: number; own: number; wall: number } | null {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const idle = fields[3] + fields[4];
    const total = fields.reduce((a, b) => a + b, 0);
    const own = process.cpuUsage();
    // /proc/stat counts in USER_HZ ticks, 100 per second on Linux.
    return { machine: (total - idle) / 100, own: (own.user + own.system) / 1e6, wall: performance.now() / 1000 };
  } catch {
    return null;
  }
}

const VECTOR_CHILD_FLAG = '--vector-bench-child';
const PROGRESS_PREFIX = 'progress: ';

export function formatSimBench(result: SimBenchResult): string {
  const width = Math.max(6, ...result.rows.map((r) => r.family.length));
  const lines = [
    `Simulator benchmark (single thread, ${result.physicsSubstepsPerControlStep} physics step per 12.5 ms control step, ${result.rapier}, node ${result.node})`,
    `bare Rapier baseline (table + resting puck): ${result.bareRapierStepsPerSec.toFixed(0)} steps/s`,
    '',
    `${'family'.padEnd(width)}  policy   control steps/s   physics steps/s   vs bare Rapier`,
    ...result.rows.map((r) => `${r.family.padEnd(width)}  ${r.policy.padEnd(8)} ${r.controlStepsPerSec.toFixed(0).padStart(15)}   ${r.physicsStepsPerSec.toFixed(0).padStart(15)}   ${r.ratioToBareRapier.toFixed(2).padStart(14)}`),
  ];
  const v = result.vector;
  if (v) {
    lines.push(
      '',
      `Vector env: ${v.envs} envs (${v.families.join(', ')} in turn, the same mix in each half), random actions, ${v.cores} cores; median of ${v.rounds} interleaved rounds`,
      'workers   control steps/s   per worker   speed-up   rounds (control steps/s; cores busy with other processes)',
      ...v.rows.map((r) => `${String(r.workers).padStart(7)}   ${r.controlStepsPerSec.toFixed(0).padStart(15)}   ${(r.controlStepsPerSec / r.workers).toFixed(0).padStart(10)}   ${(r.speedup.toFixed(2) + 'x').padStart(8)}   ${r.samples.map((x, k) => x.toFixed(0) + (r.otherLoad.length > k ? ` (${r.otherLoad[k].toFixed(2)})` : '')).join(', ')}`),
    );
  }
  return lines.join('\n');
}

export function writeResult(path: string, result: unknown): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, JSON.stringify(result, null, 2) + '\n');
}

if (import.meta.url === `file://${process.argv[1]}` && process.argv[2] === VECTOR_CHILD_FLAG) {
  const result = await runVectorBench(JSON.parse(process.argv[3]) as VectorRunOptions, (line) => process.stderr.write(PROGRESS_PREFIX + line + '\n'));
  process.stdout.write(JSON.stringify(result));
} else if (import.meta.url === `file://${process.argv[1]}`) {
  const result = runSimBench({ onProgress: (line) => process.stderr.write(line + '\n') });
  writeResult('bench/results/sim.json', result);
  console.log(formatSimBench(result));
  console.log('\nwrote bench/results/sim.json');
}
