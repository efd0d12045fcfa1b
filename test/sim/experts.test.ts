import { describe, expect, it } from 'vitest';
import { FAMILIES, ML1, runExpert } from '../../sim/index.ts';

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
