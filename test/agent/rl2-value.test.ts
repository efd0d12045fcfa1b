// RL2's value-function options: a separate value network (its own GRU and recurrent state), the
// layer-normalised GRU in the whole network, the value network's time-in-trial input, AdamW; and that
// settings from before them train to the same bits as before.

import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { chooseBackend } from '../../agent/backend.ts';
import { LocalEnvBatch } from '../../agent/batch-env.ts';
import { computeGae, minibatchGradient, ppoUpdate } from '../../agent/ppo.ts';
import { rngFor } from '../../agent/random.ts';
import { RL2_DEFAULTS, Rl2, type Rl2Config, Rl2LanePolicy } from '../../agent/rl2.ts';
import { type TrialRecord, newTrialRecord, trialReplay } from '../../agent/rl2-record.ts';
import { runTrials } from '../../agent/rollout.ts';
import { tabularMdpDistribution } from '../../agent/tabular.ts';
import { resolveScenario } from '../../scenarios/scenario.ts';

beforeAll(async () => { await chooseBackend('wasm'); });

const mdp = tabularMdpDistribution({ episodes: 2, horizon: 5, seed: 0 });
const H = 8;
const small: Rl2Config = { ...RL2_DEFAULTS, hidden: H, headMlp: [8], tasksPerIteration: 3, episodesPerTrial: 2, bpttSteps: 5 };
const separate: Rl2Config = { ...small, separateValueNetwork: true, gruLayerNorm: true, valueTimeInput: true };
const bits = (x: Float32Array) => Buffer.from(x.buffer, x.byteOffset, x.byteLength).toString('base64');

/** Three lanes' trials of two 5-step episodes acted by `rl2` (tasks of iteration 0, episode seed 7). */
function recordTrials(rl2: Rl2, lanes = 3): TrialRecord {
  const record = newTrialRecord(rl2.net, lanes, 10, 5);
  const tasks = mdp.trainTasks(0, lanes);
  const policy = new Rl2LanePolicy(rl2.net, lanes, tasks.map((_, i) => rngFor(2, 'a', i)), { record });
  runTrials(new LocalEnvBatch(mdp, lanes), policy, tasks, 2, 7);
  policy.dispose();
  return record;
}

