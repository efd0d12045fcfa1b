// Agent benchmark (not a test): what the explicit-transpose dense gradient and the hand-written GRU
// backward pass buy on the chosen backend, and one RL2 training iteration on ML1-reach with its phase
// timings. Prints a table, writes JSON (default bench/results/agent.json).
// Run: npx tsx bench/agent.ts [--out FILE] [--json] [--backend B] [--skip-rl2] [--skip-micro] [--workers N] [--run DIR] [--tasks N]
// With --throughput [--rounds N]: RL2 training throughput per phase, old code path against new, on ML1
// reach and tabular MDPs (bench/rl2-throughput.ts; several minutes).
// Per backend, each in its own process, with RL2's steps/s side by side (bench/results/agent-backends.json):
//      npx tsx bench/agent.ts --backends wasm,webgpu [the options above]

import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { type BackendChoice, initBackend } from '../agent/backend.ts';
import { createEnvBatch } from '../agent/batch-env.ts';
import { distributionByName } from '../agent/distributions.ts';
import { Adam, Params, addDense, addGru, autogradMatMul, concatRows, dense, gruInputs, gruSequence, gruStep, matMul } from '../agent/nn.ts';
import { rngFor } from '../agent/random.ts';
import { Rl2 } from '../agent/rl2.ts';
import { readTrainConfig } from '../agent/trainer.ts';
import { formatPerBackend, runPerBackend } from './agent-backends.ts';
import { type ThroughputResult, formatThroughputBench, runThroughputBench } from './rl2-throughput.ts';

type MatMul = typeof matMul;

interface Timing { name: string; variant: string; medianMs: number; note?: string }

/** Median of `repeats` timed calls after `warmup` untimed ones (Node runs wasm unoptimised at first). */
function time(fn: () => void, repeats = 5, warmup = 2): number {
  for (let i = 0; i < warmup; i++) fn();
  const samples: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const started = performance.now();
    fn();
    samples.push(performance.now() - started);
  }
  return samples.sort((a, b) => a - b)[Math.floor(samples.length / 2)];
}

/** platform.md's case: MLP 39 -> 256 -> 256 -> 4, Adam + MSE, batch 256. */
function denseTrainStep(mm: MatMul): number {
  const params = new Params();
  const rng = rngFor(0, 'bench-mlp');
  const layers = [addDense(params, rng, 'l0', 39, 256), addDense(params, rng, 'l1', 256, 256), addDense(params, rng, 'l2', 256, 4)];
  const adam = new Adam(params, { learningRate: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, maxGradNorm: Infinity });
  const x = tf.randomNormal([256, 39], 0, 1, 'float32', 1) as tf.Tensor2D, y = tf.randomNormal([256, 4], 0, 1, 'float32', 2);
  const variables = [...params.vars.values()];
  const names = new Map([...params.vars].map(([name, v]) => [v.name, name]));
  const ms = time(() => {
    const { grads, value } = tf.variableGrads(() => {
      let h = x;
      layers.forEach((layer, i) => { h = dense(h, layer, mm); if (i < layers.length - 1) h = tf.tanh(h); });
      return tf.mean(tf.square(tf.sub(h, y))) as tf.Scalar;
    }, variables);
    adam.apply(new Map(Object.entries(grads).map(([k, g]) => [names.get(k)!, g])));
    value.dispose();
    for (const g of Object.values(grads)) g.dispose();
  }, 9, 3);
  params.dispose(); adam.dispose(); x.dispose(); y.dispose();
  return ms;
}

/** One truncated-BPTT pass (forward + backward) of the RL2 network's GRU: T steps, B sequences. */
function gruTrainStep(variant: 'autograd' | 'transpose' | 'bptt', T: number, B: number, inputs: number, hidden: number): number {
  const params = new Params();
  const rng = rngFor(0, 'bench-gru');
  const gru = addGru(params, rng, 'gru', inputs, hidden), head = addDense(params, rng, 'head', hidden, 5);
  const data = new Float32Array(T * B * inputs).map((_, i) => Math.sin(i));
  const h0 = tf.zeros([B, hidden]) as tf.Tensor2D;
  const variables = [...params.vars.values()];
  const mm: MatMul = variant === 'autograd' ? autogradMatMul : matMul;
  const loss = () => {
    let hs: tf.Tensor2D;
    if (variant === 'bptt') {
      hs = gruSequence(tf.tensor2d(data, [T * B, inputs]), h0, gru, T);
    } else {
      let h = h0;
      const steps: tf.Tensor2D[] = [];
      for (let t = 0; t < T; t++) {
        h = gruStep(gruInputs(tf.tensor2d(data.subarray(t * B * inputs, (t + 1) * B * inputs), [B, inputs]), gru, mm), h, gru, mm);
        steps.push(h);
      }
      hs = concatRows(...steps);
    }
    return tf.mean(tf.square(dense(hs, head, mm))) as tf.Scalar;
  };
  const ms = time(() => tf.tidy(() => { tf.variableGrads(loss, variables).value.dataSync(); }), 3, 1);
  params.dispose(); h0.dispose();
  return ms;
}

