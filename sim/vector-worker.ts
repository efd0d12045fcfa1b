// VectorEnv's worker side and the shared-memory protocol both sides speak: the buffers, the
// control words, and the loop that runs each command over one worker's contiguous slice of envs.

import { availableParallelism } from 'node:os';
import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { type Benchmark, makeEnv } from './benchmarks.ts';
import type { Env } from './env.ts';
import type { Task } from './family.ts';

/**
 * What a vector env does when an episode ends (Gymnasium's AutoresetMode):
 * - 'next-step': the step that ends the episode returns its final observation; the env's next
 *   step ignores its action, resets the env and returns the first observation with reward 0 and
 *   terminated = truncated = false.
 * - 'same-step': the step that ends the episode resets the env at once and returns the first
 *   observation of the next episode together with the final step's reward and flags; the final
 *   observation goes to the separate `finalObs` buffer.
 */
export type AutoresetMode = 'next-step' | 'same-step';

/** An env's failure inside one reset/step call, as a worker reports it. */
export interface EnvFailure {
  env: number;
  family: string;
  message: string;
}

/** Indices into the Int32 control buffer. */
export const CONTROL = {
  /** Bumped by the main thread once per command; workers sleep on it. */
  generation: 0,
  command: 1,
  /** Workers still busy with the current command; the last one to finish wakes the main thread. */
  pending: 2,
  /** Envs that failed in the current command (their messages wait on the worker ports). */
  failures: 3,
  /** 1 when the current reset carries a new base seed in the seed buffer. */
  seeded: 4,
  /** 1 when the current reset carries new tasks: one message on each worker's port. */
  withTasks: 5,
} as const;
const CONTROL_WORDS = 6;

export const COMMAND = { step: 1, reset: 2, close: 3 } as const;

/** The shared memory of a vector env: one SharedArrayBuffer per array, so alignment is never a question. */
export interface SharedBuffers {
  control: SharedArrayBuffer;
  /** Float64: the base seed of a seeded reset (any safe integer fits exactly). */
  seed: SharedArrayBuffer;
  actions: SharedArrayBuffer;
  obs: SharedArrayBuffer;
  finalObs: SharedArrayBuffer;
  rewards: SharedArrayBuffer;
  terminated: SharedArrayBuffer;
  truncated: SharedArrayBuffer;
  success: SharedArrayBuffer;
  /** Float64: the seed of each env's current episode. */
  episodeSeeds: SharedArrayBuffer;
  /** Which envs the current reset applies to. */
  resetMask: SharedArrayBuffer;
}

export interface SharedViews {
  control: Int32Array;
  seed: Float64Array;
  actions: Float32Array;
  obs: Float32Array;
  finalObs: Float32Array;
  rewards: Float64Array;
  terminated: Uint8Array;
  truncated: Uint8Array;
  success: Uint8Array;
  episodeSeeds: Float64Array;
  resetMask: Uint8Array;
}

export function allocateBuffers(numEnvs: number, observationSize: number, actionSize: number, autoreset: AutoresetMode): SharedBuffers {
  const shared = (bytes: number) => new SharedArrayBuffer(bytes);
  return {
    control: shared(CONTROL_WORDS * 4),
    seed: shared(8),
    actions: shared(numEnvs * actionSize * 4),
    obs: shared(numEnvs * observationSize * 4),
    // Only same-step autoreset has final observations to keep apart.
    finalObs: shared(autoreset === 'same-step' ? numEnvs * observationSize * 4 : 0),
    rewards: shared(numEnvs * 8),
    terminated: shared(numEnvs),
    truncated: shared(numEnvs),
    success: shared(numEnvs),
    episodeSeeds: shared(numEnvs * 8),
    resetMask: shared(numEnvs),
  };
}

export function viewBuffers(b: SharedBuffers): SharedViews {
  return {
    control: new Int32Array(b.control),
    seed: new Float64Array(b.seed),
    actions: new Float32Array(b.actions),
    obs: new Float32Array(b.obs),
    finalObs: new Float32Array(b.finalObs),
    rewards: new Float64Array(b.rewards),
    terminated: new Uint8Array(b.terminated),
    truncated: new Uint8Array(b.truncated),
    success: new Uint8Array(b.success),
    episodeSeeds: new Float64Array(b.episodeSeeds),
    resetMask: new Uint8Array(b.resetMask),
  };
}


