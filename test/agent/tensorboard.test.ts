// TensorBoard event files in run folders, read back by an independent reader (test/agent/tfevents_reader.py:
// the TFRecord framing with its CRCs and the Event protobuf, decoded by hand in Python): every
// metrics row's scalars, whole records at every moment, and a resumed run with no duplicate steps.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { chooseBackend } from '../../agent/backend.ts';
import { PROGRESS_COLUMNS, RunDir, tensorBoardScalars, type MetricsRow } from '../../agent/run.ts';
import { eventFiles } from '../../agent/tensorboard.ts';
import { train } from '../../agent/trainer.ts';
import { resolveScenario } from '../../scenarios/scenario.ts';

const PYTHON = '/usr/bin/python3';
const READER = 'test/agent/tfevents_reader.py';

interface ReadEvent { wall_time: number; step: number; file_version?: string; session_log?: number; scalars?: Record<string, number> }
interface ReadFile { name: string; events: ReadEvent[]; torn_tail: number }

function readEvents(dir: string): ReadFile[] {
  const result = spawnSync(PYTHON, [READER, dir], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`the reader failed (${result.status}): ${result.stderr}`);
  return (JSON.parse(result.stdout) as { files: ReadFile[] }).files;
}

/** The scalar events TensorBoard would plot, in file order. */
const scalarEvents = (files: ReadFile[]) => files.flatMap((f) => f.events.filter((e) => e.scalars !== undefined));

const row = (iteration: number, marker = 0): MetricsRow => {
  const r: MetricsRow = Object.fromEntries(PROGRESS_COLUMNS.map((c, i) => [c, 0.1 * i + iteration + marker]));
  return { ...r, iteration, envSteps: 1000 * (iteration + 1), evalBeforeReturn: iteration % 2 ? 1.5 : null, ppoEpochs: 4 };
};

const temporary = () => mkdtempSync(join(tmpdir(), 'metamanip-tb-'));

