import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { chooseBackend } from '../../agent/backend.ts';
import { distributionByName } from '../../agent/distributions.ts';
import { createEnvBatch } from '../../agent/batch-env.ts';
import { evaluate } from '../../agent/evaluate.ts';
import { ActingModel, GRBAL_DEFAULTS, Grbal, type GrbalSettings, type Normalisation, type SegmentTensors, type Theta, futureLoss, innerGradient, metaLoss, modelParams, outputWeights, parameterNames } from '../../agent/grbal.ts';
import { RandomShooting, type TransitionModel } from '../../agent/mpc.ts';
import { gaussian, rngFor } from '../../agent/random.ts';
import { expectResumedExactly } from './killed-run.ts';

beforeAll(async () => { await chooseBackend('wasm'); });

const shape = { obsSize: 3, actionSize: 2, hidden: [6, 5] };
const I = 5, O = 4;

/** A tiny model with weights large enough that the inner step's curvature matters, and fixed segments. */
function problem(B = 3, M = 4, K = 3) {
  const params = modelParams(shape, 3);
  const rng = rngFor(1, 'grbal-test');
  const values = (n: number, scale = 1) => Float32Array.from({ length: n }, () => scale * gaussian(rng));
  const names = parameterNames(shape.hidden);
  for (const name of names) { const v = params.get(name); v.assign(tf.tensor(values(v.size, 0.6), v.shape)); }
  // Row weights 1 / (real rows); segment 0's first row is missing (an episode's start).
  const weights = (rows: number) => { const w = new Float32Array(B * rows).fill(1 / rows); w.fill(1 / (rows - 1), 1, rows); w[0] = 0; return w; };
  const segments: SegmentTensors = {
    pastX: tf.tensor3d(values(B * M * I), [B, M, I]), pastY: tf.tensor3d(values(B * M * O), [B, M, O]), pastW: tf.tensor2d(weights(M), [B, M]),
    futureX: tf.tensor3d(values(B * K * I), [B, K, I]), futureY: tf.tensor3d(values(B * K * O), [B, K, O]), futureW: tf.tensor2d(weights(K), [B, K]),
  };
  const columns = tf.tensor1d([0.5, 0.5, 0, 2]);
  return { params, theta: names.map((n) => params.get(n)) as Theta, segments, columns, values };
}

