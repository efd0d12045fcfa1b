import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { chooseBackend } from '../../agent/backend.ts';
import { createEnvBatch } from '../../agent/batch-env.ts';
import { exportPolicy, readCheckpoint } from '../../agent/checkpoint.ts';
import { distributionByName } from '../../agent/distributions.ts';
import type { EnvSpec } from '../../agent/envs.ts';
import { MQL_DEFAULTS, Mql, MqlLanes, type MqlSettings, Td3, contextWindows, propensities, replayLayout, td3Update } from '../../agent/mql.ts';
import { decodeFloats } from '../../agent/nn.ts';
import { gaussian, rngFor } from '../../agent/random.ts';
import { ReplayBuffer, type ReplaySample } from '../../agent/replay.ts';
import { RunDir } from '../../agent/run.ts';
import { train } from '../../agent/trainer.ts';
import { evalCommand } from '../../scenarios/eval.ts';
import { resolveScenario } from '../../scenarios/scenario.ts';
import { expectResumedExactly, loggedNumbers } from './killed-run.ts';

beforeAll(async () => { await chooseBackend('wasm'); });

const temporary = () => mkdtempSync(join(tmpdir(), 'metamanip-mql-'));
const spec: EnvSpec = { obsSize: 5, action: { kind: 'box', size: 2, low: -1, high: 1 }, episodeSteps: 10, hasSuccess: true };
const small: MqlSettings = { ...MQL_DEFAULTS, replayTasks: 2, hidden: [16, 16], contextSize: 6, historyLength: 3, batchSize: 16, replayPerTask: 200, adaptationReplayPerTask: 50, rewardScale: 0.5 };
/** Settings of a tiny ML1 reach run (a few seconds an iteration). */
const tinyRun = { tasksPerIteration: 2, hidden: [16, 16], contextSize: 6, historyLength: 4, batchSize: 16, updatesPerIteration: 10, randomSteps: 1000, replayPerTask: 1500, adaptationReplayPerTask: 50, adaptNewUpdates: 4, adaptOldUpdates: 4, adaptBatchSize: 16, adaptOldSamples: 100 };

/** A buffer of `episodes` episodes of `steps` transitions with random values, for task 0 (and 1). */
function randomBuffer(seed: number, episodes: number, steps: number): ReplayBuffer {
  const rng = rngFor(seed, 'mql-test-data');
  const buffer = new ReplayBuffer({ tasks: 2, capacityPerTask: 200, layout: replayLayout(spec) });
  const values = (n: number) => Array.from({ length: n }, () => gaussian(rng));
  for (let e = 0; e < episodes; e++) for (let t = 0; t < steps; t++) buffer.add(e % 2, { obs: values(5), action: values(2).map((a) => Math.tanh(a)), reward: rng.next(), nextObs: values(5) }, t);
  return buffer;
}

const snapshot = (net: Td3) => Object.fromEntries(Object.entries(net.toJSON()).map(([k, v]) => [k, v.data]));
const floats = (net: Td3, name: string) => { const t = net.toJSON()[name]; return decodeFloats(t.data, t.shape.reduce((a, b) => a * b, 1)); };

