// VectorEnv: N manipulation envs (any mix of families and tasks) stepped in lock-step across W
// worker threads, with observations, actions, rewards and flags in shared memory. See docs/VECTOR_ENV.md.

import { availableParallelism } from 'node:os';
import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import type { Benchmark } from './benchmarks.ts';
import type { Task } from './family.ts';
import {
  COMMAND, CONTROL, allocateBuffers, viewBuffers,
  type AutoresetMode, type EnvFailure, type SharedViews, type TaskMessage, type WorkerInit,
} from './vector-worker.ts';

export type { AutoresetMode, EnvFailure } from './vector-worker.ts';

export interface VectorEnvOptions {
  /** The benchmark of every env: its observation and action spaces, goal hiding and one-hot; tasks may be of any of its families. */
  benchmark: Benchmark;
  /** One task per env (N envs): where each starts. */
  tasks: readonly Task[];
  /** Worker threads; default: the number of cores (os.availableParallelism()), at most one per env. */
  workers?: number;
  /** Default 'next-step', Gymnasium's default. */
  autoreset?: AutoresetMode;
  /** Env i's first episode uses seed + i; later episodes: see docs/VECTOR_ENV.md. */
  seed: number;
  /**
   * How long one reset() or step() may take before the vector env gives up on its workers (a worker
   * killed mid-step, e.g. out of memory, never answers): then the call throws instead of hanging.
   * Default 60 s.
   */
  callTimeoutMs?: number;
}

export interface VectorResetOptions {
  /** New base seed: env i's next episode uses seed + i (and its episode count restarts). */
  seed?: number;
  /** Which envs to reset (N entries, truthy = reset); default all. */
  mask?: ArrayLike<boolean | number>;
  /** New tasks (N entries, undefined = keep), of any family of the benchmark. */
  tasks?: ReadonlyArray<Task | undefined>;
}

/**
 * Views over the shared buffers, valid until the next reset/step call overwrites them. Copy what
 * must outlive the call.
 */
export interface VectorStepResult {
  /** N x observationSize, env-major. */
  obs: Float32Array;
  rewards: Float64Array;
  /** 0/1 per env. */
  terminated: Uint8Array;
  truncated: Uint8Array;
  success: Uint8Array;
  /** Same-step autoreset only: the final observation of env i, valid where terminated[i] or truncated[i] is 1. */
  finalObs: Float32Array | null;
}

export interface VectorResetResult {
  obs: Float32Array;
  success: Uint8Array;
}

/** A reset/step call in which some envs failed; the other envs' results of the call are valid. */
export class VectorEnvError extends Error {
  readonly failures: readonly EnvFailure[];
  /** The call's results (the views step() returns): valid for every env not in `failures`, NaN rows for those. */
  readonly result: VectorStepResult;
  constructor(call: string, failures: EnvFailure[], result: VectorStepResult) {
    const describe = (f: EnvFailure) => `env ${f.env} (${f.family}): ${f.message}`;
    const head = failures.length === 1 ? `${call}: ${describe(failures[0])}` : `${call}: ${failures.length} envs failed: ${failures.map(describe).join('; ')}`;
    super(`${head} (the other envs' results are valid; reset a failed env to use it again)`);
    this.name = 'VectorEnvError';
    this.failures = failures;
    this.result = result;
  }
}

const WORKER_ENTRY = new URL('./vector-worker.mjs', import.meta.url);

export class VectorEnv {
  readonly benchmark: Benchmark;
  readonly numEnvs: number;
  readonly numWorkers: number;
  readonly observationSize: number;
  readonly actionSize: number;
  readonly autoreset: AutoresetMode;
  /**
   * The shared action buffer (N x actionSize). A policy may write here and pass it to step(), which then
   * skips the copy.
   */
  readonly actions: Float32Array;
  /** Seed of each env's current episode (seed + i at the first reset; see docs/VECTOR_ENV.md), for logs and replays. */
  readonly episodeSeeds: Float64Array;
  private readonly views: SharedViews;
  private readonly workers: Worker[];
  private readonly ports: MessagePort[];
  /** [first, end) env range of each worker. */
  private readonly slices: Array<[number, number]>;
  private readonly result: VectorStepResult;
  private readonly resetResult: VectorResetResult;
  private started = false;
  private closed = false;
  private deadWorker: string | null = null;
  private readonly callTimeoutMs: number;

