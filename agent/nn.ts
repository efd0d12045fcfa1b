// Network building blocks on TensorFlow.js: named parameters with seeded initialisation, a matMul whose
// gradient is written with explicit transposes (5x faster training on wasm), dense and GRU layers, Adam.

import * as tf from '@tensorflow/tfjs';
import { type Rng, normalValues, uniformValues } from './random.ts';

export type MatMul = (a: tf.Tensor2D, b: tf.Tensor2D) => tf.Tensor2D;

/**
 * a·b whose gradient uses plain matMuls after explicit tf.transpose. Autograd's own gradient calls
 * matMul with transposeA/transposeB, which the wasm backend runs about 10x slower than a transpose
 * followed by a plain matMul (../shared/spec/platform.md); the gradients are the same.
 */
export const matMul: MatMul = tf.customGrad((a, b, save) => {
  const [x, w] = [a as tf.Tensor2D, b as tf.Tensor2D];
  (save as tf.GradSaveFunc)([x, w]);
  return {
    value: tf.matMul(x, w),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [
      tf.matMul(dy as tf.Tensor2D, tf.transpose(saved[1] as tf.Tensor2D)),
      tf.matMul(tf.transpose(saved[0] as tf.Tensor2D), dy as tf.Tensor2D),
    ],
  };
}) as MatMul;

/** tf.matMul with autograd's gradient: for acting (no gradient), and for the benchmark that shows what `matMul` buys. */
export const autogradMatMul: MatMul = (a, b) => tf.matMul(a, b);

/**
 * Concatenates [B, n] tensors along rows. Its gradient reads dy once and cuts it up in JavaScript: the
 * wasm backend's slice (which tf.concat's own gradient uses) copies its whole input on every call, which
 * makes splitting a long sequence quadratic in its length.
 */
export const concatRows = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
  args.pop(); // the save function; the gradient needs only the parts' shapes
  const parts = args as tf.Tensor2D[];
  return {
    value: tf.concat(parts, 0),
    gradFunc: (dy: tf.Tensor) => {
      const d = dy.dataSync() as Float32Array;
      let offset = 0;
      return parts.map((part) => {
        const piece = tf.tensor(d.slice(offset, offset + part.size), part.shape, 'float32');
        offset += part.size;
        return piece;
      });
    },
  };
}) as (...parts: tf.Tensor2D[]) => tf.Tensor2D;

/**
 * A network input: nothing upstream needs its gradient, so layers reading it compute only their weights'
 * gradients (autograd would also compute dy·wᵀ for it and throw that away), and its transpose, which
 * every weight gradient xᵀ·dy needs, is made once however many layers read it. `withTranspose` false
 * when no gradient will be taken (acting).
 */
export class ConstantInput {
  readonly transposed: tf.Tensor2D | null;
  constructor(readonly x: tf.Tensor2D, withTranspose: boolean) {
    this.transposed = withTranspose ? tf.transpose(x) : null;
  }

  get width(): number { return this.x.shape[1]; }
}

/** x·w for a constant input x: the gradient flows to w only (xᵀ·dy). */
export function inputMatMul(input: ConstantInput, w: tf.Tensor2D): tf.Tensor2D {
  // x is captured rather than passed, so the op has w as its only input and nothing is computed for x.
  const op = tf.customGrad((weights, save) => {
    // Only what save() keeps outlives the forward pass.
    if (input.transposed) (save as tf.GradSaveFunc)([input.transposed]);
    return {
      value: tf.matMul(input.x, weights as tf.Tensor2D),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        if (!input.transposed) throw new Error('inputMatMul: gradient asked of an input made without its transpose');
        return [tf.matMul(saved[0] as tf.Tensor2D, dy as tf.Tensor2D)];
      },
    };
  }) as (w: tf.Tensor2D) => tf.Tensor2D;
  return op(w);
}

/**
 * A dense layer over the concatenation of `parts` without making it: one matMul per part with that
 * part's rows of the weights, summed. Concatenating [N, a] and [N, b] copies both, and the gradient of
 * the concatenation is cut apart again (the wasm backend's slice copies its whole input); here the
 * backward pass works on the parts as they are and skips the constant ones.
 */