/** The episode seed of an env's reset: see docs/VECTOR_ENV.md ("Seeds"). */
export const episodeSeed = (baseSeed: number, env: number, episode: number, numEnvs: number): number => baseSeed + env + episode * numEnvs;

/** What a worker gets at start (structured-cloned once; the SharedArrayBuffers are shared, not copied). */
export interface WorkerInit {
  buffers: SharedBuffers;
  numEnvs: number;
  numWorkers: number;
  /** The benchmark every env belongs to: it sets the observation and action spaces; tasks may be of any of its families. */
  benchmark: Benchmark;
  autoreset: AutoresetMode;
  seed: number;
  /** This worker's envs: indices first .. first + tasks.length - 1, each starting on its task. */
  first: number;
  tasks: Task[];
  /** Side channel for the rare, non-hot-path data (failures out, new tasks in), read synchronously with receiveMessageOnPort. */
  port: MessagePort;
}

/** New tasks for a reset, sent to each worker as [env, task] pairs of its slice. */
export type TaskMessage = Array<[number, Task]>;

interface EnvSlot {
  index: number;
  /** The task in play (or the one that failed to build). */
  task: Task;
  env: Env | null;
  /** This env's entries of the shared action buffer. */
  action: Float32Array;
  phase: 'idle' | 'running' | 'autoreset-due';
  /** Why the env is out of service (a failed build, reset or step), until a reset succeeds. */
  fault: string | null;
  baseSeed: number;
  /** Resets since the base seed was set. */
  episodes: number;
}