describe('MQL networks and acting', () => {
  it('acts in JavaScript exactly as the tfjs actor it trains, context window included', () => {
    const settings = { ...small, hidden: [12, 12], historyLength: 4 };
    const mql = new Mql(spec, settings, 5);
    // Weights far from their initial scale, so that every part of the network matters.
    tf.tidy(() => { for (const p of [mql.net.actorParams, mql.net.criticParams]) for (const v of p.vars.values()) v.assign(tf.add(v, tf.mul(tf.randomNormal(v.shape, 0, 1, 'float32', 7), 0.4))); });
    const lanes = new MqlLanes(1, spec, settings, [mql.net.actorWeights()], [rngFor(1, 'noise')], { noise: 0, record: true, owner: mql });
    const rng = rngFor(2, 'obs');
    const acted: number[][] = [];
    for (let t = 0; t < 8; t++) {
      acted.push(Array.from(lanes.act(Float32Array.from({ length: 5 }, () => rng.next() - 0.5))));
      lanes.observe([rng.next() * 10], [0]);
    }
    const recorded = lanes.recorded![0];
    expect(recorded.step).toEqual([0, 1, 2, 3, 4, 5, 6]);
    const buffer = new ReplayBuffer({ tasks: 1, capacityPerTask: 20, layout: replayLayout(spec) });
    recorded.reward.forEach((r, t) => buffer.add(0, { obs: recorded.obs[t], action: recorded.action[t], reward: r, nextObs: recorded.nextObs[t] }, recorded.step[t]));
    const sample = buffer.last(0, 7, 4);
    const learned = mql.net.actions(sample.fields.obs, contextWindows(sample, spec, 4, settings.rewardScale, false), 7);
    for (let t = 0; t < 7; t++) for (let k = 0; k < 2; k++) expect(learned[t * 2 + k]).toBeCloseTo(acted[t][k], 4);
    // The actions differ from step to step: the context is read.
    expect(new Set(acted.map((a) => a[0].toFixed(4))).size).toBe(8);
    mql.dispose();
  });

  it('reads the next state\'s context as the current window shifted by one, ending with the transition itself', () => {
    const buffer = new ReplayBuffer({ tasks: 1, capacityPerTask: 20, layout: replayLayout(spec) });
    // Transition t: nextObs all t + 1, action all -t / 10, reward t.
    for (let t = 0; t < 5; t++) buffer.add(0, { obs: new Array(5).fill(t), action: [-t / 10, -t / 10], reward: t, nextObs: new Array(5).fill(t + 1) }, t);
    const sample = buffer.last(0, 5, 3);
    const row = (windows: Float32Array, p: number, b: number) => Array.from(windows.subarray((p * 5 + b) * 8, (p * 5 + b + 1) * 8)).map((x) => Number(x.toFixed(4)));
    const current = contextWindows(sample, spec, 3, 2, false), next = contextWindows(sample, spec, 3, 2, true);
    const tuple = (t: number) => [t + 1, t + 1, t + 1, t + 1, t + 1, -t / 10, -t / 10, 2 * t].map((x) => Number(x.toFixed(4)));
    const zeros = new Array(8).fill(0);
    // Transition 1: one transition before it (0), right-aligned.
    expect([0, 1, 2].map((p) => row(current, p, 1))).toEqual([zeros, zeros, tuple(0)]);
    expect([0, 1, 2].map((p) => row(next, p, 1))).toEqual([zeros, tuple(0), tuple(1)]);
    // Transition 4: 1, 2, 3 before it; its next window 2, 3, 4.
    expect([0, 1, 2].map((p) => row(current, p, 4))).toEqual([tuple(1), tuple(2), tuple(3)]);
    expect([0, 1, 2].map((p) => row(next, p, 4))).toEqual([tuple(2), tuple(3), tuple(4)]);
  });
});

describe('the TD3 update', () => {
  const batch = (buffer: ReplayBuffer, seed: number, size = 16) => buffer.sample(rngFor(seed, 'batch'), size, { history: small.historyLength });
  const noise = (seed: number, n = 16 * 2) => { const rng = rngFor(seed, 'noise'); return Float32Array.from({ length: n }, () => gaussian(rng)); };

  it('moves only the critic on a critic step; an actor step moves the actor and pulls every target tau of the way', () => {
    const net = new Td3(spec, small, 1);
    const buffer = randomBuffer(1, 6, 10);
    // Targets start as copies of the networks.
    expect(floats(net, 'target/actor/out/w')).toEqual(floats(net, 'actor/out/w'));
    expect(floats(net, 'target/critic/context/wx')).toEqual(floats(net, 'critic/context/wx'));
    const before = snapshot(net);
    td3Update(net, batch(buffer, 1), { updateActor: false, targetNoise: noise(1) });
    const afterCritic = snapshot(net);
    for (const name of Object.keys(before)) {
      if (name.startsWith('critic/')) expect(afterCritic[name], name).not.toBe(before[name]);
      else expect(afterCritic[name], name).toBe(before[name]);
    }
    const targetsBefore = Object.fromEntries(Object.keys(before).filter((n) => n.startsWith('target/')).map((n) => [n, floats(net, n)]));
    const result = td3Update(net, batch(buffer, 2), { updateActor: true, targetNoise: noise(2) });
    expect(result.actorLoss).not.toBeNull();
    for (const name of Object.keys(before).filter((n) => n.startsWith('actor/'))) expect(snapshot(net)[name], name).not.toBe(afterCritic[name]);
    for (const [name, old] of Object.entries(targetsBefore)) {
      const online = floats(net, name.slice('target/'.length)), now = floats(net, name);
      now.forEach((v, i) => expect(v).toBeCloseTo((1 - small.tau) * old[i] + small.tau * online[i], 6));
    }
    net.dispose();
  });

  it('regresses both critics on r * rewardScale when gamma is 0', () => {
    const net = new Td3(spec, { ...small, gamma: 0, criticLearningRate: 3e-3 }, 2);
    const sample = batch(randomBuffer(2, 6, 10), 3, 32);
    const first = td3Update(net, sample, { updateActor: false, targetNoise: noise(3, 64) });
    let last = first;
    for (let u = 0; u < 300; u++) last = td3Update(net, sample, { updateActor: false, targetNoise: noise(3, 64) });
    const meanTarget = sample.fields.reward.reduce((a, r) => a + r * small.rewardScale, 0) / sample.size;
    expect(last.criticLoss).toBeLessThan(0.02 * first.criticLoss);
    expect(last.meanQ).toBeCloseTo(meanTarget, 1);
    net.dispose();
  });

  it('gives rows of weight 0 no say, and holds the parameters near the anchor under a strong proximal term', () => {
    const sample = batch(randomBuffer(4, 6, 10), 4);
    const weights = Float32Array.from({ length: 16 }, (_, i) => (i % 2 ? 0 : 1.5));
    const rewired = (reward: number): ReplaySample => ({ ...sample, fields: { ...sample.fields, reward: sample.fields.reward.map((r, i) => (i % 2 ? reward : r)) } });
    const nets = [new Td3(spec, small, 3), new Td3(spec, small, 3)];
    td3Update(nets[0], rewired(100), { weights, updateActor: true, targetNoise: noise(4) });
    td3Update(nets[1], rewired(-100), { weights, updateActor: true, targetNoise: noise(4) });
    expect(snapshot(nets[0])).toEqual(snapshot(nets[1]));
    nets.forEach((n) => n.dispose());

    const deviation = (lambda: number | null) => {
      const net = new Td3(spec, small, 5);
      const anchor = (p: typeof net.actorParams) => new Map([...p.trainable].map(([k, v]) => [k, tf.clone(v) as tf.Tensor]));
      const proximal = lambda === null ? undefined : { lambda, actor: anchor(net.actorParams), critic: anchor(net.criticParams) };
      const start = floats(net, 'critic/q1/layer0/w');
      for (let u = 0; u < 20; u++) td3Update(net, sample, { proximal, updateActor: u % 2 === 1, targetNoise: noise(u) });
      const end = floats(net, 'critic/q1/layer0/w');
      net.dispose();
      return Math.sqrt(end.reduce((a, v, i) => a + (v - start[i]) ** 2, 0));
    };
    expect(deviation(1000)).toBeLessThan(deviation(null) / 5);
  });
});

