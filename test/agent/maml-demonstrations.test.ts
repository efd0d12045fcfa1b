// MAML's demonstration iterations (maml.demonstrationIterations, Guided Meta-Policy Search's outer loop):
// the adapted policy is judged by how close its means come to the scripted expert's actions on the states
// it visited, the meta-gradient runs through the inner policy-gradient step, and the action noise is left
// alone; refused where a benchmark has no expert.

import { beforeAll, describe, expect, it } from 'vitest';
import { chooseBackend } from '../../agent/backend.ts';
import { LocalEnvBatch } from '../../agent/batch-env.ts';
import { MAML_DEFAULTS, Maml, type MamlSettings, mamlDefinition } from '../../agent/maml.ts';
import { robotDistribution } from '../../agent/robot-tasks.ts';
import { ML1 } from '../../sim/index.ts';

beforeAll(async () => { await chooseBackend('wasm'); });

const push = robotDistribution(ML1('push', 1));
const small: MamlSettings = {
  ...MAML_DEFAULTS, hidden: [16], tasksPerIteration: 2, adaptationEpisodes: 1, evaluationEpisodes: 1,
  outerSteps: 3, outerLearningRate: 1e-2, demonstrationIterations: 2,
};

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
    // A fixed batch: random states, random pre-adaptation actions and advantages, and an expert that always
    // asks for the same action (which the mean layer's bias can learn).
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
    const losses: number[] = [];
    for (let round = 0; round < 6; round++) losses.push(maml.outerUpdate(pre, advantages, post, { labels }).outerLoss);
    expect(losses[5]).toBeLessThan(0.8 * losses[0]);
    for (let k = 1; k < 6; k++) expect(losses[k]).toBeLessThan(losses[k - 1]);
    maml.dispose();
  });

  it('is refused by name where the benchmark has no scripted expert', () => {
    const resolved = mamlDefinition.resolve({ demonstrationIterations: 5 }, { ...push, name: 'ML1:somewhere', demonstrator: undefined });
    expect(resolved).toEqual({ problems: [{ path: ['demonstrationIterations'], message: expect.stringMatching(/needs a benchmark with scripted experts .*ML1:somewhere has none/) }] });
    expect(mamlDefinition.resolve({ demonstrationIterations: 5 }, push)).toHaveProperty('settings.demonstrationIterations', 5);
  });
});
