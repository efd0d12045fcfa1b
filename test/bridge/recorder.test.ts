// Episode recordings: one MCAP file per episode, read back through @mcap/core's indexed reader,
// holding exactly what the live sims sent, with Foxglove channels that validate against their schemas.

import { writeFileSync } from 'node:fs';
import { mkdtemp, open, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { McapIndexedReader } from '@mcap/core';
import { loadDecompressHandlers } from '@mcap/support';
import type { FrameTransforms, JointStates, SceneUpdate } from '@foxglove/schemas';
import { Recorder, listRecordings, readRecording, recordingName, type RecordingCompression } from '../../bridge/recorder.ts';
import { SimHub, simBenchmark } from '../../bridge/sims.ts';
import { RECORDING_CHANNELS, type SimInfo, type StepFrame } from '../../protocol/wire.ts';
import { FakeLiveSims } from './fake-live-sims.ts';
import { schemaProblems } from './json-schema.ts';

let dir: string;
beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'metamanip-rec-')); });
afterEach(async () => { await rm(dir, { recursive: true, force: true }); });

const NAME = /^\d{8}T\d{6}\.\d{3}Z-s\d+-[a-z-]+-ep\d+(-\d+)?\.mcap$/;
const STEP_NS = 12_500_000n;

async function indexed(path: string) {
  const handle = await open(path, 'r');
  const { size } = await handle.stat();
  const reader = await McapIndexedReader.Initialize({
    // Chunks are zstd-compressed: @mcap/support's handlers (the MCAP ecosystem's wasm codecs) decompress them.
    decompressHandlers: await loadDecompressHandlers(),
    readable: {
      size: async () => BigInt(size),
      read: async (offset, length) => {
        const buffer = new Uint8Array(Number(length));
        await handle.read(buffer, 0, buffer.length, Number(offset));
        return buffer;
      },
    },
  });
  return { reader, close: () => handle.close() };
}

// JSON has no -0: compare with what JSON makes of the sent frame.
const viaJson = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

function expectStepMatches(recorded: unknown, sent: StepFrame): void {
  expect(recorded).toEqual(viaJson({
    episode: sent.episode,
    step: sent.step,
    poses: Array.from(sent.poses),
    reward: sent.reward,
    success: sent.success,
    gripper: sent.gripper,
    obs: Array.from(sent.obs),
    action: sent.action ? Array.from(sent.action) : null,
    jointPositions: sent.jointPositions,
  }));
}

