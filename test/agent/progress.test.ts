// The progress display when output is not a terminal (piped, or a log file): one summary line per
// iteration, at most one per interval, always the first and the last; nothing when quiet.

import { describe, expect, it } from 'vitest';
import { ProgressBar, type ProgressState } from '../../agent/progress.ts';

const sink = (isTTY = false) => {
  const lines: string[] = [];
  return { lines, stream: { isTTY, write: (text: string) => { lines.push(text); return true; } } };
};
const state = (iteration: number, iterations = 5): ProgressState => ({ iteration, iterations, envSteps: 1000 * (iteration + 1), stepsPerSecond: 500, success: null, trialReturn: 1.5, secondsPerIteration: 2 });

describe('ProgressBar without a terminal', () => {
  it('writes the first iteration at once, then one line per iteration when the interval allows', () => {
    const { lines, stream } = sink();
    const bar = new ProgressBar(stream, false, 0);
    for (let i = 0; i < 5; i++) bar.update(state(i));
    expect(lines).toHaveLength(5);
    expect(lines[0]).toBe('it 1/5 | 1000 steps | 500 steps/s | return 1.50 | ETA 8s\n');
    expect(lines.every((line) => line.endsWith('\n') && !line.includes('\r'))).toBe(true);
  });

  it('keeps to one line per interval for fast iterations, but never drops the first, the last or a note', () => {
    const { lines, stream } = sink();
    const bar = new ProgressBar(stream, false, 3600);
    for (let i = 0; i < 5; i++) bar.update(state(i), i === 2 ? 'checkpoint' : '');
    expect(lines.map((line) => line.split(' | ')[0])).toEqual(['it 1/5', 'it 3/5', 'it 5/5']);
    expect(lines[1]).toContain('checkpoint');
  });

  it('says nothing when quiet; draws a bar in place on a terminal', () => {
    const quiet = sink();
    new ProgressBar(quiet.stream, true).update(state(0));
    expect(quiet.lines).toEqual([]);
    const tty = sink(true);
    new ProgressBar(tty.stream).update(state(0));
    expect(tty.lines[0]).toMatch(/^\r\[#+-+\] it 1\/5/);
  });
});
