import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { chooseBackend } from '../../agent/backend.ts';
import { readCheckpoint } from '../../agent/checkpoint.ts';
import { distributionByName } from '../../agent/distributions.ts';
import type { EnvSpec } from '../../agent/envs.ts';
import { evaluate } from '../../agent/evaluate.ts';
import { loadPolicy } from '../../agent/policy.ts';
import { servedActions } from './served-trial.ts';
import { MAML_DEFAULTS, Maml, type Theta, innerGradient, laneAdvantages, logProb, logProbDirectional, parameterNames, policyParams } from '../../agent/maml.ts';
import { gaussian, rngFor } from '../../agent/random.ts';
import { RunDir } from '../../agent/run.ts';
import { train } from '../../agent/trainer.ts';
import { resolveScenario } from '../../scenarios/scenario.ts';

beforeAll(async () => { await chooseBackend('wasm'); });

const spec: EnvSpec = { obsSize: 5, action: { kind: 'box', size: 2, low: -1, high: 1 }, episodeSteps: 10, hasSuccess: true };
const hidden = [6, 4];

/** A small policy with weights large enough that the inner step's curvature matters, and fixed data. */
function problem() {
  const params = policyParams(spec, { hidden, initLogStd: -0.3 }, 3);
  const rng = rngFor(1, 'maml-test');
  const values = (n: number, scale = 1) => Float32Array.from({ length: n }, () => scale * gaussian(rng));
  const names = parameterNames(hidden);
  for (const name of names) { const v = params.get(name); v.assign(tf.tensor(values(v.size, 0.5), v.shape)); }
  const N = 30, M = 20;
  return {
    params,
    theta: names.map((name) => params.get(name)) as Theta,
    pre: { x: tf.tensor2d(values(N * 5), [N, 5]), a: tf.tensor2d(values(N * 2), [N, 2]), w: tf.tensor1d(values(N, 1 / N)) },
    post: { x: tf.tensor2d(values(M * 5), [M, 5]), a: tf.tensor2d(values(M * 2), [M, 2]), adv: tf.tensor1d(values(M)) },
    values,
  };
}

