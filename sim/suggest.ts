// "Did you mean ...?" for misspelt names (families, benchmarks): the closest known name by edit
// distance, when it is close enough to be a likely typo. Used wherever a name from a person (CLI,
// YAML, wire) turns out to be unknown.

/** Edit distance with adjacent transpositions (optimal string alignment), case-insensitive. */
export function editDistance(a: string, b: string): number {
  const s = a.toLowerCase(), t = b.toLowerCase();
  const rows = s.length + 1, cols = t.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = s[i - 1] === t[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && s[i - 1] === t[j - 2] && s[i - 2] === t[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[s.length][t.length];
}

/**
 * The known name closest to `name` (first of equals), or null when none is within a typo's reach:
 * at most a third of the name's characters changed (at least one).
 */
export function closestName(name: string, known: Iterable<string>): string | null {
  const limit = Math.max(1, Math.floor(name.length / 3));
  let best: string | null = null, bestDistance = Infinity;
  for (const candidate of known) {
    const distance = editDistance(name, candidate);
    if (distance < bestDistance) { best = candidate; bestDistance = distance; }
  }
  return bestDistance <= limit ? best : null;
}

/** ` (did you mean 'reach'?)` for a close known name, else the empty string: to follow the unknown name in a message. */
export function didYouMean(name: string, known: Iterable<string>): string {
  const suggestion = closestName(name, known);
  return suggestion === null ? '' : ` (did you mean '${suggestion}'?)`;
}