describe('GrBAL', () => {
  it('writes the inner gradient out by hand: per segment, it equals tfjs\'s gradient of that segment\'s loss', () => {
    const { theta, segments, columns, params } = problem();
    const byHand = innerGradient(theta, segments.pastX, segments.pastY, segments.pastW, columns).map((g) => g.arraySync());
    for (let b = 0; b < 3; b++) {
      const x = tf.squeeze(tf.slice(segments.pastX, [b, 0, 0], [1, -1, -1]), [0]) as tf.Tensor2D;
      const y = tf.squeeze(tf.slice(segments.pastY, [b, 0, 0], [1, -1, -1]), [0]);
      const w = tf.reshape(tf.slice(segments.pastW, [b, 0], [1, -1]), [-1, 1]);
      const loss = (...t: tf.Tensor[]) => {
        let h: tf.Tensor2D = x;
        for (let l = 0; l < 2; l++) h = tf.relu(tf.add(tf.matMul(h, t[2 * l] as tf.Tensor2D), t[2 * l + 1])) as tf.Tensor2D;
        const out = tf.add(tf.matMul(h, t[4] as tf.Tensor2D), t[5]);
        return tf.sum(tf.mul(tf.mul(tf.square(tf.sub(out, y)), columns), w)) as tf.Scalar;
      };
      const autodiff = tf.grads(loss)(theta).map((g) => g.dataSync());
      autodiff.forEach((g, k) => {
        const mine = [(byHand[k] as unknown[])[b]].flat(2) as number[];
        expect(mine.length).toBe(g.length);
        g.forEach((v, j) => expect(Math.abs(mine[j] - v)).toBeLessThan(1e-5 * (1 + Math.abs(v))));
      });
    }
    params.dispose();
  });

  it('has the exact second-order meta-gradient: it matches central finite differences (where no ReLU flips), and the first-order approximation does not', () => {
    const { theta, segments, columns, params } = problem();
    const stepSizes = tf.tensor1d([0.3, 0.2, 0.3, 0.2, 0.4, 0.3]);
    const loss = (t: Theta, s: tf.Tensor1D = stepSizes) => metaLoss(t, s, segments, columns);
    const meta = tf.grads((...t: tf.Tensor[]) => loss(t))(theta).map((g) => g.dataSync());
    const metaStep = tf.grad((s: tf.Tensor) => loss(theta, s as tf.Tensor1D))(stepSizes).dataSync();
    // First-order: the gradient at the adapted weights taken as the gradient at theta (the inner step's Jacobian left out).
    // First-order: the gradient at each segment's adapted weights, summed, taken as the gradient at theta (the inner step's Jacobian left out).
    const alphas = stepSizes.arraySync();
    const grads = innerGradient(theta, segments.pastX, segments.pastY, segments.pastW, columns);
    const adapted = theta.map((t, k) => tf.sub(tf.expandDims(t, 0), tf.mul(grads[k], alphas[k])));
    const firstOrder = tf.grads((...t: tf.Tensor[]) => futureLoss(t, segments, columns))(adapted).map((g) => tf.sum(g, 0).dataSync());
    // ReLU switches make the loss piecewise smooth: a difference quotient across a switch is not a derivative.
    const pattern = (t: Theta) => tf.tidy(() => {
      const grads = innerGradient(t, segments.pastX, segments.pastY, segments.pastW, columns);
      const perSegment = t.map((p, k) => tf.sub(tf.expandDims(p, 0), tf.mul(grads[k], alphas[k])));
      let h = segments.futureX as tf.Tensor3D, onPast = tf.reshape(segments.pastX, [-1, I]) as tf.Tensor2D;
      const signs: number[] = [];
      for (let l = 0; l < 2; l++) {
        const z = tf.add(tf.matMul(h, perSegment[2 * l] as tf.Tensor3D), tf.expandDims(perSegment[2 * l + 1], 1));
        signs.push(...(tf.step(z).dataSync() as Float32Array));
        h = tf.relu(z) as tf.Tensor3D;
        const zp = tf.add(tf.matMul(onPast, t[2 * l] as tf.Tensor2D), t[2 * l + 1]);
        signs.push(...(tf.step(zp).dataSync() as Float32Array));
        onPast = tf.relu(zp) as tf.Tensor2D;
      }
      return signs.join('');
    });
    const eps = 1e-2;
    let worst = 0, worstFirstOrder = 0, checked = 0;
    for (let k = 0; k < theta.length; k++) {
      const base = theta[k].dataSync().slice();
      for (const j of new Set([0, 1, Math.floor(base.length / 2), base.length - 1])) {
        const at = (d: number) => {
          const moved = base.slice();
          moved[j] += d;
          const t = theta.map((p, m) => (m === k ? tf.tensor(moved, p.shape) : p));
          return { value: tf.tidy(() => loss(t).dataSync()[0]), pattern: pattern(t) };
        };
        const plus = at(eps), minus = at(-eps);
        if (plus.pattern !== minus.pattern) continue;
        checked++;
        const fd = (plus.value - minus.value) / (2 * eps);
        const scale = Math.abs(fd) + 1e-2;
        worst = Math.max(worst, Math.abs(meta[k][j] - fd) / scale);
        worstFirstOrder = Math.max(worstFirstOrder, Math.abs(firstOrder[k][j] - fd) / scale);
      }
    }
    // And the step sizes' own gradient (they are meta-learned).
    const base = stepSizes.dataSync().slice();
    for (let k = 0; k < base.length; k++) {
      const at = (d: number) => { const moved = base.slice(); moved[k] += d; return tf.tidy(() => loss(theta, tf.tensor1d(moved)).dataSync()[0]); };
      const fd = (at(1e-3) - at(-1e-3)) / 2e-3;
      worst = Math.max(worst, Math.abs(metaStep[k] - fd) / (Math.abs(fd) + 1e-2));
    }
    // Tolerance: 1 % of |finite difference| + 1e-4 (float32, eps = 0.01; measured worst 0.39 %, first-order 1,370 %).
    expect(checked).toBeGreaterThan(15);
    expect(worst).toBeLessThan(0.01);
    expect(worstFirstOrder).toBeGreaterThan(0.05);
    params.dispose();
  });

  it('adapts and predicts in JavaScript as the tfjs model does (live entries only; constant ones keep their mean)', () => {
    const { theta, values, params } = problem();
    const norm: Normalisation = {
      inputMean: Float32Array.of(0.1, -0.2, 0.3, 0, 0), inputStd: Float32Array.of(0.5, 0, 2, 1, 0.7),
      targetMean: Float32Array.of(0.01, 0.5, -0.02, 3), targetStd: Float32Array.of(0.1, 0, 0.2, 2),
    };
    const rows = 6;
    const obs = values(rows * 3), actions = values(rows * 2), nextObs = values(rows * 3), rewards = values(rows);
    const weights = theta.map((t) => Float32Array.from(t.dataSync() as Float32Array));
    const model = ActingModel.fromWeights(shape, weights, norm, 2);
    const alphas = Float32Array.of(0.3, 0.2, 0.3, 0.2, 0.4, 0.3);
    const adapted = model.adapted({ obs, actions, rewards, nextObs, rows }, alphas);
    // The same step in tfjs, on the normalised rows.
    const inv = (s: number) => (s > 0 ? 1 / s : 0);
    const x = new Float32Array(rows * I), y = new Float32Array(rows * O);
    for (let r = 0; r < rows; r++) {
      for (let k = 0; k < 3; k++) {
        x[r * I + k] = (obs[r * 3 + k] - norm.inputMean[k]) * inv(norm.inputStd[k]);
        y[r * O + k] = (nextObs[r * 3 + k] - obs[r * 3 + k] - norm.targetMean[k]) * inv(norm.targetStd[k]);
      }
      for (let k = 0; k < 2; k++) x[r * I + 3 + k] = (actions[r * 2 + k] - norm.inputMean[3 + k]) * inv(norm.inputStd[3 + k]);
      y[r * O + 3] = (rewards[r] - norm.targetMean[3]) * inv(norm.targetStd[3]);
    }
    const grads = innerGradient(theta, tf.tensor3d(x, [1, rows, I]), tf.tensor3d(y, [1, rows, O]), tf.fill([1, rows], 1 / rows) as tf.Tensor2D, tf.tensor1d(outputWeights(norm, 2)));
    const expected = theta.map((t, k) => Float32Array.from(tf.sub(t, tf.mul(tf.squeeze(grads[k], [0]), alphas[k])).dataSync() as Float32Array));
    const { inputs, outputs } = model.live;
    expect([...inputs]).toEqual([0, 2, 3, 4]);
    expect([...outputs]).toEqual([0, 2, 3]);
    const compact = adapted.compactWeights;
    const close = (a: number, b: number) => expect(Math.abs(a - b)).toBeLessThan(1e-5 * (1 + Math.abs(b)));
    // First layer: the live inputs' rows; last layer: the live outputs' columns; the middle as it is.
    inputs.forEach((k, r) => { for (let j = 0; j < 6; j++) close(compact[0][r * 6 + j], expected[0][k * 6 + j]); });
    expected[1].forEach((v, j) => close(compact[1][j], v));
    expected[2].forEach((v, j) => close(compact[2][j], v));
    expected[3].forEach((v, j) => close(compact[3][j], v));
    for (let r = 0; r < 5; r++) outputs.forEach((j, c) => close(compact[4][r * 3 + c], expected[4][r * O + j]));
    outputs.forEach((j, c) => close(compact[5][c], expected[5][j]));
    // Prediction: denormalised outputs; the constant entry 1 changes by exactly its mean.
    const next = new Float32Array(rows * 3), predicted = new Float64Array(rows);
    model.predict(obs, actions, rows, next, predicted);
    const out = tf.tidy(() => {
      let h: tf.Tensor2D = tf.tensor2d(x, [rows, I]);
      for (let l = 0; l < 2; l++) h = tf.relu(tf.add(tf.matMul(h, theta[2 * l] as tf.Tensor2D), theta[2 * l + 1])) as tf.Tensor2D;
      return tf.add(tf.matMul(h, theta[4] as tf.Tensor2D), theta[5]).dataSync() as Float32Array;
    });
    for (let r = 0; r < rows; r++) {
      close(next[r * 3], obs[r * 3] + out[r * O] * 0.1 + 0.01);
      expect(next[r * 3 + 1]).toBe(Math.fround(obs[r * 3 + 1] + 0.5));
      close(next[r * 3 + 2], obs[r * 3 + 2] + out[r * O + 2] * 0.2 - 0.02);
      close(predicted[r], out[r * O + 3] * 2 + 3);
    }
    params.dispose();
  });

  it('plans by random shooting: the executed sequence is the drawn candidate with the highest summed reward under the model', () => {
    // A known model: the observation moves by the action, the reward is minus the squared distance to a target.
    const target = [0.7, -0.4];
    const model: TransitionModel = {
      obsSize: 2, actionSize: 2,
      predict(obs, actions, rows, next, rewards) {
        for (let r = 0; r < rows; r++) {
          next[2 * r] = obs[2 * r] + 0.1 * actions[2 * r];
          next[2 * r + 1] = obs[2 * r + 1] + 0.1 * actions[2 * r + 1];
          rewards[r] = -((next[2 * r] - target[0]) ** 2 + (next[2 * r + 1] - target[1]) ** 2);
        }
      },
    };
    const N = 50, H = 4;
    const planner = new RandomShooting(2, 2, { candidates: N, horizon: H, low: -1, high: 1 });
    const plan = planner.plan(model, [0, 0], rngFor(5, 'mpc-test'));
    // The same draws, scored one candidate at a time.
    const rng = rngFor(5, 'mpc-test');
    const draws = Array.from({ length: N * H * 2 }, () => rng.uniform(-1, 1));
    const scores = Array.from({ length: N }, (_, c) => {
      let x = 0, y = 0, total = 0;
      for (let h = 0; h < H; h++) {
        x += 0.1 * Math.fround(draws[(c * H + h) * 2]); y += 0.1 * Math.fround(draws[(c * H + h) * 2 + 1]);
        total -= (Math.fround(x) - target[0]) ** 2 + (Math.fround(y) - target[1]) ** 2;
        x = Math.fround(x); y = Math.fround(y);
      }
      return total;
    });
    const best = scores.indexOf(Math.max(...scores));
    expect([...plan.actions]).toEqual([...Float32Array.from(draws.slice(best * H * 2, (best + 1) * H * 2))]);
    expect(plan.predictedReturn).toBeCloseTo(scores[best], 6);
    // It heads for the target: the first step's action points the right way.
    expect(plan.actions[0]).toBeGreaterThan(0);
    expect(plan.actions[1]).toBeLessThan(0);
  });

  const tiny: GrbalSettings = { ...GRBAL_DEFAULTS, tasksPerIteration: 2, hidden: [8], metaBatch: 4, metaSteps: 2, pastSteps: 4, futureSteps: 3, candidates: 6, horizon: 3, replanEvery: 3, capacityPerTask: 600 };

  it('is deterministic: two learners from one seed gather, learn and evaluate alike; the dataset survives a checkpoint round trip bit for bit', async () => {
    const reach = distributionByName('ML1:reach', { seed: 1 });
    const envs = await createEnvBatch(reach, 2);
    const [a, b] = [new Grbal(reach.spec, tiny, 7), new Grbal(reach.spec, tiny, 7)];
    try {
      for (let it = 0; it < 2; it++) {
        const [sa, sb] = [await a.iterate(envs, reach, it), await b.iterate(envs, reach, it)];
        const numbers = (s: typeof sa) => ({ ...s, samplingSeconds: 0, learningSeconds: 0, metrics: { ...s.metrics, adaptingSeconds: 0, planningSeconds: 0 } });
        expect(numbers(sa)).toEqual(numbers(sb));
      }
      expect(a.state()).toEqual(b.state());
      const state = a.state() as ReturnType<Grbal['state']> & { blobs: { replay: Uint8Array } };
      expect(state.blobs.replay.byteLength).toBeGreaterThan(2 * 999 * 4 * (39 + 4 + 1 + 39));
      expect(a.replay!.totalSize()).toBe(2 * 2 * 499);
      // Round trip into a fresh learner: the same weights, optimiser, dataset and segment draws.
      const c = new Grbal(reach.spec, tiny, 99);
      c.load(state);
      expect(c.state()).toEqual(state);
      const segments = (g: Grbal) => tf.tidy(() => Object.values(g.sampleSegments(g.replay!, rngFor(1, 's'))).map((t) => t.arraySync()));
      expect(segments(c)).toEqual(segments(a));
      const [ea, ec] = [await evaluate(a, reach, { tasks: 2, protocol: { adaptationEpisodes: 1, evaluationEpisodes: 1 } }), await evaluate(c, reach, { tasks: 2, protocol: { adaptationEpisodes: 1, evaluationEpisodes: 1 } })];
      expect(ec.perTask).toEqual(ea.perTask);
      expect(ea.after).not.toBeNull();
      c.dispose();
    } finally {
      a.dispose(); b.dispose();
      await envs.close();
    }
  }, 120_000);

  it('resumes a killed run from its checkpoint and dataset with the numbers of a run that was never stopped', async () => {
    const root = mkdtempSync(join(tmpdir(), 'metamanip-grbal-'));
    const scenario = join(root, 'g.yaml');
    writeFileSync(scenario, JSON.stringify({
      kind: 'train', name: 'g', benchmark: 'ML1:reach', seed: 3, algorithm: 'grbal', iterations: 4, workers: 0,
      grbal: tiny, evaluation: { every: 0, tasks: 1 }, checkpoints: { every: 1, keepLast: 2 },
    }));
    const { final } = await expectResumedExactly(scenario, root, { iterations: 4, killAfter: 1 });
    expect((final.killed.state as { blobs?: Record<string, Uint8Array> }).blobs?.replay.byteLength).toBeGreaterThan(0);
  }, 240_000);
});
