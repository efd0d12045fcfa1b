// RL2's data-parallel learner: each minibatch's gradient is computed in parts, part 0 in this thread
// and part w in worker thread w (each with its own TensorFlow.js wasm instance: the wasm backend runs one
// thread in Node), over shared memory; the parts' gradients are added in part order, so the same number
// of threads gives the same bits, in threads or not.

import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { backendChoice } from './backend.ts';
import type { EnvSpec } from './envs.ts';
import type { Params } from './nn.ts';
import type { Rl2NetworkSettings } from './rl2-network.ts';
import type { TrialRecord } from './rl2-record.ts';
import { type PpoBatch, type PpoConfig, type PpoMinibatch, type PpoPolicy, type PpoTermValues, minibatchGradient } from './ppo.ts';

/** The most learner threads: more than the cores only adds copies of the network. */
export const MAX_LEARNER_THREADS = 16;

/** Indices into the Int32 control words. */
export const CONTROL = {
  /** Bumped by the main thread once per command; workers sleep on it. */
  generation: 0,
  command: 1,
  /** Workers still busy with the current command; the last one to finish wakes the main thread. */
  pending: 2,
  /** Workers whose command failed (each posted its error on its port). */
  failures: 3,
  /** 1 when a new batch waits on each worker's port. */
  newBatch: 4,
  /** Sequence ids in the current minibatch. */
  ids: 5,
} as const;
const CONTROL_WORDS = 6;

export const COMMAND = { gradient: 1, close: 2 } as const;

/** The loss terms in the order they sit in the shared term rows. */
export const TERM_NAMES = ['policyLoss', 'valueLoss', 'entropy', 'approxKl', 'clipFraction'] as const;

/** Everything a worker needs to rebuild the network and to read its commands. */
export interface LearnerWorkerInit {
  /** This worker's part (1..threads-1; part 0 is the main thread's). */
  part: number;
  threads: number;
  /** The backend the main thread runs (each part must run the same kernels). */
  backend: string;
  network: LearnerNetworkSpec;
  ppo: PpoConfig;
  shared: LearnerShared;
  port: MessagePort;
}

/** What a worker builds its copy of RL2's network from (rl2-network.ts: rl2Network). */
export interface LearnerNetworkSpec { spec: EnvSpec; config: Rl2NetworkSettings; seed: number }

/** The shared memory: control words, minibatch, weights in, gradients and loss terms out. */
export interface LearnerShared {
  control: Int32Array;
  /** Ids of the current minibatch's sequences (CONTROL.ids of them). */
  ids: Int32Array;
  /** Mean and standard deviation the advantages are standardised with, and 1 for a cloning update (PpoMinibatch.cloning). */
  advantageStats: Float64Array;
  /** Every parameter (trained or not), in the network's order. */
  weights: Float32Array;
  /** Per worker, the gradient of its part: the trained parameters in the network's order. */
  gradients: Float32Array;
  /** Per worker, its part's loss terms (TERM_NAMES). */
  terms: Float64Array;
}

/** A batch as the workers see it: PPO's arrays and the trials the policy replays, all in shared memory. */
export interface SharedBatch { ppo: PpoBatch; record: TrialRecord }

/** Where a part's results go: its gradient (the trained parameters in the network's order) and loss terms (TERM_NAMES). */
export interface PartSlot { gradient: Float32Array; terms: Float64Array }

/**
 * Computes the gradient and loss terms of the minibatch part made of sequences `ids` into `slot`
 * (zeros for an empty part: a minibatch of fewer sequences than parts).
 */
export function computePart(slot: PartSlot, policy: PpoPolicy, batch: PpoBatch, minibatch: PpoMinibatch, ppo: PpoConfig, ids: readonly number[]): void {
  if (ids.length === 0) {
    slot.gradient.fill(0);
    slot.terms.fill(0);
    return;
  }
  const { grads, terms } = minibatchGradient(policy, batch, minibatch, ppo, ids);
  let at = 0;
  for (const [name, v] of policy.params.trainable) { slot.gradient.set(grads.get(name)!.dataSync() as Float32Array, at); at += v.size; }
  for (const g of grads.values()) g.dispose();
  TERM_NAMES.forEach((name, k) => { slot.terms[k] = terms[name]; });
}

/** The ids of part `part` of `threads` of a minibatch: contiguous, nearly equal. */
export function partIds(ids: readonly number[], part: number, threads: number): readonly number[] {
  return ids.slice(Math.floor((part * ids.length) / threads), Math.floor(((part + 1) * ids.length) / threads));
}

