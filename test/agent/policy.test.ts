import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chooseBackend } from '../../agent/backend.ts';
import { CHECKPOINT_FORMAT, CHECKPOINT_VERSION, readCheckpoint, readRl2Checkpoint, writeCheckpoint } from '../../agent/checkpoint.ts';
import { distributionByName } from '../../agent/distributions.ts';
import { evaluate } from '../../agent/evaluate.ts';
import { type LoadedPolicy, PolicyInputError, loadPolicy } from '../../agent/policy.ts';
import { RL2_DEFAULTS, Rl2 } from '../../agent/rl2.ts';
import { seedFor } from '../../agent/random.ts';
import { banditDistribution } from '../../agent/tabular.ts';

// The run behind the shipped ML1-reach policy (RL2, GRU 64; best checkpoint: iteration 79, 650 kB).
const REACH = 'training/ml1-reach/checkpoints/best.json';

let policy: LoadedPolicy;
beforeAll(async () => {
  await chooseBackend('wasm');
  policy = loadPolicy(REACH);
});
afterAll(() => policy?.dispose());

const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

describe('loadPolicy', () => {
  it('loads a checkpoint file with what a remote client is told about it', () => {
    expect(policy.name).toBe('ml1-reach/best');
    expect(policy.benchmark).toBe('ML1:reach');
    // criticFeatures: the task features its privileged critic was trained with (goal and object positions, their offsets from the hand).
    expect(policy.spec).toEqual({ obsSize: 39, action: { kind: 'box', size: 4, low: -1, high: 1 }, episodeSteps: 500, hasSuccess: true, criticFeatures: 12 });
    expect({ iteration: policy.iteration, envSteps: policy.envSteps, episodesPerTrial: policy.episodesPerTrial }).toEqual({ iteration: 79, envSteps: 5_200_000, episodesPerTrial: 13 });
    expect(policy.evaluation).not.toBeNull();
  });

  it('loads a run folder through its best checkpoint, and names what is missing otherwise', () => {
    const fromRun = loadPolicy('training/ml1-reach');
    expect(fromRun.path).toBe(join('training/ml1-reach/checkpoints/best.json'));
    fromRun.dispose();
    expect(() => loadPolicy('training/no-such-run')).toThrow(/no such checkpoint or run folder/);
    const empty = mkdtempSync(join(tmpdir(), 'metamanip-policy-'));
    expect(() => loadPolicy(empty)).toThrow(/holds no checkpoints/);
  });
});

