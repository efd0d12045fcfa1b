// `metamanip run`: the default scenario (the main job behind `npm start`) serves a checkpoint-driven
// sim that a real WebSocket client watches, and Ctrl-C (SIGINT) leaves every recording complete.

import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { decodeFrame, isNdArray } from '../../protocol/ndarray.ts';
import { WsPeer } from '../bridge/ws-peer.ts';
import { readRecording } from '../../bridge/recorder.ts';
import type { LoadedPolicy } from '../../agent/policy.ts';
import { trainedOnSimTasks, trainedOnWarning } from '../../scenarios/serve.ts';

const opened = (socket: WebSocket) => new Promise((resolve, reject) => { socket.once('open', resolve); socket.once('error', reject); });

describe('metamanip run', () => {
  let recorded = '';

  it('runs the default scenario: the shipped policy acts on held-out goals, a viewer watches, SIGINT closes the recordings', async () => {
    const record = mkdtempSync(join(tmpdir(), 'metamanip-run-'));
    const child = spawn(process.execPath, ['bin/metamanip.js', 'run', 'scenarios/default.yaml', '--port', '0', '--record', record], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      let url = '';
      for await (const line of createInterface({ input: child.stdout })) {
        const match = /^open (http:\/\/127\.0\.0\.1:\d+)\/#sim=s1$/.exec(line);
        if (match) { url = match[1]; break; }
      }
      expect(url, stderr).not.toBe('');
      const health = await fetch(`${url}/healthz`);
      expect(health.status).toBe(200);
      expect(await (await fetch(`${url}/`)).text()).toContain('<canvas');

      const viewer = await WsPeer.connect(`${url.replace('http', 'ws')}/viewer`);
      const next = (type: string) => viewer.nextOf(type);
      const { sims } = (await next('sims')) as unknown as { sims: Array<Record<string, unknown>> };
      expect(sims).toEqual([expect.objectContaining({ id: 's1', benchmark: 'ML1:reach', split: 'test', task: 0, seed: 1, policy: 'ml1-reach', trial: { episode: 1, episodes: 13 } })]);
      viewer.send({ type: 'subscribe', sim: 's1' });
      const scene = await next('scene');
      expect((scene.scene as { bodies: Array<{ name: string }> }).bodies.map((b) => b.name)).toContain('hand');
      const first = await next('frame');
      const later = await next('frame');
      expect(isNdArray(first.poses)).toBe(true);
      expect(later.step as number).toBeGreaterThan(first.step as number);

      // The same policy answers openpi clients on the root path.
      const robot = new WebSocket(url.replace('http', 'ws'));
      const metadata = new Promise<Record<string, unknown>>((resolve) => robot.once('message', (data) => resolve(decodeFrame(data as Buffer) as Record<string, unknown>)));
      await opened(robot);
      expect(await metadata).toMatchObject({ policy: 'ml1-reach', benchmark: 'ML1:reach' });
      robot.close();

      // Past the end of the first 500-step episode (6.25 s in real time), then Ctrl-C.
      while (((await next('frame')).step as number) !== 500) { /* the first episode plays out */ }
      // The second episode of the same goal: the policy's memory goes on (trial episode 2 of 13).
      expect((await next('scene')).info).toMatchObject({ task: 0, episode: 2, trial: { episode: 2, episodes: 13 } });
      await next('frame');
      viewer.close();
      child.kill('SIGINT');
      expect(await exited, stderr).toBe(0);
      expect(stderr).toContain('stopped');
      // npm start caps its recordings folder and says so as it starts.
      expect(stderr).toMatch(/recording every episode to .+\/ \(zstd-compressed MCAP, .*\); keeping at most 1024 MB: past it the oldest recordings are deleted/);
      const files = readdirSync(record).sort();
      expect(files.length).toBeGreaterThanOrEqual(2);
      const recordings = await Promise.all(files.map((f) => readRecording(join(record, f))));
      // Every file was finished (summary written), the interrupted one included.
      expect(recordings.map((r) => r.complete)).toEqual(files.map(() => true));
      expect(recordings[0].steps).toHaveLength(501);
      expect(recordings[0].episode?.info).toMatchObject({ benchmark: 'ML1:reach', task: 0, policy: 'ml1-reach' });
      expect(recordings[1].steps.length).toBeGreaterThan(0);
      recorded = record;
    } finally {
      child.kill('SIGKILL');
    }
  }, 120_000);

  it('replays the newest complete recording of a folder in the viewer, listing the others', async () => {
    expect(recorded).not.toBe('');
    // A newer file without its footer (an episode still being recorded, or cut off): not the one opened.
    const newest = readdirSync(recorded).sort().at(-1)!;
    const whole = readFileSync(join(recorded, newest));
    writeFileSync(join(recorded, '29991231T235959.999Z-s9-reach-ep0.mcap'), whole.subarray(0, whole.length >> 1));
    const file = join(mkdtempSync(join(tmpdir(), 'metamanip-run-')), 'replay.yaml');
    writeFileSync(file, `kind: replay\nrecording: ${recorded}\ngateway: { port: 0 }\n`);
    const child = spawn(process.execPath, ['bin/metamanip.js', 'run', file, '--duration', '60'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      let url = '';
      for await (const line of createInterface({ input: child.stdout })) {
        const match = /^open (http:\/\/127\.0\.0\.1:\d+)\/#recording=(.+)$/.exec(line);
        if (match) { url = match[1]; expect(decodeURIComponent(match[2])).toBe(newest); break; }
      }
      const listed = (await (await fetch(`${url}/recordings`)).json()) as Array<{ name: string }>;
      expect(listed.map((r) => r.name).sort()).toEqual(readdirSync(recorded).sort());
      const bytes = new Uint8Array(await (await fetch(`${url}/recordings/${newest}`)).arrayBuffer());
      expect(new TextDecoder().decode(bytes.subarray(1, 5))).toBe('MCAP');
      child.kill('SIGINT');
      expect(await exited).toBe(0);
    } finally {
      child.kill('SIGKILL');
    }
  }, 60_000);

  it('knows which sims run tasks a policy trained on (and says so at start)', () => {
    const policy = { name: 'ml1-reach', benchmark: 'ML1:reach', seed: 1 } as LoadedPolicy;
    expect(trainedOnSimTasks(policy, { benchmark: 'ML1:reach', split: 'test', seed: 1 })).toBe(false);
    expect(trainedOnSimTasks(policy, { benchmark: 'ML1:reach', split: 'test', seed: 0 })).toBe(true);
    expect(trainedOnSimTasks(policy, { benchmark: 'ML1:reach', split: 'train', seed: 1 })).toBe(true);
    expect(trainedOnSimTasks(policy, { benchmark: 'ML1:push', split: 'train', seed: 1 })).toBe(false);
    expect(trainedOnWarning(policy, 's2')).toBe('note: sim s2 runs tasks ml1-reach trained on; for held-out tasks use the test split with the seed it was trained with (1)');
  });

  it('reports an invalid scenario with file, line and field, and exits 1; usage errors exit 2', () => {
    const dir = mkdtempSync(join(tmpdir(), 'metamanip-run-'));
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'kind: serve\nsims:\n  - family: reach\n    tasks: [0, 80]\n');
    const bad = spawnSync(process.execPath, ['bin/metamanip.js', 'run', file], { encoding: 'utf8' });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain(`${file}:4:16: sims[0].tasks[1]: task 80 is not a task of MT1:reach test; expected an index in [0, 49]`);
    writeFileSync(file, 'kind: serve\nsim: []\n');
    const unknown = spawnSync(process.execPath, ['bin/metamanip.js', 'run', file], { encoding: 'utf8' });
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toContain(`${file}:2:1: sim: unknown key (did you mean 'sims'?); expected one of kind, name, gateway, policy, sims, duration (found "sim")`);
    const usage = spawnSync(process.execPath, ['bin/metamanip.js', 'run', file, '--duration', 'soon'], { encoding: 'utf8' });
    expect(usage.status).toBe(2);
    expect(usage.stderr).toContain("--duration must be a positive number of seconds, got 'soon'");
  });
});
