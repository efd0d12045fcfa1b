// RL2's trial record: what sampling keeps per lane and step for learning, in shared memory so that
// learner threads read it without copies, and its replay as PPO's sequences (truncated-BPTT chunks).

import { actionWidth } from './envs.ts';
import type { PpoPolicy } from './ppo.ts';
import type { Rl2Network } from './rl2-network.ts';

/** What sampling keeps for learning, per lane and step (lane-major: lane * steps + t). */
export interface TrialRecord {
  lanes: number;
  steps: number;
  /** Steps per truncated-BPTT chunk (bpttSteps). */
  chunkSteps: number;
  /** The policy's input rows (net.inputs). */
  inputs: Float32Array;
  /** The actions drawn (before box actions are clipped for the env). */
  actions: Float32Array;
  logProbs: Float32Array;
  values: Float32Array;
  rewards: Float32Array;
  /** 1 where the task's success flag was set at that step. */
  success: Uint8Array;
  /**
   * State before step k * chunkSteps, per lane and chunk: [lane][chunk][net.stateSize] (the policy GRU's,
   * then a separate value network's GRU's).
   */
  chunkStarts: Float32Array;
  /** The privileged critic's input rows (net.criticInputs; empty without one). */
  critic: Float32Array;
  /** A separate value network's extra input rows (net.valueInputs; empty without them). */
  valueInputs: Float32Array;
}

/** A trial record in shared memory (SharedArrayBuffer), so that learner threads read it without copies. */
export function newTrialRecord(net: Rl2Network, lanes: number, steps: number, chunkSteps: number): TrialRecord {
  return {
    lanes, steps, chunkSteps,
    inputs: sharedFloats(lanes * steps * net.inputs.size),
    actions: sharedFloats(lanes * steps * actionWidth(net.action)),
    logProbs: sharedFloats(lanes * steps),
    values: sharedFloats(lanes * steps),
    rewards: sharedFloats(lanes * steps),
    success: new Uint8Array(new SharedArrayBuffer(lanes * steps)),
    chunkStarts: sharedFloats(lanes * (steps / chunkSteps) * net.stateSize),
    critic: sharedFloats(lanes * steps * (net.criticInputs?.size ?? 0)),
    valueInputs: sharedFloats(lanes * steps * (net.valueInputs?.size ?? 0)),
  };
}


/**
 * The recorded trials as PPO's sequences: sequence k is chunk k of the lane-major record (steps
 * k * L .. k * L + L - 1), replayed from the hidden state recorded at its start (truncated BPTT).
 */
export function trialReplay(net: Rl2Network, record: TrialRecord): PpoPolicy {
  const L = record.chunkSteps, I = net.inputs.size, C = net.criticInputs?.size ?? 0, V = net.valueInputs?.size ?? 0, width = actionWidth(net.action);
  const S = net.stateSize;
  return {
    params: net.params,
    evaluate: (ids) => {
      const B = ids.length;
      const inputs = new Float32Array(L * B * I), actions = new Float32Array(L * B * width), h0 = new Float32Array(B * S);
      const critic = new Float32Array(L * B * C), valueInputs = new Float32Array(L * B * V);
      ids.forEach((chunk, b) => {
        h0.set(record.chunkStarts.subarray(chunk * S, (chunk + 1) * S), b * S);
        for (let t = 0; t < L; t++) {
          const at = chunk * L + t;
          inputs.set(record.inputs.subarray(at * I, (at + 1) * I), (t * B + b) * I);
          actions.set(record.actions.subarray(at * width, (at + 1) * width), (t * B + b) * width);
          if (C > 0) critic.set(record.critic.subarray(at * C, (at + 1) * C), (t * B + b) * C);
          if (V > 0) valueInputs.set(record.valueInputs.subarray(at * V, (at + 1) * V), (t * B + b) * V);
        }
      });
      const out = net.sequence(inputs, L, B, h0, critic, valueInputs);
      return { ...net.logProbAndEntropy(out.head, actions), value: out.value };
    },
  };
}

/** A float32 array in shared memory. */
export const sharedFloats = (n: number): Float32Array => new Float32Array(new SharedArrayBuffer(4 * n));
