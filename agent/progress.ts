// Progress display for long jobs: a one-line bar with steps/s, success and ETA on a terminal; when
// output goes to a file or a pipe, one summary line per iteration (at most one per 10 s, plus the
// first and the last); nothing in quiet mode (CI).

export interface ProgressState {
  iteration: number;
  iterations: number;
  envSteps: number;
  stepsPerSecond: number;
  /** Latest success rate (robot tasks) or null. */
  success: number | null;
  /** Latest mean trial return. */
  trialReturn: number;
  /** Seconds per iteration, for the ETA. */
  secondsPerIteration: number;
}

export class ProgressBar {
  /** When the last plain line was written (ms, performance.now()); the first update always writes one. */
  private lastLine = -Infinity;
  constructor(private readonly stream: Pick<NodeJS.WriteStream, 'write' | 'isTTY'> = process.stderr, private readonly quiet = false, private readonly lineEverySeconds = 10) {}

  update(state: ProgressState, note = ''): void {
    if (this.quiet) return;
    const done = state.iteration + 1;
    const fraction = done / state.iterations;
    const eta = (state.iterations - done) * state.secondsPerIteration;
    const parts = [
      `it ${done}/${state.iterations}`,
      `${formatCount(state.envSteps)} steps`,
      `${formatCount(state.stepsPerSecond)} steps/s`,
      state.success === null ? `return ${state.trialReturn.toFixed(2)}` : `success ${(100 * state.success).toFixed(0)}%`,
      `ETA ${formatDuration(eta)}`,
    ];
    if (note) parts.push(note);
    if (this.stream.isTTY) {
      const width = 24, filled = Math.round(fraction * width);
      this.stream.write(`\r[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${parts.join(' | ')}\x1b[K`);
    } else if (performance.now() - this.lastLine > this.lineEverySeconds * 1000 || done === state.iterations || note) {
      this.lastLine = performance.now();
      this.stream.write(parts.join(' | ') + '\n');
    }
  }

  /** Prints a line of its own (an evaluation result) without breaking the bar. */
  log(line: string): void {
    if (this.quiet) return;
    this.stream.write(this.stream.isTTY ? `\r\x1b[K${line}\n` : `${line}\n`);
  }

  end(): void {
    if (!this.quiet && this.stream.isTTY) this.stream.write('\n');
  }
}

export function formatCount(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  return n.toFixed(0);
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
