import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { chooseBackend } from '../../agent/backend.ts';
import { createEnvBatch } from '../../agent/batch-env.ts';
import { readCheckpoint } from '../../agent/checkpoint.ts';
import { QNetwork } from '../../agent/dqn.ts';
import { evaluate } from '../../agent/evaluate.ts';
import { CoordinateLstm, LEARNED_OPTIMIZER_DEFAULTS, LearnedOptimizerLearner, LstmInnerOptimizer, type TruncationResult } from '../../agent/learned-optimizer.ts';
import { rngFor } from '../../agent/random.ts';
import { RunDir } from '../../agent/run.ts';
import { tabularMdpDistribution } from '../../agent/tabular.ts';
import { train } from '../../agent/trainer.ts';
import { resolveScenario } from '../../scenarios/scenario.ts';
import { expectResumedExactly } from './killed-run.ts';

beforeAll(async () => { await chooseBackend('wasm'); });

const temporary = () => mkdtempSync(join(tmpdir(), 'metamanip-learned-optimizer-'));

/**
 * A tiny unroll of the learned optimiser on a known loss sequence: step s has the quadratic loss
 * 0.5 sum_k scale[s][k] (theta_k - centre[s][k])^2, so its gradient at any theta is exact. With `frozen`,
 * the LSTM reads those recorded inputs instead of the gradients at the current weights (the L2L
 * simplification made literal), and the meta-loss is the sum of the losses after each update.
 */
function tinyUnroll(lstm: CoordinateLstm, weights: Float64Array, steps: number, frozen?: Float64Array[]) {
  const P = 4;
  const rng = rngFor(3, 'tiny-unroll');
  const scale = Array.from({ length: steps + 1 }, () => Float64Array.from({ length: P }, () => rng.uniform(0.5, 2)));
  const centre = Array.from({ length: steps + 1 }, () => Float64Array.from({ length: P }, () => rng.uniform(-1, 1)));
  const lossAt = (s: number, theta: Float64Array) => {
    const gradient = new Float64Array(P);
    let loss = 0;
    for (let k = 0; k < P; k++) {
      const d = theta[k] - centre[s][k];
      loss += 0.5 * scale[s][k] * d * d;
      gradient[k] = scale[s][k] * d;
    }
    return { loss, gradient };
  };
  const results: TruncationResult[] = [];
  const inputs: Float64Array[] = [];
  const optimizer = new LstmInnerOptimizer(lstm, weights, { truncation: steps, onTruncation: (r) => { results.push(r); return weights; } });
  const theta = Float64Array.from({ length: P }, (_, k) => 0.3 * (k - 1.5));
  let metaLoss = 0;
  for (let s = 0; s <= steps; s++) {
    const { loss, gradient } = lossAt(s, theta);
    if (s > 0) metaLoss += loss;
    if (s === steps) { optimizer.finish([theta], [gradient], [loss]); break; }
    inputs.push(Float64Array.from(gradient));
    optimizer.step([theta], [frozen ? Float64Array.from(frozen[s]) : gradient], [loss]);
  }
  return { metaLoss, result: results[0], inputs };
}