  /** Starts the workers and builds the envs; resolves once every worker is ready. */
  static async create(options: VectorEnvOptions): Promise<VectorEnv> {
    const { benchmark, tasks, seed } = options;
    const autoreset = options.autoreset ?? 'next-step';
    if (benchmark === null || typeof benchmark !== 'object' || !benchmark.observationSpace) throw new TypeError('VectorEnv needs a benchmark (a Benchmark value from sim/benchmarks.ts)');
    if (!Array.isArray(tasks) || tasks.length === 0) throw new RangeError('VectorEnv needs at least one task in tasks (one per env)');
    tasks.forEach((task, i) => checkTask(task, `tasks[${i}]`, benchmark));
    if (autoreset !== 'next-step' && autoreset !== 'same-step') throw new RangeError(`autoreset must be 'next-step' or 'same-step', got '${String(autoreset)}'`);
    checkSeed(seed);
    const numEnvs = tasks.length;
    const numWorkers = options.workers ?? Math.min(availableParallelism(), numEnvs);
    if (!Number.isSafeInteger(numWorkers) || numWorkers < 1 || numWorkers > numEnvs) {
      throw new RangeError(`workers must be an integer from 1 to the number of envs (${numEnvs}), got ${numWorkers}`);
    }
    const observationSize = benchmark.observationSpace.shape[0];
    const actionSize = benchmark.actionSpace.shape[0];
    const buffers = allocateBuffers(numEnvs, observationSize, actionSize, autoreset);
    // Contiguous, balanced slices: worker w owns envs floor(w N / W) .. floor((w + 1) N / W) - 1.
    const slices = Array.from({ length: numWorkers }, (_, w): [number, number] => [Math.floor((w * numEnvs) / numWorkers), Math.floor(((w + 1) * numEnvs) / numWorkers)]);
    const workers: Worker[] = [];
    const ports: MessagePort[] = [];
    const startups: Promise<void>[] = [];
    for (const [w, [first, end]] of slices.entries()) {
      const channel = new MessageChannel();
      const init: WorkerInit = { buffers, numEnvs, numWorkers, benchmark, autoreset, seed, first, tasks: tasks.slice(first, end), port: channel.port2 };
      const worker = new Worker(WORKER_ENTRY, { workerData: init, transferList: [channel.port2] });
      workers.push(worker);
      ports.push(channel.port1);
      startups.push(new Promise<void>((resolve, reject) => {
        const failed = (why: string) => reject(new Error(`VectorEnv worker ${w} (envs ${first}..${end - 1}) failed to start: ${why}`));
        worker.once('message', () => resolve());
        worker.once('error', (error) => failed(error.message));
        worker.once('exit', (code) => failed(`exited with code ${code}`));
      }));
    }
    try {
      await Promise.all(startups);
    } catch (error) {
      await Promise.all(workers.map((worker) => worker.terminate()));
      for (const port of ports) port.close();
      throw error;
    }
    const callTimeoutMs = options.callTimeoutMs ?? 60_000;
    if (!(callTimeoutMs > 0)) throw new RangeError(`callTimeoutMs must be > 0, got ${callTimeoutMs}`);
    const venv = new VectorEnv({ benchmark, numEnvs, numWorkers, observationSize, actionSize, autoreset, views: viewBuffers(buffers), workers, ports, slices, callTimeoutMs });
    workers.forEach((worker, w) => {
      worker.removeAllListeners();
      // A worker catches every env's error itself; one that dies anyway (out of memory) is
      // reported by the next call rather than crashing the process.
      const died = (why: string) => { if (!venv.closed) venv.deadWorker ??= `VectorEnv worker ${w} died (${why}); close() this vector env and create a new one`; };
      worker.on('error', (error) => died(error.message));
      worker.on('exit', (code) => died(`exit code ${code}`));
      // Idle workers sleep in Atomics.wait; they must not keep the process alive on their own.
      worker.unref();
    });
    return venv;
  }