describe('the propensity classifier', () => {
  const cloud = (seed: number, n: number, centre: number[]) => {
    const rng = rngFor(seed, 'cloud');
    return Float64Array.from({ length: n * centre.length }, (_, i) => centre[i % centre.length] + gaussian(rng));
  };
  const options = { C: 10, clip: 100, floor: 0 };
  const ess = (beta: Float32Array) => beta.reduce((a, b) => a + b, 0) ** 2 / (beta.length * beta.reduce((a, b) => a + b * b, 0));

  it('weighs meta-training transitions by p_new / p_old: exp(x - 1/2) for N(0, 1) against N(1, 1)', () => {
    const old = cloud(1, 3000, [0]), fresh = cloud(2, 3000, [1]);
    const { beta, accuracy } = propensities(old, fresh, 1, options);
    let checked = 0;
    old.forEach((x, i) => {
      if (Math.abs(x) > 1.5) return;
      expect(Math.abs(Math.log(beta[i]) - (x - 0.5))).toBeLessThan(0.15);
      checked++;
    });
    expect(checked).toBeGreaterThan(2000);
    expect(accuracy).toBeGreaterThan(0.6);
    expect(accuracy).toBeLessThan(0.75);
  });

  it('gives ESS 1 and no proximal weight when the new task looks like meta-training, also with twice as many old samples', () => {
    const same = propensities(cloud(3, 2000, [0, 0]), cloud(4, 1000, [0, 0]), 2, options);
    expect(same.ess).toBeGreaterThan(0.98);
    expect(same.lambda).toBeLessThan(0.02);
    expect(same.ess).toBeCloseTo(ess(same.beta), 6);
    // P(new | x) / P(old | x) is 1/2 everywhere; times n_old / n_new it is 1.
    const mean = same.beta.reduce((a, b) => a + b, 0) / same.beta.length;
    expect(mean).toBeGreaterThan(0.95);
    expect(mean).toBeLessThan(1.05);
  });

  it('clips propensities, zeroes those below the floor, and puts the proximal weight near 1 for a task unlike any seen', () => {
    const overlap = propensities(cloud(5, 2000, [0]), cloud(6, 2000, [1.5]), 1, { C: 1, clip: 2, floor: 0.1 });
    expect(Math.max(...overlap.beta)).toBe(2);
    expect(overlap.beta.every((b) => b === 0 || (b >= 0.1 && b <= 2))).toBe(true);
    expect(overlap.beta.some((b) => b === 0)).toBe(true);
    expect(overlap.lambda).toBeCloseTo(1 - ess(overlap.beta), 6);
    const apart = propensities(cloud(7, 1000, [4, 4]), cloud(8, 1000, [-4, -4]), 2, { C: 1, clip: 2, floor: 0.1 });
    expect(apart.accuracy).toBe(1);
    expect(apart.beta.filter((b) => b > 0).length).toBeLessThan(5);
    expect(apart.lambda).toBeGreaterThan(0.9);
  });
});

