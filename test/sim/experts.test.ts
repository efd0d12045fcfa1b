import { describe, expect, it } from 'vitest';
import { FAMILIES, ML1, ML10, ML10_TEST_FAMILIES, ML10_TRAIN_FAMILIES, runExpert } from '../../sim/index.ts';

// The full 50 + 50 tasks per family are measured by `metamanip expert all` (see the README);
// here a sample of each split keeps CI fast.
describe('scripted experts', () => {
  for (const family of FAMILIES.keys()) {
    it(`${family}: succeeds on a sample of ML1 train and test tasks`, () => {
      const benchmark = ML1(family, 0);
      for (const split of ['train', 'test'] as const) {
        const report = runExpert(benchmark, split, { tasks: 6 });
        expect(report.episodes).toHaveLength(6);
        expect(report.successRate).toBeGreaterThanOrEqual(0.95);
      }
    }, 60_000);
  }
});

describe('runExpert on a multi-family benchmark', () => {
  // One env goes through every task of both ML10 splits, rebuilding its world at each family change.
  for (const split of ['train', 'test'] as const) {
    it(`runs the experts on all ML10 ${split} tasks, across families`, () => {
      const benchmark = ML10(0);
      const report = runExpert(benchmark, split);
      expect(report.episodes).toHaveLength(benchmark[split].length);
      const families = split === 'train' ? ML10_TRAIN_FAMILIES : ML10_TEST_FAMILIES;
      expect([...new Set(report.episodes.map((e) => e.family))]).toEqual([...families]);
      for (const family of families) {
        const episodes = report.episodes.filter((e) => e.family === family);
        expect(episodes).toHaveLength(50);
        expect(episodes.filter((e) => e.success).length / 50, family).toBeGreaterThanOrEqual(0.95);
      }
    }, 300_000);
  }
});
