// The size cap on a recordings folder (--record-max-mb), on real files: the oldest complete
// recordings go first; a file being written, or cut off so recently that it may still be written
// by another process, never goes.

import { copyFileSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Recorder, listRecordings, readRecording } from '../../bridge/recorder.ts';
import { endsWithMcapFooter } from '../../bridge/retention.ts';
import { startGateway } from '../../bridge/server.ts';
import { FakeLiveSims } from './fake-live-sims.ts';

let dir: string;
beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'metamanip-retention-')); });
afterEach(async () => { await rm(dir, { recursive: true, force: true }); });

const MINUTE = 60_000;
const setAge = (name: string, ageMs: number) => {
  const at = new Date(Date.now() - ageMs);
  utimesSync(join(dir, name), at, at);
};
const names = async () => (await listRecordings(dir)).map((entry) => entry.name);
const sizeOf = async (name: string) => (await listRecordings(dir)).find((entry) => entry.name === name)!.bytes;

/** Episodes of `steps` steps each, recorded to the folder and ended; returns their file names, oldest first. */
async function recordEpisodes(count: number, steps: number): Promise<string[]> {
  const before = new Set(await names());
  const sims = new FakeLiveSims();
  const recorder = new Recorder({ dir });
  recorder.attach(sims);
  const id = sims.open('reach', 1);
  for (let episode = 0; episode < count; episode++) {
    sims.reset(id);
    for (let i = 0; i < steps; i++) sims.step(id);
    sims.endEpisode(id, 'truncated');
  }
  await recorder.close();
  return (await names()).filter((name) => !before.has(name));
}