describe('Recorder', () => {
  it('writes one indexed MCAP file per episode holding every step as sent', async () => {
    const sims = new FakeLiveSims();
    // A small chunk size so the episode spans several chunks.
    const recorder = new Recorder({ dir, chunkSize: 16 * 1024 });
    recorder.attach(sims);
    const id = sims.open('reach', 7);
    const STEPS = 80;
    sims.reset(id);
    for (let i = 0; i < STEPS; i++) sims.step(id);
    sims.endEpisode(id, 'terminated');
    const firstEpisode = sims.sent.slice();
    sims.reset(id);
    for (let i = 0; i < 10; i++) sims.step(id);
    sims.endEpisode(id, 'truncated');
    await recorder.close();

    const files = await readdir(dir);
    expect(files).toHaveLength(2);
    for (const name of files) {
      expect(name).toMatch(NAME);
      expect(name).not.toMatch(/[\\/]/);
    }
    const listing = await listRecordings(dir);
    expect(listing.map((entry) => entry.name)).toEqual([...files].sort());
    expect(listing[0].name).toMatch(/-s1-reach-ep0\.mcap$/);
    expect(listing[1].name).toMatch(/-s1-reach-ep1\.mcap$/);
    expect(listing.every((entry) => entry.bytes > 0 && !Number.isNaN(Date.parse(entry.modified)))).toBe(true);

    const { reader, close } = await indexed(join(dir, listing[0].name));
    try {
      expect(reader.header.profile).toBe('metamanip');
      // Summary: statistics, channels and chunk indexes.
      const stats = reader.statistics!;
      expect(stats).toBeDefined();
      expect(stats.messageCount).toBe(BigInt(2 + 3 * (STEPS + 1)));
      expect(stats.chunkCount).toBeGreaterThan(1);
      expect(reader.chunkIndexes.length).toBe(stats.chunkCount);
      expect(reader.chunkIndexes.every((chunk) => chunk.compression === 'zstd' && chunk.compressedSize < chunk.uncompressedSize)).toBe(true);
      expect(new Set([...reader.channelsById.values()].map((c) => c.topic))).toEqual(new Set(Object.values(RECORDING_CHANNELS)));

      const metadata = [];
      for await (const record of reader.readMetadata({ name: 'metamanip' })) metadata.push(Object.fromEntries(record.metadata));
      expect(metadata).toEqual([{ sim: 's1', family: 'reach', benchmark: 'ML1:reach', task: '0', split: 'train', seed: '7', policy: 'expert', episode: '0' }]);
      const end = [];
      for await (const record of reader.readMetadata({ name: 'metamanip.end' })) end.push(Object.fromEntries(record.metadata));
      expect(end).toEqual([{ reason: 'terminated', steps: String(STEPS + 1) }]);

      const byTopic = new Map<string, Array<{ logTime: bigint; message: unknown }>>();
      for await (const message of reader.readMessages()) {
        const channel = reader.channelsById.get(message.channelId)!;
        expect(channel.messageEncoding).toBe('json');
        const list = byTopic.get(channel.topic) ?? [];
        list.push({ logTime: message.logTime, message: JSON.parse(new TextDecoder().decode(message.data)) });
        byTopic.set(channel.topic, list);
      }
      const start = byTopic.get(RECORDING_CHANNELS.episode)!;
      expect(start).toHaveLength(1);
      const episode = start[0].message as { info: SimInfo; scene: unknown };
      expect(episode.info).toMatchObject({ id: 's1', family: 'reach', seed: 7, episode: 1 });
      expect(episode.scene).toEqual(JSON.parse(JSON.stringify(sims.sims.get(id)!.env.describeScene())));

      const steps = byTopic.get(RECORDING_CHANNELS.step)!;
      expect(steps).toHaveLength(STEPS + 1);
      steps.forEach((entry, i) => {
        expectStepMatches(entry.message, firstEpisode[i]);
        // Simulated time: the episode's start plus 12.5 ms a step.
        expect(entry.logTime - start[0].logTime).toBe(BigInt(i) * STEP_NS);
      });
      // The hand moved towards the goal: poses really change over the episode.
      expect(steps[0].message).not.toEqual(steps[STEPS].message);
    } finally {
      await close();
    }

    // The same file through readRecording (indexed path).
    const recording = await readRecording(join(dir, listing[1].name));
    expect(recording.complete).toBe(true);
    expect(recording.metadata['metamanip.end']).toEqual({ reason: 'truncated', steps: '11' });
    expect(recording.steps).toHaveLength(11);
    recording.steps.forEach((step, i) => expectStepMatches(step, sims.sent[firstEpisode.length + i]));
  });

  it('writes Foxglove channels that validate against their schemas and follow the bodies', async () => {
    const sims = new FakeLiveSims();
    const recorder = new Recorder({ dir });
    recorder.attach(sims);
    const id = sims.open('reach');
    sims.reset(id);
    for (let i = 0; i < 30; i++) sims.step(id);
    sims.endEpisode(id);
    await recorder.close();

    const [entry] = await listRecordings(dir);
    const recording = await readRecording(join(dir, entry.name));
    const scene = sims.sims.get(id)!.env.describeScene();
    const bodyNames = scene.bodies.map((b) => b.name);
    for (const topic of [RECORDING_CHANNELS.transforms, RECORDING_CHANNELS.scene, RECORDING_CHANNELS.joints]) {
      const channel = recording.channels[topic];
      expect(channel.schemaEncoding).toBe('jsonschema');
      expect(channel.schemaName).toBe({ '/tf': 'foxglove.FrameTransforms', '/scene': 'foxglove.SceneUpdate', '/joints': 'foxglove.JointStates' }[topic]);
      const messages = recording.messages.filter((m) => m.topic === topic);
      expect(messages.length).toBeGreaterThan(0);
      for (const { message } of messages) expect(schemaProblems(channel.schema, message)).toEqual([]);
    }
    // The check itself catches a misspelt field and a wrong type.
    const tf = recording.channels[RECORDING_CHANNELS.transforms].schema;
    expect(schemaProblems(tf, { transforms: [{ timestamp: { sec: 0, nsec: 0 }, parent_frame_id: 'world', child_frame_id: 'hand', translation: { x: 0, y: 0, z: 0 }, rotaton: { x: 0, y: 0, z: 0, w: 1 } }] })).not.toEqual([]);
    expect(schemaProblems(tf, { transforms: [{ timestamp: { sec: 0.5, nsec: 0 }, parent_frame_id: 'world', child_frame_id: 'hand', translation: { x: 0, y: 0, z: 0 }, rotation: { x: 0, y: 0, z: 0, w: 1 } }] })).not.toEqual([]);
    for (const topic of [RECORDING_CHANNELS.episode, RECORDING_CHANNELS.step]) {
      const channel = recording.channels[topic];
      for (const { message } of recording.messages.filter((m) => m.topic === topic)) expect(schemaProblems(channel.schema, message)).toEqual([]);
    }

    const sceneUpdates = recording.messages.filter((m) => m.topic === RECORDING_CHANNELS.scene).map((m) => m.message as SceneUpdate);
    expect(sceneUpdates).toHaveLength(1);
    const entities = sceneUpdates[0].entities;
    expect(entities.map((e) => e.id)).toEqual([...bodyNames, 'goal']);
    for (const body of scene.bodies) {
      const entityOf = entities.find((e) => e.id === body.name)!;
      expect(entityOf.frame_id).toBe(body.name);
      expect(entityOf.frame_locked).toBe(true);
      const count = (kind: string) => body.parts.filter((p) => p.shape.kind === kind).length;
      expect(entityOf.cubes).toHaveLength(count('box'));
      expect(entityOf.cylinders).toHaveLength(count('cylinder') + count('capsule'));
      expect(entityOf.spheres).toHaveLength(count('sphere') + 2 * count('capsule'));
    }
    // Colours from the hex strings: the table top is #8a6a4a.
    const table = entities.find((e) => e.id === 'table')!;
    expect(table.cubes[0].color).toEqual({ r: 0x8a / 255, g: 0x6a / 255, b: 0x4a / 255, a: 1 });
    expect(table.cubes[0].size).toEqual({ x: 1.4, y: 1, z: 0.1 });
    // The upper arm's capsule runs along its local y: its caps sit at +-halfHeight on y.
    const upperArm = scene.bodies.find((b) => b.name === 'upperArm')!.parts[0];
    const capsule = entities.find((e) => e.id === 'upperArm')!;
    const halfHeight = (upperArm.shape as { halfHeight: number }).halfHeight;
    const capYs = capsule.spheres.map((s) => s.pose.position.y - upperArm.offset.position[1]).sort((a, b) => a - b);
    expect(capYs[0]).toBeCloseTo(-halfHeight, 9);
    expect(capYs[1]).toBeCloseTo(halfHeight, 9);
    // Rotating Foxglove's z-axis cylinder onto y: a quarter turn about x.
    expect(Math.abs(capsule.cylinders[0].pose.orientation.x)).toBeCloseTo(Math.SQRT1_2, 9);

    const transforms = recording.messages.filter((m) => m.topic === RECORDING_CHANNELS.transforms).map((m) => m.message as FrameTransforms);
    expect(transforms).toHaveLength(31);
    const handIndex = bodyNames.indexOf('hand');
    transforms.forEach((message, i) => {
      expect(message.transforms.map((t) => t.child_frame_id)).toEqual(bodyNames);
      expect(message.transforms.every((t) => t.parent_frame_id === 'world')).toBe(true);
      const hand = message.transforms[handIndex];
      const poses = sims.sent[i].poses;
      expect([hand.translation.x, hand.translation.y, hand.translation.z, hand.rotation.x, hand.rotation.y, hand.rotation.z, hand.rotation.w]).toEqual(Array.from(poses.subarray(handIndex * 7, handIndex * 7 + 7)));
    });
    const joints = recording.messages.filter((m) => m.topic === RECORDING_CHANNELS.joints).map((m) => m.message as JointStates);
    expect(joints[5].joints.map((j) => j.name)).toEqual(['j0', 'j1', 'j2', 'j3', 'j4', 'j5', 'j6', 'gripper']);
    expect(joints[5].joints.map((j) => j.position)).toEqual(viaJson([...sims.sent[5].jointPositions, sims.sent[5].gripper]));
    // Message timestamps agree with the log time.
    const tfMessage = recording.messages.filter((m) => m.topic === RECORDING_CHANNELS.transforms)[3];
    const stamp = (tfMessage.message as FrameTransforms).transforms[0].timestamp;
    expect(BigInt(stamp.sec) * 1_000_000_000n + BigInt(stamp.nsec)).toBe(tfMessage.logTime);
  });

  it('records only what shouldRecord selects, and detaches', async () => {
    const sims = new FakeLiveSims();
    const seen: SimInfo[] = [];
    const recorder = new Recorder({ dir, shouldRecord: (info) => { seen.push(info); return info.id === 's2'; } });
    const detach = recorder.attach(sims);
    const a = sims.open(), b = sims.open();
    sims.reset(a); sims.reset(b);
    for (let i = 0; i < 5; i++) { sims.step(a); sims.step(b); }
    sims.endEpisode(a); sims.endEpisode(b);
    detach();
    sims.reset(b); sims.step(b);
    await recorder.close();
    expect(seen.map((info) => info.id)).toEqual(['s1', 's2']);
    const files = await readdir(dir);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/-s2-reach-ep0\.mcap$/);
  });

  it('stops an episode early, with a complete file, when writes pile up faster than the disk takes them', async () => {
    const sims = new FakeLiveSims();
    const errors: string[] = [];
    // 200 steps in one synchronous burst: none of their writes can finish before the next arrives.
    const recorder = new Recorder({ dir, maxBacklog: 50, onError: (error) => errors.push(error.message) });
    recorder.attach(sims);
    const id = sims.open();
    sims.reset(id);
    for (let i = 0; i < 200; i++) sims.step(id);
    sims.endEpisode(id);
    await recorder.close();
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^the disk is not keeping up \(50 writes waiting\): the recording of this episode stopped at step \d+; the file holds the steps before it$/);
    const [file] = await readdir(dir);
    const recording = await readRecording(join(dir, file));
    expect(recording.complete).toBe(true);
    const stoppedAt = Number(/stopped at step (\d+)/.exec(errors[0])![1]);
    expect(recording.steps.map((step) => step.step)).toEqual(Array.from({ length: stoppedAt }, (_, i) => i));
  });

  it('ends files cleanly when a new episode starts without an end, when the sim closes and on close()', async () => {
    const sims = new FakeLiveSims();
    const recorder = new Recorder({ dir });
    recorder.attach(sims);
    const a = sims.open(), b = sims.open();
    sims.reset(a); sims.step(a);
    sims.reset(a); sims.step(a); sims.step(a); // no episodeEnd in between
    sims.close(a);
    sims.reset(b); for (let i = 0; i < 4; i++) sims.step(b);
    expect(await recorder.openFiles()).toHaveLength(1);
    await recorder.close(); // b is mid-episode
    expect(await recorder.openFiles()).toHaveLength(0);

    const listing = await listRecordings(dir);
    expect(listing).toHaveLength(3);
    const recordings = await Promise.all(listing.map((entry) => readRecording(join(dir, entry.name))));
    const byName = (suffix: string) => recordings.find((r) => r.name.endsWith(suffix))!;
    expect(recordings.every((r) => r.complete)).toBe(true);
    expect(byName('-s1-reach-ep0.mcap').steps).toHaveLength(2);
    expect(byName('-s1-reach-ep0.mcap').metadata['metamanip.end'].reason).toBe('closed');
    expect(byName('-s1-reach-ep1.mcap').steps).toHaveLength(3);
    expect(byName('-s2-reach-ep0.mcap').steps).toHaveLength(5);
    expect(byName('-s2-reach-ep0.mcap').metadata['metamanip.end']).toEqual({ reason: 'closed', steps: '5' });
  });

  it('compresses an episode to under a quarter of its uncompressed size, the same messages inside', async () => {
    const record = async (compression: RecordingCompression) => {
      const out = join(dir, compression);
      const sims = new FakeLiveSims();
      const recorder = new Recorder({ dir: out, compression });
      recorder.attach(sims);
      const id = sims.open('reach', 2);
      sims.reset(id);
      for (let i = 0; i < 200; i++) sims.step(id);
      sims.endEpisode(id, 'truncated');
      await recorder.close();
      const [entry] = await listRecordings(out);
      expect(recorder.stats()).toMatchObject({ framesSeen: 201, framesWritten: 201, filesEnded: 1, bytesEnded: entry.bytes, backlogStops: 0 });
      return { bytes: entry.bytes, recording: await readRecording(join(out, entry.name)) };
    };
    const plain = await record('none');
    const zstd = await record('zstd');
    expect(zstd.bytes / plain.bytes).toBeLessThan(0.25);
    expect(zstd.recording.complete).toBe(true);
    expect(zstd.recording.steps).toEqual(plain.recording.steps);
    // The same messages but for the wall-clock timestamps (each file starts at its own time).
    const untimed = (value: unknown): unknown => JSON.parse(JSON.stringify(value, (key, v: unknown) => (key === 'timestamp' ? undefined : v)));
    const contents = (recording: typeof plain.recording) => recording.messages.map((m) => [m.topic, m.sequence, untimed(m.message)]);
    expect(contents(zstd.recording)).toEqual(contents(plain.recording));
  });

  it('records a sim that switches families between episodes, each file with its own family and scene', async () => {
    const hub = new SimHub();
    const recorder = new Recorder({ dir });
    recorder.attach(hub);
    const info = hub.open({ ...simBenchmark({ benchmark: 'ML10', seed: 0 }), split: 'train', task: 0, policy: 'controller' });
    const families: string[] = [];
    const scenes: unknown[] = [];
    // Three episodes on tasks of different families, the last on the test split; each one cut short by the next reset.
    for (const [split, task] of [['train', 0], ['train', 60], ['test', 0]] as const) {
      hub.reset(info.id, { split, task });
      families.push(hub.info(info.id).family);
      scenes.push(JSON.parse(JSON.stringify(hub.current(info.id)!.scene)));
      for (let i = 0; i < 5; i++) hub.step(info.id, [0.2, -0.1, 0.1, 1]);
    }
    hub.closeAll();
    await recorder.close();
    expect(new Set(families).size).toBe(3);
    // In episode order (names sort by start time, and episodes may start within the same millisecond).
    const episodeOf = (name: string) => Number(/-ep(\d+)\.mcap$/.exec(name)![1]);
    const listing = (await listRecordings(dir)).sort((a, b) => episodeOf(a.name) - episodeOf(b.name));
    expect(listing.map((entry) => /-s1-([a-z-]+)-ep\d+\.mcap$/.exec(entry.name)?.[1])).toEqual(families);
    for (const [i, entry] of listing.entries()) {
      const recording = await readRecording(join(dir, entry.name));
      expect(recording.complete).toBe(true);
      expect(recording.metadata.metamanip).toMatchObject({ family: families[i], benchmark: 'ML10', episode: String(i) });
      expect(recording.episode?.scene).toEqual(scenes[i]);
      expect(recording.steps.map((step) => step.step)).toEqual([0, 1, 2, 3, 4, 5]);
      // The Foxglove scene and transforms name this episode's bodies.
      const bodies = (scenes[i] as { bodies: Array<{ name: string }> }).bodies.map((body) => body.name);
      const update = recording.messages.find((m) => m.topic === RECORDING_CHANNELS.scene)!.message as SceneUpdate;
      expect(update.entities.map((entity) => entity.id)).toEqual([...bodies, 'goal']);
      const transforms = recording.messages.filter((m) => m.topic === RECORDING_CHANNELS.transforms).map((m) => m.message as FrameTransforms);
      expect(transforms.every((t) => t.transforms.map((x) => x.child_frame_id).join() === bodies.join())).toBe(true);
    }
  });

  it('names files with plain names only, never overwriting one', async () => {
    const info: SimInfo = { id: '../s1', family: 'a/b\\c', benchmark: null, split: 'test', task: 2, seed: 1, policy: 'x', episode: 3, step: 0 };
    const at = new Date(Date.UTC(2026, 10, 22, 6, 15, 1, 123));
    expect(recordingName(info, at)).toBe('20261122T061501.123Z-__s1-a_b_c-ep2.mcap');
    expect(recordingName(info, at, 2)).toBe('20261122T061501.123Z-__s1-a_b_c-ep2-2.mcap');
    expect(recordingName({ ...info, id: '..', family: 'reach' }, at)).not.toMatch(/[\\/]/);
  });

  it('reports a folder it cannot write to without throwing into the hub', async () => {
    const sims = new FakeLiveSims();
    const errors: string[] = [];
    // A missing folder is created; a path through a regular file cannot be.
    writeFileSync(join(dir, 'a-file'), '');
    const recorder = new Recorder({ dir: join(dir, 'a-file', 'recordings'), onError: (error, file) => errors.push(`${file}: ${error.message}`) });
    recorder.attach(sims);
    const id = sims.open();
    sims.reset(id); sims.step(id); sims.endEpisode(id);
    await recorder.close();
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/ENOTDIR/);
  });
});
