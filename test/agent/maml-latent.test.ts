// MAML with a latent input (maml.latentSize, MAESN's structured exploration): the latent is drawn once per
// pre-adaptation episode from a meta-learned Gaussian, the inner step moves its mean by the policy gradient of
// the episodes' advantages, the adapted lanes act with the adapted mean; the meta-gradient reaches the latent's
// mean and log std through the inner step; clone iterations bind the latent to the task's goal code.

import * as tf from '@tensorflow/tfjs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { chooseBackend } from '../../agent/backend.ts';
import { LocalEnvBatch } from '../../agent/batch-env.ts';
import { readCheckpoint } from '../../agent/checkpoint.ts';
import { MAML_DEFAULTS, Maml, type MamlSettings, innerGradient, latentStep, logProb, mamlDefinition, parameterNames, policyParams, withLatent } from '../../agent/maml.ts';
import { gaussian, rngFor } from '../../agent/random.ts';
import { loadPolicy } from '../../agent/policy.ts';
import { servedActions } from './served-trial.ts';
import { goalAxes, goalCode, robotDistribution } from '../../agent/robot-tasks.ts';
import { runTrials } from '../../agent/rollout.ts';
import { RunDir } from '../../agent/run.ts';
import { train } from '../../agent/trainer.ts';
import { resolveScenario } from '../../scenarios/scenario.ts';
import { ML1, getFamily } from '../../sim/index.ts';

beforeAll(async () => { await chooseBackend('wasm'); });

const push = robotDistribution(ML1('push', 1));
const latentSettings: MamlSettings = { ...MAML_DEFAULTS, hidden: [16], latentSize: 2, initLatentLogStd: -0.5, latentLearningRate: 2, innerLearningRate: 0 };

