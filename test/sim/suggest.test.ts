// "Did you mean": the closest known name for a likely typo, nothing for a name that is no typo.

import { describe, expect, it } from 'vitest';
import { FAMILIES, concreteBenchmarkNames, parseBenchmark } from '../../sim/index.ts';
import { closestName, didYouMean, editDistance } from '../../sim/suggest.ts';

describe('did you mean', () => {
  it('measures edits, transpositions included, ignoring case', () => {
    expect(editDistance('reech', 'reach')).toBe(1);
    expect(editDistance('drawer-opne', 'drawer-open')).toBe(1);
    expect(editDistance('ml10', 'ML10')).toBe(0);
    expect(editDistance('', 'push')).toBe(4);
  });

  it('suggests a close family or benchmark, and nothing for a name far from all of them', () => {
    const families = [...FAMILIES.keys()];
    expect(closestName('reech', families)).toBe('reach');
    expect(closestName('pick-plce', families)).toBe('pick-place');
    expect(closestName('juggle', families)).toBeNull();
    expect(closestName('ML11', concreteBenchmarkNames())).toBe('ML10');
    expect(closestName('XL99', concreteBenchmarkNames())).toBeNull();
    expect(didYouMean('reech', families)).toBe(" (did you mean 'reach'?)");
    expect(didYouMean('juggle', families)).toBe('');
  });

  it('is part of the benchmark parser\'s errors', () => {
    expect(() => parseBenchmark('ML1:reech')).toThrow("unknown family 'reech' in benchmark 'ML1:reech' (did you mean 'ML1:reach'?); families: reach,");
    expect(() => parseBenchmark('MT01')).toThrow("unknown benchmark 'MT01' (did you mean 'MT10'?); expected one of:");
  });
});