describe('RL2 separate value network', () => {
  it('leaves the policy as it was (its weights are drawn first) and carries [policy state | value state]', () => {
    const shared = new Rl2(mdp.spec, small, 3), own = new Rl2(mdp.spec, { ...small, separateValueNetwork: true }, 3);
    for (const [name, v] of shared.net.params.vars) {
      if (name.startsWith('value')) continue;
      expect(bits(own.net.params.get(name).dataSync() as Float32Array), name).toBe(bits(v.dataSync() as Float32Array));
    }
    expect([...own.net.params.vars.keys()].filter((n) => n.startsWith('value'))).toEqual(['valueGru/wx', 'valueGru/bx', 'valueGru/wh', 'valueGru/bh', 'valueHead0/w', 'valueHead0/b', 'value/w', 'value/b']);
    expect(own.net.stateSize).toBe(2 * H);
    const a = recordTrials(shared), b = recordTrials(own);
    // The same policy acts the same: the same actions and log-probabilities; the values are another network's.
    expect(Array.from(b.actions)).toEqual(Array.from(a.actions));
    expect(bits(b.logProbs)).toBe(bits(a.logProbs));
    expect(bits(b.values)).not.toBe(bits(a.values));
    // Chunk starts hold both states: the policy's as the shared network's, then the value network's.
    expect(b.chunkStarts.length).toBe(2 * a.chunkStarts.length);
    const lane = 2, chunk = 1;
    const policyPart = b.chunkStarts.subarray((lane * 2 + chunk) * 2 * H, (lane * 2 + chunk) * 2 * H + H);
    const valuePart = b.chunkStarts.subarray((lane * 2 + chunk) * 2 * H + H, (lane * 2 + chunk + 1) * 2 * H);
    expect(bits(policyPart)).toBe(bits(a.chunkStarts.subarray((lane * 2 + chunk) * H, (lane * 2 + chunk + 1) * H)));
    expect(valuePart.some((v) => v !== 0)).toBe(true);
    expect(bits(valuePart)).not.toBe(bits(policyPart));
    shared.dispose();
    own.dispose();
  });

  it('replays truncated-BPTT chunks from the recorded states of both GRUs exactly as it acted (layer norm, time input, with and without fast kernels)', () => {
    for (const config of [separate, { ...separate, fastKernels: false, mlp: [6], privilegedCritic: true, criticMlp: [8] }]) {
      const rl2 = new Rl2(mdp.spec, config, 4);
      const tasks = mdp.trainTasks(0, 3);
      const record = newTrialRecord(rl2.net, 3, 10, 5);
      const critic = rl2.net.criticInputs ? { features: mdp.critic!, tasks, trialSteps: 10 } : undefined;
      const policy = new Rl2LanePolicy(rl2.net, 3, tasks.map((_, i) => rngFor(2, 'a', i)), { record, critic });
      runTrials(new LocalEnvBatch(mdp, 3), policy, tasks, 2, 7);
      policy.dispose();
      // Every chunk (lane-major ids 0..5; odd ids start mid-trial, from non-zero states) in one minibatch.
      const ids = [5, 2, 1, 4, 0, 3];
      const out = trialReplay(rl2.net, record).evaluate(ids);
      const value = out.value.dataSync(), logProb = out.logProb.dataSync();
      for (let t = 0; t < 5; t++) {
        ids.forEach((id, b) => {
          expect(value[t * ids.length + b]).toBeCloseTo(record.values[id * 5 + t], 5);
          expect(logProb[t * ids.length + b]).toBeCloseTo(record.logProbs[id * 5 + t], 5);
        });
      }
      rl2.dispose();
    }
  });

  it('shares no weights with the policy: the value loss has no gradient in the policy\'s parameters, the policy loss none in the value network\'s', () => {
    // advantages 0: the value loss alone; valueCoef 0: the policy loss alone (the entropy bonus is off).
    const gradients = (config: Rl2Config, advantages: number, valueCoef: number) => {
      const rl2 = new Rl2(mdp.spec, { ...config, ppo: { ...config.ppo, entropyCoef: 0, valueCoef } }, 4);
      const record = recordTrials(rl2);
      const batch = { sequences: 6, length: 5, oldLogProb: record.logProbs, advantages: record.values.map(() => advantages), returns: record.values.map((v) => v + 1) };
      const { grads } = minibatchGradient(trialReplay(rl2.net, record), batch, { ids: [0, 1, 2, 3, 4, 5], advantageMean: 0, advantageStd: 1 }, rl2.config.ppo);
      const largest = (value: boolean) => Math.max(...[...grads].filter(([name]) => name.startsWith('value') === value).map(([, g]) => Math.max(...Array.from(g.dataSync(), Math.abs))));
      const result = { policy: largest(false), value: largest(true) };
      rl2.dispose();
      return result;
    };
    // Value loss only (advantages 0): nothing reaches the policy's weights.
    expect(gradients(separate, 0, 1)).toEqual({ policy: 0, value: expect.any(Number) });
    expect(gradients(separate, 0, 1).value).toBeGreaterThan(1e-3);
    // Policy loss only: nothing reaches the value network.
    expect(gradients(separate, 1, 0).value).toBe(0);
    expect(gradients(separate, 1, 0).policy).toBeGreaterThan(1e-3);
    // The shared network's GRU, by contrast, learns from the value loss.
    expect(gradients(small, 0, 1).policy).toBeGreaterThan(1e-3);
  });

  it('learns values: PPO epochs on a batch of Monte-Carlo returns bring its value loss down, leaving the policy untouched', () => {
    const rl2 = new Rl2(mdp.spec, { ...separate, ppo: { ...separate.ppo, entropyCoef: 0, learningRate: 0.01 } }, 5);
    const record = recordTrials(rl2, 6);
    const returns = new Float32Array(record.rewards.length);
    const ends = new Uint8Array(10);
    ends[9] = 1;
    for (let lane = 0; lane < 6; lane++) returns.set(computeGae(record.rewards.subarray(lane * 10, lane * 10 + 10), new Float32Array(10), ends, 0, 0.99, 1).returns, lane * 10);
    const batch = { sequences: 12, length: 5, oldLogProb: record.logProbs, advantages: new Float32Array(returns.length), returns };
    const policyBefore = [...rl2.net.params.vars].filter(([name]) => !name.startsWith('value')).map(([name, v]) => [name, bits(v.dataSync() as Float32Array)]);
    const losses: number[] = [];
    for (let i = 0; i < 40; i++) losses.push(ppoUpdate(trialReplay(rl2.net, record), rl2.optimizer, batch, { ...rl2.config.ppo, epochs: 1, minibatches: 2 }, rngFor(1, 'mb', i), 0.01).valueLoss);
    expect(losses[39]).toBeLessThan(0.2 * losses[0]);
    const policyAfter = [...rl2.net.params.vars].filter(([name]) => !name.startsWith('value')).map(([name, v]) => [name, bits(v.dataSync() as Float32Array)]);
    expect(policyAfter).toEqual(policyBefore);
    rl2.dispose();
  });

  it('skips a minibatch whose gradient norm is above skipGradNorm: no step, no moments', () => {
    const run = (skipGradNorm: number | null) => {
      const rl2 = new Rl2(mdp.spec, { ...separate, ppo: { ...separate.ppo, skipGradNorm } }, 5);
      const record = recordTrials(rl2, 6);
      const batch = { sequences: 12, length: 5, oldLogProb: record.logProbs, advantages: record.rewards.map((r) => r - 0.5), returns: record.rewards };
      const before = [...rl2.net.params.vars].map(([name, v]) => [name, bits(v.dataSync() as Float32Array)]);
      const adamBefore = JSON.stringify(rl2.optimizer.toJSON());
      const stats = ppoUpdate(trialReplay(rl2.net, record), rl2.optimizer, batch, { ...rl2.config.ppo, epochs: 2, minibatches: 2 }, rngFor(1, 'mb'), 0.01);
      const after = [...rl2.net.params.vars].map(([name, v]) => [name, bits(v.dataSync() as Float32Array)]);
      const adam = JSON.stringify(rl2.optimizer.toJSON());
      rl2.dispose();
      return { stats, changed: JSON.stringify(after) !== JSON.stringify(before), after, adam, adamChanged: adam !== adamBefore };
    };
    const never = run(null), all = run(1e-9), none = run(1e9);
    expect(never.stats.skippedMinibatches).toBe(0);
    expect(never.changed).toBe(true);
    // Every minibatch's norm is above 1e-9: nothing moves.
    expect(all.stats.skippedMinibatches).toBe(4);
    expect(all.changed).toBe(false);
    expect(all.adamChanged).toBe(false);
    expect(never.adamChanged).toBe(true);
    // A limit no minibatch reaches changes nothing either: the same bits as without one.
    expect(none.stats.skippedMinibatches).toBe(0);
    expect(none.after).toEqual(never.after);
    expect(none.adam).toEqual(never.adam);
  });

  it('clips the policy\'s and the value network\'s gradients each on its own', () => {
    const rl2 = new Rl2(mdp.spec, separate, 4), shared = new Rl2(mdp.spec, small, 4);
    const group = rl2.net.clipGroup!;
    expect(['gru/wx', 'gru/gh', 'head0/w', 'policy/b'].map(group)).toEqual([0, 0, 0, 0]);
    expect(['valueGru/wx', 'valueGru/gx', 'valueHead0/w', 'value/b', 'critic0/w'].map(group)).toEqual([1, 1, 1, 1, 1]);
    expect(shared.net.clipGroup).toBeUndefined();
    rl2.dispose();
    shared.dispose();
  });
});

