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
  /**
   * Decoupled weight decay of the weight matrices per optimiser step, times the learning rate (AdamW;
   * nn.ts Adam). 0: plain Adam.
   */
  weightDecay: number;
  /** Global gradient-norm clip (per network when the value function has a network of its own). */
  maxGradNorm: number;
  /**
   * Skip a minibatch whose gradient norm (before clipping) is above this: no step and no change to the
   * optimiser's moments. A recurrent policy's gradient spikes now and then by orders of magnitude (a
   * remembered value that flips with a tiny change of the inputs); clipped to maxGradNorm it still
   * points wherever the spike does, and Adam's momentum carries it on for tens of steps. null: never.
   */
  skipGradNorm: number | null;
  entropyCoef: number;
  valueCoef: number;
  /**
   * Standardise advantages per minibatch (mean 0, std 1). false: the advantages as GAE gives them, so
   * the policy gradient keeps the scale of the rewards (and the entropy bonus its weight against it).
   */
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
  weightDecay: 0,
  maxGradNorm: 1,
  skipGradNorm: null,
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

/**
 * The loss terms over the samples given, each a sum divided by `count`: the number of samples in the
 * whole minibatch (default: these samples). A thread that takes part of a minibatch divides by the whole
 * minibatch's count, so the parts' losses, and gradients, add up to the minibatch's.
 */
export function ppoLoss(x: PpoLossInputs, config: Pick<PpoConfig, 'clip' | 'entropyCoef' | 'valueCoef'>, count = x.logProb.size, cloning = false): PpoLossTerms {
  const mean = (t: tf.Tensor) => tf.div(tf.sum(t), count) as tf.Scalar;
  const logRatio = tf.sub(x.logProb, x.oldLogProb);
  const ratio = tf.exp(logRatio);
  const unclipped = tf.mul(ratio, x.advantages);
  const clipped = tf.mul(tf.clipByValue(ratio, 1 - config.clip, 1 + config.clip), x.advantages);
  const policyLoss = tf.neg(mean(cloning ? tf.mul(x.logProb, x.advantages) : tf.minimum(unclipped, clipped))) as tf.Scalar;
  const valueLoss = tf.mul(0.5, mean(tf.square(tf.sub(x.value, x.returns)))) as tf.Scalar;
  const entropy = mean(x.entropy);
  const total = tf.addN([policyLoss, tf.mul(config.valueCoef, valueLoss), tf.mul(-config.entropyCoef, entropy)]) as tf.Scalar;
  const approxKl = mean(tf.neg(logRatio));
  const clipFraction = mean(tf.cast(tf.greater(tf.abs(tf.sub(ratio, 1)), config.clip), 'float32'));
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
  /** Minibatches skipped for a gradient norm above skipGradNorm (their norms are not in gradNorm). */
  skippedMinibatches: number;
  /** Epochs run (fewer than configured when the KL limit stopped the update). */
  epochs: number;
  learningRate: number;
}

/** One minibatch: its sequences and the statistics its advantages are standardised with. */
export interface PpoMinibatch {
  /** Sequence ids, in the order they were dealt. */
  ids: readonly number[];
  /** Mean and standard deviation of the minibatch's advantages (0 and 1 when they are not standardised). */
  advantageMean: number;
  advantageStd: number;
  /** Behaviour cloning: the policy term is -mean(advantage x log pi(recorded action)), not the clipped surrogate. */
  cloning?: boolean;
}

/** The loss terms' values (PpoLossTerms without the total). */
export interface PpoTermValues { policyLoss: number; valueLoss: number; entropy: number; approxKl: number; clipFraction: number }

/** The gradient of the PPO loss on a minibatch, by parameter name, with its loss terms. */
export type MinibatchGradient = (minibatch: PpoMinibatch) => { grads: Map<string, tf.Tensor>; terms: PpoTermValues };

/** Gathers per-step values of sequences `ids` in the time-major order of PpoPolicy.evaluate. */
export function gatherTimeMajor(values: Float32Array, ids: readonly number[], length: number): Float32Array {
  const out = new Float32Array(ids.length * length);
  for (let t = 0; t < length; t++) for (let b = 0; b < ids.length; b++) out[t * ids.length + b] = values[ids[b] * length + t];
  return out;
}

/**
 * The gradient of the PPO loss over `part` of a minibatch (default: all of it), by parameter name, and
 * the loss terms; every term is divided by the whole minibatch's sample count, so that the gradients of
 * parts that make up a minibatch add up to the minibatch's gradient.
 */