export function denseOverParts(parts: ReadonlyArray<tf.Tensor2D | ConstantInput>, layer: DenseWeights): tf.Tensor2D {
  let row = 0;
  const products = parts.map((part) => {
    const rows = part instanceof ConstantInput ? part.width : part.shape[1];
    const w = tf.slice(layer.w, [row, 0], [rows, -1]) as tf.Tensor2D;
    row += rows;
    return part instanceof ConstantInput ? inputMatMul(part, w) : matMul(part, w);
  });
  if (row !== layer.w.shape[0]) throw new Error(`denseOverParts: the parts have ${row} features, the layer takes ${layer.w.shape[0]}`);
  return tf.add(products.length === 1 ? products[0] : tf.addN(products), layer.b);
}

// ---------------------------------------------------------------------------------------------
// Parameters

export interface TensorJSON { shape: number[]; /** float32 little-endian, base64 */ data: string }

/**
 * Named variables in a fixed order, serialisable bit-exactly. Most are trained; a non-trainable one
 * (e.g. input statistics) is saved and loaded with the rest but never gets a gradient.
 */
export class Params {
  readonly vars = new Map<string, tf.Variable>();

  add(name: string, shape: number[], values: Float32Array, trainable = true): tf.Variable {
    if (this.vars.has(name)) throw new Error(`parameter '${name}' defined twice`);
    const v = tf.variable(tf.tensor(values, shape, 'float32'), trainable, `${name}_${uniqueSuffix++}`);
    this.vars.set(name, v);
    return v;
  }

  get(name: string): tf.Variable {
    const v = this.vars.get(name);
    if (!v) throw new Error(`no parameter '${name}'`);
    return v;
  }

  get count(): number { let n = 0; for (const v of this.vars.values()) n += v.size; return n; }

  /** The trained variables by name. */
  get trainable(): Map<string, tf.Variable> { return new Map([...this.vars].filter(([, v]) => v.trainable)); }

  toJSON(): Record<string, TensorJSON> {
    return Object.fromEntries([...this.vars].map(([name, v]) => [name, encodeTensor(v)]));
  }

  /** Overwrites every parameter from `json`; the names and shapes must match. */
  load(json: Record<string, TensorJSON>): void {
    const missing = [...this.vars.keys()].filter((k) => !(k in json));
    const extra = Object.keys(json).filter((k) => !this.vars.has(k));
    if (missing.length || extra.length) throw new Error(`parameters do not match the network: missing ${missing.join(', ') || 'none'}, unexpected ${extra.join(', ') || 'none'}`);
    for (const [name, v] of this.vars) {
      const t = json[name];
      if (t.shape.join('x') !== v.shape.join('x')) throw new Error(`parameter '${name}' has shape ${t.shape.join('x')} in the checkpoint, ${v.shape.join('x')} in the network`);
      tf.tidy(() => v.assign(tf.tensor(decodeFloats(t.data, v.size), v.shape, 'float32')));
    }
  }

  dispose(): void { for (const v of this.vars.values()) v.dispose(); this.vars.clear(); }
}

// tf.variable names are global to the engine; a suffix lets several networks coexist (tests, evaluation).
let uniqueSuffix = 0;

