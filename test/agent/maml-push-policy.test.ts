// The shipped MAML ML1-push policy (checkpoints/maml-ml1-push.json, scenarios/maml-ml1-push.yaml): a policy
// with a latent input, cloned from push's goal-knowing expert with the goal's code as the latent. Before
// adaptation each episode carries the puck to a guess drawn from the latent's Gaussian; the inner step moves
// the Gaussian's mean towards the guesses that earned more. On goals it never trained on, the bar:
// 70 % after adaptation, and the step must add success rather than cost it.

import { beforeAll, describe, expect, it } from 'vitest';
import { chooseBackend } from '../../agent/backend.ts';
import { learnerFromCheckpoint } from '../../agent/algorithms.ts';
import { readCheckpoint } from '../../agent/checkpoint.ts';
import { distributionByName } from '../../agent/distributions.ts';
import { evaluate } from '../../agent/evaluate.ts';

beforeAll(async () => { await chooseBackend('wasm'); });

describe('the shipped MAML push policy', () => {
  it('moves the puck onto at least 70 % of fresh held-out goals after its inner step, at least 15 points more than before it', async () => {
    // Loaded as `metamanip eval` loads it.
    const maml = await learnerFromCheckpoint(readCheckpoint('checkpoints/maml-ml1-push.json'));
    try {
      // Benchmark seed 5: goals neither its training (seed 1) nor the documented test draws used.
      const report = await evaluate(maml, distributionByName('ML1:push', { seed: 5 }), { split: 'test', tasks: 10, evaluationSeed: 4 });
      expect(report.after!.successRate).toBeGreaterThanOrEqual(0.7);
      expect(report.after!.successRate - report.before.successRate).toBeGreaterThanOrEqual(0.15);
    } finally {
      maml.dispose();
    }
  }, 120_000);
});
