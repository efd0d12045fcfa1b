import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ALGORITHMS, ALGORITHM_NAMES, algorithmByName } from '../../agent/algorithms.ts';
import { chooseBackend } from '../../agent/backend.ts';
import { readCheckpoint } from '../../agent/checkpoint.ts';
import { loadPolicy } from '../../agent/policy.ts';
import { distributionByName } from '../../agent/distributions.ts';
import { RunDir } from '../../agent/run.ts';
import { readTrainConfig, train } from '../../agent/trainer.ts';
import { evalCommand } from '../../scenarios/eval.ts';
import { resolveScenario, scenarioJsonSchema } from '../../scenarios/scenario.ts';
import { expectResumedExactly } from './killed-run.ts';

beforeAll(async () => { await chooseBackend('wasm'); });

const temporary = () => mkdtempSync(join(tmpdir(), 'metamanip-algorithms-'));

describe('choosing the algorithm', () => {
  it('lists every registered algorithm once, each with settings its own schema accepts on a benchmark it supports', () => {
    expect(ALGORITHM_NAMES).toEqual(['rl2', 'maml', 'qtable-maml', 'qtable-reptile', 'qtable-zeros', 'mql', 'grbal', 'dqn-learned-optimizer', 'dqn-adam']);
    for (const algorithm of ALGORITHMS) {
      const benchmark = algorithm.actionKinds.includes('box') ? 'ML1:reach' : 'tabular-mdp:n10';
      const resolved = algorithm.resolve(undefined, distributionByName(benchmark));
      if ('problems' in resolved) throw new Error(resolved.problems[0].message);
      expect(algorithm.settingsSchema.safeParse(resolved.settings).success).toBe(true);
      expect(algorithm.withDefaults(resolved.settings)).toEqual(resolved.settings);
    }
    // Editors see the names (scenarios/scenario.schema.json is made from this).
    const train = (scenarioJsonSchema() as { oneOf: Array<{ properties: Record<string, { enum?: string[] }> }> }).oneOf[0];
    expect(train.properties.algorithm.enum).toEqual(ALGORITHM_NAMES);
  });

  it('refuses an unknown algorithm, naming the known ones and the likely one', () => {
    expect(() => resolveScenario({ benchmark: 'ML1:reach', algorithm: 'mamll', iterations: 1 }, 'x.yaml'))
      .toThrow(/x\.yaml(:\d+:\d+)?: algorithm: unknown algorithm 'mamll' \(did you mean 'maml'\?\); expected one of: rl2 \(RL2: .*\); maml \(MAML: .*\); qtable-maml/);
    expect(() => algorithmByName('ppo')).toThrow(/unknown algorithm 'ppo'; expected one of: rl2, maml, qtable-maml, qtable-reptile, qtable-zeros/);
  });

  it('refuses an algorithm that cannot act in the benchmark, naming the algorithms that can and the benchmarks it takes', () => {
    expect(() => resolveScenario({ benchmark: 'tabular-mdp:n10', algorithm: 'maml', iterations: 1 }))
      .toThrow(/algorithm: maml acts in box action spaces, and tabular-mdp:n10 has discrete actions; algorithms for tabular-mdp:n10: rl2, qtable-maml, qtable-reptile, qtable-zeros, dqn-learned-optimizer, dqn-adam; maml trains on simulator benchmarks \(ML1:<family>/);
    expect(() => resolveScenario({ benchmark: 'ML1:reach', algorithm: 'qtable-zeros', iterations: 1 }))
      .toThrow(/algorithm: qtable-zeros acts in discrete action spaces, and ML1:reach has box actions; algorithms for ML1:reach: rl2, maml, mql, grbal; qtable-zeros trains on bandit:k<arms>n<pulls>, tabular-mdp:n<episodes>/);
  });

  it('refuses another algorithm\'s settings, and learner threads where the algorithm has none', () => {
    expect(() => resolveScenario({ benchmark: 'ML1:reach', algorithm: 'maml', iterations: 1, rl2: { hidden: 8 } }))
      .toThrow(/rl2: settings of rl2, but the algorithm is maml \(its settings go under 'maml'\)/);
    expect(() => resolveScenario({ benchmark: 'tabular-mdp:n10', algorithm: 'qtable-maml', iterations: 1, learnerThreads: 2 }))
      .toThrow(/learnerThreads: qtable-maml learns in the main thread alone/);
    expect(() => resolveScenario({ benchmark: 'tabular-mdp:n10', algorithm: 'qtable-zeros', iterations: 1, qtable: { stepSize: 0.1 } }))
      .toThrow(/qtable\.stepSize: unknown key/);
    // RL2 as before: its block by default, two learner threads.
    const rl2 = resolveScenario({ name: 'b', benchmark: 'bandit:k5n10', iterations: 1 });
    expect(Object.keys(rl2)).toEqual(['name', 'benchmark', 'seed', 'algorithm', 'iterations', 'workers', 'learnerThreads', 'rl2', 'evaluation', 'checkpoints']);
    expect([rl2.algorithm, rl2.learnerThreads, rl2.rl2!.episodesPerTrial, rl2.rl2!.bpttSteps]).toEqual(['rl2', 2, 10, 10]);
    const q = resolveScenario({ name: 'q', benchmark: 'tabular-mdp:n10', algorithm: 'qtable-zeros', iterations: 1 });
    expect(Object.keys(q)).toEqual(['name', 'benchmark', 'seed', 'algorithm', 'iterations', 'workers', 'learnerThreads', 'qtable', 'evaluation', 'checkpoints']);
  });

  it('makes no run folder for a config the algorithm cannot run (configs built without a scenario too)', async () => {
    const root = temporary();
    const config = resolveScenario({ name: 'q', benchmark: 'tabular-mdp:n10', algorithm: 'qtable-zeros', iterations: 1 });
    await expect(train({ ...config, benchmark: 'ML1:reach' }, { runDir: join(root, 'a'), quiet: true, backend: 'wasm' })).rejects.toThrow(/algorithm: qtable-zeros acts in discrete action spaces/);
    await expect(train({ ...config, algorithm: 'nothing' }, { runDir: join(root, 'b'), quiet: true, backend: 'wasm' })).rejects.toThrow(/unknown algorithm 'nothing'/);
    await expect(train({ ...config, algorithm: 'rl2' }, { runDir: join(root, 'c'), quiet: true, backend: 'wasm' })).rejects.toThrow(/rl2: rl2 needs its settings under 'rl2'/);
    await expect(train({ ...config, learnerThreads: 3 }, { runDir: join(root, 'd'), quiet: true, backend: 'wasm' })).rejects.toThrow(/learnerThreads: qtable-zeros learns in the main thread alone/);
    for (const dir of ['a', 'b', 'c', 'd']) expect(existsSync(join(root, dir))).toBe(false);
  });
});

describe('checkpoints of any algorithm', () => {
  it('reads a checkpoint without an algorithm field as RL2\'s, the same settings and weights', () => {
    const original = JSON.parse(readFileSync('checkpoints/bandit-k5n10.json', 'utf8'));
    const { algorithm, ...withoutField } = original;
    expect(algorithm).toBe('rl2');
    const file = join(temporary(), 'old.json');
    writeFileSync(file, JSON.stringify(withoutField));
    const read = readCheckpoint(file);
    expect(read.algorithm).toBe('rl2');
    expect(read).toEqual(readCheckpoint('checkpoints/bandit-k5n10.json'));
  });

  it('checks a checkpoint\'s settings against its own algorithm\'s schema, and names an unknown algorithm', async () => {
    const dir = join(temporary(), 'run');
    const config = resolveScenario({ name: 'q', benchmark: 'tabular-mdp:n10', seed: 1, algorithm: 'qtable-maml', iterations: 2, qtable: { tasksPerIteration: 10, stepSizes: [0.5], explorations: [0], temperatures: [0.3], discounts: [0.9], tuneEvery: 1 }, evaluation: { every: 2, tasks: 20 } });
    await train(config, { runDir: dir, quiet: true, backend: 'wasm' });
    const file = new RunDir(dir).bestPath;
    const checkpoint = JSON.parse(readFileSync(file, 'utf8'));
    expect(checkpoint.algorithm).toBe('qtable-maml');
    expect(Object.keys(checkpoint.state.params)).toEqual(['level', 'offsets', 'scores']);
    const broken = join(dir, 'broken.json');
    writeFileSync(broken, JSON.stringify({ ...checkpoint, config: { ...checkpoint.config, stepSizes: [2] } }));
    expect(() => readCheckpoint(broken)).toThrow(/broken\.json is not a metamanip checkpoint .*: config\.stepSizes\.0: /);
    writeFileSync(broken, JSON.stringify({ ...checkpoint, algorithm: 'pearl' }));
    expect(() => readCheckpoint(broken)).toThrow(/algorithm: unknown algorithm 'pearl'/);
    // Its run folder resumes with its own settings, and `metamanip eval` scores it with its algorithm.
    expect(readTrainConfig(dir)).toEqual(config);
    const result = await evalCommand(dir, { tasks: 30, backend: 'wasm' });
    expect(result.algorithm).toBe('qtable-maml');
    expect(result.report.tasks).toBe(30);
    expect(result.report.meanTrialReturn).toBeGreaterThan(80);
    // The policy server serves RL2 and MAML checkpoints only, and says so.
    expect(() => loadPolicy(dir)).toThrow(/is a qtable-maml checkpoint; policies are served from rl2 and maml checkpoints/);
  }, 60_000);

  it('resumes a killed qtable-maml run and ends with the numbers of a run that was never stopped', async () => {
    const root = temporary();
    const scenario = join(root, 'q.yaml');
    writeFileSync(scenario, JSON.stringify({
      kind: 'train', name: 'q', benchmark: 'tabular-mdp:n10', seed: 4, algorithm: 'qtable-maml', iterations: 30,
      qtable: { tasksPerIteration: 100, stepSizes: [0.3, 0.5], explorations: [0.05], temperatures: [0.3, 1], discounts: [0.9], tuneEvery: 5 },
      evaluation: { every: 10, tasks: 100 }, checkpoints: { keepLast: 2 },
    }));
    const { final } = await expectResumedExactly(scenario, root, { iterations: 30, killAfter: 10 });
    expect(final.killed.state.optimizer!.t).toBeGreaterThan(20);
  }, 120_000);
});
