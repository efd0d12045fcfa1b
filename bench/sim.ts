// Simulator benchmark: single-thread control steps/s per family with uniform random actions and
// with the scripted expert, physics steps/s, and a bare-Rapier baseline measured in the same run.
// Writes a JSON result file; run with `metamanip bench sim` or `npm run bench`.

import { writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { RAPIER } from '../sim/rapier.ts';
import { ManipulationEnv, TIMING } from '../sim/env.ts';
import { FAMILIES } from '../sim/families/index.ts';
import { ML1 } from '../sim/benchmarks.ts';

export interface SimBenchOptions {
  /** Control steps timed per family and policy. */
  steps?: number;
  /** Untimed control steps before timing (Node runs wasm unoptimised at first). */
  warmupSteps?: number;
  families?: string[];
  onProgress?: (line: string) => void;
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
  const benchmark = ML1(family, 0);
  const spec = FAMILIES.get(family)!;
  const env = new ManipulationEnv({ family, goalVisible: true });
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
  return {
    name: 'sim',
    date: new Date().toISOString(),
    node: process.version,
    rapier: `@dimforge/rapier3d-simd-compat ${RAPIER.version()}`,
    physicsSubstepsPerControlStep: TIMING.physicsSubsteps,
    bareRapierStepsPerSec: bare,
    rows,
  };
}

export function formatSimBench(result: SimBenchResult): string {
  const lines = [
    `Simulator benchmark (single thread, ${result.physicsSubstepsPerControlStep} physics step per 12.5 ms control step, ${result.rapier}, node ${result.node})`,
    `bare Rapier baseline (table + resting puck): ${result.bareRapierStepsPerSec.toFixed(0)} steps/s`,
    '',
    'family        policy   control steps/s   physics steps/s   vs bare Rapier',
    ...result.rows.map((r) => `${r.family.padEnd(13)} ${r.policy.padEnd(8)} ${r.controlStepsPerSec.toFixed(0).padStart(15)}   ${r.physicsStepsPerSec.toFixed(0).padStart(15)}   ${r.ratioToBareRapier.toFixed(2).padStart(14)}`),
  ];
  return lines.join('\n');
}

export function writeResult(path: string, result: unknown): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, JSON.stringify(result, null, 2) + '\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const result = runSimBench({ onProgress: (line) => process.stderr.write(line + '\n') });
  writeResult('bench/results/sim.json', result);
  console.log(formatSimBench(result));
  console.log('\nwrote bench/results/sim.json');
}
