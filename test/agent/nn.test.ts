import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { chooseBackend } from '../../agent/backend.ts';
import { Adam, ConstantInput, LAYER_NORM_EPSILON, Params, addDense, addGru, autogradMatMul, concatRows, dense, denseOverParts, fastTanh, gruInputs, gruSequence, gruStep, matMul } from '../../agent/nn.ts';
import { rngFor } from '../../agent/random.ts';

beforeAll(async () => { await chooseBackend('wasm'); });

const maxDiff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);

describe('network building blocks', () => {
  it('matMul with explicit-transpose gradients gives autograd\'s gradients', () => {
    const a = tf.variable(tf.randomNormal([5, 7], 0, 1, 'float32', 1)), b = tf.variable(tf.randomNormal([7, 3], 0, 1, 'float32', 2));
    const loss = (mm: typeof matMul) => () => tf.sum(tf.sin(mm(a as unknown as tf.Tensor2D, b as unknown as tf.Tensor2D))) as tf.Scalar;
    const fast = tf.variableGrads(loss(matMul), [a, b]), reference = tf.variableGrads(loss(autogradMatMul), [a, b]);
    expect(maxDiff(fast.grads[a.name], reference.grads[a.name])).toBeLessThan(1e-5);
    expect(maxDiff(fast.grads[b.name], reference.grads[b.name])).toBeLessThan(1e-5);
  });

  it('gruSequence (hand-written BPTT) gives the outputs and gradients of autograd through gruStep', () => {
    const params = new Params();
    const rng = rngFor(0, 'test');
    const gru = addGru(params, rng, 'gru', 6, 8), head = addDense(params, rng, 'head', 8, 2);
    const T = 5, B = 3;
    const x = tf.variable(tf.randomNormal([T * B, 6], 0, 1, 'float32', 3));
    const h0 = tf.randomNormal([B, 8], 0, 0.5, 'float32', 4) as tf.Tensor2D;
    const variables = [...params.vars.values(), x];
    const fused = () => tf.sum(tf.sin(dense(gruSequence(x as unknown as tf.Tensor2D, h0, gru, T), head))) as tf.Scalar;
    const loop = () => {
      let h = h0;
      const hs: tf.Tensor2D[] = [];
      for (const xt of tf.split(x, T, 0) as tf.Tensor2D[]) { h = gruStep(gruInputs(xt, gru), h, gru); hs.push(h); }
      return tf.sum(tf.sin(dense(concatRows(...hs), head))) as tf.Scalar;
    };
    const a = tf.variableGrads(fused, variables), b = tf.variableGrads(loop, variables);
    expect(a.value.dataSync()[0]).toBeCloseTo(b.value.dataSync()[0], 5);
    for (const v of variables) expect(maxDiff(a.grads[v.name], b.grads[v.name])).toBeLessThan(1e-5);
    params.dispose();
  });

  it('denseOverParts gives the dense layer over the concatenated parts, with its weight gradients and none for a constant part', () => {
    const params = new Params();
    const layer = addDense(params, rngFor(2, 'parts'), 'layer', 5 + 3, 4);
    const h = tf.variable(tf.randomNormal([6, 5], 0, 1, 'float32', 5)), x = tf.randomNormal([6, 3], 0, 1, 'float32', 6) as tf.Tensor2D;
    const variables = [...params.vars.values(), h];
    const concatenated = () => tf.sum(tf.sin(fastTanh(dense(tf.concat([h, x], 1) as tf.Tensor2D, layer)))) as tf.Scalar;
    const parts = () => tf.sum(tf.sin(fastTanh(denseOverParts([h as unknown as tf.Tensor2D, new ConstantInput(x, true)], layer)))) as tf.Scalar;
    const a = tf.variableGrads(concatenated, variables), b = tf.variableGrads(parts, variables);
    expect(b.value.dataSync()[0]).toBeCloseTo(a.value.dataSync()[0], 5);
    for (const v of variables) expect(maxDiff(a.grads[v.name], b.grads[v.name])).toBeLessThan(1e-5);
    // fastTanh is tanh.
    expect(maxDiff(fastTanh(x), tf.tanh(x))).toBeLessThan(1e-6);
    expect(() => denseOverParts([new ConstantInput(x, true)], layer)).toThrow(/the parts have 3 features, the layer takes 8/);
    params.dispose();
  });

  it('gruSequence gives a constant input no gradient and the weights the same gradients, to the bit', () => {
    const params = new Params();
    const rng = rngFor(3, 'test');
    const gru = addGru(params, rng, 'gru', 4, 6), head = addDense(params, rng, 'head', 6, 2);
    const T = 4, B = 2;
    const x = tf.randomNormal([T * B, 4], 0, 1, 'float32', 7) as tf.Tensor2D, h0 = tf.randomNormal([B, 6], 0, 0.5, 'float32', 8) as tf.Tensor2D;
    const variables = [...params.vars.values()];
    const loss = (input: tf.Tensor2D | ConstantInput) => () => tf.sum(tf.sin(dense(gruSequence(input, h0, gru, T), head))) as tf.Scalar;
    const a = tf.variableGrads(loss(x), variables), b = tf.variableGrads(loss(new ConstantInput(x, true)), variables);
    for (const v of variables) expect(Array.from(b.grads[v.name].dataSync())).toEqual(Array.from(a.grads[v.name].dataSync()));
    params.dispose();
  });

  it('saves and restores parameters and Adam state bit-exactly', () => {
    const make = () => { const p = new Params(); addDense(p, rngFor(1, 'init'), 'd', 4, 3); return p; };
    const p = make(), adam = new Adam(p, { learningRate: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, maxGradNorm: 1 });
    const step = (params: Params, opt: Adam) => {
      const vars = [...params.vars.values()];
      const { grads } = tf.variableGrads(() => tf.sum(tf.square(dense(tf.ones([2, 4]) as tf.Tensor2D, { w: params.get('d/w'), b: params.get('d/b') }))) as tf.Scalar, vars);
      opt.apply(new Map([...params.vars].map(([name, v]) => [name, grads[v.name]])));
    };
    step(p, adam);
    const q = make(), adamQ = new Adam(q, { learningRate: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, maxGradNorm: 1 });
    q.load(JSON.parse(JSON.stringify(p.toJSON())));
    adamQ.load(JSON.parse(JSON.stringify(adam.toJSON())));
    step(p, adam);
    step(q, adamQ);
    for (const [name, v] of p.vars) expect(Buffer.from(v.dataSync().buffer).equals(Buffer.from(q.get(name).dataSync().buffer))).toBe(true);
    expect(() => q.load({})).toThrow(/missing d\/w, d\/b/);
  });
});