describe('MAML with a latent input', () => {
  it('moves the latent mean by the policy gradient of log N(z; mean, std) weighted by the advantages', () => {
    const rng = rngFor(5, 'latent-step');
    const N = 40, L = 2, beta = 0.7;
    const mean = tf.tensor1d([0.3, -0.2]), logStd = tf.tensor1d([-0.5, 0.1]);
    const noise = tf.tensor2d(Float32Array.from({ length: N * L }, () => gaussian(rng)), [N, L]);
    const weights = tf.tensor1d(Float32Array.from({ length: N }, () => gaussian(rng) / N));
    const z = tf.add(mean, tf.mul(tf.exp(logStd), noise));
    const logDensity = (m: tf.Tensor) => tf.sum(tf.mul(tf.reshape(weights, [-1, 1]), tf.mul(tf.square(tf.div(tf.sub(z, m), tf.exp(logStd))), -0.5))) as tf.Scalar;
    const expected = tf.add(mean, tf.mul(tf.grad(logDensity)(mean), beta)).dataSync();
    const stepped = latentStep(mean, logStd, noise, weights, beta).dataSync();
    stepped.forEach((v, k) => expect(Math.abs(v - expected[k])).toBeLessThan(1e-5));
  });

  it('has a meta-gradient for the latent\'s mean and log std through the inner step that matches central finite differences', () => {
    const spec = { obsSize: 5, action: { kind: 'box' as const, size: 2, low: -1, high: 1 }, episodeSteps: 10, hasSuccess: true };
    const hidden = [6];
    const params = policyParams(spec, { hidden, initLogStd: -0.3, latentSize: 2, initLatentLogStd: -0.4 }, 3);
    const rng = rngFor(1, 'maml-latent-test');
    const values = (n: number, scale = 1) => Float32Array.from({ length: n }, () => scale * gaussian(rng));
    const theta = parameterNames(hidden).map((name) => { const v = params.get(name); v.assign(tf.tensor(values(v.size, 0.5), v.shape)); return v as tf.Tensor; });
    const N = 30, M = 20;
    const pre = { obs: tf.tensor2d(values(N * 5), [N, 5]), noise: tf.tensor2d(values(N * 2), [N, 2]), a: tf.tensor2d(values(N * 2), [N, 2]), w: tf.tensor1d(values(N, 1 / N)) };
    const post = { obs: tf.tensor2d(values(M * 5), [M, 5]), a: tf.tensor2d(values(M * 2), [M, 2]), adv: tf.tensor1d(values(M)) };
    const alpha = 0.3, beta = 0.8;
    // The post-adaptation objective as a function of the latent's parameters: the pre-adaptation input reads
    // the reparameterised draws, theta' and the adapted mean both depend on them.
    const objective = (mean: tf.Tensor, logStd: tf.Tensor) => {
      const x = withLatent(pre.obs, tf.add(mean, tf.mul(tf.exp(logStd), pre.noise)));
      const thetaPrime = theta.map((p, k) => tf.add(p, tf.mul(innerGradient(theta, x, pre.a, pre.w)[k], alpha)));
      const adaptedMean = latentStep(mean, logStd, pre.noise, pre.w, beta);
      return tf.mean(tf.mul(tf.exp(logProb(thetaPrime, withLatent(post.obs, adaptedMean), post.a)), post.adv)) as tf.Scalar;
    };
    const base = [Float32Array.of(0.2, -0.1), Float32Array.of(-0.4, -0.2)];
    const grads = tf.grads((m: tf.Tensor, s: tf.Tensor) => objective(m, s))([tf.tensor1d(base[0]), tf.tensor1d(base[1])]).map((g) => g.dataSync());
    const eps = 1e-2;
    let worst = 0;
    for (let which = 0; which < 2; which++) for (let k = 0; k < 2; k++) {
      const at = (d: number) => {
        const moved = base.map((b) => b.slice());
        moved[which][k] += d;
        return tf.tidy(() => objective(tf.tensor1d(moved[0]), tf.tensor1d(moved[1])).dataSync()[0]);
      };
      const fd = (at(eps) - at(-eps)) / (2 * eps);
      worst = Math.max(worst, Math.abs(grads[which][k] - fd) / (Math.abs(fd) + 1e-2));
    }
    // Tolerance: 1 % of |finite difference| + 1e-4, as the policy's own meta-gradient test.
    expect(worst).toBeLessThan(0.01);
    params.dispose();
  });

  it('draws one latent per pre-adaptation episode; the adapted lanes act with the adapted mean, the same in every episode', () => {
    const maml = new Maml(push.spec, latentSettings, 2);
    const envs = new LocalEnvBatch(push, 2);
    const tasks = push.validationTasks(2);
    const latents = (policy: ReturnType<Maml['explorationPolicy']>) => policy.recorders!.map((r) => {
      const { latent, steps } = r.data();
      return Array.from({ length: steps / 500 }, (_, e) => {
        const rows = Array.from({ length: 500 }, (_, t) => Array.from(latent!.subarray((e * 500 + t) * 2, (e * 500 + t + 1) * 2)));
        expect(new Set(rows.map((r) => r.join()))).toHaveProperty('size', 1);
        return rows[0];
      });
    });
    const policy = maml.explorationPolicy(2, { seed: 4 });
    runTrials(envs, policy, tasks, 3, 11);
    const drawn = latents(policy);
    // Three different draws per lane around the prior's mean (0) with std e^-0.5.
    for (const lane of drawn) {
      expect(new Set(lane.map((z) => z.join()))).toHaveProperty('size', 3);
      for (const z of lane) for (const v of z) expect(Math.abs(v)).toBeLessThan(4 * Math.exp(-0.5));
    }
    const adapted = maml.adapt(policy, []);
    const held = [0, 1].map(() => [] as number[][]);
    for (const seed of [12, 13]) {
      runTrials(envs, adapted, tasks, 1, seed);
      held.forEach((lane, i) => lane.push(Array.from(adapted.currentLatent(i)!)));
    }
    for (const lane of held) expect(lane[1]).toEqual(lane[0]);
    expect(held[0][0]).not.toEqual(held[1][0]);
    expect(held[0][0]).not.toEqual([0, 0]);
    // Acting with the means: the latent is the prior's mean, and without noise the inner step leaves it there.
    const deterministic = maml.explorationPolicy(2, { seed: 4, deterministic: true });
    runTrials(envs, deterministic, tasks, 1, 11);
    expect(latents(deterministic).map((lane) => lane[0])).toEqual([[0, 0], [0, 0]]);
    const unmoved = maml.adapt(deterministic, []);
    runTrials(envs, unmoved, tasks, 1, 12);
    expect(unmoved.currentLatent(0)).toEqual(Float32Array.of(0, 0));
    maml.dispose();
    envs.close();
  }, 60_000);

  it('binds the latent to the goal code in clone iterations: the goal\'s place in its box, on the axes goals vary along', () => {
    expect(goalAxes(ML1('push', 1))).toEqual([0, 1]);
    const box = getFamily('push').goalBox;
    const task = push.validationTasks(1)[0];
    const goal = getFamily('push').scene(task.params).goal;
    const code = goalCode(task, [0, 1]);
    for (const axis of [0, 1]) expect(code[axis]).toBeCloseTo(-1 + (2 * (goal[axis] - box.low[axis])) / (box.high[axis] - box.low[axis]), 5);
    for (const v of code) expect(Math.abs(v)).toBeLessThanOrEqual(1);
    expect(mamlDefinition.resolve({ cloneIterations: 5, latentSize: 3 }, push)).toEqual({ problems: [{ path: ['latentSize'], message: expect.stringMatching(/ML1:push's goals vary along 2 axes \(x, y\): use latentSize 2/) }] });
    expect(mamlDefinition.resolve({ cloneIterations: 5, latentSize: 2, cloneDemonstrator: 'searcher' }, push)).toEqual({ problems: [{ path: ['cloneDemonstrator'], message: expect.stringMatching(/only the expert acts on; use expert/) }] });
    expect(mamlDefinition.resolve({ cloneIterations: 5, latentSize: 2 }, push)).toHaveProperty('settings.latentSize', 2);
  });

  it('serves a latent checkpoint one robot at a time: each session adapts its own latent from its own rewards', () => {
    const policy = loadPolicy('checkpoints/maml-ml1-push.json');
    const [a, b] = [policy.session({ seed: 3 }), policy.session({ seed: 3 })];
    const first = servedActions(a, (t) => t / 100, 12), second = servedActions(b, (t) => 5 - t / 100, 12);
    expect(a.adapted && b.adapted).toBe(true);
    // Before the step the two robots act alike (same seed: the same guesses and noise).
    expect(first.slice(0, 5000)).toEqual(second.slice(0, 5000));
    // After it each robot acts on its own adapted latent.
    expect(first[5000]).not.toEqual(second[5000]);
    a.dispose(); b.dispose(); policy.dispose();
  }, 60_000);

  it('stops and resumes with the numbers of a run that was never stopped, its latent included', async () => {
    const root = mkdtempSync(join(tmpdir(), 'metamanip-maml-latent-'));
    // Iteration 0 clones the expert with the goal code as the latent, 1 imitates it through the inner step, 2 is ProMP's.
    const scenario = {
      name: 'tiny-maml-latent', benchmark: 'ML1:push', seed: 2, algorithm: 'maml', iterations: 3,
      maml: { tasksPerIteration: 2, adaptationEpisodes: 2, evaluationEpisodes: 1, hidden: [8], outerSteps: 2, latentSize: 2, cloneIterations: 1, cloneEpisodes: 1, cloneEpochs: 1, demonstrationIterations: 1 },
      evaluation: { every: 2, tasks: 2 }, checkpoints: { keepLast: 5 },
    };
    const straight = join(root, 'straight'), stopped = join(root, 'stopped');
    await train(resolveScenario(scenario), { runDir: straight, quiet: true, backend: 'wasm' });
    await train(resolveScenario(scenario), { runDir: stopped, quiet: true, backend: 'wasm', maxIterations: 2 });
    await train(resolveScenario(scenario), { runDir: stopped, quiet: true, backend: 'wasm', resume: true });
    const timing = /Seconds$|PerSecond$/;
    const rows = (dir: string) => new RunDir(dir).rows().map((row) => Object.fromEntries(Object.entries(row).filter(([key]) => !timing.test(key))));
    expect(rows(stopped)).toEqual(rows(straight));
    expect(rows(straight)[2]).toHaveProperty('latentStd');
    const last = (dir: string) => readCheckpoint(join(dir, 'checkpoints', 'iter-000002.json'));
    expect(last(stopped).state).toEqual(last(straight).state);
    // The meta-learned latent moved from its start (mean 0, std e^0 = 1: the default initLatentLogStd).
    expect(rows(straight)[2].latentStd).not.toBe(1);
  }, 180_000);
});
