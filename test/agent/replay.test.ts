import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { blobPath, exportPolicy, readCheckpoint, writeCheckpoint } from '../../agent/checkpoint.ts';
import { rngFor } from '../../agent/random.ts';
import { ReplayBuffer, bytesPerTransition, replayCapProblem } from '../../agent/replay.ts';
import { RunDir } from '../../agent/run.ts';

const layout = { obs: 3, action: 2, reward: 1 };

/** Transition k of an episode: values that say where they came from. */
const transition = (task: number, k: number) => ({ obs: [task, k, 0.5], action: [k / 10, -k / 10], reward: k });

function filled(capacity: number, episodes: number[][]): ReplayBuffer {
  const buffer = new ReplayBuffer({ tasks: episodes.length, capacityPerTask: capacity, layout });
  episodes.forEach((lengths, task) => {
    let k = 0;
    for (const length of lengths) for (let step = 0; step < length; step++) buffer.add(task, transition(task, k++), step);
  });
  return buffer;
}

describe('replay buffer', () => {
  it('keeps the last capacity transitions of each task, oldest overwritten', () => {
    const buffer = filled(5, [[4, 4], [3]]);
    expect([buffer.size(0), buffer.added(0), buffer.size(1), buffer.added(1), buffer.totalSize()]).toEqual([5, 8, 3, 3, 8]);
    expect(Array.from(buffer.last(0, 10).fields.reward)).toEqual([3, 4, 5, 6, 7]);
    expect(Array.from(buffer.last(1, 2).fields.obs)).toEqual([1, 1, 0.5, 1, 2, 0.5]);
    expect(buffer.bytes()).toBe(2 * 5 * bytesPerTransition(layout));
    expect(bytesPerTransition(layout)).toBe(4 * 6 + 4);
  });

  it('samples uniformly over the stored transitions of the tasks asked for, or their recent window', () => {
    const buffer = filled(100, [[100], [50], []]);
    const rng = rngFor(1, 'test');
    const all = buffer.sample(rng, 30000);
    const fromFirst = all.tasks.filter((t) => t === 0).length / all.size;
    expect(fromFirst).toBeGreaterThan(0.64);
    expect(fromFirst).toBeLessThan(0.69); // 100 of 150
    const second = buffer.sample(rng, 2000, { tasks: [1] });
    expect(new Set(second.tasks)).toEqual(new Set([1]));
    const recent = buffer.sample(rng, 2000, { tasks: [0], recent: 10 });
    expect(Math.min(...recent.fields.reward)).toBe(90);
    expect(Math.max(...recent.fields.reward)).toBe(99);
    expect(() => buffer.sample(rng, 1, { tasks: [2] })).toThrow(/no transitions for task\(s\) 2/);
  });

  it('gives each sample the transitions before it in the same episode, never across an episode start or an overwritten slot', () => {
    const buffer = filled(8, [[3, 5]]); // stored: steps 0..2 of episode 1 (k 0-2), then 0..4 of episode 2 (k 3-7)
    const window = buffer.last(0, 8, 4);
    expect(Array.from(window.historyLength!)).toEqual([0, 1, 2, 0, 1, 2, 3, 4]);
    // k = 5 (step 2 of episode 2): right-aligned history [0, 0, k3, k4]
    expect(Array.from(window.history!.reward.subarray(5 * 4, 6 * 4))).toEqual([0, 0, 3, 4]);
    expect(Array.from(window.history!.action.subarray(7 * 8, 8 * 8))).toEqual([0.3, -0.3, 0.4, -0.4, 0.5, -0.5, 0.6, -0.6].map(Math.fround));
    const wrapped = filled(4, [[10]]); // the ring keeps steps 6..9
    expect(Array.from(wrapped.last(0, 4, 5).historyLength!)).toEqual([0, 1, 2, 3]);
  });

  it('round-trips through a blob bit for bit and samples the same afterwards', () => {
    const buffer = filled(6, [[4, 5], [2], []]);
    const copy = ReplayBuffer.fromBlob(buffer.toBlob());
    expect(copy.toBlob()).toEqual(buffer.toBlob());
    const a = buffer.sample(rngFor(3, 's'), 64, { history: 3 });
    const b = copy.sample(rngFor(3, 's'), 64, { history: 3 });
    expect(b).toEqual(a);
    // Both go on the same way.
    buffer.add(1, transition(1, 9), 2);
    copy.add(1, transition(1, 9), 2);
    expect(copy.toBlob()).toEqual(buffer.toBlob());
    expect(() => ReplayBuffer.fromBlob(new Uint8Array(16))).toThrow(/bad magic/);
    expect(() => ReplayBuffer.fromBlob(buffer.toBlob().subarray(0, 80))).toThrow(/truncated/);
  });

  it('refuses a buffer over the memory cap, saying what it needs and what fits', () => {
    const options = { tasks: 50, capacityPerTask: 1_000_000, layout: { obs: 39, action: 4, reward: 1, nextObs: 39, done: 1 } };
    expect(replayCapProblem(options)).toMatch(/50 tasks x 1000000 transitions x 340 bytes needs 15\.83 GiB, over the cap of 2\.00 GiB; at most 126322 transitions per task fit/);
    expect(() => new ReplayBuffer(options)).toThrow(/over the cap/);
    expect(replayCapProblem({ ...options, capacityPerTask: 126322 })).toBeNull();
    expect(() => new ReplayBuffer({ ...options, capacityPerTask: 10 }).add(0, { obs: [1] }, 0)).toThrow(/lacks field 'action'|holds 39 floats, got 1/);
  });
});

