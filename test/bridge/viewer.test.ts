// The viewer role: scene then frames, late joiners get the cached scene, viewers cannot act,
// slow viewers skip frames (latest value wins), dead peers are terminated by the heartbeat.

import { spawn, spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { WsPeer, type Message } from './ws-peer.ts';
import { simBenchmark, startGateway, type Gateway } from '../../bridge/index.ts';
import { decodeFrame, encodeFrame, isNdArray, type NdArray } from '../../protocol/ndarray.ts';
import { Outbound, TokenBucket, type Sink } from '../../bridge/limits.ts';

describe('viewer role', () => {
  let gateway: Gateway;
  let driven: string;
  beforeAll(async () => {
    gateway = await startGateway({ port: 0 });
    driven = gateway.drive({ ...simBenchmark({ family: 'pick-place' }), task: 2, rateHz: 400 }).id;
  });
  afterAll(() => gateway.close());

  it('lists the live sims on connect, then sends the scene and frames of a subscribed sim', async () => {
    const viewer = await WsPeer.connect(`${gateway.url}/viewer`);
    const sims = await viewer.nextOf('sims');
    expect(sims.sims).toEqual(expect.arrayContaining([expect.objectContaining({ id: driven, family: 'pick-place', policy: 'expert', task: 2 })]));
    viewer.send({ type: 'subscribe', id: 1, sim: driven });
    const scene = await viewer.nextOf('scene');
    const bodies = (scene.scene as { bodies: Array<{ name: string; parts: Array<{ colour: string }> }> }).bodies;
    expect(bodies.map((b) => b.name)).toEqual(expect.arrayContaining(['table', 'hand', 'leftFinger', 'rightFinger']));
    expect(bodies[0].parts[0].colour).toMatch(/^#/);
    let lastStep = -1;
    for (let i = 0; i < 10; i++) {
      const frame = await viewer.nextOf('frame');
      expect(frame.sim).toBe(driven);
      const poses = frame.poses as NdArray;
      expect(isNdArray(poses)).toBe(true);
      expect(poses.dtype).toBe('<f4');
      expect(poses.shape).toEqual([bodies.length, 7]);
      expect(typeof frame.gripper).toBe('number');
      // Steps only move forward within an episode (a new episode brings a scene first).
      expect(frame.step as number).not.toBe(lastStep);
      lastStep = frame.step as number;
    }
    viewer.socket.close();
  });

  it('gives a late joiner the cached scene and the latest frame at once', async () => {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const viewer = await WsPeer.connect(`${gateway.url}/viewer`);
    viewer.send({ type: 'subscribe', sim: driven });
    const scene = await viewer.nextOf('scene');
    expect(scene.info).toMatchObject({ id: driven, episode: expect.any(Number) });
    const frame = await viewer.nextOf('frame');
    expect(frame.step as number).toBeGreaterThan(0);
    viewer.socket.close();
  });

  it('follows a controller-driven sim: scene at reset, one frame per step, closed at close', async () => {
    const controller = new WebSocket(`${gateway.url}/controller`);
    const replies: Message[] = [];
    controller.on('message', (data) => replies.push(decodeFrame(data as Buffer) as Message));
    await new Promise((resolve) => controller.once('open', resolve));
    const call = async (message: Record<string, unknown>) => {
      const count = replies.length;
      controller.send(encodeFrame(message));
      while (replies.length === count || replies[replies.length - 1].type === 'hello') await new Promise((resolve) => setTimeout(resolve, 2));
      return replies[replies.length - 1];
    };
    const { sim } = await call({ type: 'open', family: 'door-open' });
    const viewer = await WsPeer.connect(`${gateway.url}/viewer`);
    viewer.send({ type: 'subscribe', sim });
    await call({ type: 'reset', sim });
    expect(await viewer.nextOf('scene')).toMatchObject({ sim, info: { episode: 1, step: 0 } });
    expect(await viewer.nextOf('frame')).toMatchObject({ sim, episode: 0, step: 0 });
    await call({ type: 'step', sim, action: [0, 0, 0, 1] });
    expect(await viewer.nextOf('frame')).toMatchObject({ sim, episode: 0, step: 1 });
    await call({ type: 'close', sim });
    expect(await viewer.nextOf('closed')).toMatchObject({ sim });
    controller.close();
    viewer.socket.close();
  });

  it('is read-only: acting, unknown types and unknown sims get errors and the stream goes on', async () => {
    const viewer = await WsPeer.connect(`${gateway.url}/viewer`);
    const idle = gateway.sims.open({ ...simBenchmark({ family: 'reach' }), policy: 'test' }).id;
    gateway.sims.reset(idle);
    viewer.send({ type: 'step', id: 4, sim: idle, action: [1, 1, 1, 1] });
    expect(await viewer.nextOf('error')).toMatchObject({ id: 4, code: 'read_only', message: expect.stringContaining('/controller') });
    viewer.send({ type: 'close', sim: driven });
    expect(await viewer.nextOf('error')).toMatchObject({ code: 'read_only' });
    viewer.send({ type: 'wave' });
    expect(await viewer.nextOf('error')).toMatchObject({ code: 'unknown_type' });
    viewer.send({ type: 'subscribe', id: 5, sim: 'nope' });
    expect(await viewer.nextOf('error')).toMatchObject({ id: 5, code: 'unknown_sim' });
    expect(gateway.sims.has(driven)).toBe(true);
    expect(gateway.sims.info(idle)).toMatchObject({ episode: 1, step: 0 });
    gateway.sims.close(idle);
    viewer.send({ type: 'subscribe', sim: driven });
    expect(await viewer.nextOf('frame')).toMatchObject({ sim: driven });
    viewer.socket.close();
  });

  it('terminates a peer that stops answering pings', async () => {
    const quick = await startGateway({ port: 0, heartbeatMs: 50 });
    try {
      const silent = await WsPeer.connect(`${quick.url}/viewer`, { autoPong: false });
      const alive = await WsPeer.connect(`${quick.url}/viewer`);
      const { code } = await silent.closed;
      expect(code).toBe(1006); // terminated, no close frame
      expect(alive.socket.readyState).toBe(WebSocket.OPEN);
      alive.socket.close();
    } finally {
      await quick.close();
    }
  });
});

describe('metamanip serve', () => {
  it('serves --sim sims driven by the expert, streams them to a viewer and stops cleanly on SIGINT', async () => {
    const child = spawn(process.execPath, ['bin/metamanip.js', 'serve', '--port', '0', '--sim', 'ML1:reach/test/2', '--rate', '200', '--no-viewer'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        stdout += d.toString();
        const match = /controller (ws:\/\/[^/\s]+)\/controller/.exec(stdout);
        if (match) resolve(match[1]);
      });
      void exited.then((code) => reject(new Error(`serve exited with ${code}: ${stderr}`)));
    });
    const viewer = await WsPeer.connect(`${url}/viewer`);
    const sims = await viewer.nextOf('sims');
    expect(sims.sims).toEqual([expect.objectContaining({ id: 's1', benchmark: 'ML1:reach', split: 'test', task: 2, policy: 'expert' })]);
    viewer.send({ type: 'subscribe', sim: 's1' });
    expect(await viewer.nextOf('scene')).toMatchObject({ sim: 's1' });
    expect(await viewer.nextOf('frame')).toMatchObject({ sim: 's1' });
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(stderr).toContain('sim s1: ML1:reach test task 2, driven by expert at 200 Hz');
  });

  it('exits 2 with a message for a malformed --sim', () => {
    const result = spawnSync(process.execPath, ['bin/metamanip.js', 'serve', '--sim', 'reach/sideways/1'], { encoding: 'utf8' });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain("split must be train or test, got 'sideways'");
  });
});

