// A learner thread (learner-threads.ts): its own TensorFlow.js backend and copy of RL2's network; for
// each minibatch it loads the current weights and writes the gradient of its part to shared memory.

import { receiveMessageOnPort } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { chooseBackend } from './backend.ts';
import { COMMAND, CONTROL, type LearnerWorkerInit, type SharedBatch, TERM_NAMES, computePart, partIds } from './learner-threads.ts';
import type { PpoPolicy } from './ppo.ts';
import { rl2Network } from './rl2-network.ts';
import { trialReplay } from './rl2-record.ts';

export async function runLearnerWorker(init: LearnerWorkerInit, send: (message: { ready: true } | { error: string }) => void): Promise<void> {
  const { part, threads, shared, port } = init;
  const { control } = shared;
  let net;
  try {
    const choice = await chooseBackend(init.backend);
    if (choice.backend !== init.backend) throw new Error(`backend ${init.backend} did not load here (${choice.attempts.map((a) => `${a.backend}: ${a.error ?? 'ok'}`).join('; ')})`);
    net = rl2Network(init.network.spec, init.network.config, init.network.seed);
  } catch (error) {
    send({ error: (error as Error).message });
    return;
  }
  const trainedSize = [...net.params.trainable.values()].reduce((n, v) => n + v.size, 0);
  const slot = {
    gradient: shared.gradients.subarray((part - 1) * trainedSize, part * trainedSize),
    terms: shared.terms.subarray((part - 1) * TERM_NAMES.length, part * TERM_NAMES.length),
  };
  let batch: SharedBatch | null = null;
  let policy: PpoPolicy | null = null;
  let generation = Atomics.load(control, CONTROL.generation);
  send({ ready: true });
  for (;;) {
    Atomics.wait(control, CONTROL.generation, generation);
    if (Atomics.load(control, CONTROL.generation) === generation) continue;
    generation = Atomics.load(control, CONTROL.generation);
    const command = Atomics.load(control, CONTROL.command);
    if (command === COMMAND.close) {
      net.dispose();
      if (Atomics.sub(control, CONTROL.pending, 1) === 1) Atomics.notify(control, CONTROL.pending);
      return;
    }
    try {
      if (Atomics.load(control, CONTROL.newBatch) === 1) {
        batch = receiveMessageOnPort(port)?.message as SharedBatch;
        policy = trialReplay(net, batch.record);
      }
      if (!batch || !policy) throw new Error('a gradient was asked before any batch arrived');
      let at = 0;
      tf.tidy(() => {
        for (const v of net.params.vars.values()) { v.assign(tf.tensor(shared.weights.subarray(at, at + v.size), v.shape, 'float32')); at += v.size; }
      });
      const ids = Array.from(shared.ids.subarray(0, Atomics.load(control, CONTROL.ids)));
      const minibatch = { ids, advantageMean: shared.advantageStats[0], advantageStd: shared.advantageStats[1], cloning: shared.advantageStats[2] === 1 };
      computePart(slot, policy, batch.ppo, minibatch, init.ppo, partIds(ids, part, threads));
    } catch (error) {
      port.postMessage({ error: (error as Error).stack ?? String(error) });
      Atomics.add(control, CONTROL.failures, 1);
    }
    if (Atomics.sub(control, CONTROL.pending, 1) === 1) Atomics.notify(control, CONTROL.pending);
  }
}
