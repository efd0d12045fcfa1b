// Where an RL2 run's trials are sampled. The trainer asks a sampler for each iteration's trials: by
// default its own env batch (Rl2.sampleTrials), or rollout workers on other hosts (bridge/rollouts-nats.ts)
// that each sample a group of the iteration's lanes with the same weights, tasks and random streams. This
// file holds what both sides of a remote sampler share that is not wire: how an iteration's lanes are cut
// into jobs, what a worker needs to rebuild the acting network, the weights that change per iteration, and
// how the trainer puts the groups' records back together in lane order.

import type { BackendName } from './backend.ts';
import type { EnvSpec, TaskDistribution } from './envs.ts';
import type { TensorJSON } from './nn.ts';
import type { Rl2, Rl2Config, Rl2IterationStats, Rl2Sample } from './rl2.ts';
import type { Rl2Network } from './rl2-network.ts';
import { type TrialRecord, newTrialRecord } from './rl2-record.ts';
import { gitCommit } from './run.ts';
import type { TrialStats } from './rollout.ts';

/** Samples each iteration's trials for the trainer (the default samples in the trainer's own process). */
export interface Rl2Sampler {
  /** Where the trials come from, in words, for the run's start-up line. */
  readonly description: string;
  /** All `tasksPerIteration` lanes of `iteration`, in lane order, acted with the learner's current weights. */
  sample(iteration: number): Promise<Rl2Sample>;
  /** What it did, in a line, for the end of a session (optional). */
  summary?(): string;
  close(): Promise<void>;
}

/** What a sampler is built from: the run's learner (its network and settings), task distribution and backend. */
export interface Rl2SamplerContext {
  /** The run's name (config.name), e.g. to name its message subjects. */
  name: string;
  benchmark: string;
  seed: number;
  rl2: Rl2;
  distribution: TaskDistribution;
  backend: BackendName;
  /** Prints a line where the trainer's progress goes. */
  log: (line: string) => void;
}

/**
 * What a worker needs, besides the weights, to act as the trainer's network acts: the task distribution
 * (benchmark and seed), RL2's settings (they shape the network and its inputs) and the backend (a
 * different backend rounds differently).
 */
export interface Rl2RunDescriptor {
  benchmark: string;
  seed: number;
  spec: EnvSpec;
  config: Rl2Config;
  backend: BackendName;
  /** The trainer's git commit (null outside a checkout): a worker on other code may compute other numbers, and says so. */
  commit: string | null;
}

export function runDescriptor(context: Rl2SamplerContext): Rl2RunDescriptor {
  return { benchmark: context.benchmark, seed: context.seed, spec: context.distribution.spec, config: context.rl2.config, backend: context.backend, commit: gitCommit()?.commit ?? null };
}

/** A group of consecutive lanes of one iteration: the unit of work a worker samples. */
export interface LaneGroup { first: number; count: number }

/**
 * An iteration's `lanes` cut into groups of `perGroup` lanes in lane order (the last one may be smaller).
 * Each lane's record does not depend on the group it ran in, so the cut changes no number of the run.
 */
export function laneGroups(lanes: number, perGroup: number): LaneGroup[] {
  if (!Number.isInteger(lanes) || lanes < 1) throw new Error(`laneGroups: lanes must be a whole number >= 1, got ${lanes}`);
  if (!Number.isInteger(perGroup) || perGroup < 1) throw new Error(`laneGroups: lanes per group must be a whole number >= 1, got ${perGroup}`);
  const groups: LaneGroup[] = [];
  for (let first = 0; first < lanes; first += perGroup) groups.push({ first, count: Math.min(perGroup, lanes - first) });
  return groups;
}

/** A network's parameters as named float32 arrays: everything acting reads (the trained weights, the log std, the input statistics). */
export interface NetworkWeights { name: string; shape: number[]; data: Float32Array }

export function networkWeights(net: Rl2Network): NetworkWeights[] {
  return [...net.params.vars].map(([name, v]) => ({ name, shape: [...v.shape], data: Float32Array.from(v.dataSync() as Float32Array) }));
}

/** Loads weights taken by networkWeights into a network of the same settings (names and shapes are checked). */
export function loadNetworkWeights(net: Rl2Network, weights: readonly NetworkWeights[]): void {
  const json: Record<string, TensorJSON> = {};
  for (const w of weights) json[w.name] = { shape: w.shape, data: Buffer.from(w.data.buffer, w.data.byteOffset, w.data.byteLength).toString('base64') };
  net.params.load(json);
}