export function minibatchGradient(
  policy: PpoPolicy, batch: PpoBatch, minibatch: PpoMinibatch, config: PpoConfig, part: readonly number[] = minibatch.ids,
): { grads: Map<string, tf.Tensor>; terms: PpoTermValues } {
  const { length } = batch;
  const oldLogProb = gatherTimeMajor(batch.oldLogProb, part, length);
  const advantages = gatherTimeMajor(batch.advantages, part, length);
  for (let i = 0; i < advantages.length; i++) advantages[i] = (advantages[i] - minibatch.advantageMean) / minibatch.advantageStd;
  const returns = gatherTimeMajor(batch.returns, part, length);
  const trainable = policy.params.trainable;
  const names = new Map([...trainable].map(([name, v]) => [v.name, name]));
  let terms: number[] = [];
  const grads = tf.tidy(() => {
    const inputs = { oldLogProb: tf.tensor1d(oldLogProb), advantages: tf.tensor1d(advantages), returns: tf.tensor1d(returns) };
    return tf.variableGrads(() => {
      const loss = ppoLoss({ ...inputs, ...policy.evaluate(part) }, config, minibatch.ids.length * length, minibatch.cloning);
      terms = [loss.policyLoss, loss.valueLoss, loss.entropy, loss.approxKl, loss.clipFraction].map((s) => s.dataSync()[0]);
      return loss.total;
    }, [...trainable.values()]).grads;
  });
  const [policyLoss, valueLoss, entropy, approxKl, clipFraction] = terms;
  return { grads: new Map(Object.entries(grads).map(([varName, g]) => [names.get(varName) ?? varName, g])), terms: { policyLoss, valueLoss, entropy, approxKl, clipFraction } };
}

/**
 * One PPO update on `batch`: `epochs` passes of minibatches drawn with `rng`, at this update's
 * `learningRate` (learningRateAt). Each minibatch's gradient comes from `gradient`: by default computed
 * here from `policy`; a learner with threads computes parts of it elsewhere (learner-threads.ts). With
 * `cloning`, every minibatch's policy term is behaviour cloning's (PpoMinibatch.cloning).
 */
export function ppoUpdate(
  policy: PpoPolicy, optimizer: Adam, batch: PpoBatch, config: PpoConfig, rng: Rng, learningRate: number,
  gradient: MinibatchGradient = (minibatch) => minibatchGradient(policy, batch, minibatch, config),
  cloning = false,
): PpoStats {
  const { sequences, length } = batch;
  const minibatches = Math.max(1, Math.min(config.minibatches, sequences));
  const sums = { policyLoss: 0, valueLoss: 0, entropy: 0, approxKl: 0, clipFraction: 0, gradNorm: 0 };
  let updates = 0, epochs = 0, skipped = 0;
  const skipAbove = config.skipGradNorm ?? Infinity;
  for (let epoch = 0; epoch < config.epochs; epoch++) {
    epochs++;
    let epochKl = 0, epochUpdates = 0;
    for (const ids of shuffledSplits(sequences, minibatches, rng)) {
      const { mean, std } = config.normalizeAdvantages ? meanAndStd(gatherTimeMajor(batch.advantages, ids, length)) : { mean: 0, std: 1 };
      const { grads, terms } = gradient({ ids, advantageMean: mean, advantageStd: std, cloning });
      const gradNorm = optimizer.apply(grads, learningRate, skipAbove);
      for (const g of grads.values()) g.dispose();
      if (gradNorm > skipAbove) { skipped++; continue; }
      Object.assign(sums, {
        policyLoss: sums.policyLoss + terms.policyLoss, valueLoss: sums.valueLoss + terms.valueLoss, entropy: sums.entropy + terms.entropy,
        approxKl: sums.approxKl + terms.approxKl, clipFraction: sums.clipFraction + terms.clipFraction, gradNorm: sums.gradNorm + gradNorm,
      });
      updates++;
      epochKl += terms.approxKl;
      epochUpdates++;
    }
    if (config.targetKl !== null && epochKl / epochUpdates > config.targetKl) break;
  }
  const mean = (x: number) => x / Math.max(1, updates);
  return {
    policyLoss: mean(sums.policyLoss), valueLoss: mean(sums.valueLoss), entropy: mean(sums.entropy), approxKl: mean(sums.approxKl),
    clipFraction: mean(sums.clipFraction), gradNorm: mean(sums.gradNorm), skippedMinibatches: skipped, epochs, learningRate,
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

/** Mean and standard deviation (+ 1e-8) for standardising advantages, in float64 over the values in order. */
function meanAndStd(x: Float32Array): { mean: number; std: number } {
  let mean = 0;
  for (const v of x) mean += v;
  mean /= x.length;
  let variance = 0;
  for (const v of x) variance += (v - mean) ** 2;
  return { mean, std: Math.sqrt(variance / x.length) + 1e-8 };
}
