// The shipped ML1-reach policy that acts with its mean action (checkpoints/ml1-reach-mean.json: RL2
// that cloned reach's climbing searcher, scenarios/ml1-reach-mean.yaml). Without action noise it finds
// goals it never trained on, and in later episodes goes back to them in at most half the steps.

import { beforeAll, describe, expect, it } from 'vitest';
import { chooseBackend } from '../../agent/backend.ts';
import { learnerFromCheckpoint } from '../../agent/algorithms.ts';
import { readCheckpoint } from '../../agent/checkpoint.ts';
import { distributionByName } from '../../agent/distributions.ts';
import { evaluate } from '../../agent/evaluate.ts';

beforeAll(async () => { await chooseBackend('wasm'); });

describe('the shipped mean-action reach policy', () => {
  it('finds fresh held-out goals acting with its mean action, and reaches them again in at most half the first episode\'s steps', async () => {
    // Loaded as `metamanip eval` loads it.
    const rl2 = await learnerFromCheckpoint(readCheckpoint('checkpoints/ml1-reach-mean.json'));
    try {
      // Benchmark seed 5: goals neither its training (seed 1) nor the documented test draws used.
      const report = await evaluate(rl2, distributionByName('ML1:reach', { seed: 5 }), { split: 'test', tasks: 8, deterministic: true });
      expect(report.before.successRate).toBe(1);
      expect(report.after!.successRate).toBe(1);
      const first = report.byEpisode[0].medianStepsToSuccess!;
      for (const episode of report.byEpisode.slice(1)) expect(episode.medianStepsToSuccess!).toBeLessThanOrEqual(first / 2);
    } finally {
      rl2.dispose();
    }
  }, 120_000);
});