/** The record arrays of a trial record, each lane-major: lane i's values are the i-th of `lanes` equal slices. */
export const RECORD_ARRAYS = ['inputs', 'actions', 'logProbs', 'values', 'rewards', 'success', 'chunkStarts', 'critic', 'valueInputs'] as const;
export type RecordArrayName = (typeof RECORD_ARRAYS)[number];

/**
 * The groups' samples as one sample of all `lanes` lanes, in lane order (the record in shared memory,
 * as learning reads it). Every lane must come from exactly one group, and each group's record must have
 * the shape of a record of its lanes; anything else is an error naming what was wrong.
 */
export function assembleSample(net: Rl2Network, config: Pick<Rl2Config, 'tasksPerIteration' | 'episodesPerTrial' | 'bpttSteps'>, spec: EnvSpec, parts: ReadonlyArray<{ group: LaneGroup; sample: Rl2Sample }>): Rl2Sample {
  const lanes = config.tasksPerIteration, steps = config.episodesPerTrial * spec.episodeSteps;
  const record = newTrialRecord(net, lanes, steps, config.bpttSteps);
  const trials: TrialStats = { trialReturns: new Array(lanes), episodeReturns: new Array(lanes), episodeSuccess: new Array(lanes), episodeStepsToSuccess: new Array(lanes) };
  const filled = new Uint8Array(lanes);
  for (const { group, sample } of parts) {
    const { first, count } = group;
    const part = sample.record;
    if (part.lanes !== count || part.steps !== steps || part.chunkSteps !== config.bpttSteps) {
      throw new Error(`assembleSample: lanes ${first}+${count}: a record of ${part.lanes} lanes x ${part.steps} steps (chunks of ${part.chunkSteps}), expected ${count} x ${steps} (chunks of ${config.bpttSteps})`);
    }
    for (let i = first; i < first + count; i++) {
      if (i >= lanes) throw new Error(`assembleSample: lane ${i} is beyond the ${lanes} lanes of an iteration`);
      if (filled[i]) throw new Error(`assembleSample: lane ${i} comes from more than one group`);
      filled[i] = 1;
    }
    for (const name of RECORD_ARRAYS) {
      const whole = record[name], slice = part[name];
      const perLane = whole.length / lanes;
      if (slice.length !== perLane * count) throw new Error(`assembleSample: lanes ${first}+${count}: ${name} holds ${slice.length} values, expected ${perLane * count}`);
      (whole as Float32Array | Uint8Array).set(slice, first * perLane);
    }
    for (const key of ['trialReturns', 'episodeReturns', 'episodeSuccess', 'episodeStepsToSuccess'] as const) {
      const values = sample.trials[key];
      if (values.length !== count) throw new Error(`assembleSample: lanes ${first}+${count}: ${key} has ${values.length} lanes, expected ${count}`);
      for (let i = 0; i < count; i++) (trials[key] as unknown[])[first + i] = values[i];
    }
  }
  const missing = [...filled.keys()].filter((i) => !filled[i]);
  if (missing.length) throw new Error(`assembleSample: lanes ${missing.join(', ')} were not sampled`);
  return { record, trials };
}

/** A record of plain arrays (not shared memory) for `count` lanes, as a worker's answer is decoded into. */
export function recordOf(arrays: Record<RecordArrayName, Float32Array | Uint8Array>, shape: { lanes: number; steps: number; chunkSteps: number }): TrialRecord {
  const success = arrays.success;
  if (!(success instanceof Uint8Array)) throw new Error('recordOf: success must be bytes');
  const floats = (name: Exclude<RecordArrayName, 'success'>) => {
    const a = arrays[name];
    if (!(a instanceof Float32Array)) throw new Error(`recordOf: ${name} must be float32`);
    return a;
  };
  return {
    ...shape, success,
    inputs: floats('inputs'), actions: floats('actions'), logProbs: floats('logProbs'), values: floats('values'),
    rewards: floats('rewards'), chunkStarts: floats('chunkStarts'), critic: floats('critic'), valueInputs: floats('valueInputs'),
  };
}

/** One training iteration with its trials from `sampler` (Rl2.iterate samples in this process instead). */
export async function iterateWith(sampler: Rl2Sampler, rl2: Rl2, iteration: number, totalIterations: number): Promise<Rl2IterationStats> {
  const started = performance.now();
  const sample = await sampler.sample(iteration);
  return rl2.learn(sample, iteration, totalIterations, (performance.now() - started) / 1000);
}