describe('TensorBoard event files', () => {
  it('holds every row\'s scalars at step = env steps, as whole records after every append', () => {
    const dir = temporary();
    try {
      const run = new RunDir(dir);
      run.create({}, {});
      expect(eventFiles(dir)).toHaveLength(1);
      for (let i = 0; i < 5; i++) {
        run.append(row(i));
        const [file] = readEvents(dir);
        expect(file.torn_tail).toBe(0);
        expect(scalarEvents([file])).toHaveLength(i + 1);
      }
      const [file] = readEvents(dir);
      expect(file.name).toMatch(/^events\.out\.tfevents\.\d{10}\.[\w-]+\.\d+$/);
      expect(file.events[0]).toMatchObject({ step: 0, file_version: 'brain.Event:2' });
      const events = scalarEvents([file]);
      expect(events.map((e) => e.step)).toEqual([1000, 2000, 3000, 4000, 5000]);
      events.forEach((event, i) => {
        const expected = Object.fromEntries(Object.entries(tensorBoardScalars(row(i))).map(([tag, value]) => [tag, Math.fround(value)]));
        expect(event.scalars).toEqual(expected);
        expect(Math.abs(event.wall_time - Date.now() / 1000)).toBeLessThan(600);
      });
      // Sections: what progress.csv has, grouped; the null evaluation of even iterations left out.
      expect(Object.keys(events[1].scalars!)).toEqual(expect.arrayContaining([
        'train/iteration', 'train/meanTrialReturn', 'train/lastEpisodeSuccess', 'eval/evalBeforeReturn', 'eval/evalAfterSuccess',
        'ppo/policyLoss', 'ppo/valueLoss', 'ppo/entropy', 'ppo/approxKl', 'ppo/learningRate', 'ppo/ppoEpochs',
        'time/stepsPerSecond', 'time/samplingSeconds', 'time/learningSeconds', 'time/evaluationSeconds', 'time/wallSeconds',
      ]));
      expect(events[0].scalars).not.toHaveProperty('eval/evalBeforeReturn');
      expect(Object.keys(events[0].scalars!).some((tag) => tag.endsWith('/envSteps'))).toBe(false);
      // A reader that meets a record still being written stops before it and says so.
      const path = eventFiles(dir)[0];
      const bytes = readFileSync(path);
      writeFileSync(path, bytes.subarray(0, bytes.length - 9));
      const [torn] = readEvents(dir);
      expect(scalarEvents([torn])).toHaveLength(4);
      expect(torn.torn_tail).toBeGreaterThan(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('continues the same curves when a run resumes from a checkpoint older than its last row: no duplicate steps', () => {
    const dir = temporary();
    try {
      const first = new RunDir(dir);
      first.create({}, {});
      for (let i = 0; i < 5; i++) first.append(row(i));
      // Killed after logging iteration 4; its newest checkpoint is iteration 2. The resumed session:
      const resumed = new RunDir(dir);
      resumed.truncateAfter(2);
      for (let i = 3; i < 7; i++) resumed.append(row(i, 100));

      const files = readEvents(dir);
      expect(files).toHaveLength(2);
      // The second file opens with its version and a SessionLog START just past the kept steps.
      expect(files[1].events.slice(0, 2)).toMatchObject([{ file_version: 'brain.Event:2' }, { step: 3001, session_log: 1 }]);
      const events = scalarEvents(files);
      expect(events.map((e) => e.step)).toEqual([1000, 2000, 3000, 4000, 5000, 6000, 7000]);
      expect(events.map((e) => e.scalars!['train/iteration'])).toEqual([0, 1, 2, 3, 4, 5, 6]);
      // Steps 4000 and 5000 are the resumed session's, not the killed one's.
      expect(events.slice(3).every((e) => e.scalars!['train/meanTrialReturn'] > 100)).toBe(true);
      expect(events.slice(0, 3).every((e) => e.scalars!['train/meanTrialReturn'] < 100)).toBe(true);
      expect(resumed.rows().map((r) => r.envSteps)).toEqual(events.map((e) => e.step));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('gives a run folder from before event files its curves so far when it resumes', () => {
    const dir = temporary();
    try {
      const old = new RunDir(dir);
      old.create({}, {});
      for (let i = 0; i < 3; i++) old.append(row(i));
      for (const file of eventFiles(dir)) unlinkSync(file);
      const resumed = new RunDir(dir);
      resumed.truncateAfter(1);
      resumed.append(row(2, 100));
      const files = readEvents(dir);
      expect(files).toHaveLength(2);
      expect(scalarEvents(files).map((e) => [e.step, e.scalars!['train/iteration']])).toEqual([[1000, 0], [2000, 1], [3000, 2]]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('TensorBoard event files of a real training run', () => {
  beforeAll(async () => { await chooseBackend('wasm'); });

  it('hold the rows of metrics.jsonl, and a resume from an older checkpoint leaves no duplicate step', async () => {
    const root = temporary();
    const dir = join(root, 'run');
    try {
      const config = resolveScenario({
        name: 'tb', benchmark: 'bandit:k5n10', seed: 2, iterations: 4,
        rl2: { tasksPerIteration: 100, hidden: 16, ppo: { epochs: 1, minibatches: 2 } },
        evaluation: { every: 4, tasks: 100 }, checkpoints: { every: 2, keepLast: 3 },
      });
      await train(config, { runDir: dir, quiet: true, backend: 'wasm', maxIterations: 3 });
      const run = new RunDir(dir);
      expect(run.rows().map((r) => r.iteration)).toEqual([0, 1, 2]);
      // As if killed after logging iteration 2 but before its checkpoint was written.
      unlinkSync(join(run.checkpoints, 'iter-000002.json'));
      await train(config, { runDir: dir, quiet: true, backend: 'wasm', resume: true });

      const rows = run.rows();
      expect(rows.map((r) => r.iteration)).toEqual([0, 1, 2, 3]);
      const events = scalarEvents(readEvents(dir));
      expect(events.map((e) => e.step)).toEqual(rows.map((r) => r.envSteps));
      events.forEach((event, i) => {
        expect(event.scalars!['train/iteration']).toBe(i);
        expect(event.scalars!['train/meanTrialReturn']).toBe(Math.fround(rows[i].meanTrialReturn!));
        expect(event.scalars!['ppo/approxKl']).toBe(Math.fround(rows[i].approxKl!));
        expect(event.scalars!['time/stepsPerSecond']).toBe(Math.fround(rows[i].stepsPerSecond!));
      });
      expect(events[3].scalars!['eval/evalTrialReturn']).toBe(Math.fround(rows[3].evalTrialReturn!));
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  }, 120_000);
});
