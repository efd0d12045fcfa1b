import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { chooseBackend } from '../../agent/backend.ts';
import { Adam, ConstantInput, Params, addDense, addGru, autogradMatMul, concatRows, dense, denseOverParts, fastTanh, gruInputs, gruSequence, gruStep, matMul } from '../../agent/nn.ts';
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