export function encodeTensor(t: tf.Tensor): TensorJSON {
  const data = t.dataSync() as Float32Array;
  return { shape: [...t.shape], data: Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64') };
}

export function decodeFloats(base64: string, size: number): Float32Array {
  const bytes = Buffer.from(base64, 'base64');
  if (bytes.byteLength !== size * 4) throw new Error(`tensor data has ${bytes.byteLength / 4} values, expected ${size}`);
  // Copy into a fresh, aligned buffer: Buffer's pool offset need not be a multiple of 4.
  const out = new Float32Array(size);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Layers, initialised from the agent's seeded streams rather than tf's random ops, so every backend
// starts from the same bits

export interface DenseWeights { w: tf.Variable; b: tf.Variable }

/** A dense layer's parameters, weights N(0, gain^2 / fanIn) (LeCun-style, so tanh layers keep unit scale). */
export function addDense(params: Params, rng: Rng, name: string, inputs: number, outputs: number, gain = 1): DenseWeights {
  return {
    w: params.add(`${name}/w`, [inputs, outputs], normalValues(rng, inputs * outputs, gain / Math.sqrt(inputs))),
    b: params.add(`${name}/b`, [outputs], new Float32Array(outputs)),
  };
}

export function dense(x: tf.Tensor2D, layer: DenseWeights, mm: MatMul = matMul): tf.Tensor2D {
  return tf.add(mm(x, layer.w as tf.Tensor2D), layer.b);
}

/**
 * GRU weights, PyTorch's layout: gates in the order reset, update, new along the last axis. Input and
 * hidden biases are separate because the new gate applies the reset to (h·Wh + bh) only.
 */
export interface GruWeights {
  wx: tf.Variable; bx: tf.Variable; wh: tf.Variable; bh: tf.Variable; size: number;
  /**
   * A layer-normalised GRU's gains (addGru's `layerNorm`): x·Wx and h·Wh are each standardised per gate
   * (the reset, update and new blocks of H units separately), times these gains, before bx and bh are
   * added (bx and bh are then the normalised projections' biases). Absent: the plain GRU.
   */
  norm?: { gx: tf.Variable; gh: tf.Variable };
}

/**
 * `updateBias` is added to the update gate's input bias: a positive value starts the GRU keeping most of
 * its state each step (z = sigmoid(bias) near 1), which long trials need before it has learned to.
 * `timescale` > 2 replaces it with chrono initialisation over that many steps. `layerNorm` makes a
 * layer-normalised GRU (GruWeights.norm): gains `<name>/gx` and `<name>/gh`, all ones at first, after
 * the plain GRU's parameters (drawn as for the plain GRU).
 */
export function addGru(params: Params, rng: Rng, name: string, inputs: number, size: number, updateBias = 0, timescale = 0, layerNorm = false): GruWeights {
  const bound = 1 / Math.sqrt(size);
  const bx = uniformValues(rng, 3 * size, bound);
  // Chrono initialisation (Tallec & Ollivier 2018): update-gate biases log(U(1, T - 1)) give the units
  // memory time constants spread up to T steps, instead of all forgetting within a few steps.
  for (let i = size; i < 2 * size; i++) bx[i] += timescale > 2 ? Math.log(1 + rng.next() * (timescale - 2)) : updateBias;
  const gru: GruWeights = {
    wx: params.add(`${name}/wx`, [inputs, 3 * size], uniformValues(rng, inputs * 3 * size, bound)),
    bx: params.add(`${name}/bx`, [3 * size], bx),
    wh: params.add(`${name}/wh`, [size, 3 * size], uniformValues(rng, size * 3 * size, bound)),
    bh: params.add(`${name}/bh`, [3 * size], uniformValues(rng, 3 * size, bound)),
    size,
  };
  if (layerNorm) {
    gru.norm = {
      gx: params.add(`${name}/gx`, [3 * size], new Float32Array(3 * size).fill(1)),
      gh: params.add(`${name}/gh`, [3 * size], new Float32Array(3 * size).fill(1)),
    };
  }
  return gru;
}

/** Added to the variance before its square root in layer normalisation. */
export const LAYER_NORM_EPSILON = 1e-5;

/**
 * Layer normalisation of a GRU projection [N, 3H] per gate: each row's reset, update and new blocks (H
 * units each) standardised on their own, (y - mean) / sqrt(variance + epsilon), then times `gain` [3H].
 * Autograd ops: acting, the input projection of a sequence, and the reference the hand-written BPTT is
 * tested against.
 */
export function gateLayerNorm(y: tf.Tensor2D, gain: tf.Tensor, H: number): tf.Tensor2D {
  const N = y.shape[0];
  const blocks = tf.reshape(y, [N * 3, H]);
  const centred = tf.sub(blocks, tf.mean(blocks, 1, true));
  const variance = tf.mean(tf.square(centred), 1, true);
  const standardised = tf.mul(centred, tf.rsqrt(tf.add(variance, LAYER_NORM_EPSILON)));
  return tf.mul(tf.reshape(standardised, [N, 3 * H]), gain);
}

/**
 * Input projection x·Wx + bx for many steps at once (one big matMul instead of one per step); layer
 * normalised, LN(x·Wx)·gx + bx.
 */
export function gruInputs(x: tf.Tensor2D, gru: GruWeights, mm: MatMul = matMul): tf.Tensor2D {
  if (gru.norm) return tf.add(gateLayerNorm(mm(x, gru.wx as tf.Tensor2D), gru.norm.gx, gru.size), gru.bx);
  return tf.add(mm(x, gru.wx as tf.Tensor2D), gru.bx);
}

/**
 * One GRU step from the projected input xp = x·Wx + bx ([B, 3H], gruInputs) and the hidden state h
 * ([B, H]); layer normalised, the hidden projection is LN(h·Wh)·gh + bh.
 */
export function gruStep(xp: tf.Tensor2D, h: tf.Tensor2D, gru: GruWeights, mm: MatMul = matMul): tf.Tensor2D {
  const H = gru.size;
  const hp = gru.norm ? tf.add(gateLayerNorm(mm(h, gru.wh as tf.Tensor2D), gru.norm.gh, H), gru.bh) : tf.add(mm(h, gru.wh as tf.Tensor2D), gru.bh);
  const [xrz, xn] = tf.split(xp, [2 * H, H], 1);
  const [hrz, hn] = tf.split(hp, [2 * H, H], 1);
  const [r, z] = tf.split(tf.sigmoid(tf.add(xrz, hrz)), 2, 1);
  const n = fastTanh(tf.add(xn, tf.mul(r, hn)));
  // h' = (1 - z) n + z h = n + z (h - n)
  return tf.add(n, tf.mul(z, tf.sub(h, n)));
}

/**
 * tanh(x) as 2 sigmoid(2x) - 1: the wasm backend's Tanh kernel runs about 10x slower per element than
 * its Sigmoid, and the GRU's new gate is the largest elementwise op of a training step.
 */
export function fastTanh(x: tf.Tensor2D, constants: { one: tf.Scalar | number; two: tf.Scalar | number } = { one: 1, two: 2 }): tf.Tensor2D {
  const { one, two } = constants;
  return tf.sub(tf.mul(tf.sigmoid(tf.mul(x, two)), two), one);
}

/**
 * A whole GRU sequence as one differentiable op with a hand-written backward pass (BPTT): `x` is
 * time-major ([length * batch, inputs]), h0 [batch, H]; returns every hidden state, time-major
 * ([length * batch, H]). Same maths as gruStep, about half the kernel calls of autograd through a
 * loop of gruSteps (no tape, transposes hoisted out of the loop, weight gradients as one matMul over
 * all steps), and per-step pieces cut in JavaScript rather than by slicing big tensors. A constant `x`
 * (the network's input itself) gets no gradient: the backward pass skips dx·Wxᵀ.
 */
export function gruSequence(x: tf.Tensor2D | ConstantInput, h0: tf.Tensor2D, gru: GruWeights, length: number): tf.Tensor2D {
  if (gru.norm) return normalizedGruSequence(x, h0, gru, length);
  const constant = x instanceof ConstantInput ? x : null;
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const save = args.pop() as tf.GradSaveFunc;
    const [xIn, h0In, wx, bx, wh, bh] = (constant ? [constant.x, ...args] : args) as tf.Tensor2D[];
    const H = gru.size, B = h0In.shape[0];
    const xp = tf.add(tf.matMul(xIn, wx), bx) as tf.Tensor2D;
    const gates = gateBlocks(xp, length, H);
    xp.dispose();
    // Per-gate weights, cut once per sequence: per-step splits of [B, 3H] tensors copy on wasm.
    const [whr, whz, whn] = tf.split(wh, 3, 1) as tf.Tensor2D[];
    const [bhr, bhz, bhn] = tf.split(bh, 3, 0) as tf.Tensor1D[];
    // Made once: a number operand becomes a new scalar tensor on every call, three per step here.
    const constants = { one: tf.scalar(1), two: tf.scalar(2) };
    let h = h0In;
    // What the backward pass needs per step: h_{t-1}, r, z, n, the hidden part of the new gate, h_{t-1} - n.
    const kept: tf.Tensor[] = [];
    const hs: tf.Tensor2D[] = [];
    for (let t = 0; t < length; t++) {
      const [xr, xz, xn] = gates[t];
      const r = tf.sigmoid(tf.add(xr, tf.fused.matMul({ a: h, b: whr, bias: bhr })));
      const z = tf.sigmoid(tf.add(xz, tf.fused.matMul({ a: h, b: whz, bias: bhz })));
      const hn = tf.fused.matMul({ a: h, b: whn, bias: bhn });
      const n = fastTanh(tf.add(xn, tf.mul(r, hn)) as tf.Tensor2D, constants);
      const hMinusN = tf.sub(h, n);
      const next = tf.add(n, tf.mul(z, hMinusN)) as tf.Tensor2D;
      kept.push(h, r, z, n, hn, hMinusN);
      hs.push(next);
      h = next;
    }
    // Tensors made in the forward pass survive to the backward pass only through save().
    save([constant?.transposed ?? xIn, wx, wh, ...kept]);
    return {
      value: tf.concat(hs, 0),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        // The first saved tensor is the input's transpose when the input is constant, else the input.
        const [xOrTransposed, wx, wh] = saved as tf.Tensor2D[];
        const step = (t: number) => saved.slice(3 + 6 * t, 9 + 6 * t) as tf.Tensor2D[];
        const dHs = rowBlocks(dy as tf.Tensor2D, length);
        const whT = tf.transpose(wh);
        const one = tf.scalar(1);
        let dhNext: tf.Tensor2D = tf.zeros([B, H]);
        // Per step, the gradients before the gates' activations (reset, update, new): joined into dxp
        // once at the end rather than step by step (one concat instead of one per step).
        const dGates: tf.Tensor2D[][] = [new Array(length), new Array(length), new Array(length)];
        const dhps: tf.Tensor2D[] = new Array(length);
        for (let t = length - 1; t >= 0; t--) {
          const [, r, z, n, hn, hMinusN] = step(t);
          const dh = tf.add(dHs[t], dhNext) as tf.Tensor2D;
          const { drPre, dzPre, dnPre } = gateGradients(dh, r, z, n, hn, hMinusN, one);
          [dGates[0][t], dGates[1][t], dGates[2][t]] = [drPre, dzPre, dnPre];
          dhps[t] = tf.concat([drPre, dzPre, tf.mul(dnPre, r)], 1) as tf.Tensor2D;
          dhNext = tf.add(tf.mul(dh, z), tf.matMul(dhps[t], whT)) as tf.Tensor2D;
        }
        const dxp = tf.concat(dGates.map((steps) => tf.concat(steps, 0)), 1), dhp = tf.concat(dhps, 0);
        const hPrevAll = tf.concat(Array.from({ length }, (_, t) => step(t)[0]), 0);
        const weightGrads = [
          dhNext,
          tf.matMul(constant ? xOrTransposed : tf.transpose(xOrTransposed), dxp),
          tf.sum(dxp, 0),
          tf.matMul(tf.transpose(hPrevAll), dhp),
          tf.sum(dhp, 0),
        ];
        return constant ? weightGrads : [tf.matMul(dxp, tf.transpose(wx)), ...weightGrads];
      },
    };
  });
  const weights = [h0, gru.wx, gru.bx, gru.wh, gru.bh];
  return op(...(constant ? weights : [x as tf.Tensor2D, ...weights])) as tf.Tensor2D;
}

