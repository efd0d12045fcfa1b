// A training run killed for real (SIGKILL, no chance to tidy up) and resumed, beside a reference run of
// the same scenario that was never stopped: the tests then compare the two run folders.

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { type Checkpoint, readCheckpoint } from '../../agent/checkpoint.ts';
import { RunDir } from '../../agent/run.ts';

export interface KilledRun {
  /** Run folders of the reference run and of the killed-and-resumed one. */
  straight: string;
  killed: string;
  /** The newest checkpoint's iteration when the run was killed. */
  lastBefore: number;
  /** Exit status and stderr of the resuming `train --resume`, and the reference run's exit code. */
  resumed: { status: number | null; stderr: string };
  referenceExit: number | null;
}

/** Trains `scenario` twice under `root` (in parallel), kills one once its checkpoint `killAfter` exists, then resumes it. */
export async function killAndResume(scenario: string, root: string, killAfter: number, pollMs: number): Promise<KilledRun> {
  const cli = (...args: string[]) => [join(process.cwd(), 'bin/metamanip.js'), 'train', scenario, '--quiet', ...args];
  const straight = join(root, 'straight'), killed = join(root, 'killed');
  const reference = new Promise<number | null>((resolve) => spawn(process.execPath, cli('--run-dir', straight), { stdio: 'ignore' }).on('exit', resolve));
  const child = spawn(process.execPath, cli('--run-dir', killed), { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const victim = new RunDir(killed);
  const checkpoint = join(victim.checkpoints, `iter-${String(killAfter).padStart(6, '0')}.json`);
  while (!existsSync(checkpoint)) {
    if (child.exitCode !== null) throw new Error('the run finished before it could be killed');
    await new Promise((r) => setTimeout(r, pollMs));
  }
  child.kill('SIGKILL');
  await exited;
  const lastBefore = victim.readLatest()!.iteration;
  const resumed = spawnSync(process.execPath, cli('--run-dir', killed, '--resume'), { encoding: 'utf8' });
  return { straight, killed, lastBefore, resumed: { status: resumed.status, stderr: resumed.stderr }, referenceExit: await reference };
}

/** A run folder's logged rows without their timings (what two runs of the same scenario must share). */
export function loggedNumbers(dir: string): Array<Record<string, number | null>> {
  const timing = /Seconds$|PerSecond$/;
  return new RunDir(dir).rows().map((row) => Object.fromEntries(Object.entries(row).filter(([k]) => !timing.test(k))));
}

/**
 * killAndResume, then what every killed-run test checks: the run was killed before its last iteration,
 * the resume and the reference run exited cleanly, and the resumed run logged iterations 0 .. n-1 with
 * the reference run's numbers and ends with its final checkpoint state. Returns the run and both final
 * checkpoints for the caller's own checks.
 */
export async function expectResumedExactly(scenario: string, root: string, options: { iterations: number; killAfter: number; pollMs?: number }): Promise<KilledRun & { final: { straight: Checkpoint; killed: Checkpoint } }> {
  const { iterations, killAfter, pollMs = 5 } = options;
  const run = await killAndResume(scenario, root, killAfter, pollMs);
  expect(run.lastBefore).toBeLessThan(iterations - 1);
  expect(run.resumed.status, run.resumed.stderr).toBe(0);
  expect(run.referenceExit).toBe(0);
  expect(loggedNumbers(run.killed).map((r) => r.iteration)).toEqual([...Array(iterations).keys()]);
  expect(loggedNumbers(run.killed)).toEqual(loggedNumbers(run.straight));
  const final = (dir: string) => readCheckpoint(join(dir, 'checkpoints', `iter-${String(iterations - 1).padStart(6, '0')}.json`));
  const finals = { straight: final(run.straight), killed: final(run.killed) };
  expect(finals.killed.state).toEqual(finals.straight.state);
  return { ...run, final: finals };
}

/**
 * A 5-iteration run on `benchmark` whose first 3 iterations are demonstrations (RL2 settings `rl2` on
 * top), killed once its checkpoint 1 exists and resumed: expectResumedExactly, and the resume crosses
 * the demonstrations' end.
 */
export async function expectResumedAcrossDemonstrations(benchmark: string, rl2: object): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'metamanip-demos-'));
  const scenario = join(root, 'd.yaml');
  writeFileSync(scenario, JSON.stringify({
    kind: 'train', name: 'd', benchmark, seed: 3, iterations: 5, workers: 0, learnerThreads: 1,
    rl2: { demonstrationIterations: 3, ...rl2 },
    evaluation: { every: 0, tasks: 1 }, checkpoints: { every: 1, keepLast: 2 },
  }));
  const { lastBefore } = await expectResumedExactly(scenario, root, { iterations: 5, killAfter: 1 });
  // Killed during the demonstrations (iterations 0-2): the resume crosses their end.
  expect(lastBefore).toBeLessThan(3);
}
