import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { chooseBackend } from '../../agent/backend.ts';
import { createEnvBatch } from '../../agent/batch-env.ts';
import { distributionByName } from '../../agent/distributions.ts';
import { readCheckpoint, readRl2Checkpoint } from '../../agent/checkpoint.ts';
import { evaluate } from '../../agent/evaluate.ts';
import { PPO_DEFAULTS } from '../../agent/ppo.ts';
import { RL2_DEFAULTS, Rl2 } from '../../agent/rl2.ts';
import { RunDir } from '../../agent/run.ts';
import { banditDistribution } from '../../agent/tabular.ts';
import { beatsBest, initFromCheckpoint, readTrainConfig, train } from '../../agent/trainer.ts';
import { resolveScenario } from '../../scenarios/scenario.ts';
import { trainCommand } from '../../scenarios/train.ts';
import { expectResumedExactly } from './killed-run.ts';

beforeAll(async () => { await chooseBackend('wasm'); });

const temporary = () => mkdtempSync(join(tmpdir(), 'metamanip-agent-'));

describe('RL2 training', () => {
  it('learns to beat random play on 5-armed bandits within a short run', async () => {
    const bandit = banditDistribution({ arms: 5, pulls: 10, seed: 0 });
    const config = { ...RL2_DEFAULTS, tasksPerIteration: 100, episodesPerTrial: 10, hidden: 16, bpttSteps: 10, ppo: { ...PPO_DEFAULTS, epochs: 8, minibatches: 2, learningRate: 0.01, entropyCoef: 0.001, lambda: 0.3 } };
    const rl2 = new Rl2(bandit.spec, config, 1);
    const envs = await createEnvBatch(bandit, config.tasksPerIteration);
    const before = await evaluate(rl2, bandit, { tasks: 500 });
    for (let i = 0; i < 35; i++) rl2.iterate(envs, bandit, i, 35);
    const after = await evaluate(rl2, bandit, { tasks: 500 });
    // Random play scores 0.5 per pull (5.0); the standard error over 500 tasks is about 0.08.
    expect(before.meanTrialReturn).toBeLessThan(5.3);
    expect(after.meanTrialReturn).toBeGreaterThan(5.5);
    rl2.dispose();
  }, 60_000);
});

describe('sampling in worker threads', () => {
  // One short ML10 iteration (8 lanes of every train family mix, one 500-step episode each): the
  // lanes step in two worker threads when asked, and the run is the same number for number.
  const ml10Scenario = (workers: number) => resolveScenario({
    name: `ml10-w${workers}`, benchmark: 'ML10', seed: 5, iterations: 2, workers,
    rl2: { tasksPerIteration: 8, episodesPerTrial: 1, hidden: 8, bpttSteps: 100, ppo: { epochs: 1, minibatches: 2 } },
    evaluation: { every: 0 },
  });

  it('trains ML10 with workers: 2 in two worker threads, bit-identical to workers: 0', async () => {
    const config = ml10Scenario(2);
    const batch = await createEnvBatch(distributionByName('ML10', { seed: 5 }), 8, { workers: config.workers });
    expect(batch.workers).toBe(2);
    await batch.close();
    const runs = [];
    for (const workers of [0, 2]) {
      const dir = join(temporary(), 'run');
      await train(ml10Scenario(workers), { runDir: dir, quiet: true, backend: 'wasm', maxIterations: 1 });
      const run = new RunDir(dir);
      const session = JSON.parse(readFileSync(run.metadataPath, 'utf8')).sessions[0];
      expect(session.samplingWorkers).toBe(workers);
      const timing = /Seconds$|PerSecond$/;
      const row = Object.fromEntries(Object.entries(run.rows()[0]).filter(([key]) => !timing.test(key)));
      runs.push({ row, params: readCheckpoint(run.latestCheckpoint()!).state.params });
    }
    expect(runs[0].row.envSteps).toBe(8 * 500);
    expect(Number.isFinite(runs[0].row.policyLoss)).toBe(true);
    expect(runs[1].row).toEqual(runs[0].row);
    expect(runs[1].params).toEqual(runs[0].params);
  }, 180_000);

  it('refuses workers for distributions without physics, before a run starts', () => {
    expect(() => resolveScenario({ benchmark: 'bandit:k5n10', iterations: 1, workers: 2 })).toThrow(/workers: only simulator benchmarks step in worker threads; bandit:k5n10 runs in the main thread \(set workers: 0\)/);
  });
});