  private constructor(parts: {
    benchmark: Benchmark; numEnvs: number; numWorkers: number; observationSize: number; actionSize: number; autoreset: AutoresetMode;
    views: SharedViews; workers: Worker[]; ports: MessagePort[]; slices: Array<[number, number]>; callTimeoutMs: number;
  }) {
    this.callTimeoutMs = parts.callTimeoutMs;
    this.benchmark = parts.benchmark;
    this.numEnvs = parts.numEnvs;
    this.numWorkers = parts.numWorkers;
    this.observationSize = parts.observationSize;
    this.actionSize = parts.actionSize;
    this.autoreset = parts.autoreset;
    this.views = parts.views;
    this.workers = parts.workers;
    this.ports = parts.ports;
    this.slices = parts.slices;
    this.actions = this.views.actions;
    this.episodeSeeds = this.views.episodeSeeds;
    const v = this.views;
    this.result = { obs: v.obs, rewards: v.rewards, terminated: v.terminated, truncated: v.truncated, success: v.success, finalObs: this.autoreset === 'same-step' ? v.finalObs : null };
    this.resetResult = { obs: v.obs, success: v.success };
  }

  /**
   * Resets all envs (or those in `mask`), optionally with a new base seed and new tasks. Rewards
   * and flags of the reset envs become 0. Throws VectorEnvError naming each env that failed; the
   * others are reset.
   */
  reset(options: VectorResetOptions = {}): VectorResetResult {
    this.checkOpen('reset');
    const n = this.numEnvs;
    const { seed, mask, tasks } = options;
    // Validate everything before touching shared state, so a bad call changes nothing.
    if (seed !== undefined) checkSeed(seed);
    if (mask !== undefined && (mask === null || typeof mask.length !== 'number' || mask.length !== n)) {
      throw new RangeError(`reset: mask must have one entry per env (${n}), got ${mask === null ? 'null' : mask.length}`);
    }
    let taskMessages: TaskMessage[] | null = null;
    if (tasks !== undefined) {
      if (!Array.isArray(tasks) || tasks.length !== n) throw new RangeError(`reset: tasks must have one entry (a task or undefined) per env (${n}), got ${Array.isArray(tasks) ? tasks.length : typeof tasks}`);
      taskMessages = this.slices.map(() => []);
      for (let i = 0; i < n; i++) {
        const task = tasks[i];
        if (task === undefined) continue;
        if (mask !== undefined && !mask[i]) throw new RangeError(`reset: tasks[${i}] is given but env ${i} is outside the mask`);
        checkTask(task, `reset: tasks[${i}]`, this.benchmark);
        taskMessages[this.workerOf(i)].push([i, task]);
      }
      // Cloned here so that a task that cannot cross to a worker fails before any worker is sent anything.
      try {
        taskMessages = structuredClone(taskMessages);
      } catch (error) {
        throw new TypeError(`reset: tasks cannot be sent to the workers: ${(error as Error).message}`);
      }
    }
    const v = this.views;
    for (let i = 0; i < n; i++) v.resetMask[i] = mask === undefined || mask[i] ? 1 : 0;
    v.seed[0] = seed ?? 0;
    Atomics.store(v.control, CONTROL.seeded, seed === undefined ? 0 : 1);
    Atomics.store(v.control, CONTROL.withTasks, taskMessages === null ? 0 : 1);
    // Each worker reads exactly one task message per reset that carries tasks.
    if (taskMessages !== null) taskMessages.forEach((message, w) => this.ports[w].postMessage(message));
    this.started = true;
    this.run(COMMAND.reset, 'reset');
    return this.resetResult;
  }