/**
 * gruSequence of a layer-normalised GRU. The input projection LN(x·Wx)·gx + bx of all steps is made
 * once with autograd ops (gruInputs; a constant input's weights get their gradient through inputMatMul);
 * the recurrence is one custom op over it with a hand-written backward pass. Per step and gate (reset,
 * update, new: the weights, gains and biases cut once per sequence) it projects h·Wh_g, standardises it
 * and keeps what the layer norm's gradient needs (the standardised projection and 1 / std): with
 * ŷ = (y - mean) / std and dŷ the gradient at ŷ, the gradient at y is (dŷ - mean(dŷ) - ŷ mean(dŷ ŷ)) / std,
 * each mean over the gate's H units. Gate by gate rather than on [B, 3H] at once: cutting a [B, 3H]
 * tensor into gates, or joining gates into one, copies row by row on wasm, slower than the extra kernels.
 */
function normalizedGruSequence(x: tf.Tensor2D | ConstantInput, h0: tf.Tensor2D, gru: GruWeights, length: number): tf.Tensor2D {
  const norm = gru.norm!;
  const projected = x instanceof ConstantInput ? inputMatMul(x, gru.wx as tf.Tensor2D) : matMul(x, gru.wx as tf.Tensor2D);
  const xp = tf.add(gateLayerNorm(projected, norm.gx, gru.size), gru.bx) as tf.Tensor2D;
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const save = args.pop() as tf.GradSaveFunc;
    const [xpIn, h0In, wh, bh, gh] = args as tf.Tensor2D[];
    const H = gru.size, B = h0In.shape[0];
    const gates = gateBlocks(xpIn, length, H);
    const whs = tf.split(wh, 3, 1) as tf.Tensor2D[], ghs = tf.split(gh, 3, 0) as tf.Tensor1D[], bhs = tf.split(bh, 3, 0) as tf.Tensor1D[];
    const constants = { one: tf.scalar(1), two: tf.scalar(2) };
    const epsilon = tf.scalar(LAYER_NORM_EPSILON);
    let h = h0In;
    // Per step: h_{t-1}, r, z, n, the new gate's hidden part, h_{t-1} - n, and per gate the standardised
    // hidden projection and 1 / std. Each step's other tensors are freed as it ends (tidy): a minibatch
    // of hundreds of 100-step sequences would otherwise outgrow wasm's 4 GB.
    const kept: tf.Tensor[] = [];
    const hs: tf.Tensor2D[] = [];
    for (let t = 0; t < length; t++) {
      const hPrev = h;
      const step = tf.tidy(() => {
        const normalized = [0, 1, 2].map((g) => {
          const y = tf.matMul(hPrev, whs[g]);
          const centred = tf.sub(y, tf.mean(y, 1, true));
          const inverseStd = tf.rsqrt(tf.add(tf.mean(tf.square(centred), 1, true), epsilon));
          const standardised = tf.mul(centred, inverseStd);
          return { standardised, inverseStd, out: tf.add(tf.mul(standardised, ghs[g]), bhs[g]) as tf.Tensor2D };
        });
        const [xr, xz, xn] = gates[t];
        const r = tf.sigmoid(tf.add(xr, normalized[0].out));
        const z = tf.sigmoid(tf.add(xz, normalized[1].out));
        const hn = normalized[2].out;
        const n = fastTanh(tf.add(xn, tf.mul(r, hn)) as tf.Tensor2D, constants);
        const hMinusN = tf.sub(hPrev, n);
        const next = tf.add(n, tf.mul(z, hMinusN)) as tf.Tensor2D;
        return [next, r, z, n, hn, hMinusN, ...normalized.map((g) => g.standardised), ...normalized.map((g) => g.inverseStd)];
      });
      for (const gate of gates[t]) gate.dispose();
      const [next, ...rest] = step;
      kept.push(hPrev, ...rest);
      hs.push(next as tf.Tensor2D);
      h = next as tf.Tensor2D;
    }
    save([...whs, ...ghs, ...kept]);
    return {
      value: tf.concat(hs, 0),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const whsSaved = saved.slice(0, 3) as tf.Tensor2D[], ghsSaved = saved.slice(3, 6);
        const PER_STEP = 12;
        const stepOf = (t: number) => saved.slice(6 + PER_STEP * t, 6 + PER_STEP * (t + 1)) as tf.Tensor2D[];
        const dHs = rowBlocks(dy as tf.Tensor2D, length);
        const whTs = whsSaved.map((w) => tf.transpose(w));
        const one = tf.scalar(1);
        let dhNext: tf.Tensor2D = tf.zeros([B, H]);
        // Per gate and step: the gradient at the gate's input (xp's part), at the normalised hidden
        // projection after gain and bias (for gh and bh), and at the projection before the norm (for Wh).
        const dGates: tf.Tensor2D[][] = [new Array(length), new Array(length), new Array(length)];
        const dNormalized: tf.Tensor2D[][] = [new Array(length), new Array(length), new Array(length)];
        const dProjected: tf.Tensor2D[][] = [new Array(length), new Array(length), new Array(length)];
        for (let t = length - 1; t >= 0; t--) {
          const [, r, z, n, hn, hMinusN, sr, sz, sn, ir, iz, iN] = stepOf(t);
          const dhIn = dhNext;
          const grads = tf.tidy(() => {
            const dh = tf.add(dHs[t], dhIn) as tf.Tensor2D;
            const { drPre, dzPre, dnPre } = gateGradients(dh, r, z, n, hn, hMinusN, one);
            const dOut = [drPre, dzPre, tf.mul(dnPre, r)];
            const standardised = [sr, sz, sn], inverseStd = [ir, iz, iN];
            const dProj = dOut.map((d, g) => {
              const dS = tf.mul(d, ghsSaved[g]);
              const y = standardised[g];
              return tf.mul(tf.sub(tf.sub(dS, tf.mean(dS, 1, true)), tf.mul(y, tf.mean(tf.mul(dS, y), 1, true))), inverseStd[g]) as tf.Tensor2D;
            });
            const dhPrev = tf.addN([tf.mul(dh, z), ...dProj.map((d, g) => tf.matMul(d, whTs[g]))]) as tf.Tensor2D;
            return [dhPrev, drPre, dzPre, dnPre, ...dOut, ...dProj] as tf.Tensor2D[];
          });
          dhIn.dispose();
          dHs[t].dispose();
          dhNext = grads[0];
          for (let g = 0; g < 3; g++) {
            dGates[g][t] = grads[1 + g];
            dNormalized[g][t] = grads[4 + g];
            dProjected[g][t] = grads[7 + g];
          }
        }
        const gradients = tf.tidy(() => {
          const hPrevAll = tf.concat(Array.from({ length }, (_, t) => stepOf(t)[0]), 0);
          const hPrevAllT = tf.transpose(hPrevAll);
          const dxp = tf.concat(dGates.map((steps) => tf.concat(steps, 0)), 1);
          const dWh = tf.concat(dProjected.map((steps) => tf.matMul(hPrevAllT, tf.concat(steps, 0))), 1);
          const dNormalizedAll = dNormalized.map((steps) => tf.concat(steps, 0));
          const dbh = tf.concat(dNormalizedAll.map((d) => tf.sum(d, 0)), 0);
          const dgh = tf.concat(dNormalizedAll.map((d, g) => tf.sum(tf.mul(d, tf.concat(Array.from({ length }, (_, t) => stepOf(t)[6 + g]), 0)), 0)), 0);
          return [dxp, tf.clone(dhNext), dWh, dbh, dgh];
        });
        for (const t of [dhNext, ...whTs, ...dGates.flat(), ...dNormalized.flat(), ...dProjected.flat()]) t.dispose();
        return gradients;
      },
    };
  });
  return op(xp, h0, gru.wh, gru.bh, norm.gh) as tf.Tensor2D;
}

