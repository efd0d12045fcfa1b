import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { chooseBackend } from '../../agent/backend.ts';
import { LocalEnvBatch } from '../../agent/batch-env.ts';
import { banditDistribution, tabularMdpDistribution } from '../../agent/tabular.ts';
import { RL2_DEFAULTS, Rl2, type Rl2Config, Rl2LanePolicy, learningRewards } from '../../agent/rl2.ts';
import { newTrialRecord, trialReplay } from '../../agent/rl2-record.ts';
import { minibatchGradient } from '../../agent/ppo.ts';
import { LaneHistory, type PrivilegedTask, criticInputs } from '../../agent/rl2-inputs.ts';
import { distributionByName } from '../../agent/distributions.ts';
import { rngFor } from '../../agent/random.ts';
import { runTrials } from '../../agent/rollout.ts';

beforeAll(async () => { await chooseBackend('wasm'); });

const bandit = banditDistribution({ arms: 3, pulls: 4, seed: 0 });
const small = { ...RL2_DEFAULTS, hidden: 8, tasksPerIteration: 2, episodesPerTrial: 4, bpttSteps: 4 };
const zeros = (x: Float32Array) => x.every((v) => v === 0);

describe('RL2 hidden state', () => {
  it('starts every trial from a zero hidden state: two fresh policies act identically', () => {
    const rl2 = new Rl2(bandit.spec, small, 5);
    const a = rl2.explorationPolicy(1, { seed: 9 }), b = rl2.explorationPolicy(1, { seed: 9 });
    expect(zeros(a.hiddenState())).toBe(true);
    const obs = new Float32Array(1);
    expect(Array.from(a.act(obs))).toEqual(Array.from(b.act(obs)));
    expect(Array.from(a.hiddenState())).toEqual(Array.from(b.hiddenState()));
    rl2.dispose();
  });

  it('keeps the hidden state across episode ends within a trial, so what a lane earned changes what it does next', () => {
    const rl2 = new Rl2(bandit.spec, small, 5);
    const obs = new Float32Array(1);
    const won = rl2.explorationPolicy(1, { seed: 9 }), lost = rl2.explorationPolicy(1, { seed: 9 });
    won.act(obs); lost.act(obs);
    // A bandit episode is one pull: done = 1 after every step. The state must survive it.
    won.observe([1], [1]); lost.observe([0], [1]);
    const stateAfterEpisode = won.hiddenState().slice();
    expect(zeros(stateAfterEpisode)).toBe(false);
    won.act(obs); lost.act(obs);
    expect(Array.from(won.hiddenState())).not.toEqual(Array.from(lost.hiddenState()));
    expect(won.lastValues[0]).not.toBe(lost.lastValues[0]);
    // A new trial forgets: a fresh policy is back at zero.
    expect(zeros(rl2.explorationPolicy(1, { seed: 9 }).hiddenState())).toBe(true);
    rl2.dispose();
  });

  it('feeds (observation, previous action one-hot, previous reward, done flag), zeros at the trial start', async () => {
    const { rl2, width, record } = recordMdpTrial(3, {});
    expect(width).toBe(10 + 5 + 2);
    const row = (t: number) => Array.from(record.inputs.subarray(t * width, (t + 1) * width));
    // Step 0: state 0 one-hot, no previous action, reward or done.
    expect(row(0)).toEqual([1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    for (let t = 1; t < 6; t++) {
      const r = row(t);
      expect(r.slice(10, 15).reduce((a, b) => a + b, 0)).toBe(1);
      expect(r[10 + record.actions[t - 1]]).toBe(1);
      expect(r[15]).toBeCloseTo(0.5 * record.rewards[t - 1], 6);
      // The done flag marks the first step of the second episode (after 3 steps), which starts in state 0 again.
      expect(r[16]).toBe(t === 3 ? 1 : 0);
    }
    expect(row(3)[0]).toBe(1);
    rl2.dispose();
  });

  it('replays a trial in truncated-BPTT chunks from the recorded chunk-start states exactly as it acted', () => {
    const mdp = tabularMdpDistribution({ episodes: 2, horizon: 5, seed: 0 });
    const config = { ...small, episodesPerTrial: 2, bpttSteps: 5 };
    const rl2 = new Rl2(mdp.spec, config, 2);
    const width = rl2.net.inputs.size, lanes = 3, steps = 10;
    const record = newTrialRecord(rl2.net, lanes, steps, 5);
    const rngs = Array.from({ length: lanes }, (_, i) => rngFor(2, 'a', i));
    const policy = new Rl2LanePolicy(rl2.net, lanes, rngs, { record });
    runTrials(new LocalEnvBatch(mdp, lanes), policy, mdp.trainTasks(0, lanes), 2, 3);
    // The second chunk of lane 1 (steps 5..9) from its recorded start state.
    const lane = 1, chunk = 1, L = 5;
    const inputs = new Float32Array(L * width);
    for (let t = 0; t < L; t++) inputs.set(record.inputs.subarray((lane * steps + chunk * L + t) * width, (lane * steps + chunk * L + t + 1) * width), t * width);
    const h0 = record.chunkStarts.subarray((lane * 2 + chunk) * config.hidden, (lane * 2 + chunk + 1) * config.hidden);
    expect(zeros(h0)).toBe(false);
    const out = rl2.net.sequence(inputs, L, 1, h0);
    const values = out.value.dataSync();
    for (let t = 0; t < L; t++) expect(values[t]).toBeCloseTo(record.values[lane * steps + chunk * L + t], 5);
    rl2.dispose();
  });
});

describe('RL2 privileged critic', () => {
  it('the value reads the task (arm probabilities) while the policy does not', () => {
    const rl2 = new Rl2(bandit.spec, { ...small, privilegedCritic: true, criticMlp: [8] }, 5);
    const obs = new Float32Array(1);
    const act = (p: number[]) => {
      const policy = new Rl2LanePolicy(rl2.net, 1, [rngFor(1, 'a')], { critic: { features: bandit.critic!, tasks: [{ family: 'bandit', params: p }], trialSteps: 4 } });
      const action = policy.act(obs)[0], value = policy.lastValues[0], h = Array.from(policy.hiddenState());
      policy.dispose();
      return { action, value, h };
    };
    const good = act([0.9, 0.9, 0.9]), bad = act([0.1, 0.1, 0.1]);
    expect(good.value).not.toBe(bad.value);
    expect(good.action).toBe(bad.action);
    expect(good.h).toEqual(bad.h);
    rl2.dispose();
  });

  it('records the critic input per step and learns with it: a PPO iteration on tabular MDPs stays finite', () => {
    const mdp = tabularMdpDistribution({ episodes: 2, horizon: 5, seed: 0 });
    const rl2 = new Rl2(mdp.spec, { ...small, episodesPerTrial: 2, bpttSteps: 5, privilegedCritic: true, criticMlp: [8] }, 2);
    const stats = rl2.iterate(new LocalEnvBatch(mdp, 2), mdp, 0, 1);
    expect(Number.isFinite(stats.valueLoss) && Number.isFinite(stats.policyLoss)).toBe(true);
    rl2.dispose();
  });

  it('reads the task features, the place in the episode and, in training, the place in the trial', () => {
    const mdp = tabularMdpDistribution({ episodes: 2, horizon: 5, seed: 0 });
    const layout = criticInputs(mdp.spec, { privilegedCritic: true })!;
    const F = mdp.spec.criticFeatures!;
    expect(layout.size).toBe(F + 2);
    const [task] = mdp.trainTasks(0, 1);
    const obs = Float32Array.from({ length: 10 }, (_, k) => (k === 3 ? 1 : 0));
    const row = (privileged: PrivilegedTask | null) => {
      const lane = new LaneHistory(mdp.spec.action, privileged);
      lane.obs = obs;
      lane.trialStep = 7;
      const out = new Float32Array(layout.size).fill(Number.NaN);
      layout.write(out, lane);
      return Array.from(out);
    };
    const features = new Float32Array(F);
    mdp.critic!.write(task, obs, 2, features);
    expect(row({ features: mdp.critic!, task, trialSteps: 10 })).toEqual([...features, Math.fround(2 / 5), Math.fround(7 / 10)]);
    // Outside training no task is known: zeros but for the place in the episode.
    expect(row(null)).toEqual([...new Array(F).fill(0), Math.fround(2 / 5), 0]);
  });

  it('refuses a distribution without critic features by name', () => {
    const { criticFeatures: _, ...spec } = bandit.spec;
    expect(() => new Rl2(spec, { ...small, privilegedCritic: true }, 1)).toThrow(/privilegedCritic needs .*critic features/);
  });
});

describe('RL2 success bonus', () => {
  it('records the success flag per step and adds the bonus to the rewards it learns from, not to what the policy reads', () => {
    const reach = distributionByName('ML1:reach', { seed: 0 });
    const [train] = reach.trainTasks(0, 1);
    // A goal placed at the hand's start: success from the first step.
    const hand = reach.makeEnv().reset({ task: train, seed: 0 }).slice(0, 3);
    const task = { family: 'reach', params: [...train.params.slice(0, 3), ...hand] };
    const rl2 = new Rl2(reach.spec, { ...small, episodesPerTrial: 1, bpttSteps: 500, successBonus: 5 }, 3);
    const width = rl2.net.inputs.size;
    const record = newTrialRecord(rl2.net, 1, 500, 500);
    const policy = new Rl2LanePolicy(rl2.net, 1, [rngFor(1, 'a')], { record, deterministic: true });
    runTrials(new LocalEnvBatch(reach, 1), policy, [task], 1, 0);
    expect(record.success[0]).toBe(1);
    const learned = learningRewards(record, { successBonus: 5, rewardScale: 0.1 });
    expect(learned[0]).toBeCloseTo((record.rewards[0] + 5) * 0.1, 5);
    const failed = record.success.indexOf(0);
    if (failed >= 0) expect(learned[failed]).toBeCloseTo(record.rewards[failed] * 0.1, 5);
    // The next input carries the env's own reward.
    expect(record.inputs[width + width - 2]).toBeCloseTo(record.rewards[0], 5);
    rl2.dispose();
  });
});

describe('RL2 reward-change input', () => {
  it('feeds the change of reward within an episode, 0 at each episode\'s first two steps', () => {
    const { rl2, width, record } = recordMdpTrial(4, { rewardDeltaInput: true });
    expect(width).toBe(10 + 5 + 3);
    const at = (t: number, k: number) => record.inputs[t * width + k];
    const r = record.rewards;
    // Step t reads reward t - 1 (column 15), its change since t - 2 (16) and the done flag (17).
    for (const t of [0, 1, 4, 5]) expect(at(t, 16)).toBe(0);
    for (const t of [2, 3, 6, 7]) expect(at(t, 16)).toBeCloseTo(0.5 * (r[t - 1] - r[t - 2]), 6);
    expect(at(4, 17)).toBe(1);
    expect([2, 3, 6, 7].some((t) => at(t, 16) !== 0)).toBe(true);
    rl2.dispose();
  });
});

describe('RL2 observation x action input', () => {
  it('feeds the (state, action) pair just tried as a one-hot, and its reward in that pair\'s slot', () => {
    const { rl2, width, record } = recordMdpTrial(3, { observationActionInput: true });
    expect(width).toBe(10 + 5 + 2 + 2 * 50);
    const row = (t: number) => Array.from(record.inputs.subarray(t * width, (t + 1) * width));
    expect(row(0).slice(17).every((v) => v === 0)).toBe(true);
    for (let t = 1; t < 6; t++) {
      const state = row(t - 1).slice(0, 10).indexOf(1), action = record.actions[t - 1];
      const pair = row(t).slice(17, 67), rewarded = row(t).slice(67, 117);
      expect(pair.indexOf(1)).toBe(state * 5 + action);
      expect(pair.reduce((a, b) => a + b, 0)).toBe(1);
      expect(rewarded[state * 5 + action]).toBeCloseTo(0.5 * record.rewards[t - 1], 6);
      expect(rewarded.filter((v) => v !== 0).length).toBeLessThanOrEqual(1);
    }
    rl2.dispose();
  });

  it('refuses box actions by name', () => {
    const reach = distributionByName('ML1:reach', { seed: 0 });
    expect(() => new Rl2(reach.spec, { ...small, episodesPerTrial: 1, bpttSteps: 500, observationActionInput: true }, 1)).toThrow(/observationActionInput needs discrete actions/);
  });
});

describe('RL2 input normalisation', () => {
  it('keeps running statistics of every input, updated after each PPO update, untouched by the optimiser', () => {
    const mdp = tabularMdpDistribution({ episodes: 2, horizon: 5, seed: 0 });
    const config = { ...small, episodesPerTrial: 2, bpttSteps: 5, normalizeInputs: true };
    const rl2 = new Rl2(mdp.spec, config, 2);
    const width = rl2.net.inputs.size;
    const stats = () => ({
      count: rl2.net.params.get('inputCount').dataSync()[0],
      mean: Array.from(rl2.net.params.get('inputMean').dataSync()),
      variance: Array.from(rl2.net.params.get('inputVariance').dataSync()),
    });
    expect(stats()).toEqual({ count: 0, mean: new Array(width).fill(0), variance: new Array(width).fill(1) });
    expect([...rl2.net.params.trainable.keys()]).not.toContain('inputMean');
    // Two iterations' inputs, as sampled (the same seeds replay the same trials).
    const samples: number[][] = [];
    for (let iteration = 0; iteration < 2; iteration++) {
      const { record } = rl2.sampleTrials(new LocalEnvBatch(mdp, 2), mdp, iteration);
      rl2.iterate(new LocalEnvBatch(mdp, 2), mdp, iteration, 2);
      for (let row = 0; row < 20; row++) samples.push(Array.from(record.inputs.subarray(row * width, (row + 1) * width)));
    }
    const after = stats();
    expect(after.count).toBe(40);
    for (const k of [0, 10, 15, 16]) {
      const column = samples.map((x) => x[k]);
      const mean = column.reduce((a, b) => a + b, 0) / column.length;
      const variance = column.reduce((a, b) => a + (b - mean) ** 2, 0) / column.length;
      expect(after.mean[k]).toBeCloseTo(mean, 5);
      expect(after.variance[k]).toBeCloseTo(variance, 5);
    }
    // The network reads standardised inputs: the same weights without normalisation, fed (x - mean) / std,
    // give the same outputs.
    const plain = new Rl2(mdp.spec, { ...config, normalizeInputs: false }, 2);
    for (const [name, v] of plain.net.params.vars) v.assign(rl2.net.params.get(name));
    const x = Float32Array.from(samples[7]);
    const standardised = x.map((v, k) => Math.max(-10, Math.min(10, (v - after.mean[k]) / Math.sqrt(after.variance[k] + 1e-8))));
    const h = tf.zeros([1, config.hidden]) as tf.Tensor2D;
    const a = rl2.net.step(x, h), b = plain.net.step(standardised, h);
    expect(Array.from(a.head.dataSync()).map((v, i) => v - b.head.dataSync()[i]).every((d) => Math.abs(d) < 1e-5)).toBe(true);
    expect(a.value.dataSync()[0]).toBeCloseTo(b.value.dataSync()[0], 5);
    expect(standardised.some((v, k) => v !== x[k])).toBe(true);
    // Updating the statistics leaves no tensors behind.
    const tensors = tf.memory().numTensors;
    rl2.net.updateInputStats(new Float32Array(3 * width), 3);
    expect(tf.memory().numTensors).toBe(tensors);
    plain.dispose();
    rl2.dispose();
  });
});

describe('RL2 network kernels', () => {
  it('standardises inputs in JavaScript to the bit of the tensor ops it replaced', () => {
    const rl2 = new Rl2(bandit.spec, { ...small, normalizeInputs: true }, 2);
    const width = rl2.net.inputs.size, rows = 50;
    const mean = Float32Array.from({ length: width }, (_, k) => 0.3 * Math.cos(k)), variance = Float32Array.from({ length: width }, (_, k) => [0, 1e-12, 2.5][k % 3]);
    rl2.net.params.get('inputMean').assign(tf.tensor1d(mean));
    rl2.net.params.get('inputVariance').assign(tf.tensor1d(variance));
    const x = Float32Array.from({ length: rows * width }, (_, i) => 4 * Math.sin(1.7 * i));
    const tensors = tf.tidy(() => tf.clipByValue(tf.div(tf.sub(tf.tensor2d(x, [rows, width]), tf.tensor1d(mean)), tf.sqrt(tf.add(tf.tensor1d(variance), 1e-8))), -10, 10).dataSync());
    expect(Array.from(rl2.net.normalizedRows(x))).toEqual(Array.from(tensors));
    rl2.dispose();
  });

  it('fastKernels learns the same function: outputs and gradients within float32 rounding of the original kernels', () => {
    const mdp = tabularMdpDistribution({ episodes: 2, horizon: 5, seed: 0 });
    const settings = { ...small, episodesPerTrial: 2, bpttSteps: 5, mlp: [6], headMlp: [8], privilegedCritic: true, criticMlp: [8, 8], normalizeInputs: true };
    const original = new Rl2(mdp.spec, { ...settings, fastKernels: false }, 3), fast = new Rl2(mdp.spec, { ...settings, fastKernels: true }, 3);
    const lanes = 3, steps = 10;
    const record = newTrialRecord(original.net, lanes, steps, 5);
    const tasks = mdp.trainTasks(0, lanes);
    const policy = new Rl2LanePolicy(original.net, lanes, tasks.map((_, i) => rngFor(1, 'a', i)), { record, critic: { features: mdp.critic!, tasks, trialSteps: steps } });
    runTrials(new LocalEnvBatch(mdp, lanes), policy, tasks, 2, 5);
    policy.dispose();
    const batch = { sequences: lanes * 2, length: 5, oldLogProb: record.logProbs, advantages: record.values.map((v, i) => Math.sin(i) - v), returns: record.values.map((v) => v + 0.5) };
    const minibatch = { ids: [4, 0, 3, 1, 5, 2], advantageMean: 0, advantageStd: 1 };
    const gradients = (rl2: Rl2) => {
      const { grads } = minibatchGradient(trialReplay(rl2.net, record), batch, minibatch, settings.ppo);
      return new Map([...grads].map(([name, g]) => [name, g.dataSync() as Float32Array]));
    };
    const a = gradients(original), b = gradients(fast);
    expect([...b.keys()]).toEqual([...a.keys()]);
    for (const [name, g] of a) {
      const scale = Math.max(...g.map(Math.abs));
      b.get(name)!.forEach((x, i) => expect(Math.abs(x - g[i]) / scale).toBeLessThan(1e-5));
    }
    const forward = (rl2: Rl2) => tf.tidy(() => rl2.net.sequence(record.inputs.slice(0, 5 * rl2.net.inputs.size), 5, 1, new Float32Array(8), record.critic.slice(0, 5 * rl2.net.criticInputs!.size)).value.dataSync());
    const [va, vb] = [forward(original), forward(fast)];
    va.forEach((x, i) => expect(vb[i]).toBeCloseTo(x, 5));
    original.dispose();
    fast.dispose();
  });
});

describe('tabular MDP critic features', () => {
  it('give the optimal values of the sampled MDP by backward induction (checked against brute force on a 2-state MDP)', () => {
    const mdp = tabularMdpDistribution({ states: 2, actions: 2, horizon: 2, episodes: 1, seed: 0 });
    const [task] = mdp.trainTasks(0, 1);
    const p = task.params, R = (s: number, a: number) => p[s * 2 + a], P = (s: number, a: number, t: number) => p[4 + (s * 2 + a) * 2 + t];
    const v1 = (s: number) => Math.max(R(s, 0), R(s, 1));
    const q2 = (s: number, a: number) => R(s, a) + P(s, a, 0) * v1(0) + P(s, a, 1) * v1(1);
    const out = new Float32Array(mdp.critic!.size);
    mdp.critic!.write(task, Float32Array.of(1, 0), 0, out);
    // [V*_2(0), V*_2(0) of a fresh episode, Q*_2(0, .), R(0, .)], per step of the horizon.
    const expected = [Math.max(q2(0, 0), q2(0, 1)) / 2, Math.max(q2(0, 0), q2(0, 1)) / 2, q2(0, 0) / 2, q2(0, 1) / 2, R(0, 0), R(0, 1)];
    Array.from(out).forEach((v, i) => expect(v).toBeCloseTo(expected[i], 5));
    // One step in, in state 1: one step left.
    mdp.critic!.write(task, Float32Array.of(0, 1), 1, out);
    expect(out[0]).toBeCloseTo(v1(1) / 2, 5);
    expect(out[2]).toBeCloseTo(R(1, 0) / 2, 5);
  });
});

/**
 * One recorded trial of two episodes of `horizon` steps on a tabular MDP (task 0 of seed 0, episode
 * seed 7), acted by a fresh small RL2 network with `options` and reward input scale 0.5.
 */
function recordMdpTrial(horizon: number, options: Partial<Pick<Rl2Config, 'rewardDeltaInput' | 'observationActionInput'>>) {
  const mdp = tabularMdpDistribution({ episodes: 2, horizon, seed: 0 });
  const config = { ...small, episodesPerTrial: 2, bpttSteps: horizon, rewardInputScale: 0.5, ...options };
  const rl2 = new Rl2(mdp.spec, config, 1);
  const width = rl2.net.inputs.size;
  const record = newTrialRecord(rl2.net, 1, 2 * horizon, horizon);
  const policy = new Rl2LanePolicy(rl2.net, 1, [rngFor(1, 'a')], { record });
  runTrials(new LocalEnvBatch(mdp, 1), policy, mdp.trainTasks(0, 1), 2, 7);
  return { rl2, width, record };
}