describe('checkpoint blobs', () => {
  const source = readCheckpoint('checkpoints/qtable-mdp-n10.json');

  it('keeps blobs in a .bin beside the JSON, checked by length and hash; best and the kept checkpoints have theirs', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mm-blobs-'));
    const buffer = filled(6, [[4, 5], [2]]);
    const blobs = { replay: buffer.toBlob(), extra: new Uint8Array([1, 2, 3]) };
    const path = join(dir, 'a.json');
    writeCheckpoint(path, { ...source, state: { ...source.state, blobs } });
    expect(readFileSync(path, 'utf8')).not.toContain('"blobs"');
    const back = readCheckpoint(path);
    expect(back.state.blobs!.replay).toEqual(blobs.replay);
    expect(Array.from(back.state.blobs!.extra)).toEqual([1, 2, 3]);
    expect(back.state.params).toEqual(source.state.params);

    const binary = readFileSync(blobPath(path));
    binary[binary.length - 1] ^= 1;
    writeFileSync(blobPath(path), binary);
    expect(() => readCheckpoint(path)).toThrow(/a\.bin does not match .*a\.json/);

    // Exports keep only the blobs the algorithm acts with (the Q-table acts with none).
    writeCheckpoint(path, { ...source, state: { ...source.state, blobs } });
    const exported = exportPolicy(path, join(dir, 'b.json'));
    expect(exported.state.blobs).toBeUndefined();
    expect(existsSync(join(dir, 'b.bin'))).toBe(false);

    const run = new RunDir(join(dir, 'run'));
    run.create({}, {});
    for (let iteration = 1; iteration <= 4; iteration++) {
      run.saveCheckpoint({ ...source, iteration, state: { ...source.state, blobs } }, { keepLast: 2, isBest: iteration === 2 });
    }
    expect(run.checkpointFiles().map((f) => f.slice(-16))).toEqual(['iter-000003.json', 'iter-000004.json']);
    for (const file of [...run.checkpointFiles(), run.bestPath]) expect(readCheckpoint(file).state.blobs!.replay).toEqual(blobs.replay);
    expect(existsSync(join(run.checkpoints, 'iter-000001.bin'))).toBe(false);
    expect(readCheckpoint(run.bestPath).iteration).toBe(2);
    // A checkpoint whose .bin went missing says which file to copy.
    writeFileSync(join(dir, 'c.json'), readFileSync(run.bestPath));
    expect(() => readCheckpoint(join(dir, 'c.json'))).toThrow(/in c\.bin, which is missing/);
  });
});