/**
 * A layer-normalised GRU over `length` steps in float64, written out from the definition: per gate block
 * (reset, update, new), LN(y) = (y - mean) / sqrt(variance + epsilon) times the gain, then the bias;
 * r = σ(LN(x·Wx)_r·gx + bx_r + LN(h·Wh)_r·gh + bh_r), likewise z, n = tanh(x-part_n + r (h-part_n)),
 * h' = (1 - z) n + z h. Returns every hidden state, time-major.
 */
function referenceNormalizedGru(p: Record<'wx' | 'bx' | 'wh' | 'bh' | 'gx' | 'gh', ArrayLike<number>>, x: ArrayLike<number>, h0: ArrayLike<number>, T: number, B: number, I: number, H: number): number[] {
  const project = (v: ArrayLike<number>, w: ArrayLike<number>, rows: number, gain: ArrayLike<number>, bias: ArrayLike<number>) => {
    const y = Array.from({ length: 3 * H }, (_, k) => { let sum = 0; for (let i = 0; i < rows; i++) sum += v[i] * w[i * 3 * H + k]; return sum; });
    for (let g = 0; g < 3; g++) {
      const block = y.slice(g * H, (g + 1) * H);
      const mean = block.reduce((a, b) => a + b, 0) / H;
      const variance = block.reduce((a, b) => a + (b - mean) ** 2, 0) / H;
      for (let k = 0; k < H; k++) y[g * H + k] = ((block[k] - mean) / Math.sqrt(variance + LAYER_NORM_EPSILON)) * gain[g * H + k] + bias[g * H + k];
    }
    return y;
  };
  const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));
  let h = Array.from({ length: B }, (_, b) => Array.from({ length: H }, (_, k) => h0[b * H + k]));
  const out: number[] = [];
  for (let t = 0; t < T; t++) {
    h = h.map((hb, b) => {
      const xp = project(Array.from({ length: I }, (_, i) => x[(t * B + b) * I + i]), p.wx, I, p.gx, p.bx);
      const hp = project(hb, p.wh, H, p.gh, p.bh);
      return hb.map((hk, k) => {
        const r = sigmoid(xp[k] + hp[k]), z = sigmoid(xp[H + k] + hp[H + k]);
        const n = Math.tanh(xp[2 * H + k] + r * hp[2 * H + k]);
        return (1 - z) * n + z * hk;
      });
    });
    for (const hb of h) out.push(...hb);
  }
  return out;
}

