// Proximal Policy Optimisation (Schulman et al. 2017) with generalised advantage estimation, for
// recurrent policies trained on fixed-length sequences. Reads top to bottom; hyperparameters first.

import * as tf from '@tensorflow/tfjs';
import type { Adam, Params } from './nn.ts';
import type { Rng } from './random.ts';

export interface PpoConfig {
  /** Discount. */
  gamma: number;
  /** GAE lambda: 1 is Monte Carlo, 0 is one-step TD. */
  lambda: number;
  /** Clip range of the probability ratio. */
  clip: number;
  /** Passes over each batch. */
  epochs: number;
  /** Minibatches per epoch (the batch's sequences are split this many ways). */
  minibatches: number;
  learningRate: number;
  /** Linear decay of the learning rate to this fraction of it over the run (1 = constant; see learningRateAt). */
  finalLearningRateFraction: number;
  adamEpsilon: number;
  /** Global gradient-norm clip. */
  maxGradNorm: number;
  entropyCoef: number;
  valueCoef: number;
  /** Standardise advantages per minibatch. */
  normalizeAdvantages: boolean;
  /** Stop an update's epochs early when the approximate KL exceeds this (null = never). */
  targetKl: number | null;
}

/** Settings from the RL2-on-MetaWorld recipe (../shared/spec/meta-rl.md). */
export const PPO_DEFAULTS: PpoConfig = {
  gamma: 0.99,
  lambda: 0.95,
  clip: 0.2,
  epochs: 10,
  minibatches: 4,
  learningRate: 5e-4,
  finalLearningRateFraction: 1,
  adamEpsilon: 1e-5,
  maxGradNorm: 1,
  entropyCoef: 5e-3,
  valueCoef: 0.5,
  normalizeAdvantages: true,
  targetKl: null,
};

// ---------------------------------------------------------------------------------------------
// Generalised advantage estimation

/**
 * GAE over one sequence. `ends[t] = 1` when the trajectory ends after step t (no bootstrapping across
 * it); `bootstrap` is the value of the state after the last step (0 when the sequence ends there).
 * A_t = sum_k (gamma lambda)^k delta_{t+k}, delta_t = r_t + gamma V_{t+1} - V_t; returns = A + V.
 */
export function computeGae(
  rewards: ArrayLike<number>, values: ArrayLike<number>, ends: ArrayLike<number>, bootstrap: number, gamma: number, lambda: number,
): { advantages: Float32Array; returns: Float32Array } {
  const n = rewards.length;
  const advantages = new Float32Array(n), returns = new Float32Array(n);
  let gae = 0;
  for (let t = n - 1; t >= 0; t--) {
    const nextValue = t === n - 1 ? bootstrap : values[t + 1];
    const continues = ends[t] ? 0 : 1;
    const delta = rewards[t] + gamma * nextValue * continues - values[t];
    gae = delta + gamma * lambda * continues * gae;
    advantages[t] = gae;
    returns[t] = gae + values[t];
  }
  return { advantages, returns };
}

// ---------------------------------------------------------------------------------------------
// The loss

export interface PpoLossInputs {
  logProb: tf.Tensor1D;
  oldLogProb: tf.Tensor1D;
  advantages: tf.Tensor1D;
  value: tf.Tensor1D;
  returns: tf.Tensor1D;
  entropy: tf.Tensor1D;
}

export interface PpoLossTerms {
  /** policyLoss + valueCoef * valueLoss - entropyCoef * entropy: what the optimiser minimises. */
  total: tf.Scalar;
  /** -mean(min(ratio A, clip(ratio, 1 - eps, 1 + eps) A)) */
  policyLoss: tf.Scalar;
  /** 0.5 mean((V - R)^2) */
  valueLoss: tf.Scalar;
  entropy: tf.Scalar;
  /** mean(old log p - new log p), the usual cheap KL estimate. */
  approxKl: tf.Scalar;
  /** Share of samples whose ratio was clipped. */
  clipFraction: tf.Scalar;
}

export function ppoLoss(x: PpoLossInputs, config: Pick<PpoConfig, 'clip' | 'entropyCoef' | 'valueCoef'>): PpoLossTerms {
  const logRatio = tf.sub(x.logProb, x.oldLogProb);
  const ratio = tf.exp(logRatio);
  const unclipped = tf.mul(ratio, x.advantages);
  const clipped = tf.mul(tf.clipByValue(ratio, 1 - config.clip, 1 + config.clip), x.advantages);
  const policyLoss = tf.neg(tf.mean(tf.minimum(unclipped, clipped))) as tf.Scalar;
  const valueLoss = tf.mul(0.5, tf.mean(tf.square(tf.sub(x.value, x.returns)))) as tf.Scalar;
  const entropy = tf.mean(x.entropy) as tf.Scalar;
  const total = tf.addN([policyLoss, tf.mul(config.valueCoef, valueLoss), tf.mul(-config.entropyCoef, entropy)]) as tf.Scalar;
  const approxKl = tf.mean(tf.neg(logRatio)) as tf.Scalar;
  const clipFraction = tf.mean(tf.cast(tf.greater(tf.abs(tf.sub(ratio, 1)), config.clip), 'float32')) as tf.Scalar;
  return { total, policyLoss, valueLoss, entropy, approxKl, clipFraction };
}

// ---------------------------------------------------------------------------------------------
// The learning-rate schedule

/**
 * The learning rate of iteration `iteration` (0-based) of a run of `iterations`: a linear decay from
 * learningRate at the first iteration to learningRate x finalLearningRateFraction at the last (CleanRL's
 * anneal_lr, which decays to 0; here the end point is a setting, and 1 keeps the rate constant).
 */
