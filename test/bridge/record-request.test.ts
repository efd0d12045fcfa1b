// Recording per sim on request: a controller opens a sim with `record: true` and only that sim's
// episodes are written, as MCAP files in the gateway's requested-recordings folder, readable back.

import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startGateway, type Gateway } from '../../bridge/index.ts';
import { decodeFrame, encodeFrame, ndarray } from '../../protocol/ndarray.ts';
import { readRecording } from '../../bridge/recorder.ts';

type Message = Record<string, unknown> & { type: string };

/** One request at a time (replies come in order). */
async function connect(url: string) {
  const socket = new WebSocket(url);
  const inbox: Message[] = [];
  const waiting: Array<(m: Message) => void> = [];
  socket.on('message', (data) => {
    const message = decodeFrame(data as Buffer) as Message;
    const wake = waiting.shift();
    if (wake) wake(message);
    else inbox.push(message);
  });
  const next = () => (inbox.length ? Promise.resolve(inbox.shift()!) : new Promise<Message>((r) => waiting.push(r)));
  await new Promise((r, reject) => { socket.once('open', r); socket.once('error', reject); });
  await next(); // hello
  return {
    call: (message: Record<string, unknown>) => { socket.send(encodeFrame(message)); return next(); },
    close: () => socket.close(),
  };
}

let dir: string;
let gateway: Gateway | null = null;
beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'metamanip-rec-request-')); });
afterEach(async () => {
  await gateway?.close();
  gateway = null;
  await rm(dir, { recursive: true, force: true });
});

const action = ndarray(new Float32Array([0.2, -0.1, 0.1, 1]));

describe('recording on request (open with record: true)', () => {
  it('writes only the requesting sim\'s episodes, every one, into the requested-recordings folder', async () => {
    const recordings = join(dir, 'recordings');
    gateway = await startGateway({ port: 0, requestedRecordDir: recordings });
    expect(existsSync(recordings)).toBe(false); // nothing asked yet: no folder
    const client = await connect(`${gateway.url}/controller`);

    const plain = await client.call({ type: 'open', id: 1, family: 'reach' });
    expect(plain.type).toBe('open');
    expect(plain).not.toHaveProperty('recordDir');
    const recorded = await client.call({ type: 'open', id: 2, family: 'push', task: 2, record: true });
    expect(recorded.type).toBe('open');
    expect(recorded.recordDir).toBe(resolve(recordings));
    const [a, b] = [plain.sim as string, recorded.sim as string];

    // Two episodes of each sim: 3 steps, then a reset, then 2 steps.
    for (const sim of [a, b]) expect((await client.call({ type: 'reset', sim, seed: 1 })).type).toBe('reset');
    const sentObs: number[][] = [];
    for (let i = 0; i < 3; i++) {
      for (const sim of [a, b]) {
        const reply = await client.call({ type: 'step', sim, action });
        expect(reply.type).toBe('step');
        if (sim === b) sentObs.push(Array.from((reply.obs as { data: Float32Array }).data));
      }
    }
    for (const sim of [a, b]) await client.call({ type: 'reset', sim });
    for (let i = 0; i < 2; i++) for (const sim of [a, b]) await client.call({ type: 'step', sim, action });
    expect((await client.call({ type: 'close', sim: b })).type).toBe('close');
    client.close();
    await gateway.close();

    const files = (await readdir(recordings)).sort();
    expect(files).toHaveLength(2);
    expect(files.every((name) => name.includes(`-${b}-push-`))).toBe(true);
    const [first, second] = await Promise.all(files.map((name) => readRecording(join(recordings, name))));
    for (const recording of [first, second]) {
      expect(recording.complete).toBe(true);
      expect(recording.episode?.info).toMatchObject({ id: b, family: 'push', task: 2, policy: 'controller' });
      expect(recording.metadata.metamanip).toMatchObject({ sim: b, family: 'push', task: '2' });
    }
    expect(first.steps.map((s) => s.step)).toEqual([0, 1, 2, 3]);
    expect(first.steps.slice(1).map((s) => s.obs)).toEqual(sentObs.map((obs) => JSON.parse(JSON.stringify(obs))));
    expect(first.steps[1].action).toEqual(Array.from(action.data as Float32Array));
    expect(first.metadata['metamanip.end']).toMatchObject({ reason: 'closed', steps: '4' });
    expect(second.steps.map((s) => s.step)).toEqual([0, 1, 2]);
    expect(second.metadata['metamanip.end']).toMatchObject({ reason: 'closed', steps: '3' });
  });

  it('goes to the gateway\'s --record folder when it records everything, and refuses a non-boolean record', async () => {
    gateway = await startGateway({ port: 0, recordDir: dir, requestedRecordDir: join(dir, 'unused') });
    const client = await connect(`${gateway.url}/controller`);
    const opened = await client.call({ type: 'open', id: 1, family: 'reach', record: true });
    expect(opened.recordDir).toBe(resolve(dir));
    const bad = await client.call({ type: 'open', id: 2, family: 'reach', record: 'yes' });
    expect(bad).toMatchObject({ type: 'error', id: 2, code: 'bad_message' });
    expect(bad.message).toMatch(/^open: record: expected boolean/);
    client.close();
    await gateway.close();
    expect(existsSync(join(dir, 'unused'))).toBe(false);
  });
});
