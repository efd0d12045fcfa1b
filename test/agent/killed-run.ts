// A training run killed for real (SIGKILL, no chance to tidy up) and resumed, beside a reference run of
// the same scenario that was never stopped: the tests then compare the two run folders.

import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
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
