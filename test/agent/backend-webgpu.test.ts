// The webgpu backend computes what wasm computes: RL2's network forward (acting and the BPTT sequence
// pass), its gradients, and one PPO update, on WebGPU over SwiftShader (a CPU Vulkan driver) against wasm.
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { chooseBackend, describeBackend } from '../../agent/backend.ts';
import type { EnvSpec } from '../../agent/envs.ts';
import { type PpoBatch, type PpoPolicy, ppoLoss, ppoUpdate } from '../../agent/ppo.ts';
import { normalValues, rngFor } from '../../agent/random.ts';
import { RL2_DEFAULTS, Rl2, type Rl2Config } from '../../agent/rl2.ts';
import { findSwiftShaderIcd } from '../../agent/webgpu.ts';

// Runs wherever the optional packages are installed and a SwiftShader Vulkan driver is found
// (Debian's chromium package; .ci/run installs it). A missing Vulkan loader then fails the tests
// rather than skipping them.
const installed = ['webgpu', '@tensorflow/tfjs-backend-webgpu'].every((name) => { try { createRequire(import.meta.url).resolve(name); return true; } catch { return false; } });
const ready = installed && (process.platform !== 'linux' || Boolean(findSwiftShaderIcd() || process.env.VK_ICD_FILENAMES));
const why = !installed ? 'the optional webgpu packages are not installed' : 'no SwiftShader Vulkan driver (apt-get install chromium)';

/**
 * Tolerances, |webgpu - wasm| <= atol + rtol |wasm| elementwise. Both compute in float32 (unit roundoff
 * 6e-8) but sum in different orders (tiled GPU reductions against wasm's sequential loops) and use
 * different exp/sigmoid code, so values differ in their last few bits and the differences grow through
 * the 10 GRU steps. Measured here (2026-12-04): acting and sequence outputs differ by up to 2.7e-7
 * (outputs up to 4), gradients by up to 7.5e-8 (gradients up to 0.33), parameters after the update by
 * up to 3e-8, loss terms by up to 1.2e-7: every bound leaves at least 10x room.
 */
const TOLERANCE = {
  forward: { rtol: 1e-4, atol: 1e-5 },
  gradients: { rtol: 1e-3, atol: 1e-6 },
  // 1 % of one Adam step (learning rate 5e-4): Adam divides by sqrt(v) + 1e-5, so near-zero gradients
  // amplify their rounding by up to lr / eps = 50.
  parameters: { rtol: 1e-5, atol: 5e-6 },
  lossTerms: { rtol: 1e-4, atol: 1e-6 },
};

const SEQUENCES = 4, LENGTH = 10;
// Small enough for a software rasteriser; mlp, head MLP and input normalisation put every layer kind on
// the path, and 10 steps make tfjs-webgpu's concat split its inputs over more than one shader.
const config: Rl2Config = {
  ...RL2_DEFAULTS, hidden: 16, mlp: [16], headMlp: [16], normalizeInputs: true, rewardDeltaInput: true,
  episodesPerTrial: 2, bpttSteps: LENGTH, tasksPerIteration: SEQUENCES,
  ppo: { ...RL2_DEFAULTS.ppo, epochs: 1, minibatches: 2 },
};
const robotLike: EnvSpec = { obsSize: 39, action: { kind: 'box', size: 4, low: -1, high: 1 }, episodeSteps: 5, hasSuccess: true };
const mdpLike: EnvSpec = { obsSize: 10, action: { kind: 'discrete', n: 5 }, episodeSteps: 5, hasSuccess: false };

interface Rl2Numbers {
  acting: Float32Array[];
  forward: Float32Array[];
  gradients: Map<string, Float32Array>;
  parameters: Map<string, Float32Array>;
  lossTerms: Record<string, number>;
  batch: PpoBatch;
}