describe('the learned optimiser (coordinate-wise LSTM)', () => {
  it('gives the meta-gradient of a truncated unroll that central finite differences give, gradients taken as inputs (L2L)', () => {
    const lstm = new CoordinateLstm(3, 0.5, 10);
    const weights = lstm.init(7);
    // Larger weights than the initial ones, so every gate is far from its linear regime.
    for (let k = 0; k < weights.length; k++) weights[k] *= 8;
    const steps = 5;
    const base = tinyUnroll(lstm, weights, steps);
    expect(base.result.steps).toBe(steps);
    expect(base.result.metaLoss).toBeCloseTo(base.metaLoss, 12);
    const epsilon = 1e-6;
    let largest = 0;
    for (let k = 0; k < lstm.size; k++) {
      const moved = (sign: number) => { const w = Float64Array.from(weights); w[k] += sign * epsilon; return tinyUnroll(lstm, w, steps, base.inputs).metaLoss; };
      const fd = (moved(1) - moved(-1)) / (2 * epsilon);
      largest = Math.max(largest, Math.abs(fd));
      expect(Math.abs(fd - base.result.gradient[k]), `weight ${k}: finite differences ${fd}, backpropagation ${base.result.gradient[k]}`).toBeLessThan(1e-6 * (1 + Math.abs(fd)));
    }
    // Not vacuous: the meta-loss does depend on the weights.
    expect(largest).toBeGreaterThan(0.01);
    // And the simplification is one: letting the inputs follow the weights changes the meta-loss's slope.
    const k = lstm.size - 2;
    const free = (sign: number) => { const w = Float64Array.from(weights); w[k] += sign * 1e-4; return tinyUnroll(lstm, w, steps).metaLoss; };
    expect(Math.abs((free(1) - free(-1)) / 2e-4 - base.result.gradient[k])).toBeGreaterThan(1e-4);
  });

  it('backpropagates the Q-network\'s TD loss as finite differences do', () => {
    const network = new QNetwork(3, 4, 2);
    const theta = network.init(rngFor(1, 'q'));
    const obs = Float32Array.of(0.5, -1, 2);
    const loss = (t: Float64Array) => network.accumulate(t, obs, 0, 1, 0.7, 0.5, new Float64Array(network.size), new Float64Array(2));
    const gradient = new Float64Array(network.size);
    network.accumulate(theta, obs, 0, 1, 0.7, 0.5, gradient, new Float64Array(2));
    for (let k = 0; k < network.size; k++) {
      const plus = Float64Array.from(theta), minus = Float64Array.from(theta);
      plus[k] += 1e-6; minus[k] -= 1e-6;
      expect(Math.abs((loss(plus) - loss(minus)) / 2e-6 - gradient[k])).toBeLessThan(1e-7);
    }
  });

  it('meta-trains bit-for-bit the same from the same seed, and its DQN learns the tasks it is given', async () => {
    const distribution = tabularMdpDistribution({ episodes: 3, seed: 1 });
    const settings = { ...LEARNED_OPTIMIZER_DEFAULTS, tasksPerIteration: 3, lstmHidden: 5, truncation: 10 };
    const run = async () => {
      const learner = new LearnedOptimizerLearner(distribution.spec, settings, 5);
      const envs = await createEnvBatch(distribution, 3);
      const stats = [learner.iterate(envs, distribution, 0), learner.iterate(envs, distribution, 1)];
      await envs.close();
      const state = learner.state();
      const report = await evaluate(learner, distribution, { tasks: 20, split: 'validation' });
      learner.dispose();
      return { metrics: stats.map((s) => s.metrics), returns: stats.map((s) => s.meanTrialReturn), state, report: report.meanTrialReturn };
    };
    const [a, b] = [await run(), await run()];
    expect(a).toEqual(b);
    // Three truncations of 10 steps per trial of 30: three meta steps per iteration, six Adam steps in all.
    expect(a.metrics[0].metaSteps).toBe(3);
    expect(a.state.optimizer!.t).toBe(6);
    expect(a.report).toBeGreaterThan(0);
  }, 30_000);

  it('refuses continuous benchmarks and another algorithm\'s settings, naming them', () => {
    expect(() => resolveScenario({ benchmark: 'ML1:reach', algorithm: 'dqn-learned-optimizer', iterations: 1 }))
      .toThrow(/algorithm: dqn-learned-optimizer acts in discrete action spaces, and ML1:reach has box actions; .*dqn-learned-optimizer trains on bandit:k<arms>n<pulls>, tabular-mdp:n<episodes>/);
    expect(() => resolveScenario({ benchmark: 'tabular-mdp:n10', algorithm: 'dqn-adam', iterations: 1, dqn: { lstmHidden: 8 } }))
      .toThrow(/dqn\.lstmHidden: lstmHidden is dqn-learned-optimizer's setting; dqn-adam does not use it/);
    expect(() => resolveScenario({ benchmark: 'tabular-mdp:n10', algorithm: 'dqn-learned-optimizer', iterations: 1, dqn: { truncation: 0 } }))
      .toThrow(/dqn\.truncation: /);
    expect(() => resolveScenario({ benchmark: 'tabular-mdp:n10', algorithm: 'dqn-learned-optimizer', iterations: 1, dqn: { learningRate: 0.1 } }))
      .toThrow(/dqn\.learningRate: unknown key/);
  });

  it('tunes Adam\'s learning rate on training tasks through the trainer, and evaluates it with its own protocol', async () => {
    const dir = join(temporary(), 'adam');
    const config = resolveScenario({ name: 'a', benchmark: 'bandit:k5n10', seed: 1, algorithm: 'dqn-adam', iterations: 3, dqn: { tasksPerIteration: 20, learningRates: [0.001, 0.1] }, evaluation: { every: 3, tasks: 50 } });
    const result = await train(config, { runDir: dir, quiet: true, backend: 'wasm' });
    expect(result.envSteps).toBe(3 * 2 * 20 * 10);
    const rows = new RunDir(dir).rows();
    expect(rows[2].learningRate).toBe(0.1);
    expect(readCheckpoint(new RunDir(dir).bestPath).algorithm).toBe('dqn-adam');
  }, 30_000);

  it('resumes a killed run and ends with the numbers and weights of a run that was never stopped', async () => {
    const root = temporary();
    const scenario = join(root, 'lo.yaml');
    writeFileSync(scenario, JSON.stringify({
      kind: 'train', name: 'lo', benchmark: 'bandit:k5n10', seed: 3, algorithm: 'dqn-learned-optimizer', iterations: 16,
      dqn: { tasksPerIteration: 4, lstmHidden: 6, truncation: 5 }, evaluation: { every: 8, tasks: 20 }, checkpoints: { keepLast: 2 },
    }));
    const { final } = await expectResumedExactly(scenario, root, { iterations: 16, killAfter: 5 });
    // Two truncations of 5 pulls per trial of 10: two meta steps an iteration.
    expect(final.killed.state.optimizer!.t).toBe(32);
  }, 120_000);
});
