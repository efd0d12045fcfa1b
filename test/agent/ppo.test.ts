import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { chooseBackend } from '../../agent/backend.ts';
import { computeGae, gatherTimeMajor, learningRateAt, ppoLoss } from '../../agent/ppo.ts';

beforeAll(async () => { await chooseBackend('wasm'); });

const close = (actual: ArrayLike<number>, expected: number[], digits = 5) => {
  expect(actual.length).toBe(expected.length);
  expected.forEach((e, i) => expect(actual[i]).toBeCloseTo(e, digits));
};

describe('GAE', () => {
  // gamma 0.9, lambda 0.8 (gamma lambda = 0.72); rewards [1, 0, 2], values [0.5, 1, 0.5].
  const rewards = [1, 0, 2], values = [0.5, 1, 0.5], gamma = 0.9, lambda = 0.8;

  it('matches hand-computed advantages and returns when the sequence ends', () => {
    // delta_2 = 2 - 0.5 = 1.5; delta_1 = 0 + 0.9 * 0.5 - 1 = -0.55; delta_0 = 1 + 0.9 * 1 - 0.5 = 1.4
    // A_2 = 1.5; A_1 = -0.55 + 0.72 * 1.5 = 0.53; A_0 = 1.4 + 0.72 * 0.53 = 1.7816
    const { advantages, returns } = computeGae(rewards, values, [0, 0, 1], 123, gamma, lambda);
    close(advantages, [1.7816, 0.53, 1.5]);
    close(returns, [2.2816, 1.53, 2.0]);
  });

  it('bootstraps from the value after the last step when the sequence is cut, not ended', () => {
    // delta_2 = 2 + 0.9 * 2 - 0.5 = 3.3; A_1 = -0.55 + 0.72 * 3.3 = 1.826; A_0 = 1.4 + 0.72 * 1.826 = 2.71472
    close(computeGae(rewards, values, [0, 0, 0], 2, gamma, lambda).advantages, [2.71472, 1.826, 3.3]);
  });

  it('does not carry advantages or values across an episode end inside the sequence', () => {
    // ends after step 0: delta_0 = 1 - 0.5 = 0.5 and nothing flows back from steps 1..2.
    close(computeGae(rewards, values, [1, 0, 1], 0, gamma, lambda).advantages, [0.5, 0.53, 1.5]);
  });

  it('lays out minibatches time-major', () => {
    // Two sequences of length 3: [0, 1, 2] and [10, 11, 12]; ids [1, 0] -> t0: 10, 0; t1: 11, 1; t2: 12, 2.
    expect(Array.from(gatherTimeMajor(Float32Array.from([0, 1, 2, 10, 11, 12]), [1, 0], 3))).toEqual([10, 0, 11, 1, 12, 2]);
  });
});

describe('PPO loss', () => {
  it('matches hand-computed clipped surrogate, value loss, entropy bonus, KL and clip fraction', () => {
    const terms = tf.tidy(() => {
      const loss = ppoLoss({
        logProb: tf.tensor1d([0, Math.log(2), -0.5]),
        oldLogProb: tf.tensor1d([0, 0, 0]),
        advantages: tf.tensor1d([1, 1, -2]),
        value: tf.tensor1d([1, 2, 3]),
        returns: tf.tensor1d([1, 1, 1]),
        entropy: tf.tensor1d([1, 1, 1]),
      }, { clip: 0.2, valueCoef: 0.5, entropyCoef: 0.01 });
      return Object.fromEntries(Object.entries(loss).map(([k, v]) => [k, (v as tf.Scalar).dataSync()[0]]));
    });
    // ratios [1, 2, e^-0.5 = 0.6065]; clipped [1, 1.2, 0.8]; min(r A, clip(r) A) = [1, 1.2, -1.6] -> policy loss -0.2
    expect(terms.policyLoss).toBeCloseTo(-0.2, 5);
    // 0.5 * mean([0, 1, 4]) = 5/6
    expect(terms.valueLoss).toBeCloseTo(5 / 6, 5);
    expect(terms.entropy).toBeCloseTo(1, 6);
    expect(terms.total).toBeCloseTo(-0.2 + 0.5 * (5 / 6) - 0.01, 5);
    // mean(old - new) = (0 - 0.6931 + 0.5) / 3
    expect(terms.approxKl).toBeCloseTo((-Math.log(2) + 0.5) / 3, 5);
    // |ratio - 1| > 0.2 for the 2nd and 3rd samples
    expect(terms.clipFraction).toBeCloseTo(2 / 3, 6);
  });
});

describe('PPO loss over parts of a minibatch', () => {
  it('divides every term by the whole minibatch\'s count, so that the parts\' terms and gradients add up to the minibatch\'s', () => {
    const logits = tf.variable(tf.tensor1d([0.1, -0.3, 0.2, 0.5, -0.1, 0.05]));
    const inputs = (from: number, to: number) => ({
      logProb: tf.slice(logits, from, to - from) as tf.Tensor1D,
      oldLogProb: tf.tensor1d([0, 0.1, -0.2, 0.3, 0.1, 0].slice(from, to)),
      advantages: tf.tensor1d([1, -1, 0.5, 2, -0.5, 1].slice(from, to)),
      value: tf.mul(tf.slice(logits, from, to - from), 3) as tf.Tensor1D,
      returns: tf.tensor1d([1, 0, 1, 0, 1, 0].slice(from, to)),
      entropy: tf.neg(tf.slice(logits, from, to - from)) as tf.Tensor1D,
    });
    const config = { clip: 0.2, valueCoef: 0.5, entropyCoef: 0.01 };
    const whole = tf.variableGrads(() => ppoLoss(inputs(0, 6), config).total, [logits]);
    const partA = tf.variableGrads(() => ppoLoss(inputs(0, 4), config, 6).total, [logits]);
    const partB = tf.variableGrads(() => ppoLoss(inputs(4, 6), config, 6).total, [logits]);
    expect(partA.value.dataSync()[0] + partB.value.dataSync()[0]).toBeCloseTo(whole.value.dataSync()[0], 6);
    close(tf.add(partA.grads[logits.name], partB.grads[logits.name]).dataSync(), Array.from(whole.grads[logits.name].dataSync()), 6);
    logits.dispose();
  });
});

describe('learning-rate schedule', () => {
  it('decays linearly from the learning rate at the first iteration to its final fraction at the last', () => {
    const config = { learningRate: 0.01, finalLearningRateFraction: 0.2 };
    close([0, 1, 2, 4].map((i) => learningRateAt(config, i, 5)), [0.01, 0.008, 0.006, 0.002], 12);
    // Past the last iteration it stays at the final rate; fraction 1 keeps it constant; a one-iteration run uses the full rate.
    expect(learningRateAt(config, 9, 5)).toBeCloseTo(0.002, 12);
    expect(learningRateAt({ learningRate: 0.01, finalLearningRateFraction: 1 }, 3, 5)).toBe(0.01);
    expect(learningRateAt(config, 0, 1)).toBe(0.01);
  });
});
