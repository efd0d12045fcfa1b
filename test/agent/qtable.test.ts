import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { chooseBackend } from '../../agent/backend.ts';
import { createEnvBatch } from '../../agent/batch-env.ts';
import { evaluate } from '../../agent/evaluate.ts';
import { QLearningLanes, QTableLearner, qtableMaml, qtableZeros } from '../../agent/qtable.ts';
import { rngFor } from '../../agent/random.ts';
import { runTrials } from '../../agent/rollout.ts';
import { RunDir } from '../../agent/run.ts';
import { tabularMdpDistribution } from '../../agent/tabular.ts';
import { train } from '../../agent/trainer.ts';
import { resolveScenario } from '../../scenarios/scenario.ts';

beforeAll(async () => { await chooseBackend('wasm'); });

const mdps = tabularMdpDistribution({ episodes: 4, seed: 2 });
const E = 10 * 5;

/** One tracked trial of Q-learning from `q0` on `lanes` MDPs, the same tasks, env seeds and action streams every time. */
async function trial(q0: Float32Array, lanes = 3) {
  const tasks = mdps.trainTasks(0, lanes);
  const envs = await createEnvBatch(mdps, lanes);
  const policy = new QLearningLanes(lanes, 10, 5, q0, { stepSize: 0.4, exploration: 0.1, temperature: 0.5, discount: 0.8 }, tasks.map((_, i) => rngFor(9, 'a', i)), true);
  const stats = runTrials(envs, policy, tasks, 4, 123);
  await envs.close();
  return { policy, stats };
}

describe('Q-learning as a meta-learner', () => {
  // q0 in float32 with a perturbation of 2^-10, which float32 adds exactly: small enough that no action changes.
  const q0 = Float32Array.from({ length: E }, (_, k) => ((k * 37) % 11) / 11);
  const delta = 2 ** -10;
  const shifted = (k: number, sign: number) => { const q = Float32Array.from(q0); q[k] += sign * delta; return q; };

  it('carries d table / d q0 through its updates exactly (Q-learning is linear in the table once the actions are fixed)', async () => {
    const base = await trial(q0);
    for (const k of [0, 7, 23, 49]) {
      const moved = await trial(shifted(k, 1));
      // The same actions: the returns are the same to the bit.
      expect(moved.stats.trialReturns).toEqual(base.stats.trialReturns);
      for (let lane = 0; lane < 3; lane++) {
        for (let e = 0; e < E; e++) {
          const fd = (moved.policy.tables[lane][e] - base.policy.tables[lane][e]) / delta;
          expect(Math.abs(fd - base.policy.jacobians![lane][e * E + k])).toBeLessThan(1e-9);
        }
      }
    }
  });

  it('scores each action with the gradient of its log-probability: their sum matches finite differences of the trial\'s log-likelihood', async () => {
    const base = await trial(q0);
    const total = base.policy.scores!.map((steps) => steps.reduce((sum, score) => sum.map((v, k) => v + score[k]), new Float64Array(E)));
    expect(base.policy.scores![0].length).toBe(4 * 10);
    let largest = 0;
    for (const k of [0, 5, 18, 40]) {
      const [plus, minus] = [await trial(shifted(k, 1)), await trial(shifted(k, -1))];
      for (let lane = 0; lane < 3; lane++) {
        const fd = (plus.policy.logProbabilities![lane] - minus.policy.logProbabilities![lane]) / (2 * delta);
        largest = Math.max(largest, Math.abs(total[lane][k]));
        expect(Math.abs(fd - total[lane][k])).toBeLessThan(1e-5 * (1 + Math.abs(fd)));
      }
    }
    // Not vacuous: the scores are far from zero.
    expect(largest).toBeGreaterThan(0.1);
  });

  it('refuses a meta-gradient at temperature 0, and a scenario that asks for one', () => {
    expect(() => new QLearningLanes(1, 10, 5, q0, { stepSize: 0.5, exploration: 0, temperature: 0, discount: 1 }, [rngFor(1, 'a')], true)).toThrow(/temperature above 0/);
    expect(() => resolveScenario({ benchmark: 'tabular-mdp:n10', algorithm: 'qtable-maml', iterations: 1, qtable: { temperatures: [0.1, 0] } }))
      .toThrow(/qtable\.temperatures\[1\]: qtable-maml needs temperatures above 0/);
    expect(() => resolveScenario({ benchmark: 'tabular-mdp:n10', algorithm: 'qtable-zeros', iterations: 1, qtable: { learningRate: 0.1 } }))
      .toThrow(/qtable\.learningRate: qtable-zeros takes no gradient steps on q0/);
  });

  it('tunes on training tasks and acts with the best combination; the meta-gradient raises an all-zero start', async () => {
    const settings = { tasksPerIteration: 50, stepSizes: [0.3], explorations: [0], temperatures: [0.1, 1], discounts: [0.5], tuneEvery: 5, scoreMemory: 20, learningRate: 0.1, offsetDecay: 1, metaStepSize: 0.1 };
    const distribution = tabularMdpDistribution({ episodes: 10, seed: 1 });
    const learner = new QTableLearner('qtable-maml', distribution.spec, settings, 1);
    const envs = await createEnvBatch(distribution, 50);
    const first = learner.iterate(envs, distribution, 0);
    // A tuning iteration ran both temperatures on the same 50 MDPs (2 x 50 trials of 100 steps) and scored
    // them, then the best one again with its meta-gradient tracked; the others run only the best.
    expect(first.envSteps).toBe(3 * 50 * 100);
    expect(learner.iterate(envs, distribution, 1).envSteps).toBe(50 * 100);
    const scores = Array.from(learner.scores);
    expect(learner.chosen.temperature).toBe(scores[0] >= scores[1] ? 0.1 : 1);
    for (let i = 2; i < 20; i++) learner.iterate(envs, distribution, i);
    await envs.close();
    // Optimism pays on these MDPs (rewards ~ N(1, 1)): the gradient lifts the start table above zero.
    const q0 = learner.q0;
    expect(q0.reduce((a, b) => a + b, 0) / q0.length).toBeGreaterThan(0.05);
    const report = await evaluate(learner, distribution, { tasks: 100, split: 'validation' });
    expect(report.meanTrialReturn).toBeGreaterThan(110);
    learner.dispose();
  }, 60_000);

  it('trains and checkpoints through the trainer; zeros keeps its table at zero', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'metamanip-qtable-')), 'run');
    const config = resolveScenario({ name: 'q', benchmark: 'tabular-mdp:n10', seed: 1, algorithm: 'qtable-zeros', iterations: 2, qtable: { tasksPerIteration: 20, stepSizes: [0.5], explorations: [0, 0.1], temperatures: [0], discounts: [0.9] }, evaluation: { every: 2, tasks: 50 } });
    expect(config.learnerThreads).toBe(1);
    const result = await train(config, { runDir: dir, quiet: true, backend: 'wasm' });
    expect(result.envSteps).toBe(2 * 2 * 20 * 100);
    const row = new RunDir(dir).rows()[1];
    expect(row).toMatchObject({ q0Mean: 0, q0Std: 0, stepSize: 0.5, temperature: 0, discount: 0.9 });
    expect([0, 0.1]).toContain(row.exploration);
    expect(qtableZeros.settingsKey).toBe(qtableMaml.settingsKey);
  }, 60_000);
});
