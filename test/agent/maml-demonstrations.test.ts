// MAML's demonstration iterations (maml.demonstrationIterations, Guided Meta-Policy Search's outer loop):
// the adapted policy is judged by how close its means come to the scripted expert's actions on the states
// it visited, the meta-gradient runs through the inner policy-gradient step, and the action noise is left
// alone; refused where a benchmark has no expert. And its clone iterations (maml.cloneIterations): plain
// supervised steps of the pre-adaptation policy towards the expert's or the searcher's actions on the
// states its lanes visit, half of them driven by that demonstrator.

import { beforeAll, describe, expect, it } from 'vitest';
import { chooseBackend } from '../../agent/backend.ts';
import { LocalEnvBatch } from '../../agent/batch-env.ts';
import { MAML_DEFAULTS, Maml, type MamlSettings, imitationLoss, mamlDefinition } from '../../agent/maml.ts';
import { rngFor } from '../../agent/random.ts';
import * as tf from '@tensorflow/tfjs';
import { robotDistribution } from '../../agent/robot-tasks.ts';
import { ML1 } from '../../sim/index.ts';

beforeAll(async () => { await chooseBackend('wasm'); });

const push = robotDistribution(ML1('push', 1));
const small: MamlSettings = {
  ...MAML_DEFAULTS, hidden: [16], tasksPerIteration: 2, adaptationEpisodes: 1, evaluationEpisodes: 1,
  outerSteps: 3, outerLearningRate: 1e-2, demonstrationIterations: 2,
};

/**
 * A fixed batch of two tasks: random states, random pre-adaptation actions and advantages, and an expert that
 * always asks for the same action (which the mean layer's bias can learn).
 */
function fixedBatch() {
  const steps = 64, D = push.spec.obsSize;
  const rng = (k: number) => Math.sin(12.9898 * k) * 0.5;
  const lane = (offset: number) => ({
    obs: Float32Array.from({ length: steps * D }, (_, k) => rng(k + offset)),
    actions: Float32Array.from({ length: steps * 4 }, (_, k) => rng(3 * k + offset + 1)),
    rewards: new Float32Array(steps), ends: new Uint8Array(steps), time: Float32Array.from({ length: steps }, (_, t) => t), steps,
  });
  const pre = [lane(0), lane(1000)], post = [lane(2000), lane(3000)];
  const advantages = pre.map((_, i) => Float32Array.from({ length: steps }, (_, t) => rng(7 * t + i)));
  const labels = post.map(() => Float32Array.from({ length: steps * 4 }, (_, k) => [0.8, -0.6, 0.4, 1][k % 4]));
  return { steps, D, pre, advantages, post, labels };
}