describe('RL2 value time input', () => {
  it('feeds the place in the trial (t / trial length) to the value network only', () => {
    const rl2 = new Rl2(mdp.spec, separate, 4), without = new Rl2(mdp.spec, { ...separate, valueTimeInput: false }, 4);
    const record = recordTrials(rl2);
    expect(rl2.net.valueInputs!.size).toBe(1);
    expect(Array.from(record.valueInputs.subarray(10, 20))).toEqual(Array.from({ length: 10 }, (_, t) => Math.fround(t / 10)));
    // The policy reads the same row either way.
    expect(rl2.net.inputs.size).toBe(without.net.inputs.size);
    expect(record.inputs.length).toBe(recordTrials(without).inputs.length);
    rl2.dispose();
    without.dispose();
  });

  it('needs a separate value network, and says so by name', () => {
    expect(() => new Rl2(mdp.spec, { ...small, valueTimeInput: true }, 1)).toThrow(/valueTimeInput needs separateValueNetwork: true/);
  });
});

describe('RL2 settings in scenarios', () => {
  it('takes the new settings from a scenario, and names a bad one', () => {
    const config = resolveScenario({ benchmark: 'tabular-mdp:n10', iterations: 1, rl2: { separateValueNetwork: true, gruLayerNorm: true, valueTimeInput: true, ppo: { weightDecay: 0.01, normalizeAdvantages: false } } });
    expect(config.rl2).toMatchObject({ separateValueNetwork: true, gruLayerNorm: true, valueTimeInput: true, ppo: { weightDecay: 0.01, normalizeAdvantages: false } });
    expect(resolveScenario({ benchmark: 'tabular-mdp:n10', iterations: 1 }).rl2).toMatchObject({ separateValueNetwork: false, gruLayerNorm: false, valueTimeInput: false, ppo: { weightDecay: 0 } });
    expect(() => resolveScenario({ benchmark: 'tabular-mdp:n10', iterations: 1, rl2: { ppo: { weightDecay: -0.1 } } })).toThrow(/rl2\.ppo\.weightDecay/);
    expect(() => resolveScenario({ benchmark: 'tabular-mdp:n10', iterations: 1, rl2: { gruLayerNorm: 'yes' } })).toThrow(/rl2\.gruLayerNorm/);
  });
});