describe('the recordings folder cap', () => {
  it('deletes the oldest complete files at start, skipping a file cut off by a crash minutes ago but not hours ago', async () => {
    const complete = await recordEpisodes(4, 30);
    expect(complete).toHaveLength(4);
    complete.forEach((name, i) => setAge(name, (50 - 10 * i) * MINUTE)); // 50, 40, 30, 20 minutes old
    // Two files without their footer: one cut off 2 hours ago (a crash), one 55 minutes ago (maybe
    // another gateway's recording still being written, at a slow rate).
    const bytes = readFileSync(join(dir, complete[0]));
    writeFileSync(join(dir, 'stale-cut-off.mcap'), bytes.subarray(0, bytes.length >> 1));
    writeFileSync(join(dir, 'recent-cut-off.mcap'), bytes.subarray(0, bytes.length >> 1));
    setAge('stale-cut-off.mcap', 120 * MINUTE);
    setAge('recent-cut-off.mcap', 55 * MINUTE);
    expect(await endsWithMcapFooter(join(dir, complete[0]))).toBe(true);
    expect(await endsWithMcapFooter(join(dir, 'recent-cut-off.mcap'))).toBe(false);

    // A cap that the newest two complete files and the recent cut-off one fit under (with the 10 % margin a sweep leaves).
    const keep = [complete[2], complete[3], 'recent-cut-off.mcap'];
    let kept = 0;
    for (const name of keep) kept += await sizeOf(name);
    const maxBytes = Math.ceil(kept / 0.9) + 1;
    const lines: string[] = [];
    const recorder = new Recorder({ dir, maxBytes, log: (line) => lines.push(line) });
    const result = await recorder.enforceCap(); // after the sweep the constructor started
    await recorder.close();

    expect((await names()).sort()).toEqual([...keep].sort());
    expect(result?.bytesAfter).toBe(kept);
    expect(recorder.stats().filesDeleted).toBe(3);
    expect(lines).toEqual([expect.stringMatching(/^recordings: deleted the 3 oldest files \([\d.]+ MB\) to stay under the [\d.]+ MB cap on .+\/ \(--record-max-mb\)$/)]);
  });

  it('keeps the folder under the cap while recording, never deleting the file being written, however old it looks', async () => {
    const sims = new FakeLiveSims();
    // About four and a half 40-step episodes' worth.
    const [sample] = await recordEpisodes(1, 40);
    const episodeBytes = await sizeOf(sample);
    await rm(join(dir, sample));
    const maxBytes = Math.round(4.5 * episodeBytes);
    const lines: string[] = [];
    const recorder = new Recorder({ dir, maxBytes, log: (line) => lines.push(line) });
    recorder.attach(sims);

    // A long episode stays open (its file being written) while another sim records ten short ones.
    const long = sims.open('reach', 2), busy = sims.open('reach', 3);
    sims.reset(long);
    for (let i = 0; i < 20; i++) sims.step(long);
    const [writing] = await recorder.openFiles();
    const writingName = writing.split('/').at(-1)!;
    for (let episode = 0; episode < 10; episode++) {
      sims.reset(busy);
      for (let i = 0; i < 40; i++) sims.step(busy);
      sims.endEpisode(busy, 'truncated');
      await recorder.settled(); // the file ended, and the sweep its end started is done
      // Made to look like the oldest file of all: it must stay anyway.
      setAge(writingName, 10 * 60 * MINUTE);
      const listing = await listRecordings(dir);
      expect(listing.map((entry) => entry.name)).toContain(writingName);
      expect(listing.reduce((sum, entry) => sum + entry.bytes, 0)).toBeLessThanOrEqual(maxBytes);
    }
    for (let i = 0; i < 20; i++) sims.step(long);
    sims.endEpisode(long, 'truncated');
    await recorder.close();

    const recording = await readRecording(join(dir, writingName));
    expect(recording.complete).toBe(true);
    expect(recording.steps.map((step) => step.step)).toEqual(Array.from({ length: 41 }, (_, i) => i));
    // The newest short episodes were kept, the oldest deleted, every kept file whole.
    const kept = (await names()).filter((name) => name !== writingName);
    expect(kept.length).toBeGreaterThanOrEqual(2);
    expect(kept.every((name) => /-s2-reach-ep\d+\.mcap$/.test(name))).toBe(true);
    const episodes = kept.map((name) => Number(/-ep(\d+)\.mcap$/.exec(name)![1])).sort((a, b) => a - b);
    expect(episodes.at(-1)).toBe(9);
    expect(episodes).toEqual(Array.from({ length: episodes.length }, (_, i) => 10 - episodes.length + i));
    for (const name of kept) expect((await readRecording(join(dir, name))).complete).toBe(true);
    expect(recorder.stats().filesDeleted).toBe(10 - kept.length);
    expect(lines.length).toBeGreaterThan(0);
  });

  it('is the gateway\'s recordMaxBytes (serve --record-max-mb), applied from the start', async () => {
    await recordEpisodes(3, 10);
    const lines: string[] = [];
    const gateway = await startGateway({ port: 0, recordDir: dir, recordMaxBytes: 1, log: (line) => lines.push(line) });
    try {
      expect(gateway.recorder?.maxBytes).toBe(1);
      await gateway.recorder!.settled();
      expect(await names()).toEqual([]);
      expect(lines).toEqual([expect.stringMatching(/^recordings: deleted the 3 oldest files/)]);
    } finally {
      await gateway.close();
    }
  });

  it('never deletes a file another process may still be writing (no footer yet, touched within the hour), even at a cap of 1 byte', async () => {
    const [done] = await recordEpisodes(1, 10);
    // A copy cut in the middle, fresh: what another gateway's open file looks like.
    const bytes = readFileSync(join(dir, done));
    writeFileSync(join(dir, 'other-gateway.mcap'), bytes.subarray(0, bytes.length - 100));
    copyFileSync(join(dir, done), join(dir, 'older.mcap'));
    setAge('older.mcap', 30 * MINUTE);
    setAge('other-gateway.mcap', 40 * MINUTE);
    const recorder = new Recorder({ dir, maxBytes: 1, log: () => undefined });
    await recorder.enforceCap();
    await recorder.close();
    expect(await names()).toEqual(['other-gateway.mcap']);
  });
});