describe('PolicySession', () => {
  it('acts exactly like the evaluator\'s lanes=1 RL2 policy over two episodes of ML1 reach (same seed, same inputs)', () => {
    const reach = distributionByName('ML1:reach', { seed: 1 });
    const env = reach.makeEnv();
    const task = reach.testTasks(1)[0];
    const rl2 = new Rl2(policy.spec, readRl2Checkpoint(REACH).config, 1);
    rl2.load({ params: readCheckpoint(REACH).state.params });
    const lane = rl2.explorationPolicy(1, { seed: 7 });
    const session = policy.session({ seed: 7 });
    let compared = 0, reward = 0, done = false;
    for (let episode = 0; episode < 2; episode++) {
      // The first observation of episode 2 arrives with the last reward of episode 1 and done = true.
      let obs = env.reset({ task: episode === 0 ? task : undefined, seed: 100 + episode });
      for (let t = 0; t < reach.spec.episodeSteps; t++) {
        const expected = lane.act(obs);
        const action = session.act(obs, reward, done);
        expect(bits(action)).toEqual(bits(expected));
        const step = env.step(action);
        lane.observe([step.reward], [step.done ? 1 : 0]);
        // The session hears about this step with the next observation.
        ({ obs, reward, done } = step);
        compared++;
      }
      expect(done).toBe(true);
    }
    expect(compared).toBe(1000);
    expect(session.step).toBe(1000);
    expect(bits(session.hiddenState())).toEqual(bits(lane.hiddenState() as Float32Array));
    lane.dispose(); rl2.dispose(); session.dispose(); env.close();
  }, 60_000);

  it('reproduces the evaluator\'s trial return on a test task when fed the evaluator\'s seeds', async () => {
    const reach = distributionByName('ML1:reach', { seed: 1 });
    const rl2 = new Rl2(policy.spec, readRl2Checkpoint(REACH).config, 1);
    rl2.load({ params: readCheckpoint(REACH).state.params });
    const protocol = { adaptationEpisodes: 2, evaluationEpisodes: 0 };
    const report = await evaluate(rl2, reach, { tasks: 1, protocol, evaluationSeed: 3 });
    rl2.dispose();

    // The evaluator's seeds for task 0 (agent/evaluate.ts, agent/rollout.ts).
    const session = policy.session({ seed: seedFor(3, 'eval-actions', 0) });
    const env = reach.makeEnv();
    let trialReturn = 0, reward = 0, done = false;
    for (let e = 0; e < protocol.adaptationEpisodes; e++) {
      let obs = env.reset({ task: e === 0 ? reach.testTasks(1)[0] : undefined, seed: seedFor(seedFor(3, 'eval-adaptation', 0), 'episode', e) });
      let episodeReturn = 0;
      for (let t = 0; t < reach.spec.episodeSteps; t++) {
        const step = env.step(session.act(obs, reward, done));
        episodeReturn += step.reward;
        ({ obs, reward, done } = step);
      }
      trialReturn += episodeReturn;
    }
    expect(trialReturn).toBe(report.perTask[0].trialReturn);
    session.dispose(); env.close();
  }, 60_000);

  it('keeps its memory across calls and forgets it on reset (a new trial)', () => {
    const a = policy.session({ seed: 1 }), b = policy.session({ seed: 1 });
    const obs = Float32Array.from({ length: 39 }, (_, i) => Math.sin(i));
    expect(a.trial).toBe(1);
    expect(a.hiddenState().every((v) => v === 0)).toBe(true);
    expect(Number.isNaN(a.value)).toBe(true);
    const first = a.act(obs, 5, false);
    // The first step of a trial ignores reward and done (RL2 sees zeros there).
    expect(bits(b.act(obs, 123, true))).toEqual(bits(first));
    // What the previous action earned changes what the policy does next.
    const rich = a.act(obs, 10, false), poor = b.act(obs, 0, false);
    expect(bits(rich)).not.toEqual(bits(poor));
    expect(a.step).toBe(2);
    expect(Number.isFinite(a.value)).toBe(true);

    a.reset({ seed: 1 });
    expect(a.trial).toBe(2);
    expect(a.step).toBe(0);
    expect(a.hiddenState().every((v) => v === 0)).toBe(true);
    expect(bits(a.act(obs))).toEqual(bits(first));
    // Without a seed, a new trial draws a fresh noise stream.
    a.reset();
    expect(a.seed).toBe(seedFor(1, 'trial', 2));
    expect(bits(a.act(obs))).not.toEqual(bits(first));
    a.dispose(); b.dispose();
  });

  it('acts with the mean in deterministic mode: the seed does not matter, actions stay in the box', () => {
    const a = policy.session({ deterministic: true, seed: 1 }), b = policy.session({ deterministic: true, seed: 2 });
    const noisy = policy.session({ seed: 1 });
    const obs = Float32Array.from({ length: 39 }, (_, i) => Math.cos(i) * 0.3);
    for (let t = 0; t < 20; t++) {
      const x = a.act(obs, t * 0.1), y = b.act(obs, t * 0.1), z = noisy.act(obs, t * 0.1);
      expect(bits(x)).toEqual(bits(y));
      expect(bits(x)).not.toEqual(bits(z));
      for (const v of x) expect(Math.abs(v)).toBeLessThanOrEqual(1);
    }
    a.dispose(); b.dispose(); noisy.dispose();
  });

  it('refuses bad observations and rewards by name, and leaks no tensors', () => {
    const before = tf.memory().numTensors;
    const session = policy.session();
    expect(() => session.act(new Float32Array(38))).toThrow(PolicyInputError);
    expect(() => session.act(new Float32Array(38))).toThrow(/38 values; the policy reads 39/);
    const nan = new Float32Array(39); nan[4] = Number.NaN;
    expect(() => session.act(nan)).toThrow(/observation\[4\] is NaN/);
    session.act(new Float32Array(39));
    expect(() => session.act(new Float32Array(39), Number.POSITIVE_INFINITY)).toThrow(/reward is Infinity/);
    for (let i = 0; i < 10; i++) session.act(new Float32Array(39), 1);
    session.reset();
    session.act(new Float32Array(39));
    expect(() => policy.dispose()).toThrow(/session\(s\) still open/);
    session.dispose();
    session.dispose();
    expect(() => session.act(new Float32Array(39))).toThrow(/disposed/);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('serves discrete-action policies too (a tiny bandit checkpoint in a run folder)', () => {
    const bandit = banditDistribution({ arms: 3, pulls: 4, seed: 0 });
    const config = { ...RL2_DEFAULTS, hidden: 8, tasksPerIteration: 2, episodesPerTrial: 4, bpttSteps: 4 };
    const rl2 = new Rl2(bandit.spec, config, 5);
    const run = mkdtempSync(join(tmpdir(), 'metamanip-policy-'));
    mkdirSync(join(run, 'checkpoints'));
    writeCheckpoint(join(run, 'checkpoints', 'iter-000000.json'), {
      format: CHECKPOINT_FORMAT, version: CHECKPOINT_VERSION, algorithm: 'rl2', benchmark: 'bandit:k3n4', seed: 5,
      spec: bandit.spec, config, iteration: 0, envSteps: 8, best: null, evaluation: null, state: { params: rl2.state().params },
    });
    const tiny = loadPolicy(run, { name: 'tiny' });
    expect(tiny).toMatchObject({ name: 'tiny', spec: { obsSize: 1, action: { kind: 'discrete', n: 3 } }, iteration: 0, envSteps: 8, episodesPerTrial: 4, evaluation: null });
    const session = tiny.session({ seed: 9 });
    const lane = rl2.explorationPolicy(1, { seed: 9 });
    let reward = 0;
    for (let t = 0; t < 8; t++) {
      // A bandit episode is one pull: every step after the first starts a new episode.
      const action = session.act(new Float32Array(1), reward, true);
      expect(Array.from(action)).toEqual(Array.from(lane.act(new Float32Array(1))));
      expect([0, 1, 2]).toContain(action[0]);
      reward = t % 2;
      lane.observe([reward], [1]);
    }
    lane.dispose(); session.dispose(); tiny.dispose(); rl2.dispose();
  });
});
