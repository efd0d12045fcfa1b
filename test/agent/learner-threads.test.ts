import { beforeAll, describe, expect, it } from 'vitest';
import { chooseBackend } from '../../agent/backend.ts';
import { LocalEnvBatch } from '../../agent/batch-env.ts';
import { RL2_DEFAULTS, Rl2 } from '../../agent/rl2.ts';
import { tabularMdpDistribution } from '../../agent/tabular.ts';
import { resolveScenario } from '../../scenarios/scenario.ts';

beforeAll(async () => { await chooseBackend('wasm'); });

const mdp = tabularMdpDistribution({ episodes: 2, horizon: 5, seed: 0 });
// 6 lanes x 2 chunks = 12 sequences, 6 per minibatch: parts of 3 (2 threads) or 2 (3 threads).
const config = {
  ...RL2_DEFAULTS, hidden: 8, headMlp: [8], tasksPerIteration: 6, episodesPerTrial: 2, bpttSteps: 5,
  normalizeInputs: true, privilegedCritic: true, criticMlp: [8], ppo: { ...RL2_DEFAULTS.ppo, epochs: 2, minibatches: 2 },
};

/** Every parameter after two training iterations with `threads` learner threads, as float32 arrays. */
async function trainedWeights(threads: number, options: { allInThisThread?: boolean; settings?: Partial<typeof config> } = {}): Promise<Map<string, Float32Array>> {
  const settings = { ...config, ...options.settings };
  const rl2 = new Rl2(mdp.spec, settings, 4);
  try {
    await rl2.startLearnerThreads(threads, { allInThisThread: options.allInThisThread });
    const envs = new LocalEnvBatch(mdp, settings.tasksPerIteration);
    for (let iteration = 0; iteration < 2; iteration++) rl2.iterate(envs, mdp, iteration, 2);
    return new Map([...rl2.net.params.vars].map(([name, v]) => [name, (v.dataSync() as Float32Array).slice()]));
  } finally {
    rl2.dispose();
  }
}

const bits = (weights: Map<string, Float32Array>) => [...weights].map(([name, w]) => [name, Buffer.from(w.buffer).toString('base64')]);

describe('learner threads', () => {
  it('give the same weights, bit for bit, run after run, and whether the parts run in threads or one after another here', async () => {
    const threads = await trainedWeights(2), again = await trainedWeights(2), here = await trainedWeights(2, { allInThisThread: true });
    expect(bits(again)).toEqual(bits(threads));
    expect(bits(here)).toEqual(bits(threads));
    // Three parts, one of them empty in a minibatch of fewer sequences than threads, add up the same way.
    const small = { tasksPerIteration: 1 };
    expect(bits(await trainedWeights(3, { settings: small }))).toEqual(bits(await trainedWeights(3, { settings: small, allInThisThread: true })));
  }, 60_000);

  it('build the same network and give the same bits with a separate value network, layer-normalised GRUs, a time input and AdamW', async () => {
    const settings = { separateValueNetwork: true, gruLayerNorm: true, valueTimeInput: true, ppo: { ...config.ppo, weightDecay: 0.01, normalizeAdvantages: false } };
    const threads = await trainedWeights(2, { settings }), here = await trainedWeights(2, { settings, allInThisThread: true });
    expect([...threads.keys()]).toContain('valueGru/gh');
    expect(bits(here)).toEqual(bits(threads));
    expect(bits(await trainedWeights(2, { settings }))).toEqual(bits(threads));
  }, 60_000);

  it('differ from one thread only by the order in which the parts\' gradients are added: the last bits', async () => {
    const one = await trainedWeights(1), two = await trainedWeights(2);
    let largest = 0, differing = 0;
    for (const [name, w] of one) {
      const v = two.get(name)!;
      w.forEach((x, i) => {
        if (x !== v[i]) differing++;
        largest = Math.max(largest, Math.abs(x - v[i]) / Math.max(1e-3, Math.abs(x)));
      });
    }
    expect(differing).toBeGreaterThan(0);
    expect(largest).toBeLessThan(1e-4);
  }, 60_000);

  it('refuse a thread count out of range, naming the setting', async () => {
    const rl2 = new Rl2(mdp.spec, config, 4);
    await expect(rl2.startLearnerThreads(0)).rejects.toThrow(/learnerThreads must be an integer from 1 to 16, got 0/);
    rl2.dispose();
    const scenario = (learnerThreads: unknown) => () => resolveScenario({ benchmark: 'bandit:k5n10', iterations: 1, learnerThreads });
    expect(scenario(0)).toThrow(/learnerThreads: expected 1 \(the main thread alone\) to 16 threads \(found 0\)/);
    expect(scenario(99)).toThrow(/learnerThreads: expected 1 to 16 threads .*\(found 99\)/);
    expect(scenario(1.5)).toThrow(/learnerThreads: expected a whole number of threads \(found 1.5\)/);
    expect(resolveScenario({ benchmark: 'bandit:k5n10', iterations: 1 }).learnerThreads).toBe(2);
  });
});