export interface AgentBenchResult {
  backend: BackendChoice;
  machine: { cpus: number; model: string; node: string };
  timings: Timing[];
  rl2?: {
    run: string; benchmark: string; envSteps: number; workers: number;
    samplingSeconds: number; learningSeconds: number; stepsPerSecond: number;
    samplingStepsPerSecond: number; learningStepsPerSecond: number;
  };
  /** --throughput: old code path against new, per phase (bench/rl2-throughput.ts). */
  throughput?: ThroughputResult;
}

export async function runAgentBench(options: { backend?: string; onlyBackend?: boolean; rl2?: boolean; micro?: boolean; workers?: number; tasks?: number; run?: string; throughput?: boolean; rounds?: number; log?: (line: string) => void } = {}): Promise<AgentBenchResult> {
  const log = options.log ?? (() => {});
  const backend = await initBackend(options.backend);
  // onlyBackend: measure nothing when the chain fell back from the backend asked for (the result says why).
  const measure = !(options.onlyBackend && options.backend && backend.backend !== options.backend);
  const timings: Timing[] = [];
  const micro = (options.micro ?? true) && measure;
  if (micro) log(`backend ${backend.backend}: dense train step (MLP 39-256-256-4, batch 256)`);
  for (const [variant, mm] of micro ? [['autograd matMul', autogradMatMul], ['explicit transposes', matMul]] as const : []) {
    timings.push({ name: 'dense Adam step, batch 256', variant, medianMs: denseTrainStep(mm) });
  }
  const gruCases = micro ? [
    { label: 'GRU BPTT, 250 steps x 40 seqs, 45 in, 64 units', T: 250, B: 40, inputs: 45, hidden: 64 },
    { label: 'GRU BPTT, 100 steps x 125 seqs, 17 in, 128 units', T: 100, B: 125, inputs: 17, hidden: 128 },
  ] : [];
  for (const c of gruCases) {
    log(c.label);
    for (const variant of ['autograd', 'transpose', 'bptt'] as const) {
      const name = { autograd: 'autograd through gruStep', transpose: 'gruStep, explicit-transpose matMul', bptt: 'gruSequence, hand-written BPTT' }[variant];
      timings.push({ name: c.label, variant: name, medianMs: gruTrainStep(variant, c.T, c.B, c.inputs, c.hidden) });
    }
  }
  const result: AgentBenchResult = { backend, machine: { cpus: cpus().length, model: cpus()[0]?.model ?? 'unknown', node: process.version }, timings };
  if ((options.rl2 ?? true) && measure) {
    // One RL2 iteration with a training run's settings (default: the run behind the shipped ML1-reach
    // policy, from scenarios/ml1-reach.yaml), after one untimed iteration (warm-up).
    const run = options.run ?? 'training/ml1-reach';
    const config = readTrainConfig(run);
    if (options.workers !== undefined) config.workers = options.workers;
    if (options.tasks !== undefined) config.rl2!.tasksPerIteration = options.tasks;
    log(`RL2 iteration on ${config.benchmark} (${run}: ${config.rl2!.tasksPerIteration} tasks x ${config.rl2!.episodesPerTrial} episodes, ${config.workers} workers)`);
    const distribution = distributionByName(config.benchmark, { seed: config.seed });
    const rl2 = new Rl2(distribution.spec, config.rl2!, config.seed);
    const envs = await createEnvBatch(distribution, config.rl2!.tasksPerIteration, { workers: config.workers });
    try {
      rl2.iterate(envs, distribution, 0, config.iterations);
      const stats = rl2.iterate(envs, distribution, 1, config.iterations);
      result.rl2 = {
        run, benchmark: config.benchmark, envSteps: stats.envSteps, workers: config.workers,
        samplingSeconds: stats.samplingSeconds, learningSeconds: stats.learningSeconds,
        stepsPerSecond: stats.envSteps / (stats.samplingSeconds + stats.learningSeconds),
        samplingStepsPerSecond: stats.envSteps / stats.samplingSeconds,
        learningStepsPerSecond: stats.envSteps / stats.learningSeconds,
      };
    } finally {
      await envs.close();
      rl2.dispose();
    }
  }
  if (options.throughput && measure) result.throughput = await runThroughputBench({ rounds: options.rounds, log });
  return result;
}