/** Longest a worker busy-waits for the next command before it sleeps (ms). */
const SPIN_MS = 0.25;

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** Runs one worker until the close command. Called by vector-worker.mjs inside the worker thread. */
export function runVectorWorker(init: WorkerInit, ready: () => void): void {
  const v = viewBuffers(init.buffers);
  const size = init.benchmark.observationSpace.shape[0];
  const actionSize = init.benchmark.actionSpace.shape[0];
  const sameStep = init.autoreset === 'same-step';
  const slots: EnvSlot[] = init.tasks.map((task, k) => {
    const index = init.first + k;
    const slot: EnvSlot = {
      index, task, env: null, action: v.actions.subarray(index * actionSize, (index + 1) * actionSize),
      phase: 'idle', fault: null, baseSeed: init.seed, episodes: 0,
    };
    // A bad task is not fatal here: it is reported by the reset that needs the env (and fixed by one with a new task).
    try {
      slot.env = makeEnv(init.benchmark, task);
    } catch (error) {
      slot.fault = messageOf(error);
    }
    return slot;
  });

  function writeRow(slot: EnvSlot, obs: Float32Array, reward: number, terminated: boolean, truncated: boolean, success: number): void {
    const i = slot.index;
    v.obs.set(obs, i * size);
    v.rewards[i] = reward;
    v.terminated[i] = terminated ? 1 : 0;
    v.truncated[i] = truncated ? 1 : 0;
    v.success[i] = success;
  }

  /** Starts the slot's next episode (optionally on a new task) and returns its first observation. */
  function resetSlot(slot: EnvSlot, task?: Task): { obs: Float32Array; success: number } {
    if (task !== undefined) {
      slot.task = task;
      // An env takes tasks of every family of the benchmark (its reset rebuilds the world); one
      // that never got built starts on the new task.
      slot.env ??= makeEnv(init.benchmark, task);
    } else if (slot.env === null) {
      throw new Error(slot.fault ?? 'the environment was never built');
    }
    const seed = episodeSeed(slot.baseSeed, slot.index, slot.episodes, init.numEnvs);
    const result = slot.env!.reset({ seed, task });
    v.episodeSeeds[slot.index] = seed;
    slot.episodes++;
    slot.phase = 'running';
    slot.fault = null;
    return { obs: result.obs, success: result.info.success };
  }

  /** Marks the slot out of service and reports why; `family` is that of the task in play when it differs from the slot's. */
  function fail(slot: EnvSlot, error: unknown, family = slot.task.family): void {
    const i = slot.index;
    const message = messageOf(error);
    // The row says "no result" loudly; the flags stay 0 so no episode-end logic fires on it.
    v.obs.fill(NaN, i * size, (i + 1) * size);
    v.rewards[i] = NaN;
    v.terminated[i] = 0;
    v.truncated[i] = 0;
    v.success[i] = 0;
    slot.phase = 'idle';
    slot.fault = message;
    const failure: EnvFailure = { env: i, family, message };
    init.port.postMessage(failure);
    Atomics.add(v.control, CONTROL.failures, 1);
  }

  function stepSlot(slot: EnvSlot): void {
    try {
      if (slot.phase === 'idle') {
        throw new Error(slot.fault === null ? 'no episode is running; reset the env first' : `out of service since an earlier error (${slot.fault}); reset the env first`);
      }
      if (slot.phase === 'autoreset-due') {
        const first = resetSlot(slot);
        writeRow(slot, first.obs, 0, false, false, first.success);
        return;
      }
      const result = slot.env!.step(slot.action);
      const ended = result.terminated || result.truncated;
      if (ended && sameStep) {
        v.finalObs.set(result.obs, slot.index * size);
        const first = resetSlot(slot);
        writeRow(slot, first.obs, result.reward, result.terminated, result.truncated, result.info.success);
        return;
      }
      writeRow(slot, result.obs, result.reward, result.terminated, result.truncated, result.info.success);
      if (ended) slot.phase = 'autoreset-due';
    } catch (error) {
      fail(slot, error);
    }
  }

  function resetSlice(): void {
    const seeded = Atomics.load(v.control, CONTROL.seeded) === 1;
    const tasks = new Map<number, Task>();
    if (Atomics.load(v.control, CONTROL.withTasks) === 1) {
      const message = receiveMessageOnPort(init.port)?.message as TaskMessage | undefined;
      for (const [env, task] of message ?? []) tasks.set(env, task);
    }
    for (const slot of slots) {
      if (v.resetMask[slot.index] === 0) continue;
      try {
        if (seeded) {
          slot.baseSeed = v.seed[0];
          slot.episodes = 0;
        }
        const first = resetSlot(slot, tasks.get(slot.index));
        writeRow(slot, first.obs, 0, false, false, first.success);
      } catch (error) {
        fail(slot, error, tasks.get(slot.index)?.family);
      }
    }
  }

  let generation = Atomics.load(v.control, CONTROL.generation);
  let recentWaitMs = SPIN_MS;
  // With more workers than cores a spinning worker would take the core of one still working.
  const maySpin = init.numWorkers <= availableParallelism();
  ready();
  for (;;) {
    const idleSince = performance.now();
    // Spin first while commands have been coming quickly (a tight stepping loop): a worker that
    // sleeps between steps is woken by the kernel wherever it sees fit, often on the same core
    // as the other worker, and two workers then run one after the other (measured: median step
    // time of 2 workers as slow as 1 worker's, for seconds at a time). When the caller is slow
    // (a policy that thinks between steps), the recent waits grow past the bound and the worker
    // sleeps at once, wasting no CPU.
    if (maySpin && recentWaitMs < SPIN_MS) {
      const deadline = idleSince + SPIN_MS;
      for (let k = 1; Atomics.load(v.control, CONTROL.generation) === generation; k++) {
        if ((k & 255) === 0 && performance.now() > deadline) break;
      }
    }
    Atomics.wait(v.control, CONTROL.generation, generation);
    // Only a new generation is a command: a wait that returns without one must not run the last
    // command again (that would count this worker off `pending` twice).
    if (Atomics.load(v.control, CONTROL.generation) === generation) continue;
    recentWaitMs = 0.8 * recentWaitMs + 0.2 * Math.min(performance.now() - idleSince, 10 * SPIN_MS);
    generation = Atomics.load(v.control, CONTROL.generation);
    const command = Atomics.load(v.control, CONTROL.command);
    try {
      if (command === COMMAND.step) {
        for (const slot of slots) stepSlot(slot);
      } else if (command === COMMAND.reset) {
        resetSlice();
      } else if (command === COMMAND.close) {
        for (const slot of slots) slot.env?.close();
      }
    } catch (error) {
      // Not an env's own error (those are caught per env): blame the slice so the caller hears of it.
      for (const slot of slots) fail(slot, error);
    }
    if (Atomics.sub(v.control, CONTROL.pending, 1) === 1) Atomics.notify(v.control, CONTROL.pending);
    if (command === COMMAND.close) return;
  }
}