/** Cuts a [length * B, n] tensor into `length` [B, n] tensors with one read (see concatRows for why). */
/**
 * One GRU step's gradients before the gates' activations, from the gradient dh at its output:
 * h = n + z (hPrev - n), n = tanh(xn + r hn), r = sigmoid(xr + hr), z = sigmoid(xz + hz).
 * Shared by the plain and the layer-normalised cell's backward passes.
 */
function gateGradients(dh: tf.Tensor2D, r: tf.Tensor2D, z: tf.Tensor2D, n: tf.Tensor2D, hn: tf.Tensor2D, hMinusN: tf.Tensor2D, one: tf.Scalar): { drPre: tf.Tensor2D; dzPre: tf.Tensor2D; dnPre: tf.Tensor2D } {
  const oneMinusZ = tf.sub(one, z);
  const dn = tf.mul(dh, oneMinusZ);
  const dz = tf.mul(dh, hMinusN);
  const dnPre = tf.mul(dn, tf.sub(one, tf.square(n))) as tf.Tensor2D;
  const drPre = tf.mul(tf.mul(dnPre, hn), tf.mul(r, tf.sub(one, r))) as tf.Tensor2D;
  const dzPre = tf.mul(dz, tf.mul(z, oneMinusZ)) as tf.Tensor2D;
  return { drPre, dzPre, dnPre };
}