describe('outbound queues and rate limit', () => {
  /** A socket whose send buffer fills until drained by hand. */
  const fakeSink = () => {
    const sent: Array<Uint8Array | string> = [];
    const sink: Sink & { buffered: number; closedWith?: [number, string]; sent: typeof sent } = {
      buffered: 0,
      sent,
      get bufferedAmount() { return this.buffered; },
      readyState: 1,
      send(data) { sent.push(data); this.buffered += data.length; },
      close(code, reason) { this.closedWith = [code!, reason!]; },
      terminate() {},
    };
    return sink;
  };

  it('keeps only the newest state message per key while the client is slow (drop oldest)', async () => {
    const sink = fakeSink();
    const out = new Outbound(sink, { maxBufferedBytes: 1000, highWaterBytes: 10 });
    out.latest('s1', 'frame-1-aaaaaaaa'); // sent: the buffer was empty
    for (let i = 2; i <= 50; i++) out.latest('s1', `frame-${i}-aaaaaaa`);
    out.latest('s2', 'other-1');
    expect(sink.sent).toEqual(['frame-1-aaaaaaaa']);
    expect(out.queued).toBe(2);
    expect(out.dropped).toBe(48);
    sink.buffered = 0; // the client read what it had
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(sink.sent).toEqual(['frame-1-aaaaaaaa', 'frame-50-aaaaaaa']);
    sink.buffered = 0;
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(sink.sent).toEqual(['frame-1-aaaaaaaa', 'frame-50-aaaaaaa', 'other-1']);
    expect(out.queued).toBe(0);
    out.close();
  });

  it('disconnects with a reason when must-deliver messages overflow', () => {
    const sink = fakeSink();
    const out = new Outbound(sink, { maxBufferedBytes: 100, highWaterBytes: 10 });
    for (let i = 0; i < 10; i++) expect(out.control('x'.repeat(10))).toBe(true);
    expect(out.control('y')).toBe(false);
    expect(sink.closedWith?.[0]).toBe(1008);
    expect(sink.closedWith?.[1]).toContain('outbound queue overflow');
    expect(out.control('z')).toBe(false);
  });

  it('token bucket: burst at once, then the sustained rate', () => {
    let now = 0;
    const bucket = new TokenBucket(10, 5, () => now);
    expect(Array.from({ length: 7 }, () => bucket.take())).toEqual([true, true, true, true, true, false, false]);
    now += 100; // 0.1 s at 10/s = one token
    expect(bucket.take()).toBe(true);
    expect(bucket.take()).toBe(false);
  });
});
