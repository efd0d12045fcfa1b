// Axis ticks for the plots: round steps (1, 2, 2.5 or 5 times a power of ten) and labels that say
// no more digits than the step needs (250k, 1.5M). No DOM: unit-testable in Node.

/** A round step that cuts `span` into about `count` pieces. */
export function niceStep(span: number, count: number): number {
  const raw = span / Math.max(1, count);
  if (!(raw > 0) || !Number.isFinite(raw)) return 1;
  const power = 10 ** Math.floor(Math.log10(raw));
  const f = raw / power;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10) * power;
}

/** Round values from `min` to `max` (both included when they fall on the step), about `count` of them. */
export function niceTicks(min: number, max: number, count = 5): { ticks: number[]; step: number } {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return { ticks: [], step: 1 };
  if (max <= min) return { ticks: [min], step: 1 };
  const step = niceStep(max - min, count);
  const ticks: number[] = [];
  for (let i = Math.ceil(min / step - 1e-9); i * step <= max + step * 1e-9; i++) ticks.push(Number((i * step).toPrecision(12)));
  return { ticks, step };
}

/** A tick's label: k or M past ten thousand, as many decimals as the step needs. */
export function formatTick(value: number, step: number, magnitude = Math.abs(value)): string {
  if (value === 0) return '0';
  const [scale, suffix] = magnitude >= 1e6 ? [1e6, 'M'] : magnitude >= 1e4 ? [1e3, 'k'] : [1, ''];
  const scaledStep = step / scale;
  let decimals = 0;
  while (decimals < 6 && Math.abs(Math.round(scaledStep * 10 ** decimals) - scaledStep * 10 ** decimals) > 1e-6) decimals++;
  return `${(value / scale).toFixed(decimals)}${suffix}`;
}

/** Labels for a row of ticks: one unit (k, M) for the whole axis, from its largest value. */
export function tickLabels(ticks: readonly number[], step: number): string[] {
  const magnitude = Math.max(0, ...ticks.map(Math.abs));
  return ticks.map((t) => formatTick(t, step, magnitude));
}