describe('layer-normalised GRU', () => {
  const T = 4, B = 2, I = 3, H = 4;
  const setup = () => {
    const params = new Params();
    const gru = addGru(params, rngFor(5, 'ln'), 'gru', I, H, 0.5, 0, true);
    // Gains away from 1, so that a gain's gradient and use are seen.
    gru.norm!.gx.assign(tf.tensor1d(Array.from({ length: 3 * H }, (_, k) => 1 + 0.3 * Math.sin(k))));
    gru.norm!.gh.assign(tf.tensor1d(Array.from({ length: 3 * H }, (_, k) => 1 - 0.4 * Math.cos(2 * k))));
    const x = Float32Array.from({ length: T * B * I }, (_, i) => Math.sin(1.3 * i + 0.2));
    const h0 = Float32Array.from({ length: B * H }, (_, i) => 0.5 * Math.cos(0.7 * i));
    const coefficients = Float64Array.from({ length: T * B * H }, (_, i) => Math.sin(0.9 * i) + 0.1);
    return { params, gru, x, h0, coefficients };
  };
  const values = (params: Params) => Object.fromEntries(['wx', 'bx', 'wh', 'bh', 'gx', 'gh'].map((k) => [k, Array.from(params.get(`gru/${k}`).dataSync())])) as Record<'wx' | 'bx' | 'wh' | 'bh' | 'gx' | 'gh', number[]>;

  it('adds the gains after the plain GRU\'s parameters, drawn as the plain GRU\'s', () => {
    const plain = new Params(), normed = new Params();
    addGru(plain, rngFor(5, 'ln'), 'gru', I, H, 0.5);
    addGru(normed, rngFor(5, 'ln'), 'gru', I, H, 0.5, 0, true);
    expect([...normed.vars.keys()]).toEqual(['gru/wx', 'gru/bx', 'gru/wh', 'gru/bh', 'gru/gx', 'gru/gh']);
    for (const [name, v] of plain.vars) expect(Array.from(normed.get(name).dataSync())).toEqual(Array.from(v.dataSync()));
    expect(Array.from(normed.get('gru/gh').dataSync())).toEqual(new Array(3 * H).fill(1));
    plain.dispose();
    normed.dispose();
  });

  it('steps (acting) and runs sequences (learning) as the definition computed by hand in float64', () => {
    const { params, gru, x, h0 } = setup();
    const expected = referenceNormalizedGru(values(params), x, h0, T, B, I, H);
    // Acting: gruStep after gruInputs, step by step.
    let h = tf.tensor2d(h0, [B, H]);
    const stepped: number[] = [];
    for (let t = 0; t < T; t++) {
      h = gruStep(gruInputs(tf.tensor2d(x.subarray(t * B * I, (t + 1) * B * I), [B, I]), gru), h, gru);
      stepped.push(...h.dataSync());
    }
    stepped.forEach((v, i) => expect(v).toBeCloseTo(expected[i], 5));
    // Learning: the whole sequence, with a constant input and with one that takes a gradient.
    for (const input of [new ConstantInput(tf.tensor2d(x, [T * B, I]), true), tf.tensor2d(x, [T * B, I])]) {
      const out = gruSequence(input, tf.tensor2d(h0, [B, H]), gru, T).dataSync();
      Array.from(out).forEach((v, i) => expect(v).toBeCloseTo(expected[i], 5));
    }
    params.dispose();
  });

  it('gruSequence\'s hand-written BPTT gives the gradients of central finite differences of the float64 definition, and those of autograd through gruStep', () => {
    const { params, gru, x, h0, coefficients } = setup();
    const xVar = tf.variable(tf.tensor2d(x, [T * B, I])), h0Var = tf.variable(tf.tensor2d(h0, [B, H]));
    const c = tf.tensor2d(Float32Array.from(coefficients), [T * B, H]);
    const variables = [...params.vars.values(), xVar, h0Var];
    const fused = () => tf.sum(tf.mul(gruSequence(xVar as unknown as tf.Tensor2D, h0Var as unknown as tf.Tensor2D, gru, T), c)) as tf.Scalar;
    const loop = () => {
      let h = h0Var as unknown as tf.Tensor2D;
      const hs: tf.Tensor2D[] = [];
      for (const xt of tf.split(xVar, T, 0) as tf.Tensor2D[]) { h = gruStep(gruInputs(xt, gru), h, gru); hs.push(h); }
      return tf.sum(tf.mul(concatRows(...hs), c)) as tf.Scalar;
    };
    const a = tf.variableGrads(fused, variables), b = tf.variableGrads(loop, variables);
    for (const v of variables) expect(maxDiff(a.grads[v.name], b.grads[v.name])).toBeLessThan(1e-5);

    // Central differences of the float64 definition, entry by entry of every parameter, the input and h0.
    const base = { ...values(params), x: Array.from(x), h0: Array.from(h0) };
    const loss = (q: typeof base) => referenceNormalizedGru(q, q.x, q.h0, T, B, I, H).reduce((sum, v, i) => sum + v * coefficients[i], 0);
    const gradientOf: Record<keyof typeof base, tf.Tensor> = {
      wx: a.grads[gru.wx.name], bx: a.grads[gru.bx.name], wh: a.grads[gru.wh.name], bh: a.grads[gru.bh.name],
      gx: a.grads[gru.norm!.gx.name], gh: a.grads[gru.norm!.gh.name], x: a.grads[xVar.name], h0: a.grads[h0Var.name],
    };
    const step = 1e-5;
    let checked = 0;
    for (const key of Object.keys(base) as Array<keyof typeof base>) {
      const analytic = gradientOf[key].dataSync();
      base[key].forEach((_, i) => {
        const plus = { ...base, [key]: base[key].map((v, j) => (j === i ? v + step : v)) };
        const minus = { ...base, [key]: base[key].map((v, j) => (j === i ? v - step : v)) };
        const numeric = (loss(plus) - loss(minus)) / (2 * step);
        expect(Math.abs(analytic[i] - numeric)).toBeLessThan(2e-5 + 1e-3 * Math.abs(numeric));
        checked++;
      });
    }
    expect(checked).toBe(I * 3 * H + H * 3 * H + 4 * 3 * H + T * B * I + B * H);
    params.dispose();
  });
});