function rowBlocks(x: tf.Tensor2D, length: number): tf.Tensor2D[] {
  const data = x.dataSync() as Float32Array;
  const rows = x.shape[0] / length, cols = x.shape[1];
  return Array.from({ length }, (_, t) => tf.tensor2d(data.subarray(t * rows * cols, (t + 1) * rows * cols), [rows, cols]));
}

/** Cuts the projected inputs [length * B, 3H] into per-step (reset, update, new) gate inputs, each [B, H]. */
function gateBlocks(xp: tf.Tensor2D, length: number, H: number): Array<[tf.Tensor2D, tf.Tensor2D, tf.Tensor2D]> {
  const data = xp.dataSync() as Float32Array;
  const rows = xp.shape[0] / length;
  return Array.from({ length }, (_, t) => {
    const parts = [new Float32Array(rows * H), new Float32Array(rows * H), new Float32Array(rows * H)];
    for (let b = 0; b < rows; b++) {
      const from = (t * rows + b) * 3 * H;
      for (let g = 0; g < 3; g++) parts[g].set(data.subarray(from + g * H, from + (g + 1) * H), b * H);
    }
    return parts.map((p) => tf.tensor2d(p, [rows, H])) as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
  });
}

// ---------------------------------------------------------------------------------------------
// Adam with global-norm gradient clipping and optional decoupled weight decay (AdamW), its state held in
// variables we can save and restore