describe('MAML demonstration iterations', () => {
  it('moves the adapted means towards the expert\'s actions through the inner step, leaving the action noise alone', async () => {
    const maml = new Maml(push.spec, small, 1);
    const envs = new LocalEnvBatch(push, small.tasksPerIteration);
    const logStd = () => Array.from(maml.theta[maml.theta.length - 1].dataSync());
    const noise = logStd();
    const first = await maml.iterate(envs, push, 0);
    const second = await maml.iterate(envs, push, 1);
    // Imitation: no clipped ratios, the log std bit for bit as it was, and the loss (half the squared distance
    // from the adapted means to the expert's actions, 4 action entries in [-1, 1]) within its bounds.
    for (const stats of [first, second]) {
      expect(stats.metrics!.clipFraction).toBe(0);
      expect(stats.metrics!.outerLoss).toBeGreaterThan(0);
      expect(stats.metrics!.outerLoss).toBeLessThan(8);
    }
    expect(logStd()).toEqual(noise);
    // From iteration demonstrationIterations on, ProMP's objective: the noise moves again.
    await maml.iterate(envs, push, 2);
    expect(logStd()).not.toEqual(noise);
    maml.dispose();
    envs.close();
  }, 120_000);

  it('lowers the imitation loss of the adapted policy on a fixed batch, the gradient taken through the inner step', () => {
    const maml = new Maml(push.spec, small, 2);
    const { pre, advantages, post, labels } = fixedBatch();
    const losses: number[] = [];
    for (let round = 0; round < 6; round++) losses.push(maml.outerUpdate(pre, advantages, post, { labels }).outerLoss);
    expect(losses[5]).toBeLessThan(0.8 * losses[0]);
    for (let k = 1; k < 6; k++) expect(losses[k]).toBeLessThan(losses[k - 1]);
    maml.dispose();
  });

  it('after clone iterations, holds theta to the clone\'s labels on the pre-adaptation steps while the adapted policy learns the expert\'s', () => {
    const { steps, D, pre, advantages, post, labels } = fixedBatch();
    const preLabels = pre.map(() => Float32Array.from({ length: steps * 4 }, (_, k) => [-0.5, 0.5, -0.2, -1][k % 4]));
    // The same start, six rounds of outer steps with and without the pre-adaptation labels.
    const trained = (withPre: boolean) => {
      const maml = new Maml(push.spec, small, 5);
      const losses = [0, 1, 2, 3, 4, 5].map(() => maml.outerUpdate(pre, advantages, post, withPre ? { labels, preLabels } : { labels }).outerLoss);
      const preLoss = tf.tidy(() => pre.reduce((sum, d, i) => sum + imitationLoss(maml.theta, tf.tensor2d(d.obs, [steps, D]), tf.tensor2d(preLabels[i], [steps, 4])).dataSync()[0], 0));
      maml.dispose();
      return { losses, preLoss };
    };
    const held = trained(true), free = trained(false);
    // Both outer losses fall; with the pre-adaptation labels theta's own means end nearer them than without.
    expect(held.losses[5]).toBeLessThan(held.losses[0]);
    expect(free.losses[5]).toBeLessThan(free.losses[0]);
    expect(held.preLoss).toBeLessThan(0.8 * free.preLoss);
  });

  it('is refused by name where the benchmark has no scripted expert', () => {
    const resolved = mamlDefinition.resolve({ demonstrationIterations: 5 }, { ...push, name: 'ML1:somewhere', demonstrator: undefined });
    expect(resolved).toEqual({ problems: [{ path: ['demonstrationIterations'], message: expect.stringMatching(/needs a benchmark with scripted experts .*ML1:somewhere has none/) }] });
    expect(mamlDefinition.resolve({ demonstrationIterations: 5 }, push)).toHaveProperty('settings.demonstrationIterations', 5);
  });

  it('clone iterations: theta fitted to the demonstrator\'s actions without an inner step, the noise left alone', async () => {
    const settings: MamlSettings = { ...small, tasksPerIteration: 2, demonstrationIterations: 0, cloneIterations: 1, cloneDemonstrator: 'searcher', cloneEpisodes: 1, cloneEpochs: 2 };
    const maml = new Maml(push.spec, settings, 3);
    const envs = new LocalEnvBatch(push, settings.tasksPerIteration);
    const before = maml.theta.map((t) => Array.from(t.dataSync()));
    const stats = await maml.iterate(envs, push, 0);
    const after = maml.theta.map((t) => Array.from(t.dataSync()));
    // One episode per task, no inner step: the env steps of the lanes alone, and the clone's loss reported.
    expect(stats.envSteps).toBe(2 * 500);
    expect(stats.metrics!.cloneLoss).toBeGreaterThan(0);
    expect(stats.metrics).not.toHaveProperty('klPre');
    for (let k = 0; k < after.length - 1; k++) expect(after[k]).not.toEqual(before[k]);
    expect(after[after.length - 1]).toEqual(before[before.length - 1]);
    // Iteration 1 is a ProMP iteration again.
    expect((await maml.iterate(envs, push, 1)).metrics).toHaveProperty('klPre');
    maml.dispose();
    envs.close();
  }, 120_000);

  it('clone steps lower theta\'s imitation loss on a fixed labelled batch', () => {
    const maml = new Maml(push.spec, { ...small, cloneEpochs: 3, cloneLearningRate: 1e-2 }, 4);
    const steps = 300, D = push.spec.obsSize;
    const wave = (k: number) => Math.sin(12.9898 * k) * 0.5;
    const data = [0, 1].map((lane) => ({
      obs: Float32Array.from({ length: steps * D }, (_, k) => wave(k + 5000 * lane)),
      actions: new Float32Array(steps * 4), rewards: new Float32Array(steps), ends: new Uint8Array(steps), time: new Float32Array(steps), steps,
    }));
    // Labels a smooth function of the observation: the action is the first four observation entries, doubled.
    const labels = data.map((d) => Float32Array.from({ length: steps * 4 }, (_, k) => 2 * d.obs[Math.floor(k / 4) * D + (k % 4)]));
    const loss = () => tf.tidy(() => data.reduce((sum, d, i) => sum + imitationLoss(maml.theta, tf.tensor2d(d.obs, [steps, D]), tf.tensor2d(labels[i], [steps, 4])).dataSync()[0], 0));
    const start = loss();
    const passes = [0, 1, 2].map((round) => maml.cloneSteps(data, labels, rngFor(1, 'test', round)));
    expect(loss()).toBeLessThan(0.5 * start);
    expect(passes[2]).toBeLessThan(passes[0]);
    maml.dispose();
  });

  it('clone iterations are refused by name where the benchmark has no expert, and copy only a searcher that reads nothing but the observation', () => {
    expect(mamlDefinition.resolve({ cloneIterations: 5 }, { ...push, name: 'ML1:somewhere', demonstrator: undefined })).toEqual({ problems: [{ path: ['cloneIterations'], message: expect.stringMatching(/needs a benchmark with scripted experts/) }] });
    const reach = robotDistribution(ML1('reach', 1));
    expect(mamlDefinition.resolve({ cloneIterations: 5, cloneDemonstrator: 'searcher' }, reach)).toEqual({ problems: [{ path: ['cloneDemonstrator'], message: expect.stringMatching(/reach acts on the trial's past rewards and actions, which MAML's policy does not see/) }] });
    const pickPlace = robotDistribution(ML1('pick-place', 1));
    expect(mamlDefinition.resolve({ cloneIterations: 5, cloneDemonstrator: 'searcher' }, pickPlace)).toEqual({ problems: [{ path: ['cloneDemonstrator'], message: expect.stringMatching(/ML1:pick-place has a family without a scripted searcher \(pick-place; families with one: reach, push\)/) }] });
    expect(mamlDefinition.resolve({ cloneIterations: 5, cloneDemonstrator: 'searcher' }, push)).toHaveProperty('settings.cloneDemonstrator', 'searcher');
  });
});