describe('Adam with decoupled weight decay (AdamW) and clip groups', () => {
  const beta1 = 0.9, beta2 = 0.999;
  /** Adam by hand in float64: per step, moments, bias-corrected step size, decay of the matrices first. */
  const byHand = (p0: number[], grads: number[][], rates: number[], epsilon: number, weightDecay: number, scales: number[]) => {
    let p = [...p0], m = p0.map(() => 0), v = p0.map(() => 0);
    grads.forEach((g0, step) => {
      const t = step + 1, lr = rates[step];
      const g = g0.map((x) => x * scales[step]);
      m = m.map((mi, i) => beta1 * mi + (1 - beta1) * g[i]);
      v = v.map((vi, i) => beta2 * vi + (1 - beta2) * g[i] * g[i]);
      const stepSize = lr * Math.sqrt(1 - beta2 ** t) / (1 - beta1 ** t);
      p = p.map((pi, i) => pi * (1 - lr * weightDecay) - stepSize * m[i] / (Math.sqrt(v[i]) + epsilon));
    });
    return p;
  };
  const setup = () => {
    const params = new Params();
    params.add('w', [2, 2], Float32Array.of(0.5, -1, 2, 0.25));
    params.add('b', [2], Float32Array.of(0.3, -0.2));
    return params;
  };
  const g = [{ w: [1, 2, -1, 0.5], b: [0.1, -0.3] }, { w: [-0.5, 0.25, 2, -1], b: [0.2, 0.05] }];
  const apply = (adam: Adam, step: number, lr: number) => adam.apply(new Map<string, tf.Tensor>([['w', tf.tensor2d(g[step].w, [2, 2])], ['b', tf.tensor1d(g[step].b)]]), lr);

  it('shrinks the weight matrices by lr x weightDecay each step, apart from the moments, and leaves biases undecayed', () => {
    const params = setup();
    const adam = new Adam(params, { learningRate: 0.1, beta1, beta2, epsilon: 1e-8, maxGradNorm: Infinity, weightDecay: 0.5 });
    apply(adam, 0, 0.1);
    apply(adam, 1, 0.05);
    const w = byHand([0.5, -1, 2, 0.25], g.map((x) => x.w), [0.1, 0.05], 1e-8, 0.5, [1, 1]);
    const b = byHand([0.3, -0.2], g.map((x) => x.b), [0.1, 0.05], 1e-8, 0, [1, 1]);
    Array.from(params.get('w').dataSync()).forEach((x, i) => expect(x).toBeCloseTo(w[i], 6));
    Array.from(params.get('b').dataSync()).forEach((x, i) => expect(x).toBeCloseTo(b[i], 6));
    // The decay is seen: without it the weights would differ by about lr x weightDecay x w.
    const plain = byHand([0.5, -1, 2, 0.25], g.map((x) => x.w), [0.1, 0.05], 1e-8, 0, [1, 1]);
    expect(Math.abs(plain[2] - w[2])).toBeGreaterThan(0.1);
    params.dispose();
  });

  it('clips each clip group by its own norm, and reports the norm of all gradients', () => {
    const params = setup();
    // A large epsilon makes the step depend on the gradient's scale, so that clipping shows.
    const adam = new Adam(params, { learningRate: 0.1, beta1, beta2, epsilon: 0.1, maxGradNorm: 1, clipGroup: (name) => (name === 'b' ? 1 : 0) });
    const norm = apply(adam, 0, 0.1);
    const wNorm = Math.hypot(...g[0].w), bNorm = Math.hypot(...g[0].b);
    expect(norm).toBeCloseTo(Math.hypot(wNorm, bNorm), 5);
    const w = byHand([0.5, -1, 2, 0.25], [g[0].w], [0.1], 0.1, 0, [1 / (wNorm + 1e-6)]);
    const b = byHand([0.3, -0.2], [g[0].b], [0.1], 0.1, 0, [1]);
    Array.from(params.get('w').dataSync()).forEach((x, i) => expect(x).toBeCloseTo(w[i], 6));
    Array.from(params.get('b').dataSync()).forEach((x, i) => expect(x).toBeCloseTo(b[i], 6));
    params.dispose();
  });
});