export function formatAgentBench(r: AgentBenchResult): string {
  const lines = [`agent benchmark: backend ${r.backend.backend}, ${r.machine.cpus} cores (${r.machine.model}), node ${r.machine.node}`, ''];
  lines.push('case                                                 variant                               median ms   speed-up');
  const baselines = new Map<string, number>();
  for (const t of r.timings) {
    if (!baselines.has(t.name)) baselines.set(t.name, t.medianMs);
    const speedUp = baselines.get(t.name)! / t.medianMs;
    lines.push(`${t.name.padEnd(52)} ${t.variant.padEnd(36)} ${t.medianMs.toFixed(1).padStart(10)}   ${speedUp.toFixed(2).padStart(7)}x`);
  }
  if (r.rl2) {
    const x = r.rl2;
    lines.push('', `RL2 training iteration on ${x.benchmark} (${x.envSteps} env steps, ${x.workers} sampling workers)`);
    lines.push(`  sampling  ${x.samplingSeconds.toFixed(2).padStart(7)} s  ${x.samplingStepsPerSecond.toFixed(0).padStart(7)} steps/s`);
    lines.push(`  learning  ${x.learningSeconds.toFixed(2).padStart(7)} s  ${x.learningStepsPerSecond.toFixed(0).padStart(7)} steps/s`);
    lines.push(`  total     ${(x.samplingSeconds + x.learningSeconds).toFixed(2).padStart(7)} s  ${x.stepsPerSecond.toFixed(0).padStart(7)} env steps/s (sampling + learning)`);
  }
  if (r.throughput) lines.push('', formatThroughputBench(r.throughput));
  return lines.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { out: { type: 'string' }, json: { type: 'boolean' }, backend: { type: 'string' }, backends: { type: 'string' }, 'only-backend': { type: 'boolean' }, 'skip-rl2': { type: 'boolean' }, 'skip-micro': { type: 'boolean' }, workers: { type: 'string' }, tasks: { type: 'string' }, run: { type: 'string' }, throughput: { type: 'boolean' }, rounds: { type: 'string' } } });
  const workers = values.workers === undefined ? undefined : Number(values.workers);
  if (workers !== undefined && (!Number.isSafeInteger(workers) || workers < 0)) throw new Error(`--workers must be an integer >= 0, got '${values.workers}'`);
  const tasks = values.tasks === undefined ? undefined : Number(values.tasks);
  if (tasks !== undefined && (!Number.isSafeInteger(tasks) || tasks < 1)) throw new Error(`--tasks must be an integer >= 1, got '${values.tasks}'`);
  const rounds = values.rounds === undefined ? undefined : Number(values.rounds);
  if (rounds !== undefined && (!Number.isSafeInteger(rounds) || rounds < 1)) throw new Error(`--rounds must be an integer >= 1, got '${values.rounds}'`);
  if (values.backends) {
    const rows = runPerBackend(values.backends.split(',').map((b) => b.trim()).filter(Boolean), process.argv.slice(2), (line) => process.stderr.write(line + '\n'));
    const out = values.out ?? 'bench/results/agent-backends.json';
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, JSON.stringify(rows, null, 2) + '\n');
    console.log(values.json ? JSON.stringify(rows, null, 2) : `${formatPerBackend(rows)}\n\nwrote ${out}`);
    process.exit(rows.every((row) => row.result) ? 0 : 1);
  }
  const result = await runAgentBench({ backend: values.backend, onlyBackend: values['only-backend'], rl2: !values['skip-rl2'], micro: !values['skip-micro'], workers, tasks, run: values.run, throughput: values.throughput, rounds, log: (line) => process.stderr.write(line + '\n') });
  const out = values.out ?? 'bench/results/agent.json';
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
  console.log(values.json ? JSON.stringify(result, null, 2) : `${formatAgentBench(result)}\n\nwrote ${out}`);
}
