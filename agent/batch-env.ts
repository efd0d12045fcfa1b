// A batch of envs stepped in lock-step, one lane per task: in the main thread for any task distribution,
// or across worker threads through the simulator's VectorEnv for robot tasks.

import type { EnvSpec, MetaEnv, Task, TaskDistribution } from './envs.ts';
import { actionWidth } from './envs.ts';

export interface BatchStep {
  /** size x obsSize, lane-major. Valid until the next call. */
  obs: Float32Array;
  rewards: Float64Array;
  /** 1 where the lane's episode ended with this step. */
  dones: Uint8Array;
  success: Uint8Array;
}

export interface EnvBatch {
  readonly size: number;
  /** Worker threads stepping the lanes (0: the main thread). */
  readonly workers: number;
  readonly spec: EnvSpec;
  /** Starts an episode in every lane; lane i uses episode seed `seed + i` (VectorEnv's rule) and tasks[i] when given. */
  reset(seed: number, tasks?: ReadonlyArray<Task | undefined>): Float32Array;
  /** `actions`: size x actionWidth, lane-major (a discrete action is its index). */
  step(actions: Float32Array): BatchStep;
  close(): Promise<void>;
}

export class LocalEnvBatch implements EnvBatch {
  readonly spec: EnvSpec;
  readonly workers = 0;
  private readonly envs: MetaEnv[];
  private readonly out: BatchStep;
  private readonly width: number;

  constructor(distribution: TaskDistribution, readonly size: number) {
    this.spec = distribution.spec;
    this.width = actionWidth(this.spec.action);
    this.envs = Array.from({ length: size }, () => distribution.makeEnv());
    this.out = { obs: new Float32Array(size * this.spec.obsSize), rewards: new Float64Array(size), dones: new Uint8Array(size), success: new Uint8Array(size) };
  }

  reset(seed: number, tasks?: ReadonlyArray<Task | undefined>): Float32Array {
    this.envs.forEach((env, i) => this.out.obs.set(env.reset({ task: tasks?.[i], seed: seed + i }), i * this.spec.obsSize));
    this.out.rewards.fill(0);
    this.out.dones.fill(0);
    this.out.success.fill(0);
    return this.out.obs;
  }

  step(actions: Float32Array): BatchStep {
    const { obs, rewards, dones, success } = this.out;
    for (let i = 0; i < this.size; i++) {
      const r = this.envs[i].step(actions.subarray(i * this.width, (i + 1) * this.width));
      obs.set(r.obs, i * this.spec.obsSize);
      rewards[i] = r.reward;
      dones[i] = r.done ? 1 : 0;
      success[i] = r.success ? 1 : 0;
    }
    return this.out;
  }

  async close(): Promise<void> { for (const env of this.envs) env.close(); }
}

/** Robot lanes stepped by the simulator's VectorEnv (sim/vector-env.ts) in `workers` threads. */
export class WorkerEnvBatch implements EnvBatch {
  private constructor(
    readonly size: number,
    readonly spec: EnvSpec,
    private readonly vector: import('../sim/vector-env.ts').VectorEnv,
    private readonly out: BatchStep,
  ) {}

  static async create(distribution: TaskDistribution, size: number, workers: number): Promise<WorkerEnvBatch> {
    const { benchmark } = distribution;
    if (!benchmark) throw new Error(`workers: only simulator benchmarks step in worker threads; ${distribution.name} runs in the main thread (use workers: 0)`);
    // Imported lazily: the module starts no threads by itself, but tabular runs never need it.
    const { VectorEnv } = await import('../sim/vector-env.ts');
    const vector = await VectorEnv.create({ benchmark, tasks: distribution.trainTasks(0, size), workers: Math.min(workers, size), seed: 0 });
    const out: BatchStep = { obs: new Float32Array(0), rewards: new Float64Array(size), dones: new Uint8Array(size), success: new Uint8Array(size) };
    return new WorkerEnvBatch(size, distribution.spec, vector, out);
  }

  get workers(): number { return this.vector.numWorkers; }

  reset(seed: number, tasks?: ReadonlyArray<Task | undefined>): Float32Array {
    const r = this.vector.reset({ seed, tasks: tasks ? [...tasks] : undefined });
    return r.obs;
  }

  step(actions: Float32Array): BatchStep {
    const r = this.vector.step(actions);
    const { out } = this;
    out.obs = r.obs;
    out.rewards = r.rewards;
    for (let i = 0; i < this.size; i++) out.dones[i] = r.terminated[i] | r.truncated[i];
    out.success = r.success;
    return out;
  }

  close(): Promise<void> { return this.vector.close(); }
}

/**
 * Lanes in the main thread (workers 0) or in worker threads (simulator benchmarks only: worker
 * threads pay off for physics lanes; asking for them for a bandit or tabular MDP is an error).
 */
export async function createEnvBatch(distribution: TaskDistribution, size: number, options: { workers?: number } = {}): Promise<EnvBatch> {
  const workers = options.workers ?? 0;
  if (workers > 0) return WorkerEnvBatch.create(distribution, size, workers);
  return new LocalEnvBatch(distribution, size);
}