/** Everything compared, computed on the current backend; the PPO batch is made on the first run and reused. */
function rl2Numbers(spec: EnvSpec, reuse?: PpoBatch): Rl2Numbers {
  const rl2 = new Rl2(spec, config, 3);
  const { net } = rl2;
  const rng = rngFor(1, 'webgpu-test', spec.obsSize);
  const I = net.inputs.size, width = spec.action.kind === 'box' ? spec.action.size : 1, rows = SEQUENCES * LENGTH;
  const inputs = normalValues(rng, rows * I, 1); // time-major, [LENGTH][SEQUENCES][I]
  const actions = spec.action.kind === 'box' ? normalValues(rng, rows * width, 0.5) : Float32Array.from({ length: rows }, () => Math.floor(rng.next() * 5));
  const h0 = normalValues(rng, SEQUENCES * net.hidden, 0.3);
  net.updateInputStats(normalValues(rng, 40 * I, 2), 40);
  try {
    // Acting: three batched GRU steps from a zero state, with seeded action noise.
    const lanes = net.action.kind === 'box' ? 3 : 2;
    const policy = rl2.explorationPolicy(lanes, { seed: 5 });
    const acting: Float32Array[] = [];
    for (let step = 0; step < 3; step++) {
      acting.push(policy.act(normalValues(rng, lanes * spec.obsSize, 1)).slice(), policy.lastValues.slice());
      policy.observe(new Float32Array(lanes).fill(0.5), new Float32Array(lanes));
    }
    policy.dispose();

    const gather = (ids: readonly number[]) => {
      const B = ids.length, x = new Float32Array(LENGTH * B * I), a = new Float32Array(LENGTH * B * width), h = new Float32Array(B * net.hidden);
      ids.forEach((s, b) => {
        h.set(h0.subarray(s * net.hidden, (s + 1) * net.hidden), b * net.hidden);
        for (let t = 0; t < LENGTH; t++) {
          x.set(inputs.subarray((t * SEQUENCES + s) * I, (t * SEQUENCES + s + 1) * I), (t * B + b) * I);
          a.set(actions.subarray((t * SEQUENCES + s) * width, (t * SEQUENCES + s + 1) * width), (t * B + b) * width);
        }
      });
      return { x, a, h };
    };
    const ppoPolicy: PpoPolicy = {
      params: net.params,
      evaluate: (ids) => {
        const { x, a, h } = gather(ids);
        const out = net.sequence(x, LENGTH, ids.length, h);
        return { ...net.logProbAndEntropy(out.head, a), value: out.value };
      },
    };
    const all = Array.from({ length: SEQUENCES }, (_, s) => s);

    const forward = tf.tidy(() => {
      const out = net.sequence(inputs, LENGTH, SEQUENCES, h0);
      return [out.head, out.value].map((t) => Float32Array.from(t.dataSync()));
    }) as unknown as Float32Array[];

    // A batch near the current policy (old log-probabilities within about 0.25 of the new), so that
    // the clip is active for some samples and not for others. PPO's arrays are sequence-major.
    const batch = reuse ?? tf.tidy(() => {
      const logProb = ppoPolicy.evaluate(all).logProb.dataSync();
      const sequenceMajor = (timeMajor: ArrayLike<number>) => Float32Array.from({ length: rows }, (_, k) => timeMajor[(k % LENGTH) * SEQUENCES + Math.floor(k / LENGTH)]);
      const noise = normalValues(rng, rows, 0.25);
      return {
        sequences: SEQUENCES, length: LENGTH,
        oldLogProb: sequenceMajor(logProb).map((v, k) => v + noise[k]),
        advantages: normalValues(rng, rows, 1), returns: normalValues(rng, rows, 1),
      };
    });

    const names = new Map([...net.params.trainable].map(([name, v]) => [v.name, name]));
    const gradients = new Map<string, Float32Array>();
    tf.tidy(() => {
      const timeMajor = (x: Float32Array) => tf.tensor1d(Float32Array.from({ length: rows }, (_, k) => x[(k % SEQUENCES) * LENGTH + Math.floor(k / SEQUENCES)]));
      const { grads } = tf.variableGrads(() => ppoLoss({
        ...ppoPolicy.evaluate(all), oldLogProb: timeMajor(batch.oldLogProb), advantages: timeMajor(batch.advantages), returns: timeMajor(batch.returns),
      }, config.ppo).total, [...net.params.trainable.values()]);
      for (const [name, g] of Object.entries(grads)) gradients.set(names.get(name)!, Float32Array.from(g.dataSync()));
    });

    const stats = ppoUpdate(ppoPolicy, rl2.optimizer, batch, config.ppo, rngFor(1, 'minibatches'), config.ppo.learningRate);
    const parameters = new Map([...net.params.vars].map(([name, v]) => [name, Float32Array.from(v.dataSync())]));
    const { policyLoss, valueLoss, entropy, approxKl, clipFraction, gradNorm } = stats;
    return { acting, forward, gradients, parameters, lossTerms: { policyLoss, valueLoss, entropy, approxKl, clipFraction, gradNorm }, batch };
  } finally {
    rl2.dispose();
  }
}

