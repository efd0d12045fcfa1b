// The shipped MAML ML1-push policy (checkpoints/maml-ml1-push.json: 60 clone iterations of push's
// goal-blind sweep searcher, scenarios/maml-ml1-push.yaml). On goals it never trained on it grasps the
// puck and sweeps it past most of them, before and after its inner step (the bar: 70 % after).

import { beforeAll, describe, expect, it } from 'vitest';
import { chooseBackend } from '../../agent/backend.ts';
import { learnerFromCheckpoint } from '../../agent/algorithms.ts';
import { readCheckpoint } from '../../agent/checkpoint.ts';
import { distributionByName } from '../../agent/distributions.ts';
import { evaluate } from '../../agent/evaluate.ts';

beforeAll(async () => { await chooseBackend('wasm'); });

describe('the shipped MAML push policy', () => {
  it('moves the puck onto at least 70 % of fresh held-out goals after its inner step', async () => {
    // Loaded as `metamanip eval` loads it.
    const maml = await learnerFromCheckpoint(readCheckpoint('checkpoints/maml-ml1-push.json'));
    try {
      // Benchmark seed 5: goals neither its training (seed 1) nor the documented test draws used.
      const report = await evaluate(maml, distributionByName('ML1:push', { seed: 5 }), { split: 'test', tasks: 10, evaluationSeed: 4 });
      expect(report.before.successRate).toBeGreaterThanOrEqual(0.7);
      expect(report.after!.successRate).toBeGreaterThanOrEqual(0.7);
    } finally {
      maml.dispose();
    }
  }, 120_000);
});