export interface AdamConfig {
  learningRate: number; beta1: number; beta2: number; epsilon: number; maxGradNorm: number;
  /**
   * Decoupled weight decay (AdamW, Loshchilov & Hutter): each step first shrinks every weight matrix (a
   * parameter of rank 2 or more; not biases, gains or a log std) by learningRate x weightDecay of itself,
   * apart from the gradient's moments. 0 or absent: plain Adam, the same arithmetic as before it existed.
   */
  weightDecay?: number;
  /**
   * Clip groups: parameters with the same group number are clipped by their own joint norm to
   * maxGradNorm (e.g. the policy's and a separate value network's, as if each had its own optimiser).
   * Absent: one group, the global norm.
   */
  clipGroup?: (name: string) => number;
}

export class Adam {
  private t = 0;
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();

  constructor(private readonly params: Params, private readonly config: AdamConfig) {
    for (const [name, p] of params.trainable) {
      this.m.set(name, tf.variable(tf.zerosLike(p), false));
      this.v.set(name, tf.variable(tf.zerosLike(p), false));
    }
  }

  /**
   * Applies one update from gradients keyed by parameter name; returns the gradient norm (of all of them)
   * before clipping. A norm above `skipAbove` changes nothing (no step, no moments).
   */
  apply(grads: Map<string, tf.Tensor>, learningRate = this.config.learningRate, skipAbove = Infinity): number {
    const { beta1, beta2, epsilon, maxGradNorm, clipGroup } = this.config;
    const weightDecay = this.config.weightDecay ?? 0;
    const norm = tf.tidy(() => tf.sqrt(tf.addN([...grads.values()].map((g) => tf.sum(tf.square(g))))).dataSync()[0]);
    if (norm > skipAbove) return norm;
    const clipScale = (groupNorm: number) => (Number.isFinite(maxGradNorm) && groupNorm > maxGradNorm ? maxGradNorm / (groupNorm + 1e-6) : 1);
    const scale = clipScale(norm);
    const groupScales = clipGroup ? this.groupScales(grads, clipGroup, clipScale) : null;
    this.t++;
    const stepSize = learningRate * Math.sqrt(1 - beta2 ** this.t) / (1 - beta1 ** this.t);
    const decay = 1 - learningRate * weightDecay;
    tf.tidy(() => {
      for (const [name, p] of this.params.trainable) {
        const grad = grads.get(name);
        if (!grad) continue;
        const s = groupScales ? groupScales.get(clipGroup!(name))! : scale;
        const g = s === 1 ? grad : tf.mul(grad, s);
        const m = this.m.get(name)!, v = this.v.get(name)!;
        m.assign(tf.add(tf.mul(m, beta1), tf.mul(g, 1 - beta1)));
        v.assign(tf.add(tf.mul(v, beta2), tf.mul(tf.square(g), 1 - beta2)));
        const decayed = weightDecay !== 0 && p.rank >= 2 ? tf.mul(p, decay) : p;
        p.assign(tf.sub(decayed, tf.mul(tf.div(m, tf.add(tf.sqrt(v), epsilon)), stepSize)));
      }
    });
    return norm;
  }