/** Fails with the worst element, its values and the bound it broke. */
function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, { rtol, atol }: { rtol: number; atol: number }, what: string): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  let worst = -Infinity, at = -1;
  for (let i = 0; i < expected.length; i++) {
    const excess = Math.abs(actual[i] - expected[i]) - (atol + rtol * Math.abs(expected[i]));
    if (Number.isNaN(excess)) { worst = NaN; at = i; break; }
    if (excess > worst) { worst = excess; at = i; }
  }
  const detail = at >= 0 ? `element ${at}: webgpu ${actual[at]}, wasm ${expected[at]}, |diff| ${Math.abs(actual[at] - expected[at]).toExponential(2)} > ${atol} + ${rtol} x |wasm|` : '';
  expect(worst <= 0, `${what}: ${detail}`).toBe(true);
}

function compare(webgpu: Rl2Numbers, wasm: Rl2Numbers): void {
  webgpu.acting.forEach((x, k) => expectClose(x, wasm.acting[k], TOLERANCE.forward, `acting step ${k >> 1} ${k % 2 ? 'values' : 'actions'}`));
  expectClose(webgpu.forward[0], wasm.forward[0], TOLERANCE.forward, 'sequence pass: policy head');
  expectClose(webgpu.forward[1], wasm.forward[1], TOLERANCE.forward, 'sequence pass: value');
  expect([...webgpu.gradients.keys()]).toEqual([...wasm.gradients.keys()]);
  for (const [name, g] of wasm.gradients) expectClose(webgpu.gradients.get(name)!, g, TOLERANCE.gradients, `gradient of ${name}`);
  for (const [name, p] of wasm.parameters) expectClose(webgpu.parameters.get(name)!, p, TOLERANCE.parameters, `${name} after the PPO update`);
  const terms = Object.keys(wasm.lossTerms).filter((k) => k !== 'clipFraction');
  // The clip fraction counts samples: a ratio within rounding of the clip edge may flip one of them.
  const oneSample = 1 / (SEQUENCES * LENGTH);
  expectClose(terms.map((k) => webgpu.lossTerms[k]), terms.map((k) => wasm.lossTerms[k]), TOLERANCE.lossTerms, `PPO loss terms (${terms.join(', ')})`);
  expect(Math.abs(webgpu.lossTerms.clipFraction - wasm.lossTerms.clipFraction)).toBeLessThanOrEqual(oneSample);
  // The batch exercised the clip partially, and the update moved the weights.
  expect(wasm.lossTerms.clipFraction).toBeGreaterThan(0);
  expect(wasm.lossTerms.clipFraction).toBeLessThan(1);
}

describe.skipIf(!ready)(`webgpu backend over SwiftShader${ready ? '' : ` (skipped: ${why})`}`, () => {
  it('is chosen when asked for by name, on the software adapter, and says so', async () => {
    const choice = await chooseBackend('webgpu');
    expect(choice.attempts, describeBackend(choice)).toEqual([{ backend: 'webgpu', ok: true }]);
    expect(choice.backend).toBe('webgpu');
    expect(tf.getBackend()).toBe('webgpu');
    expect(choice.adapter?.software).toBe(true);
    expect(describeBackend(choice)).toMatch(/^backend webgpu on .*software/);
    // Large enough to run on the device and come back through the blocking read.
    expect(tf.tidy(() => tf.matMul(tf.ones([64, 64]), tf.fill([64, 64], 0.5)).dataSync())[4095]).toBe(32);
    // tf.addN over more tensors than one shader may bind (Adam's gradient norm does this).
    expect(tf.tidy(() => tf.addN(Array.from({ length: 20 }, (_, i) => tf.fill([2048], i))).dataSync())[2047]).toBe(190);
  }, 120_000);

  it('is skipped in auto mode with the reason: only a real GPU is chosen automatically', async () => {
    const choice = await chooseBackend('auto');
    expect(choice.backend).toBe('wasm');
    expect(choice.attempts.find((a) => a.backend === 'webgpu')).toMatchObject({ ok: false, error: expect.stringMatching(/software adapter.*SwiftShader.*ask for webgpu by name/) });
    expect(describeBackend(choice)).toMatch(/webgpu: only a software adapter/);
  }, 60_000);

  for (const [label, spec] of [['Gaussian policy (robot-like: 39 observations, 4 actions)', robotLike], ['categorical policy (MDP-like: 10 states, 5 actions)', mdpLike]] as const) {
    it(`RL2 acting, sequence pass, gradients and one PPO update agree with wasm: ${label}`, async () => {
      await chooseBackend('wasm');
      const wasm = rl2Numbers(spec);
      const choice = await chooseBackend('webgpu');
      expect(choice.backend).toBe('webgpu');
      const webgpu = rl2Numbers(spec, wasm.batch);
      await chooseBackend('wasm');
      compare(webgpu, wasm);
    }, 300_000);
  }
});
