// Crash safety of recordings for real: a child process records an episode and is killed with
// SIGKILL mid-episode; every complete chunk of its file must still read back and match what it sent.

import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { McapStreamReader } from '@mcap/core';
import { loadDecompressHandlers } from '@mcap/support';
import { listRecordings, readRecording } from '../../bridge/recorder.ts';
import { RECORDING_CHANNELS, type RecordedStep } from '../../protocol/wire.ts';

const CHILD = fileURLToPath(new URL('./recorder-crash-child.ts', import.meta.url));
const CHUNK_SIZE = 64 * 1024;
const KILL_AFTER_STEPS = 300;

let dir: string;
beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'metamanip-crash-')); });
afterEach(async () => { await rm(dir, { recursive: true, force: true }); });

interface SentStep { step: number; reward: number; obs: number[]; poses: number[]; action: number[] | null }

/** Runs the child until it has sent `steps` frames, then SIGKILLs it; returns what it sent. */
function recordAndKill(steps: number): Promise<SentStep[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, dir, String(CHUNK_SIZE)], { stdio: ['ignore', 'pipe', 'pipe'] });
    const sent: SentStep[] = [];
    let buffered = '', stderr = '', killed = false;
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (text: string) => {
      buffered += text;
      let newline;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        if (line.startsWith('{')) sent.push(JSON.parse(line) as SentStep);
        if (!killed && sent.length >= steps) {
          killed = true;
          child.kill('SIGKILL');
        }
      }
    });
    child.stderr.on('data', (text: Buffer) => { stderr += text.toString(); });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL' && killed) resolve(sent);
      else reject(new Error(`child exited (code ${code}, signal ${signal}) before it was killed: ${stderr}`));
    });
  });
}

it('keeps every complete chunk of an episode cut off by SIGKILL', async () => {
  const sent = await recordAndKill(KILL_AFTER_STEPS);
  // Lines may have arrived after the kill was sent: those frames were sent too.
  expect(sent.length).toBeGreaterThanOrEqual(KILL_AFTER_STEPS);

  const listing = await listRecordings(dir);
  expect(listing).toHaveLength(1);
  const path = join(dir, listing[0].name);
  expect(listing[0].name).toMatch(/^\d{8}T\d{6}\.\d{3}Z-s1-reach-ep0\.mcap$/);

  // A raw stream read: the file is an MCAP data section without its end, chunk after complete
  // (zstd-compressed) chunk; @mcap/support's handlers decompress them.
  const bytes = await readFile(path);
  const stream = new McapStreamReader({ includeChunks: true, validateCrcs: true, decompressHandlers: await loadDecompressHandlers() });
  stream.append(bytes);
  let chunks = 0, metadata = 0, sawFooter = false;
  for (let record; (record = stream.nextRecord()); ) {
    if (record.type === 'Chunk') {
      chunks++;
      expect(record.compression).toBe('zstd');
    }
    if (record.type === 'Metadata') metadata++;
    if (record.type === 'Footer') sawFooter = true;
  }
  expect(sawFooter).toBe(false);
  expect(metadata).toBe(1); // `metamanip`, written before the first chunk
  // ~4.5 KB of messages a step in 64 KiB chunks: hundreds of steps fill many chunks.
  expect(chunks).toBeGreaterThan(5);
  // What is left unparsed is at most the chunk that was being written.
  expect(stream.bytesRemaining()).toBeLessThan(2 * CHUNK_SIZE);

  // The same file through readRecording: the index is missing, so it falls back to streaming.
  const recording = await readRecording(path);
  expect(recording.complete).toBe(false);
  expect(recording.metadata.metamanip).toMatchObject({ family: 'reach', seed: '3', policy: 'expert' });
  expect(recording.episode?.info.id).toBe('s1');
  const steps = recording.steps;
  // Every complete chunk's steps: a prefix of what was sent, nearly all of it (at most two chunks lost).
  expect(steps.length).toBeGreaterThan(sent.length - 2 * Math.ceil(CHUNK_SIZE / 4000));
  expect(steps.length).toBeLessThanOrEqual(sent.length);
  steps.forEach((step: RecordedStep, i) => {
    const expected = JSON.parse(JSON.stringify(sent[i])) as SentStep;
    expect(step.step).toBe(i);
    expect(step.step).toBe(expected.step);
    expect(step.reward).toBe(expected.reward);
    expect(step.obs).toEqual(expected.obs);
    expect(step.poses).toEqual(expected.poses);
    expect(step.action).toEqual(expected.action);
  });
  // The Foxglove channels' messages in those chunks are whole and in step order too.
  for (const topic of [RECORDING_CHANNELS.transforms, RECORDING_CHANNELS.joints]) {
    const messages = recording.messages.filter((m) => m.topic === topic);
    expect(messages.length).toBeGreaterThanOrEqual(steps.length - 1);
    messages.forEach((m, i) => expect(m.sequence).toBe(i));
  }
}, 60_000);
