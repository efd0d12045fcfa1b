// Exact scores for Bernoulli bandits with arm probabilities ~ U[0, 1] (the RL2 paper's bandits), free of
// the sampling noise of an evaluation over test tasks (±0.07 over 1000 bandits of 10 pulls):
// - the Bayes-optimal expected trial return, by dynamic programming over the arms' (wins, losses);
// - a policy's expected trial return when it acts with its mode: each of the 2^pulls reward sequences
//   is one lane, and a sequence's probability is a product of Beta integrals.

import type { MetaAlgorithm } from './meta.ts';

/** Largest trial for the exact policy score: 2^pulls lanes. */
export const MAX_EXACT_PULLS = 14;

/** ∫ p^wins (1 - p)^losses dp over U[0, 1] = wins! losses! / (wins + losses + 1)!. */
function betaIntegral(wins: number, losses: number): number {
  let x = 1;
  // wins! losses! / (wins + losses + 1)! as a product of ratios, exact enough in float64.
  for (let i = 1; i <= losses; i++) x *= i / (wins + i);
  return x / (wins + losses + 1);
}

/** The Bayes-optimal expected number of successes in `pulls` pulls of `arms` arms with p ~ U[0, 1]. */
export function bayesOptimalBanditReturn(arms: number, pulls: number): number {
  const memo = new Map<string, number>();
  // State: the arms' (wins, losses), sorted (arms are exchangeable), and the pulls left.
  const value = (state: Array<[number, number]>, left: number): number => {
    if (left === 0) return 0;
    const key = `${left}|${state.map(([w, l]) => `${w},${l}`).join(';')}`;
    const known = memo.get(key);
    if (known !== undefined) return known;
    let best = 0;
    const tried = new Set<string>();
    state.forEach(([w, l], i) => {
      if (tried.has(`${w},${l}`)) return;
      tried.add(`${w},${l}`);
      const p = (w + 1) / (w + l + 2);
      const next = (outcome: [number, number]) => state.map((s, j) => (j === i ? outcome : s)).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
      best = Math.max(best, p * (1 + value(next([w + 1, l]), left - 1)) + (1 - p) * value(next([w, l + 1]), left - 1));
    });
    memo.set(key, best);
    return best;
  };
  return value(Array.from({ length: arms }, () => [0, 0] as [number, number]), pulls);
}

/** Expected trial return of `algorithm` acting with its mode on bandits of `arms` arms and trials of `pulls` pulls. */
export function exactBanditReturn(algorithm: MetaAlgorithm, arms: number, pulls: number): number {
  if (pulls > MAX_EXACT_PULLS) throw new RangeError(`exact bandit scores enumerate 2^pulls reward sequences: at most ${MAX_EXACT_PULLS} pulls, got ${pulls}`);
  const lanes = 2 ** pulls;
  const policy = algorithm.explorationPolicy(lanes, { seed: 0, deterministic: true });
  const wins = new Int32Array(lanes * arms), losses = new Int32Array(lanes * arms);
  const obs = new Float32Array(lanes), rewards = new Float32Array(lanes), dones = new Float32Array(lanes).fill(1);
  try {
    for (let t = 0; t < pulls; t++) {
      const actions = policy.act(obs);
      for (let i = 0; i < lanes; i++) {
        // Lane i's reward at pull t is bit t of i.
        rewards[i] = (i >> t) & 1;
        (rewards[i] ? wins : losses)[i * arms + actions[i]]++;
      }
      policy.observe(rewards, dones);
    }
  } finally {
    policy.dispose();
  }
  let expected = 0;
  for (let i = 0; i < lanes; i++) {
    let probability = 1, successes = 0;
    for (let k = 0; k < arms; k++) {
      probability *= betaIntegral(wins[i * arms + k], losses[i * arms + k]);
      successes += wins[i * arms + k];
    }
    expected += probability * successes;
  }
  return expected;
}