  /** Each clip group's scale (1, or maxGradNorm / its norm when that is above maxGradNorm). */
  private groupScales(grads: Map<string, tf.Tensor>, clipGroup: (name: string) => number, clipScale: (norm: number) => number): Map<number, number> {
    const members = new Map<number, tf.Tensor[]>();
    for (const [name, g] of grads) {
      const group = clipGroup(name);
      members.set(group, [...(members.get(group) ?? []), g]);
    }
    return new Map([...members].map(([group, gs]) => [group, clipScale(tf.tidy(() => tf.sqrt(tf.addN(gs.map((g) => tf.sum(tf.square(g))))).dataSync()[0]))]));
  }

  get steps(): number { return this.t; }

  toJSON(): { t: number; m: Record<string, TensorJSON>; v: Record<string, TensorJSON> } {
    const dump = (map: Map<string, tf.Variable>) => Object.fromEntries([...map].map(([k, x]) => [k, encodeTensor(x)]));
    return { t: this.t, m: dump(this.m), v: dump(this.v) };
  }

  load(state: { t: number; m: Record<string, TensorJSON>; v: Record<string, TensorJSON> }): void {
    this.t = state.t;
    for (const [key, map, json] of [['m', this.m, state.m], ['v', this.v, state.v]] as const) {
      for (const [name, x] of map) {
        if (!json[name]) throw new Error(`optimizer state has no '${key}' for parameter '${name}'`);
        tf.tidy(() => x.assign(tf.tensor(decodeFloats(json[name].data, x.size), x.shape, 'float32')));
      }
    }
  }

  dispose(): void { for (const x of [...this.m.values(), ...this.v.values()]) x.dispose(); }
}

/** A learner's weights and the state of the Adam that trains them, as checkpoints hold them (no optimiser: the weights alone). */
export interface WeightsState { params: Record<string, TensorJSON>; optimizer?: ReturnType<Adam['toJSON']> }

export function weightsState(params: Params, optimizer: Adam | null): WeightsState {
  return optimizer ? { params: params.toJSON(), optimizer: optimizer.toJSON() } : { params: params.toJSON() };
}

/** Loads the weights, and the optimiser's state where the checkpoint has one (acting and initFrom load the weights alone). */
export function loadWeightsState(params: Params, optimizer: Adam | null, state: WeightsState): void {
  params.load(state.params);
  if (state.optimizer && optimizer) optimizer.load(state.optimizer);
}