export function learningRateAt(config: Pick<PpoConfig, 'learningRate' | 'finalLearningRateFraction'>, iteration: number, iterations: number): number {
  const progress = iterations > 1 ? iteration / (iterations - 1) : 0;
  return config.learningRate * (1 - (1 - config.finalLearningRateFraction) * Math.min(1, progress));
}

// ---------------------------------------------------------------------------------------------
// The update

/**
 * A batch of `sequences` sequences of `length` steps; sequence s's step t is entry s * length + t of
 * every array. The policy evaluates minibatches of whole sequences (it is recurrent).
 */
export interface PpoBatch {
  sequences: number;
  length: number;
  oldLogProb: Float32Array;
  advantages: Float32Array;
  returns: Float32Array;
}

/** What PPO needs from a policy: differentiable log-probabilities, entropies and values for some sequences. */
export interface PpoPolicy {
  readonly params: Params;
  /**
   * Evaluates sequences `ids` of the batch from their recorded start states; the outputs are
   * time-major: entry t * ids.length + b is step t of sequence ids[b].
   */
  evaluate(ids: readonly number[]): { logProb: tf.Tensor1D; entropy: tf.Tensor1D; value: tf.Tensor1D };
}

export interface PpoStats {
  policyLoss: number;
  valueLoss: number;
  entropy: number;
  approxKl: number;
  clipFraction: number;
  gradNorm: number;
  /** Epochs run (fewer than configured when the KL limit stopped the update). */
  epochs: number;
  learningRate: number;
}

/** Gathers per-step values of sequences `ids` in the time-major order of PpoPolicy.evaluate. */
export function gatherTimeMajor(values: Float32Array, ids: readonly number[], length: number): Float32Array {
  const out = new Float32Array(ids.length * length);
  for (let t = 0; t < length; t++) for (let b = 0; b < ids.length; b++) out[t * ids.length + b] = values[ids[b] * length + t];
  return out;
}

/** One PPO update on `batch`: `epochs` passes of minibatches drawn with `rng`, at this update's `learningRate` (learningRateAt). */
export function ppoUpdate(policy: PpoPolicy, optimizer: Adam, batch: PpoBatch, config: PpoConfig, rng: Rng, learningRate: number): PpoStats {
  const { sequences, length } = batch;
  const minibatches = Math.max(1, Math.min(config.minibatches, sequences));
  const sums = { policyLoss: 0, valueLoss: 0, entropy: 0, approxKl: 0, clipFraction: 0, gradNorm: 0 };
  let updates = 0, epochs = 0;
  const trainable = policy.params.trainable;
  const names = new Map([...trainable].map(([name, v]) => [v.name, name]));
  const variables = [...trainable.values()];
  for (let epoch = 0; epoch < config.epochs; epoch++) {
    epochs++;
    let epochKl = 0, epochUpdates = 0;
    for (const ids of shuffledSplits(sequences, minibatches, rng)) {
      const oldLogProb = gatherTimeMajor(batch.oldLogProb, ids, length);
      const advantages = gatherTimeMajor(batch.advantages, ids, length);
      if (config.normalizeAdvantages) standardize(advantages);
      const returns = gatherTimeMajor(batch.returns, ids, length);
      let terms: number[] = [];
      const { grads } = tf.tidy(() => {
        const inputs = { oldLogProb: tf.tensor1d(oldLogProb), advantages: tf.tensor1d(advantages), returns: tf.tensor1d(returns) };
        const result = tf.variableGrads(() => {
          const out = policy.evaluate(ids);
          const loss = ppoLoss({ ...inputs, ...out }, config);
          terms = [loss.policyLoss, loss.valueLoss, loss.entropy, loss.approxKl, loss.clipFraction].map((s) => s.dataSync()[0]);
          return loss.total;
        }, variables);
        return { grads: result.grads };
      });
      const byName = new Map(Object.entries(grads).map(([varName, g]) => [names.get(varName) ?? varName, g]));
      const gradNorm = optimizer.apply(byName, learningRate);
      for (const g of Object.values(grads)) g.dispose();
      const [policyLoss, valueLoss, entropy, approxKl, clipFraction] = terms;
      Object.assign(sums, {
        policyLoss: sums.policyLoss + policyLoss, valueLoss: sums.valueLoss + valueLoss, entropy: sums.entropy + entropy,
        approxKl: sums.approxKl + approxKl, clipFraction: sums.clipFraction + clipFraction, gradNorm: sums.gradNorm + gradNorm,
      });
      updates++;
      epochKl += approxKl;
      epochUpdates++;
    }
    if (config.targetKl !== null && epochKl / epochUpdates > config.targetKl) break;
  }
  const mean = (x: number) => x / Math.max(1, updates);
  return {
    policyLoss: mean(sums.policyLoss), valueLoss: mean(sums.valueLoss), entropy: mean(sums.entropy), approxKl: mean(sums.approxKl),
    clipFraction: mean(sums.clipFraction), gradNorm: mean(sums.gradNorm), epochs, learningRate,
  };
}

/** Sequence ids 0..n-1 shuffled and dealt into `parts` nearly equal minibatches. */
function shuffledSplits(n: number, parts: number, rng: Rng): number[][] {
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return Array.from({ length: parts }, (_, p) => order.slice(Math.floor((p * n) / parts), Math.floor(((p + 1) * n) / parts)));
}

function standardize(x: Float32Array): void {
  let mean = 0;
  for (const v of x) mean += v;
  mean /= x.length;
  let variance = 0;
  for (const v of x) variance += (v - mean) ** 2;
  const std = Math.sqrt(variance / x.length) + 1e-8;
  for (let i = 0; i < x.length; i++) x[i] = (x[i] - mean) / std;
}