  /**
   * Advances every env by one control step. `actions` holds N x 4 finite numbers (dx, dy, dz,
   * gripper per env), stored as float32. Throws before doing anything on bad actions, and
   * VectorEnvError naming each env that failed (its row holds NaN); the others' results are valid.
   */
  step(actions: ArrayLike<number>): VectorStepResult {
    this.checkOpen('step');
    if (!this.started) throw new Error('step() called before reset(); call reset() first');
    const expected = this.numEnvs * this.actionSize;
    if (actions === null || typeof actions !== 'object' || typeof actions.length !== 'number') throw new TypeError(`step: actions must be a Float32Array of ${expected} numbers, got ${actions === null ? 'null' : typeof actions}`);
    if (actions.length !== expected) throw new RangeError(`step: actions must hold ${this.numEnvs} envs x 4 = ${expected} entries (dx, dy, dz, gripper per env), got ${actions.length}`);
    for (let j = 0; j < expected; j++) {
      const value = actions[j];
      if (typeof value !== 'number' || !Number.isFinite(value)) {
        throw new RangeError(`step: env ${Math.floor(j / this.actionSize)}: action[${j % this.actionSize}] is ${String(value)}; every action entry must be a finite number`);
      }
    }
    if (actions !== this.actions) this.actions.set(actions);
    this.run(COMMAND.step, 'step');
    return this.result;
  }

  /** Stops the workers and frees the envs. Further calls throw. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.deadWorker === null) this.run(COMMAND.close, 'close');
    await Promise.all(this.workers.map((worker) => worker.terminate()));
    for (const port of this.ports) port.close();
  }

  /** Wakes the workers for one command and sleeps until the last one is done. */
  private run(command: number, call: string): void {
    const control = this.views.control;
    Atomics.store(control, CONTROL.failures, 0);
    Atomics.store(control, CONTROL.command, command);
    Atomics.store(control, CONTROL.pending, this.numWorkers);
    Atomics.add(control, CONTROL.generation, 1);
    Atomics.notify(control, CONTROL.generation);
    // The main thread is blocked here, so a worker's 'exit' event cannot arrive: a deadline is the only
    // way to notice a worker that died mid-call.
    const deadline = performance.now() + this.callTimeoutMs;
    for (let pending = Atomics.load(control, CONTROL.pending); pending !== 0; pending = Atomics.load(control, CONTROL.pending)) {
      const left = deadline - performance.now();
      if (left <= 0 || Atomics.wait(control, CONTROL.pending, pending, left) === 'timed-out' && Atomics.load(control, CONTROL.pending) !== 0) {
        this.deadWorker = `${pending} of ${this.numWorkers} VectorEnv workers did not finish ${call}() within ${this.callTimeoutMs} ms (killed, e.g. out of memory, or stuck); close() this vector env and create a new one`;
        throw new Error(`${call}(): ${this.deadWorker}`);
      }
    }
    if (Atomics.load(control, CONTROL.failures) === 0) return;
    // Rare path: each failed env posted its message before its worker signed off.
    const failures: EnvFailure[] = [];
    for (const port of this.ports) {
      for (let m = receiveMessageOnPort(port); m !== undefined; m = receiveMessageOnPort(port)) failures.push(m.message as EnvFailure);
    }
    failures.sort((a, b) => a.env - b.env);
    throw new VectorEnvError(call, failures, this.result);
  }

  private workerOf(env: number): number {
    return this.slices.findIndex(([first, end]) => env >= first && env < end);
  }

  private checkOpen(call: string): void {
    if (this.closed) throw new Error(`${call}() called after close()`);
    if (this.deadWorker !== null) throw new Error(`${call}(): ${this.deadWorker}`);
  }
}

function checkSeed(seed: unknown): asserts seed is number {
  if (typeof seed !== 'number' || !Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`seed must be a non-negative integer, got ${String(seed)}`);
}

/** Refuses what is not a task of one of the benchmark's families (its parameters are the env's to check, per env). */
function checkTask(task: unknown, field: string, benchmark: Benchmark): asserts task is Task {
  const t = task as Task | null;
  if (t === null || typeof t !== 'object' || typeof t.family !== 'string' || !Array.isArray(t.params)) {
    throw new TypeError(`${field} must be a task { family: string, params: number[] }${field.startsWith('reset') ? ' or undefined' : ''}`);
  }
  if (!benchmark.families.includes(t.family)) throw new RangeError(`${field}: family '${t.family}' is not a family of ${benchmark.name} (${benchmark.families.join(', ')})`);
}