const tinyScenario = (iterations: number) => ({
  name: 'tiny', benchmark: 'bandit:k5n10', seed: 3, iterations,
  rl2: { tasksPerIteration: 200, hidden: 24, ppo: { epochs: 2, minibatches: 2 } },
  evaluation: { every: 4, tasks: 200 },
  checkpoints: { keepLast: 2 },
});

describe('runs and checkpoints', () => {
  it('keeps as best the higher validation success, and on equal success the higher trial return', () => {
    expect(beatsBest(null, 0.2, 10)).toBe(true);
    const best = { score: 1, iteration: 39, trialReturn: 62_000 };
    expect(beatsBest(best, 0.98, 70_000)).toBe(false);
    expect(beatsBest(best, 1, 61_000)).toBe(false);
    expect(beatsBest(best, 1, 62_000)).toBe(false);
    expect(beatsBest(best, 1, 63_000)).toBe(true);
    // A best from before trial returns were kept loses a tie to any return.
    expect(beatsBest({ score: 1, iteration: 39 }, 1, -5)).toBe(true);
  });

  it('writes a run folder and a checkpoint that reloads into the same policy', async () => {
    const dir = join(temporary(), 'run');
    const config = resolveScenario(tinyScenario(4));
    const result = await train(config, { runDir: dir, quiet: true, backend: 'wasm' });
    expect(result.finished).toBe(true);
    const run = new RunDir(dir);
    expect(run.rows().map((r) => r.iteration)).toEqual([0, 1, 2, 3]);
    expect(readFileSync(run.progressPath, 'utf8').split('\n')[0]).toContain('stepsPerSecond,samplingSeconds,learningSeconds,evaluationSeconds');
    const metadata = JSON.parse(readFileSync(run.metadataPath, 'utf8'));
    expect(metadata.backend.backend).toBe('wasm');
    expect(metadata.versions.tfjs).toBe('4.22.0');
    expect(run.checkpointFiles().map((f) => f.slice(-16))).toEqual(['iter-000002.json', 'iter-000003.json']);
    const checkpoint = readRl2Checkpoint(run.bestPath);
    expect(checkpoint.iteration).toBe(3);
    // Reload into a fresh network: the same weights give the same evaluation, number for number.
    const bandit = banditDistribution({ arms: 5, pulls: 10, seed: 3 });
    const reloaded = new Rl2(checkpoint.spec, checkpoint.config, checkpoint.seed);
    reloaded.load(checkpoint.state);
    const report = await evaluate(reloaded, bandit, { tasks: 200, split: 'validation' });
    expect(report.meanTrialReturn).toBe(result.lastEvaluation!.meanTrialReturn);
    expect(reloaded.net.params.toJSON()).toEqual(checkpoint.state.params);
    reloaded.dispose();
    // A corrupt file is refused with a message naming it.
    writeFileSync(join(dir, 'bad.json'), '{"format": "something else"}');
    expect(() => readCheckpoint(join(dir, 'bad.json'))).toThrow(/bad\.json is not a metamanip checkpoint/);
  }, 60_000);

  it('starts a run from another run\'s weights with initFrom (fresh optimiser), and names a checkpoint that does not fit', async () => {
    const root = temporary();
    const source = join(root, 'source');
    await train(resolveScenario(tinyScenario(2)), { runDir: source, quiet: true, backend: 'wasm' });
    const sourceCheckpoint = readCheckpoint(new RunDir(source).bestPath);
    // Same network and benchmark: the weights are copied exactly, Adam starts again.
    const bandit = banditDistribution({ arms: 5, pulls: 10, seed: 3 });
    const config = resolveScenario({ ...tinyScenario(1), initFrom: source });
    expect(config.initFrom).toBe(source);
    const rl2 = new Rl2(bandit.spec, config.rl2!, config.seed);
    const loaded = initFromCheckpoint(rl2, source, bandit);
    expect(loaded).toEqual({ path: join(source, 'checkpoints/best.json'), iteration: 1, envSteps: 4000 });
    expect(rl2.state().params).toEqual(sourceCheckpoint.state.params);
    expect(rl2.optimizer.steps).toBe(0);
    rl2.dispose();
    // A run with it counts env steps on from the source's and records where it started in its config.
    const dir = join(root, 'tuned');
    const result = await train(config, { runDir: dir, quiet: true, backend: 'wasm' });
    expect(result.envSteps).toBe(4000 + 2000);
    expect(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')).initFrom).toBe(source);
    // A network of another size, or another benchmark, is refused by name.
    const wider = resolveScenario({ ...tinyScenario(1), initFrom: source, rl2: { ...tinyScenario(1).rl2, hidden: 32 } });
    await expect(train(wider, { runDir: join(root, 'wider'), quiet: true, backend: 'wasm' })).rejects.toThrow(/initFrom: .* does not fit this run's network/);
    expect(existsSync(join(root, 'wider'))).toBe(false);
    await expect(train(resolveScenario({ ...tinyScenario(1), initFrom: join(root, 'nothing-here') }), { runDir: join(root, 'missing'), quiet: true, backend: 'wasm' }))
      .rejects.toThrow(/initFrom: no such checkpoint or run folder/);
    const other = resolveScenario({ ...tinyScenario(1), benchmark: 'bandit:k3n10', initFrom: source });
    await expect(train(other, { runDir: join(root, 'other'), quiet: true, backend: 'wasm' })).rejects.toThrow(/initFrom: .* was trained on bandit:k5n10, whose observation and action spaces .* differ from bandit:k3n10's/);
    // The same spaces on another benchmark (longer trials) is a transfer, and allowed.
    const longer = resolveScenario({ ...tinyScenario(1), benchmark: 'bandit:k5n20', initFrom: source, iterations: 1 });
    const transferred = await train(longer, { runDir: join(root, 'longer'), quiet: true, backend: 'wasm' });
    expect(transferred.envSteps).toBeGreaterThan(4000);
  }, 60_000);

  it('reads runs and checkpoints saved before learnerThreads and fastKernels as they ran, and resumes them with their own settings', async () => {
    for (const dir of ['training/ml1-reach', 'training/tabular-mdp-n10']) {
      const saved = readTrainConfig(dir);
      expect([saved.learnerThreads, saved.rl2!.fastKernels]).toEqual([1, false]);
    }
    expect(readRl2Checkpoint('training/ml1-reach/checkpoints/best.json').config.fastKernels).toBe(false);
    // A run folder as written before the settings existed: its config.json without them.
    const dir = join(temporary(), 'old');
    const old = { ...tinyScenario(2), learnerThreads: 1, rl2: { ...tinyScenario(2).rl2, fastKernels: false } };
    await train(resolveScenario(old), { runDir: dir, quiet: true, backend: 'wasm', maxIterations: 1 });
    const configPath = join(dir, 'config.json');
    const stored = JSON.parse(readFileSync(configPath, 'utf8'));
    delete stored.learnerThreads;
    delete stored.rl2.fastKernels;
    writeFileSync(configPath, JSON.stringify(stored));
    // A scenario that takes today's defaults is not the run's: resuming with it is refused, naming what changed.
    await expect(train(resolveScenario(tinyScenario(2)), { runDir: dir, resume: true, quiet: true, backend: 'wasm' }))
      .rejects.toThrow(/the scenario changed since the run started \((rl2, learnerThreads|learnerThreads, rl2)\)/);
    // Without a scenario, the run continues with the settings it started with.
    const result = await trainCommand(undefined, { runDir: dir, resume: true, quiet: true, backend: 'wasm' });
    expect(result.finished).toBe(true);
    expect(JSON.parse(readFileSync(new RunDir(dir).metadataPath, 'utf8')).sessions.map((s: { learnerThreads: number }) => s.learnerThreads)).toEqual([1, 1]);
    await expect(trainCommand(undefined, { runDir: join(dir, 'nothing'), resume: true, quiet: true })).rejects.toThrow(/cannot resume: .*nothing holds no run \(no config.json\)/);
  }, 60_000);

  it('resumes a killed training process and ends with the numbers of a run that was never stopped', async () => {
    const root = temporary();
    const scenario = join(root, 'tiny.yaml');
    writeFileSync(scenario, JSON.stringify({ kind: 'train', ...tinyScenario(12) }));
    // Killed for real (SIGKILL) once a few iterations are checkpointed, beside a reference run never stopped.
    const { straight, killed, lastBefore } = await expectResumedExactly(scenario, root, { iterations: 12, killAfter: 4, pollMs: 10 });
    const victim = new RunDir(killed);
    // The evaluations' adaptation curves too: none lost, none logged twice.
    expect(victim.evaluations().map((e) => e.iteration)).toEqual([3, 7, 11]);
    expect(victim.evaluations()).toEqual(new RunDir(straight).evaluations());
    expect(JSON.parse(readFileSync(victim.metadataPath, 'utf8')).sessions.map((s: { fromIteration: number }) => s.fromIteration)).toEqual([0, lastBefore + 1]);
  }, 120_000);
});