describe('MQL training', () => {
  it('is deterministic: the same seed gives the same weights, optimiser state and replay bits; another seed does not', async () => {
    const distribution = distributionByName('ML1:reach', { seed: 1 });
    const settings: MqlSettings = { ...MQL_DEFAULTS, ...tinyRun, replayTasks: 50 };
    const run = async (seed: number) => {
      const mql = new Mql(distribution.spec, settings, seed);
      const envs = await createEnvBatch(distribution, mql.trainingLanes);
      for (let iteration = 0; iteration < 2; iteration++) await mql.iterate(envs, distribution, iteration);
      await envs.close();
      const state = mql.state();
      mql.dispose();
      return state;
    };
    const [a, b, c] = [await run(7), await run(7), await run(8)];
    expect(a.optimizer!.t).toBe(10);
    expect(b).toEqual(a);
    expect(c.params).not.toEqual(a.params);
    expect(Buffer.compare(Buffer.from(c.blobs!.replay), Buffer.from(a.blobs!.replay))).not.toBe(0);
  }, 60_000);

  it('resumes a killed run with the numbers, weights and replay buffers of a run that was never stopped; its export keeps the adaptation slice and evaluates the same', async () => {
    const root = temporary();
    const scenario = join(root, 'mql.yaml');
    writeFileSync(scenario, JSON.stringify({
      kind: 'train', name: 'mql', benchmark: 'ML1:reach', seed: 4, algorithm: 'mql', iterations: 6, mql: tinyRun,
      evaluation: { every: 3, tasks: 1 }, checkpoints: { every: 1, keepLast: 2 },
    }));
    const { straight, final } = await expectResumedExactly(scenario, root, { iterations: 6, killAfter: 2 });
    expect(Object.keys(final.straight.state.blobs!)).toEqual(['replay', 'adaptationReplay']);
    expect(ReplayBuffer.fromBlob(final.straight.state.blobs!.replay).totalSize()).toBe(loggedNumbers(straight)[5].replayTransitions);

    // The exported policy keeps the adaptation slice (not the whole buffer) and evaluates as the run's checkpoint.
    const exported = join(root, 'policy.json');
    exportPolicy(new RunDir(straight).bestPath, exported);
    const policy = readCheckpoint(exported);
    expect(Object.keys(policy.state.blobs ?? {})).toEqual(['adaptationReplay']);
    expect(policy.state.optimizer).toBeUndefined();
    const fromRun = await evalCommand(straight, { tasks: 1, backend: 'wasm' });
    const fromExport = await evalCommand(exported, { tasks: 1, backend: 'wasm' });
    expect(fromExport.algorithm).toBe('mql');
    expect(fromExport.report.perTask).toEqual(fromRun.report.perTask);
  }, 180_000);

  it('refuses a replay buffer over its cap and a discrete benchmark before any run folder exists, saying what would work', async () => {
    expect(() => resolveScenario({ benchmark: 'ML1:reach', algorithm: 'mql', iterations: 1, mql: { replayPerTask: 1_000_000 } }, 'x.yaml'))
      .toThrow(/mql\.replayPerTask: a replay buffer of 50 tasks x 1000000 transitions x 336 bytes needs 15\.65 GiB, over the cap of 1\.00 GiB; at most 63913 transitions per task fit .*lower replayPerTask or raise replayMaxBytes/);
    expect(() => resolveScenario({ benchmark: 'tabular-mdp:n10', algorithm: 'mql', iterations: 1 }))
      .toThrow(/algorithm: mql acts in box action spaces, and tabular-mdp:n10 has discrete actions; algorithms for tabular-mdp:n10: rl2, qtable-maml, qtable-reptile, qtable-zeros.*; mql trains on simulator benchmarks/);
    // Configs built without a scenario file are checked before the run folder too.
    const root = temporary();
    const config = resolveScenario({ name: 'm', benchmark: 'ML1:reach', algorithm: 'mql', iterations: 1, mql: tinyRun });
    const settings = config.mql as MqlSettings;
    await expect(train({ ...config, mql: { ...settings, replayPerTask: 1_000_000 } }, { runDir: join(root, 'a'), quiet: true, backend: 'wasm' })).rejects.toThrow(/over the cap of 1\.00 GiB; at most 63913 transitions per task fit/);
    await expect(train({ ...config, benchmark: 'bandit:k5n10' }, { runDir: join(root, 'b'), quiet: true, backend: 'wasm' })).rejects.toThrow(/mql acts in box action spaces, and bandit:k5n10 has discrete actions; algorithms for bandit:k5n10: rl2/);
    for (const dir of ['a', 'b']) expect(existsSync(join(root, dir))).toBe(false);
  });
});