describe('RL2 training bits', () => {
  /** sha256 (16 hex digits) of the weights and optimiser state after two iterations. */
  const trainedState = (config: Rl2Config) => {
    const rl2 = new Rl2(mdp.spec, config, 4);
    const envs = new LocalEnvBatch(mdp, config.tasksPerIteration);
    for (let iteration = 0; iteration < 2; iteration++) rl2.iterate(envs, mdp, iteration, 2);
    const hash = createHash('sha256').update(JSON.stringify(rl2.state())).digest('hex').slice(0, 16);
    rl2.dispose();
    return hash;
  };
  const before = { ...small, tasksPerIteration: 6, ppo: { ...small.ppo, epochs: 2, minibatches: 2 } };

  it('settings from before these options train to the bits they trained to before them (hashes recorded with the code of 2026-12-05)', () => {
    expect(trainedState(before)).toBe('10986c30a612086b');
    expect(trainedState({ ...before, fastKernels: false, privilegedCritic: true, criticMlp: [8], gruTimescale: 10 })).toBe('78dbd1f8dbd04590');
  });

  it('the new options give the same bits for the same seed, run after run', () => {
    const config = { ...before, ...separate, tasksPerIteration: 6, ppo: { ...before.ppo, weightDecay: 0.01, normalizeAdvantages: false } };
    expect(trainedState(config)).toBe(trainedState(config));
    expect(trainedState(config)).not.toBe(trainedState({ ...config, ppo: { ...config.ppo, weightDecay: 0 } }));
  });
});
