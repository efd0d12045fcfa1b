// Gymnasium-style Box spaces that describe themselves as plain JSON.

export interface BoxSpace {
  type: 'Box';
  shape: [number];
  dtype: 'float32';
  /** Per-dimension bounds; null stands for an unbounded side (JSON has no Infinity). */
  low: Array<number | null>;
  high: Array<number | null>;
}

export function box(low: ArrayLike<number>, high: ArrayLike<number>): BoxSpace {
  if (low.length !== high.length) throw new RangeError(`box: low has ${low.length} entries, high ${high.length}`);
  const bound = (x: number): number | null => (Number.isFinite(x) ? x : null);
  return { type: 'Box', shape: [low.length], dtype: 'float32', low: Array.from(low, bound), high: Array.from(high, bound) };
}

/** True when every entry of `x`, as a float32, lies within the float32 bounds (null bounds are open). */
export function contains(space: BoxSpace, x: ArrayLike<number>): boolean {
  if (x.length !== space.shape[0]) return false;
  for (let i = 0; i < x.length; i++) {
    const lo = space.low[i], hi = space.high[i];
    const v = Math.fround(x[i]);
    if (Number.isNaN(v) || (lo !== null && v < Math.fround(lo)) || (hi !== null && v > Math.fround(hi))) return false;
  }
  return true;
}