const WORKER_ENTRY = new URL('./learner-worker.mjs', import.meta.url);

export class LearnerThreads {
  private readonly trainedSize: number;
  /** Part 0's gradient and loss terms (the workers' parts are in shared memory). */
  private readonly ownSlot: PartSlot;
  private sharedBatch: SharedBatch | null = null;
  private closed = false;

  private constructor(
    /** Parts each minibatch is cut into (the main thread's and one per worker). */
    readonly threads: number,
    private readonly params: Params,
    private readonly ppo: PpoConfig,
    private readonly shared: LearnerShared,
    private readonly workers: Worker[],
    private readonly ports: MessagePort[],
    private readonly callTimeoutMs: number,
  ) {
    this.trainedSize = [...params.trainable.values()].reduce((n, v) => n + v.size, 0);
    this.ownSlot = { gradient: new Float32Array(this.trainedSize), terms: new Float64Array(TERM_NAMES.length) };
  }

  /**
   * Starts threads - 1 workers, each building the network of `network` (its weights come from `params`
   * before every gradient); resolves once every one is ready. With `allInThisThread` no worker starts
   * and every part is computed here, one after another (tests: the same numbers as with threads).
   */
  static async start(options: {
    threads: number; params: Params; network: LearnerNetworkSpec; ppo: PpoConfig; maxSequences: number; callTimeoutMs?: number; allInThisThread?: boolean;
  }): Promise<LearnerThreads> {
    const { threads, params } = options;
    if (!Number.isSafeInteger(threads) || threads < 1 || threads > MAX_LEARNER_THREADS) throw new RangeError(`learnerThreads must be an integer from 1 to ${MAX_LEARNER_THREADS}, got ${threads}`);
    const weightsSize = [...params.vars.values()].reduce((n, v) => n + v.size, 0);
    const trainedSize = [...params.trainable.values()].reduce((n, v) => n + v.size, 0);
    const others = threads - 1;
    const workerCount = options.allInThisThread ? 0 : others;
    const shared: LearnerShared = {
      control: new Int32Array(new SharedArrayBuffer(4 * CONTROL_WORDS)),
      ids: new Int32Array(new SharedArrayBuffer(4 * Math.max(1, options.maxSequences))),
      advantageStats: new Float64Array(new SharedArrayBuffer(8 * 3)),
      weights: new Float32Array(new SharedArrayBuffer(4 * weightsSize)),
      gradients: new Float32Array(new SharedArrayBuffer(4 * Math.max(1, others * trainedSize))),
      terms: new Float64Array(new SharedArrayBuffer(8 * Math.max(1, others * TERM_NAMES.length))),
    };
    const workers: Worker[] = [], ports: MessagePort[] = [], startups: Promise<void>[] = [];
    for (let part = 1; part <= workerCount; part++) {
      const channel = new MessageChannel();
      const init: LearnerWorkerInit = { part, threads, backend: backendChoice()?.backend ?? tf.getBackend(), network: options.network, ppo: options.ppo, shared, port: channel.port2 };
      const worker = new Worker(WORKER_ENTRY, { workerData: init, transferList: [channel.port2] });
      workers.push(worker);
      ports.push(channel.port1);
      startups.push(new Promise<void>((resolve, reject) => {
        const failed = (why: string) => reject(new Error(`learner thread ${part} failed to start: ${why}`));
        worker.once('message', (message: { ready?: true; error?: string }) => (message.ready ? resolve() : failed(message.error ?? 'no reason given')));
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
    for (const worker of workers) {
      worker.removeAllListeners();
      // Idle workers sleep in Atomics.wait; they must not keep the process alive on their own.
      worker.unref();
    }
    return new LearnerThreads(threads, params, options.ppo, shared, workers, ports, options.callTimeoutMs ?? 600_000);
  }

  /**
   * The gradient of `minibatch` (by parameter name, tensors the caller disposes) and its loss terms:
   * part 0 computed here with `policy`, the other parts in the workers, added in part order. `batch`
   * must live in shared memory (SharedArrayBuffer-backed arrays).
   */
  gradient(policy: PpoPolicy, batch: SharedBatch, minibatch: PpoMinibatch): { grads: Map<string, tf.Tensor>; terms: PpoTermValues } {
    if (this.closed) throw new Error('learner threads: gradient() after close()');
    const { shared, threads } = this;
    const { control } = shared;
    const ids = minibatch.ids;
    if (this.workers.length > 0) {
      if (batch !== this.sharedBatch) {
        for (const port of this.ports) port.postMessage(batch);
        this.sharedBatch = batch;
        Atomics.store(control, CONTROL.newBatch, 1);
      } else {
        Atomics.store(control, CONTROL.newBatch, 0);
      }
      shared.ids.set(ids);
      Atomics.store(control, CONTROL.ids, ids.length);
      shared.advantageStats[0] = minibatch.advantageMean;
      shared.advantageStats[1] = minibatch.advantageStd;
      shared.advantageStats[2] = minibatch.cloning ? 1 : 0;
      let at = 0;
      for (const v of this.params.vars.values()) { shared.weights.set(v.dataSync() as Float32Array, at); at += v.size; }
      this.start(COMMAND.gradient);
    }
    // Part 0 (every part without workers) is computed here, while the workers compute theirs.
    for (let part = this.workers.length > 0 ? 0 : threads - 1; part >= 0; part--) this.localPart(policy, batch, minibatch, part);
    if (this.workers.length > 0) this.wait('gradient');

    // Part 0, then part 1, 2, ... added in float32, element by element: a fixed order.
    const total = new Float32Array(this.trainedSize);
    const terms = Object.fromEntries(TERM_NAMES.map((name) => [name, 0])) as unknown as PpoTermValues;
    for (let part = 0; part < threads; part++) {
      const slot = this.slot(part);
      for (let i = 0; i < total.length; i++) total[i] += slot.gradient[i];
      TERM_NAMES.forEach((name, k) => { terms[name] += slot.terms[k]; });
    }
    const grads = new Map<string, tf.Tensor>();
    let at = 0;
    for (const [name, v] of this.params.trainable) { grads.set(name, tf.tensor(total.subarray(at, at + v.size), v.shape, 'float32')); at += v.size; }
    return { grads, terms };
  }

  /** Ends the workers; further gradients throw. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.workers.length > 0) {
      try {
        this.start(COMMAND.close);
        this.wait('close');
      } catch {
        // A worker that cannot take the command is terminated below anyway.
      }
    }
    await Promise.all(this.workers.map((worker) => worker.terminate()));
    for (const port of this.ports) port.close();
  }

  /** Where part `part`'s gradient and loss terms go (part 0's own slot lives here, the others' in shared memory). */
  private slot(part: number): PartSlot {
    if (part === 0) return this.ownSlot;
    return {
      gradient: this.shared.gradients.subarray((part - 1) * this.trainedSize, part * this.trainedSize),
      terms: this.shared.terms.subarray((part - 1) * TERM_NAMES.length, part * TERM_NAMES.length),
    };
  }

  /** Computes part `part` of the minibatch here and writes it to its slot (zeros for an empty part). */
  private localPart(policy: PpoPolicy, batch: SharedBatch, minibatch: PpoMinibatch, part: number): void {
    computePart(this.slot(part), policy, batch.ppo, minibatch, this.ppo, partIds(minibatch.ids, part, this.threads));
  }

  private start(command: number): void {
    const { control } = this.shared;
    Atomics.store(control, CONTROL.failures, 0);
    Atomics.store(control, CONTROL.command, command);
    Atomics.store(control, CONTROL.pending, this.workers.length);
    Atomics.add(control, CONTROL.generation, 1);
    Atomics.notify(control, CONTROL.generation);
  }

  /** Sleeps until every worker is done with the current command; throws what a failed one reported. */
  private wait(call: string): void {
    const { control } = this.shared;
    // Blocked here, this thread cannot see a worker's 'exit' event: a deadline is the only way to
    // notice one that died mid-command.
    const deadline = performance.now() + this.callTimeoutMs;
    for (let pending = Atomics.load(control, CONTROL.pending); pending !== 0; pending = Atomics.load(control, CONTROL.pending)) {
      const left = deadline - performance.now();
      if (left <= 0) {
        this.closed = true;
        throw new Error(`learner threads: ${pending} of ${this.workers.length} workers did not finish ${call} within ${this.callTimeoutMs} ms (killed, e.g. out of memory, or stuck)`);
      }
      Atomics.wait(control, CONTROL.pending, pending, left);
    }
    if (Atomics.load(control, CONTROL.failures) === 0) return;
    const errors: string[] = [];
    this.ports.forEach((port, w) => {
      for (let m = receiveMessageOnPort(port); m !== undefined; m = receiveMessageOnPort(port)) errors.push(`learner thread ${w + 1}: ${(m.message as { error: string }).error}`);
    });
    throw new Error(`${call}: ${errors.join('; ') || 'a learner thread failed'}`);
  }
}
