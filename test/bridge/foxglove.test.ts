// The Foxglove WebSocket role against the real client from @foxglove/ws-protocol over a real `ws`
// socket, with a hub of real ManipulationEnvs driven by the reach expert.

import { createServer, type Server } from 'node:http';
import { EventEmitter } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import pkg from '@foxglove/ws-protocol';
import type { Channel, MessageData, ServerInfo, StatusMessage } from '@foxglove/ws-protocol';
import type { FrameTransforms, SceneUpdate } from '@foxglove/schemas';
import { FOXGLOVE_SUBPROTOCOLS, serveFoxglove } from '../../bridge/foxglove.ts';
import { FakeLiveSims } from './fake-live-sims.ts';
import { schemaProblems } from './json-schema.ts';

const { FoxgloveClient } = pkg;
type Client = InstanceType<typeof FoxgloveClient>;

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** An http + ws server handing sockets that chose a Foxglove subprotocol to serveFoxglove. */
async function startServer(sims: FakeLiveSims): Promise<string> {
  const wss = new WebSocketServer({ noServer: true, handleProtocols: (offered) => FOXGLOVE_SUBPROTOCOLS.find((p) => offered.has(p)) ?? false });
  const server: Server = createServer((_req, res) => res.writeHead(404).end());
  server.on('upgrade', (request, socket, head) => {
    wss.handleUpgrade(request, socket, head, (ws) => {
      if (FOXGLOVE_SUBPROTOCOLS.includes(ws.protocol)) serveFoxglove(ws, sims);
      else ws.close(1002, 'a Foxglove subprotocol is required');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => {
    for (const client of wss.clients) client.terminate();
    wss.close();
    server.close(() => resolve());
  }));
  return `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A FoxgloveClient that records everything it receives. */
function connect(url: string, subprotocol = FoxgloveClient.SUPPORTED_SUBPROTOCOL) {
  const ws = new WebSocket(url, [subprotocol]);
  const client: Client = new FoxgloveClient({ ws });
  const seen = { serverInfo: [] as ServerInfo[], channels: new Map<number, Channel>(), unadvertised: [] as number[], statuses: [] as StatusMessage[], messages: [] as Array<{ subscriptionId: number; timestamp: bigint; message: unknown }> };
  client.on('serverInfo', (info) => seen.serverInfo.push(info));
  client.on('advertise', (channels) => channels.forEach((c) => seen.channels.set(c.id, c)));
  client.on('unadvertise', (ids) => ids.forEach((id) => { seen.unadvertised.push(id); seen.channels.delete(id); }));
  client.on('status', (status) => seen.statuses.push(status));
  client.on('message', (event: MessageData) => {
    const view = event.data;
    seen.messages.push({ subscriptionId: event.subscriptionId, timestamp: event.timestamp, message: JSON.parse(new TextDecoder().decode(new Uint8Array(view.buffer, view.byteOffset, view.byteLength))) });
  });
  cleanups.push(() => client.close());
  const channel = (topic: string) => [...seen.channels.values()].find((c) => c.topic === topic);
  const messagesOf = (subscriptionId: number) => seen.messages.filter((m) => m.subscriptionId === subscriptionId);
  return { ws, client, seen, channel, messagesOf };
}

async function until(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const stampNs = (t: { sec: number; nsec: number }) => BigInt(t.sec) * 1_000_000_000n + BigInt(t.nsec);

describe('serveFoxglove', () => {
  it('serves serverInfo, channels, the scene and moving transforms to the real Foxglove client', async () => {
    const sims = new FakeLiveSims();
    const url = await startServer(sims);
    const s1 = sims.open('reach', 1);
    sims.reset(s1);
    const { seen, client, channel, messagesOf } = connect(url);

    await until(() => seen.serverInfo.length === 1 && seen.channels.size === 6, 'serverInfo and the channels of s1');
    const info = seen.serverInfo[0];
    expect(info).toMatchObject({ op: 'serverInfo', name: 'metamanip', capabilities: [], supportedEncodings: ['json'] });
    expect(typeof info.sessionId).toBe('string');
    expect(typeof info.metadata).toBe('object');
    const topics = [...seen.channels.values()].map((c) => c.topic).sort();
    expect(topics).toEqual(['/s1/action', '/s1/joints', '/s1/obs', '/s1/reward', '/s1/scene', '/s1/tf']);
    for (const c of seen.channels.values()) {
      expect(c.encoding).toBe('json');
      expect(c.schemaEncoding).toBe('jsonschema');
      expect(() => JSON.parse(c.schema)).not.toThrow();
    }
    expect(channel('/s1/tf')!.schemaName).toBe('foxglove.FrameTransforms');
    expect(channel('/s1/scene')!.schemaName).toBe('foxglove.SceneUpdate');
    expect(channel('/s1/joints')!.schemaName).toBe('foxglove.JointStates');

    // The scene comes at once on subscribe: the sim is already in an episode.
    const sceneSub = client.subscribe(channel('/s1/scene')!.id);
    await until(() => messagesOf(sceneSub).length === 1, 'the current scene');
    const scene = messagesOf(sceneSub)[0].message as SceneUpdate;
    expect(schemaProblems(channel('/s1/scene')!.schema, scene)).toEqual([]);
    const bodies = sims.sims.get(s1)!.env.describeScene().bodies.map((b) => b.name);
    expect(scene.entities.map((e) => e.frame_id)).toEqual([...bodies.map((b) => `s1/${b}`), 'world']);

    const tfSub = client.subscribe(channel('/s1/tf')!.id);
    const jointsSub = client.subscribe(channel('/s1/joints')!.id);
    await until(() => messagesOf(tfSub).length === 1, 'the current transforms');
    for (let i = 0; i < 40; i++) {
      sims.step(s1);
      await new Promise((resolve) => setImmediate(resolve));
    }
    await until(() => messagesOf(tfSub).length === 41 && messagesOf(jointsSub).length === 41, 'a transform per step');
    const tfSchema = channel('/s1/tf')!.schema;
    const hands = messagesOf(tfSub).map(({ message, timestamp }) => {
      const transforms = message as FrameTransforms;
      expect(schemaProblems(tfSchema, transforms)).toEqual([]);
      expect(stampNs(transforms.transforms[0].timestamp)).toBe(timestamp);
      const hand = transforms.transforms.find((t) => t.child_frame_id === 's1/hand')!;
      expect(hand.parent_frame_id).toBe('world');
      return hand.translation;
    });
    // The expert moves the hand: its translation changes over the steps.
    expect(new Set(hands.map((h) => `${h.x},${h.y},${h.z}`)).size).toBeGreaterThan(20);
    const last = sims.sent.at(-1)!;
    const handIndex = bodies.indexOf('hand');
    expect(hands.at(-1)).toEqual({ x: last.poses[handIndex * 7], y: last.poses[handIndex * 7 + 1], z: last.poses[handIndex * 7 + 2] });
    for (const { message } of messagesOf(jointsSub)) expect(schemaProblems(channel('/s1/joints')!.schema, message)).toEqual([]);
    // Timestamps never go backwards.
    const stamps = messagesOf(tfSub).map((m) => m.timestamp);
    expect(stamps.every((t, i) => i === 0 || t >= stamps[i - 1])).toBe(true);

    // A second sim opened later is advertised; its channels work too.
    const s2 = sims.open('reach', 2);
    await until(() => channel('/s2/reward') !== undefined, 'the channels of s2');
    expect([...seen.channels.values()].filter((c) => c.topic.startsWith('/s2/'))).toHaveLength(6);
    const rewardSub = client.subscribe(channel('/s2/reward')!.id);
    const actionSub = client.subscribe(channel('/s2/action')!.id);
    const obsSub = client.subscribe(channel('/s2/obs')!.id);
    await new Promise((resolve) => setTimeout(resolve, 20));
    sims.reset(s2);
    for (let i = 0; i < 5; i++) sims.step(s2);
    await until(() => messagesOf(rewardSub).length === 6 && messagesOf(actionSub).length === 5 && messagesOf(obsSub).length === 6, 'rewards, actions and observations of s2');
    const s2Frames = sims.sent.filter((f) => f.sim === s2);
    expect(messagesOf(rewardSub).map((m) => m.message)).toEqual(s2Frames.map((f) => ({ episode: 0, step: f.step, reward: f.reward, success: f.success })));
    expect((messagesOf(actionSub)[0].message as { action: number[] }).action).toEqual(Array.from(s2Frames[1].action!));
    expect((messagesOf(obsSub)[5].message as { obs: number[] }).obs).toEqual(Array.from(s2Frames[5].obs));
    for (const [sub, topic] of [[rewardSub, '/s2/reward'], [actionSub, '/s2/action'], [obsSub, '/s2/obs']] as const) {
      for (const { message } of messagesOf(sub)) expect(schemaProblems(channel(topic)!.schema, message)).toEqual([]);
    }

    // Unsubscribed: no more transforms.
    client.unsubscribe(tfSub);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const before = messagesOf(tfSub).length;
    sims.step(s1);
    await until(() => messagesOf(jointsSub).length === 42, 'the next joint states');
    expect(messagesOf(tfSub).length).toBe(before);

    // A closed sim is unadvertised.
    const s1Ids = [...seen.channels.values()].filter((c) => c.topic.startsWith('/s1/')).map((c) => c.id).sort();
    sims.close(s1);
    await until(() => seen.unadvertised.length === 6, 'the unadvertise of s1');
    expect([...seen.unadvertised].sort()).toEqual(s1Ids);
    expect(seen.statuses).toEqual([]);
  });

  it('accepts the foxglove.sdk.v1 subprotocol', async () => {
    const sims = new FakeLiveSims();
    const url = await startServer(sims);
    const { ws, seen } = connect(url, 'foxglove.sdk.v1');
    await until(() => seen.serverInfo.length === 1, 'serverInfo');
    expect(ws.protocol).toBe('foxglove.sdk.v1');
  });

  it('answers bad client messages with error statuses and keeps serving', async () => {
    const sims = new FakeLiveSims();
    const url = await startServer(sims);
    const s1 = sims.open();
    sims.reset(s1);
    const { ws, seen, client, channel, messagesOf } = connect(url);
    await until(() => seen.channels.size === 6, 'channels');

    ws.send('this is not json');
    ws.send(JSON.stringify([1, 2]));
    ws.send(JSON.stringify({ op: 'subscribe', subscriptions: [{ id: 'x', channelId: 1 }] }));
    ws.send(JSON.stringify({ op: 'subscribe', subscriptions: [{ id: 5, channelId: 999 }] }));
    ws.send(JSON.stringify({ op: 'launchMissiles' }));
    ws.send(JSON.stringify({ op: 'setParameters', parameters: [] }));
    client.sendMessage(1, new Uint8Array([1, 2, 3]));
    ws.send(new Uint8Array([]));
    const sub = client.subscribe(channel('/s1/reward')!.id);
    ws.send(JSON.stringify({ op: 'subscribe', subscriptions: [{ id: sub, channelId: channel('/s1/obs')!.id }] }));
    ws.send(JSON.stringify({ op: 'unsubscribe', subscriptionIds: [12345] }));

    await until(() => seen.statuses.length === 10, 'ten status messages');
    const texts = seen.statuses.map((s) => s.message);
    expect(seen.statuses.slice(0, 8).every((s) => s.level === 2 && s.op === 'status')).toBe(true);
    expect(texts[0]).toMatch(/not valid JSON/);
    expect(texts[1]).toMatch(/"op"/);
    expect(texts[2]).toMatch(/bad subscribe message: subscriptions\.0\.id/);
    expect(texts[3]).toMatch(/channel 999 is not advertised/);
    expect(texts[4]).toMatch(/unknown op 'launchMissiles'/);
    expect(texts[5]).toMatch(/'setParameters' is not supported/);
    expect(texts[6]).toMatch(/client publish is not supported/);
    expect(texts[7]).toMatch(/unknown binary opcode/);
    expect(texts[8]).toMatch(/subscription id 0 is already in use/);
    expect(texts[9]).toMatch(/no subscription 12345/);

    // Still serving.
    sims.step(s1);
    await until(() => messagesOf(sub).length === 2, 'the current reward and the next');
  });

  it('stops listening to the hub when the client goes away', async () => {
    const sims = new FakeLiveSims();
    const url = await startServer(sims);
    const { seen, client } = connect(url);
    await until(() => seen.serverInfo.length === 1, 'serverInfo');
    expect(sims.listenerCount('frame')).toBe(1);
    client.close();
    await until(() => sims.listenerCount('frame') === 0 && sims.listenerCount('opened') === 0, 'the listeners to go');
  });

  it('holds back per-step messages while the socket is backed up, latest value winning', async () => {
    // A stand-in socket whose send buffer the test fills and empties.
    class BackedUpSocket extends EventEmitter {
      readyState = 1;
      protocol = 'foxglove.websocket.v1';
      bufferedAmount = 0;
      readonly sent: Array<string | Buffer> = [];
      send(data: string | Buffer): void { this.sent.push(data); }
      close(): void { this.readyState = 3; this.emit('close'); }
    }
    const socket = new BackedUpSocket();
    const sims = new FakeLiveSims();
    const s1 = sims.open();
    sims.reset(s1);
    serveFoxglove(socket as unknown as WebSocket, sims, { maxBufferedBytes: 1000 });
    const advertise = JSON.parse(socket.sent[1] as string) as { channels: Channel[] };
    const rewardChannel = advertise.channels.find((c) => c.topic === '/s1/reward')!;
    socket.emit('message', Buffer.from(JSON.stringify({ op: 'subscribe', subscriptions: [{ id: 7, channelId: rewardChannel.id }] })), false);
    const binary = () => socket.sent.filter((m): m is Buffer => Buffer.isBuffer(m)).map((frame) => ({ subscription: frame.readUInt32LE(1), message: JSON.parse(frame.subarray(13).toString()) as { step: number } }));
    expect(binary()).toHaveLength(1); // the current reward, at once

    socket.bufferedAmount = 10_000;
    for (let i = 0; i < 50; i++) sims.step(s1);
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(binary()).toHaveLength(1); // nothing sent, nothing piling up

    socket.bufferedAmount = 0;
    await until(() => binary().length === 2, 'the held message');
    expect(binary()[1]).toEqual({ subscription: 7, message: expect.objectContaining({ step: 50 }) });
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(binary()).toHaveLength(2);
    sims.step(s1);
    expect(binary()[2].message.step).toBe(51);
    socket.close();
    expect(sims.listenerCount('frame')).toBe(0);
  });
});
