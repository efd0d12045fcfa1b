import { describe, expect, it } from 'vitest';
import { FAMILIES, ML1, ML10, ML10_TEST_FAMILIES, ML10_TRAIN_FAMILIES, MT10, MT10_FAMILIES, benchmarkByName, makeEnv, taskTable } from '../../sim/index.ts';

describe('benchmarks', () => {
  it('registers all sixteen families', () => {
    expect(FAMILIES.size).toBe(16);
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

  it('task lists are a pure function of the seed, and stable across versions', () => {
    expect(taskTable(ML10(0))).toEqual(taskTable(ML10(0)));
    expect(taskTable(MT10(3))).not.toEqual(taskTable(MT10(4)));
    // Golden values: changing the RNG, the sampling or a random box changes every published task list.
    const first = ML1('reach', 0).train[0].params;
    expect(first.map((v) => Number(v.toFixed(6)))).toEqual(GOLDEN_ML1_REACH_0);
  });

  it('parses benchmark names and rejects unknown ones', () => {
    expect(benchmarkByName('ML10', 2).name).toBe('ML10');
    expect(benchmarkByName('MT1:sweep').name).toBe('MT1:sweep');
    expect(() => benchmarkByName('ML46')).toThrow(/unknown benchmark 'ML46'; expected one of: MT1:<family>, ML1:<family>, MT10, ML10/);
  });
});

const GOLDEN_ML1_REACH_0 = [-0.077975, 0.650619, 0.02, -0.044096, 0.87495, 0.227039];