describe('MAML', () => {
  it('writes the inner policy gradient out by hand: it equals tfjs\'s gradient of sum_n w_n log pi_n', () => {
    const { theta, pre, params } = problem();
    const byHand = innerGradient(theta, pre.x, pre.a, pre.w).map((g) => g.dataSync());
    const autodiff = tf.grads((...t: tf.Tensor[]) => tf.sum(tf.mul(logProb(t, pre.x, pre.a), pre.w)) as tf.Scalar)(theta).map((g) => g.dataSync());
    byHand.forEach((g, k) => g.forEach((v, j) => expect(Math.abs(v - autodiff[k][j])).toBeLessThan(1e-5 * (1 + Math.abs(autodiff[k][j])))));
    params.dispose();
  });

  it('has the exact second-order meta-gradient of the post-adaptation objective: it matches central finite differences, and the first-order approximation does not', () => {
    const { theta, pre, post, params } = problem();
    const alpha = 0.5;
    // J(theta) = mean_m A_m pi_theta'(a_m | x_m) / const, theta' = theta + alpha * inner policy gradient on the pre data.
    const adapted = (t: Theta) => t.map((p, k) => tf.add(p, tf.mul(innerGradient(t, pre.x, pre.a, pre.w)[k], alpha)));
    const objective = (t: Theta) => tf.mean(tf.mul(tf.exp(logProb(adapted(t), post.x, post.a)), post.adv)) as tf.Scalar;
    const meta = tf.grads((...t: tf.Tensor[]) => objective(t))(theta).map((g) => g.dataSync());
    // First-order MAML: the gradient at theta' applied to theta (the inner step's Jacobian taken as the identity).
    const thetaPrime = adapted(theta);
    const firstOrder = tf.grads((...t: tf.Tensor[]) => tf.mean(tf.mul(tf.exp(logProb(t, post.x, post.a)), post.adv)) as tf.Scalar)(thetaPrime).map((g) => g.dataSync());
    let worst = 0, worstFirstOrder = 0;
    const eps = 1e-2;
    for (let k = 0; k < theta.length; k++) {
      const base = theta[k].dataSync().slice();
      for (const j of new Set([0, Math.floor(base.length / 2), base.length - 1])) {
        const at = (d: number) => {
          const moved = base.slice();
          moved[j] += d;
          return tf.tidy(() => objective(theta.map((t, m) => (m === k ? tf.tensor(moved, t.shape) : t))).dataSync()[0]);
        };
        const fd = (at(eps) - at(-eps)) / (2 * eps);
        const scale = Math.abs(fd) + 1e-2;
        worst = Math.max(worst, Math.abs(meta[k][j] - fd) / scale);
        worstFirstOrder = Math.max(worstFirstOrder, Math.abs(firstOrder[k][j] - fd) / scale);
      }
    }
    // Tolerance: 1 % of |finite difference| + 1e-4 (float32, eps = 0.01; measured worst 0.16 %).
    expect(worst).toBeLessThan(0.01);
    expect(worstFirstOrder).toBeGreaterThan(0.2);
    params.dispose();
  });

  it('computes directional derivatives of log pi forward-mode (ProMP\'s curvature term), as tfjs\'s gradients dotted with the direction', () => {
    const { theta, pre, values, params } = problem();
    const direction = theta.map((t) => tf.tensor(values(t.size), t.shape));
    const forward = logProbDirectional(theta, pre.x, pre.a, direction).dataSync();
    for (const n of [0, 7, 29]) {
      const grads = tf.grads((...t: tf.Tensor[]) => tf.sum(tf.slice(logProb(t, pre.x, pre.a), [n], [1])) as tf.Scalar)(theta);
      const dot = grads.reduce((sum, g, k) => sum + tf.sum(tf.mul(g, direction[k])).dataSync()[0], 0);
      expect(Math.abs(forward[n] - dot)).toBeLessThan(1e-4 * (1 + Math.abs(dot)));
    }
    params.dispose();
  });

  it('standardises each lane\'s advantages from its own linear baseline', () => {
    const steps = 40, obsSize = 3;
    const rng = rngFor(2, 'lane');
    const data = {
      obs: Float32Array.from({ length: steps * obsSize }, () => gaussian(rng)),
      actions: new Float32Array(steps * 2),
      rewards: Float32Array.from({ length: steps }, (_, t) => 1 + (t % 20) / 10 + 0.1 * gaussian(rng)),
      ends: Uint8Array.from({ length: steps }, (_, t) => (t % 20 === 19 ? 1 : 0)),
      time: Float32Array.from({ length: steps }, (_, t) => t % 20),
      steps,
    };
    const advantages = laneAdvantages(data, obsSize, 0.99, 1);
    const mean = advantages.reduce((a, b) => a + b, 0) / steps;
    const variance = advantages.reduce((a, b) => a + (b - mean) ** 2, 0) / steps;
    expect(Math.abs(mean)).toBeLessThan(1e-5);
    expect(Math.abs(variance - 1)).toBeLessThan(1e-3);
  });

  it('adapts in evaluation from the recorded adaptation episodes: one inner step per lane, before and after reported', async () => {
    const reach = distributionByName('ML1:reach', { seed: 1 });
    const maml = new Maml(reach.spec, { ...MAML_DEFAULTS, hidden: [16] }, 4);
    const policy = maml.explorationPolicy(2, { seed: 1 });
    expect(() => maml.adapt(new Maml(reach.spec, { ...MAML_DEFAULTS, hidden: [16] }, 4).explorationPolicy(1, { seed: 1 }), [])).toThrow(/adapt\(\) takes the exploration policy this learner made/);
    policy.dispose();
    const report = await evaluate(maml, reach, { tasks: 2, protocol: { adaptationEpisodes: 1, evaluationEpisodes: 1 } });
    expect(report.before.meanReturn).toBeGreaterThan(0);
    expect(report.after).not.toBeNull();
    expect(report.after!.meanReturn).not.toBe(report.before.meanReturn);
    // The same evaluation again: the same numbers.
    const again = await evaluate(maml, reach, { tasks: 2, protocol: { adaptationEpisodes: 1, evaluationEpisodes: 1 } });
    expect(again.perTask).toEqual(report.perTask);
    maml.dispose();
  }, 60_000);

  it('serves a checkpoint one robot at a time: each session takes its own inner step after the adaptation episodes, a reset starts over', () => {
    const policy = loadPolicy('checkpoints/maml-ml1-reach.json');
    expect([policy.algorithm, policy.adaptationEpisodes, policy.episodesPerTrial]).toEqual(['maml', 10, 13]);
    const [a, b] = [policy.session({ seed: 1 }), policy.session({ seed: 1 })];
    // Two robots, the same seed, different rewards: the same actions until the step, different ones after.
    const first = servedActions(a, (t) => t / 100, 11), second = servedActions(b, (t) => 5 - t / 100, 11);
    expect(a.adapted && b.adapted).toBe(true);
    expect(first.slice(0, 5000)).toEqual(second.slice(0, 5000));
    expect(first[5000]).not.toEqual(second[5000]);
    a.reset({ seed: 1 });
    expect([a.adapted, a.trial, a.step]).toEqual([false, 2, 0]);
    expect(servedActions(a, (t) => t / 100, 1)).toEqual(first.slice(0, 500));
    a.dispose(); b.dispose(); policy.dispose();
  }, 60_000);

  it('stops and resumes with the numbers of a run that was never stopped, across its clone, demonstration and ProMP iterations', async () => {
    const root = mkdtempSync(join(tmpdir(), 'metamanip-maml-'));
    // Iteration 0 clones the expert, 1 and 2 imitate it through the inner step, 3 is ProMP's.
    const scenario = {
      name: 'tiny-maml', benchmark: 'ML1:reach', seed: 2, algorithm: 'maml', iterations: 4,
      maml: { tasksPerIteration: 2, adaptationEpisodes: 1, evaluationEpisodes: 1, hidden: [8], outerSteps: 2, cloneIterations: 1, cloneEpisodes: 1, cloneEpochs: 1, demonstrationIterations: 2 },
      evaluation: { every: 2, tasks: 2 }, checkpoints: { keepLast: 5 },
    };
    const straight = join(root, 'straight'), stopped = join(root, 'stopped');
    await train(resolveScenario(scenario), { runDir: straight, quiet: true, backend: 'wasm' });
    await train(resolveScenario(scenario), { runDir: stopped, quiet: true, backend: 'wasm', maxIterations: 1 });
    await train(resolveScenario(scenario), { runDir: stopped, quiet: true, backend: 'wasm', resume: true, maxIterations: 2 });
    await train(resolveScenario(scenario), { runDir: stopped, quiet: true, backend: 'wasm', resume: true });
    const timing = /Seconds$|PerSecond$/;
    const rows = (dir: string) => new RunDir(dir).rows().map((row) => Object.fromEntries(Object.entries(row).filter(([key]) => !timing.test(key))));
    expect(rows(stopped)).toEqual(rows(straight));
    expect(rows(straight)[0]).toHaveProperty('cloneLoss');
    expect(rows(straight)[3]).toHaveProperty('klPre');
    const last = (dir: string) => readCheckpoint(join(dir, 'checkpoints', 'iter-000003.json'));
    expect(last(stopped).state).toEqual(last(straight).state);
    expect(last(straight).algorithm).toBe('maml');
  }, 180_000);
});
