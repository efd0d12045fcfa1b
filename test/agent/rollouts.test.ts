// Sampling in lane groups (what rollout workers do) against sampling all lanes at once: the assembled
// groups are the same record, bit for bit, for any cut; and the assembly refuses what does not fit.

import { beforeAll, describe, expect, it } from 'vitest';
import { chooseBackend } from '../../agent/backend.ts';
import { createEnvBatch } from '../../agent/batch-env.ts';
import { distributionByName } from '../../agent/distributions.ts';
import { RL2_DEFAULTS, Rl2, type Rl2Config, type Rl2Sample, sampleTrialLanes } from '../../agent/rl2.ts';
import { RECORD_ARRAYS, assembleSample, laneGroups, loadNetworkWeights, networkWeights } from '../../agent/rollouts.ts';
import { rl2Network } from '../../agent/rl2-network.ts';

beforeAll(async () => { await chooseBackend('wasm'); });

const bits = (sample: Rl2Sample) => ({
  arrays: Object.fromEntries(RECORD_ARRAYS.map((name) => [name, Buffer.from(sample.record[name].buffer, sample.record[name].byteOffset, sample.record[name].byteLength).toString('base64')])),
  trials: JSON.stringify(sample.trials),
});

describe('sampling in lane groups', () => {
  const cases: Array<[string, Partial<Rl2Config>]> = [
    ['ML1:reach', { hidden: 16, headMlp: [16], privilegedCritic: true, criticMlp: [16], normalizeInputs: true, rewardDeltaInput: true, episodesPerTrial: 1, bpttSteps: 100 }],
    ['tabular-mdp:n10', { hidden: 16, mlp: [8], previousObservation: true, observationActionInput: true, episodesPerTrial: 3, bpttSteps: 10 }],
  ];
  for (const [benchmark, settings] of cases) {
    it(`${benchmark}: groups of 1, 2 and 3 lanes give the record of all 5 lanes at once, bit for bit`, async () => {
      const distribution = distributionByName(benchmark, { seed: 4 });
      const config: Rl2Config = { ...RL2_DEFAULTS, ...settings, tasksPerIteration: 5 };
      const rl2 = new Rl2(distribution.spec, config, 9);
      // Input statistics that are not the initial ones, so that they must travel with the weights.
      const all = await createEnvBatch(distribution, 5);
      const warmup = rl2.sampleTrials(all, distribution, 0);
      rl2.net.updateInputStats(warmup.record.inputs, warmup.record.lanes * warmup.record.steps);
      const whole = rl2.sampleTrials(all, distribution, 1);
      await all.close();
      // A worker's network: built from the settings and seed, then loaded with the published weights.
      const worker = rl2Network(distribution.spec, config, 9);
      loadNetworkWeights(worker, networkWeights(rl2.net));
      for (const perGroup of [1, 2, 3]) {
        const parts = [];
        for (const group of laneGroups(5, perGroup)) {
          const envs = await createEnvBatch(distribution, group.count);
          parts.push({ group, sample: sampleTrialLanes(worker, config, 9, distribution, envs, 1, group) });
          await envs.close();
        }
        expect(bits(assembleSample(rl2.net, config, distribution.spec, parts))).toEqual(bits(whole));
      }
      worker.dispose();
      rl2.dispose();
    }, 120_000);
  }

  it('cuts lanes into groups in lane order and refuses what does not fit', async () => {
    expect(laneGroups(7, 3)).toEqual([{ first: 0, count: 3 }, { first: 3, count: 3 }, { first: 6, count: 1 }]);
    expect(laneGroups(2, 5)).toEqual([{ first: 0, count: 2 }]);
    expect(() => laneGroups(4, 0)).toThrow(/lanes per group must be a whole number >= 1, got 0/);
    const distribution = distributionByName('bandit:k5n10', { seed: 0 });
    const config = { ...RL2_DEFAULTS, tasksPerIteration: 4, episodesPerTrial: 10, hidden: 8, bpttSteps: 10 };
    const rl2 = new Rl2(distribution.spec, config, 1);
    const envs = await createEnvBatch(distribution, 2);
    const a = sampleTrialLanes(rl2.net, config, 1, distribution, envs, 0, { first: 0, count: 2 });
    const b = sampleTrialLanes(rl2.net, config, 1, distribution, envs, 0, { first: 2, count: 2 });
    expect(() => sampleTrialLanes(rl2.net, config, 1, distribution, envs, 0, { first: 3, count: 2 })).toThrow(/lanes 3 to 4 are not within the 4 lanes of an iteration/);
    expect(() => sampleTrialLanes(rl2.net, config, 1, distribution, envs, 0, { first: 0, count: 1 })).toThrow(/1 lanes to sample on an env batch of 2/);
    const spec = distribution.spec;
    expect(() => assembleSample(rl2.net, config, spec, [{ group: { first: 0, count: 2 }, sample: a }])).toThrow(/lanes 2, 3 were not sampled/);
    expect(() => assembleSample(rl2.net, config, spec, [{ group: { first: 0, count: 2 }, sample: a }, { group: { first: 1, count: 2 }, sample: b }])).toThrow(/lane 1 comes from more than one group/);
    expect(() => assembleSample(rl2.net, config, spec, [{ group: { first: 0, count: 3 }, sample: a }])).toThrow(/a record of 2 lanes x 10 steps \(chunks of 10\), expected 3 x 10/);
    expect(assembleSample(rl2.net, config, spec, [{ group: { first: 2, count: 2 }, sample: b }, { group: { first: 0, count: 2 }, sample: a }]).record.lanes).toBe(4);
    await envs.close();
    rl2.dispose();
  });
});
