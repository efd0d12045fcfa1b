import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FAMILIES, ML1, ML10, ML10_TEST_FAMILIES, ML10_TRAIN_FAMILIES, ML45_TEST_FAMILIES, MT10, MT10_FAMILIES, MT50_FAMILIES, benchmarkTask, makeEnv, parseBenchmark, taskTable } from '../../sim/index.ts';

describe('benchmarks', () => {
  it('registers every MT10 and ML10 family, each under its own name', () => {
    // Not an exact count: families are added as they are made (docs/FAMILIES.md lists them).
    expect(FAMILIES.size).toBeGreaterThanOrEqual(16);
    for (const [name, family] of FAMILIES) expect(family.name).toBe(name);
    for (const f of [...MT10_FAMILIES, ...ML10_TRAIN_FAMILIES, ...ML10_TEST_FAMILIES]) expect(FAMILIES.has(f)).toBe(true);
  });

  it('MT10: ten families x 50 goals, goal visible, 49-D observation with the family one-hot', () => {
    const mt10 = MT10(0);
    expect(mt10.train).toHaveLength(500);
    expect(mt10.test).toHaveLength(0);
    expect(new Set(mt10.train.map((t) => t.family))).toEqual(new Set(MT10_FAMILIES));
    const task = mt10.train.find((t) => t.family === 'drawer-open')!;
    const { obs } = makeEnv(mt10, task).reset();
    expect(obs.length).toBe(49);
    expect(obs[39 + MT10_FAMILIES.indexOf('drawer-open')]).toBe(1);
    expect(obs.subarray(39).reduce((a, b) => a + b, 0)).toBe(1);
    expect(obs[36] !== 0 || obs[37] !== 0 || obs[38] !== 0).toBe(true);
  });

  it('ML10: ten train families x 50 (seed), five held-out families x 50 (seed + 1), goal hidden', () => {
    const ml10 = ML10(4);
    expect(ml10.train).toHaveLength(500);
    expect(ml10.test).toHaveLength(250);
    expect(new Set(ml10.test.map((t) => t.family))).toEqual(new Set(ML10_TEST_FAMILIES));
    for (const t of ml10.test) expect(ML10_TRAIN_FAMILIES as readonly string[]).not.toContain(t.family);
    const { obs } = makeEnv(ml10, ml10.test[0]).reset();
    expect(obs.length).toBe(39);
    expect(Array.from(obs.subarray(36, 39))).toEqual([0, 0, 0]);
  });

  it('MT50 and ML45: all fifty families, MetaWorld order and held-out five; every task of them runs', () => {
    expect([...MT50_FAMILIES].sort()).toEqual([...FAMILIES.keys()].sort());
    const mt50 = parseBenchmark('MT50');
    expect(mt50.observationSpace.shape).toEqual([89]);
    expect(mt50.train).toHaveLength(2500);
    const ml45 = parseBenchmark('ML45', 3);
    expect(ml45.trainFamilies).toHaveLength(45);
    expect(ml45.testFamilies).toEqual(ML45_TEST_FAMILIES);
    expect(ml45.train).toHaveLength(2250);
    expect(ml45.test).toHaveLength(250);
    for (const f of ML45_TEST_FAMILIES) expect(ml45.trainFamilies).not.toContain(f);
    // One env goes through a task of every family: the one-hot slot follows MetaWorld's order.
    const env = makeEnv(mt50);
    for (const [slot, family] of MT50_FAMILIES.entries()) {
      const obs = env.reset({ task: mt50.train.find((t) => t.family === family)!, seed: 0 }).obs;
      expect(obs.subarray(39).indexOf(1), family).toBe(slot);
      expect(env.step([0, 0, 0, 0]).obs.every(Number.isFinite), family).toBe(true);
    }
    env.close();
  });

  it('pins the ML45 and MT50 task lists of seed 0 (families, counts, each family\'s first task)', () => {
    const pinned = JSON.parse(readFileSync(new URL('./golden/ml45-mt50-seed0.json', import.meta.url), 'utf8'));
    for (const name of ['ML45', 'MT50']) {
      const b = parseBenchmark(name, 0);
      const firsts = (split: 'train' | 'test') => Object.fromEntries([...new Set(b[split].map((t) => t.family))].map((f) => [f, b[split].find((t) => t.family === f)!.params.map((v) => Number(v.toFixed(6)))]));
      expect({ seed: 0, trainFamilies: b.trainFamilies, testFamilies: b.testFamilies, train: b.train.length, test: b.test.length, firstTrainTask: firsts('train'), firstTestTask: firsts('test') }, name).toEqual(pinned[name]);
    }
  });

  it('task lists are a pure function of the seed, and stable across versions', () => {
    expect(taskTable(ML10(0))).toEqual(taskTable(ML10(0)));
    expect(taskTable(MT10(3))).not.toEqual(taskTable(MT10(4)));
    // Golden values: changing the RNG, the sampling or a random box changes every published task list.
    const first = ML1('reach', 0).train[0].params;
    expect(first.map((v) => Number(v.toFixed(6)))).toEqual(GOLDEN_ML1_REACH_0);
  });

  it('parses benchmark names into values and rejects unknown ones, listing what exists', () => {
    const ml10 = parseBenchmark('ML10', 2);
    expect(ml10).toMatchObject({ name: 'ML10', seed: 2, goalVisible: false, oneHotFamilies: null, episodeSteps: 500 });
    expect(ml10.trainFamilies).toEqual(ML10_TRAIN_FAMILIES);
    expect(ml10.testFamilies).toEqual(ML10_TEST_FAMILIES);
    expect(ml10.observationSpace.shape).toEqual([39]);
    expect(ml10.actionSpace.shape).toEqual([4]);
    expect(parseBenchmark('MT10').observationSpace.shape).toEqual([49]);
    expect(parseBenchmark('MT1:sweep')).toMatchObject({ name: 'MT1:sweep', goalVisible: true, families: ['sweep'] });
    // A benchmark is plain data: it survives structured cloning (to worker threads) unchanged.
    expect(structuredClone(ml10)).toEqual(ml10);
    expect(() => parseBenchmark('ML46')).toThrow(/unknown benchmark 'ML46' \(did you mean 'ML45'\?\); expected one of: MT1:<family>, ML1:<family>, MT10, ML10, MT50, ML45 \(families: reach, push,/);
    expect(() => parseBenchmark('ML1:juggle')).toThrow(/unknown family 'juggle' in benchmark 'ML1:juggle'; families: reach, push/);
    expect(() => parseBenchmark('ML1:reach:2')).toThrow(/unknown benchmark 'ML1:reach:2'/);
    expect(() => parseBenchmark('ML10', -1)).toThrow(/ML10: seed must be a non-negative integer, got -1/);
  });

  it('hands out a task by split and index, or names the benchmark, what was given and what exists', () => {
    const ml10 = ML10(0);
    expect(benchmarkTask(ml10, 'train', 60).family).toBe('push');
    expect(benchmarkTask(ml10, 'test', 249).family).toBe('lever-pull');
    expect(() => benchmarkTask(ml10, 'test', 250)).toThrow(/task 250 is not a task of ML10 test; expected an index in \[0, 249\]/);
    expect(() => benchmarkTask(ml10, 'train', 1.5)).toThrow(/task 1.5 is not a task of ML10 train/);
    expect(() => benchmarkTask(ml10, 'valid' as 'train', 0)).toThrow(/ML10: split must be "train" or "test", got "valid"/);
    expect(() => benchmarkTask(MT10(0), 'test', 0)).toThrow(/MT10 has no test tasks \(it has 500 train tasks\); use split "train"/);
  });
});

const GOLDEN_ML1_REACH_0 = [-0.077975, 0.650619, 0.02, -0.044096, 0.87495, 0.227039];
