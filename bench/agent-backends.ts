// The agent benchmark once per TensorFlow.js backend, each in a fresh process (a process keeps the first
// backend it set up), and RL2's env steps/s side by side. Run via bench/agent.ts --backends LIST; writes
// bench/results/agent-backends.json.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BackendChoice } from '../agent/backend.ts';

/** What this table reads of bench/agent.ts's result (its AgentBenchResult). */
interface AgentBenchSummary {
  backend: BackendChoice;
  machine: { cpus: number };
  rl2?: { run: string; benchmark: string; envSteps: number; workers: number; stepsPerSecond: number; samplingStepsPerSecond: number; learningStepsPerSecond: number };
}

export interface BackendRow {
  /** The backend asked for. */
  requested: string;
  /** The backend that ran (another one when the requested one was unavailable), or null when the run failed. */
  backend: string | null;
  /** Why it did not run on the requested backend. */
  note?: string;
  result?: AgentBenchSummary;
}

/**
 * Runs bench/agent.ts once per backend with the command line `argv` (less --backends, --out and
 * --json), asking each run to measure only on the backend it was given; one failing stops no other.
 */
export function runPerBackend(backends: string[], argv: string[], log: (line: string) => void = () => {}): BackendRow[] {
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const [flag] = argv[i].split('=');
    if (flag === '--json') continue;
    if (flag === '--backends' || flag === '--out' || flag === '--backend') { if (!argv[i].includes('=')) i++; continue; }
    args.push(argv[i]);
  }
  const dir = mkdtempSync(join(tmpdir(), 'metamanip-bench-'));
  try {
    return backends.map((requested): BackendRow => {
      log(`--- backend ${requested}: bench/agent.ts ${[...args, '--backend', requested].join(' ')}`);
      const out = join(dir, `${requested}.json`);
      const child = spawnSync(process.execPath, ['--import', import.meta.resolve('tsx'), fileURLToPath(new URL('./agent.ts', import.meta.url)), ...args, '--backend', requested, '--only-backend', '--out', out], { stdio: ['ignore', 'ignore', 'inherit'] });
      if (child.status !== 0) return { requested, backend: null, note: `failed (${child.error?.message ?? `exit code ${child.status}`})` };
      const result = JSON.parse(readFileSync(out, 'utf8')) as AgentBenchSummary;
      const chosen = result.backend.backend;
      const skipped = result.backend.attempts.find((a) => a.backend === requested && !a.ok);
      return { requested, backend: chosen, ...(chosen !== requested ? { note: `ran on ${chosen}: ${skipped?.error ?? 'unavailable'}` } : {}), result };
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function formatPerBackend(rows: BackendRow[]): string {
  const lines = ['backend   device                                      sampling steps/s   learning steps/s   env steps/s'];
  for (const row of rows) {
    const r = row.result, x = r?.rl2;
    const ran = r && row.backend === row.requested;
    const device = !ran ? '' : r.backend.adapter ? `${r.backend.adapter.description || r.backend.adapter.device}${r.backend.adapter.software ? ' (software)' : ''}` : `${r.machine.cpus} CPU cores`;
    const figures = x && ran
      ? `${x.samplingStepsPerSecond.toFixed(0).padStart(16)}   ${x.learningStepsPerSecond.toFixed(0).padStart(16)}   ${x.stepsPerSecond.toFixed(0).padStart(11)}`
      : `  ${row.note ?? 'no RL2 iteration (--skip-rl2)'}`;
    lines.push(`${row.requested.padEnd(9)} ${device.slice(0, 42).padEnd(42)} ${figures}`);
  }
  const first = rows.find((row) => row.result?.rl2)?.result?.rl2;
  if (first) lines.push('', `RL2 iteration on ${first.benchmark} (${first.run}), ${first.envSteps} env steps, ${first.workers} sampling workers; full results per backend in the JSON`);
  return lines.join('\n');
}
