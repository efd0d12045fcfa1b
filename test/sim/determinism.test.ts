import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { rollout, type RolloutRecord, type RolloutSpec } from './rollout-fixture.ts';

const bytes = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
const expectIdentical = (a: RolloutRecord, b: RolloutRecord) => {
  expect(bytes(a.observations).equals(bytes(b.observations))).toBe(true);
  expect(bytes(a.rewards).equals(bytes(b.rewards))).toBe(true);
  expect(bytes(a.joints).equals(bytes(b.joints))).toBe(true);
};

function inWorker(spec: RolloutSpec): Promise<RolloutRecord> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./determinism.worker.mjs', import.meta.url), { workerData: spec });
    worker.once('message', (record: RolloutRecord) => { resolve(record); void worker.terminate(); });
    worker.once('error', reject);
  });
}

describe('determinism', () => {
  const spec: RolloutSpec = { family: 'push', benchmarkSeed: 3, taskIndex: 7, episodeSeed: 11, actionSeed: 5, steps: 300 };

  it('gives bit-identical observations, rewards and joints for the same benchmark, task, seeds and actions', () => {
    const a = rollout(spec), b = rollout(spec);
    expectIdentical(a, b);
    // And the rollout really moved the object, so equality means something.
    let moved = 0;
    for (let t = 1; t <= 300; t++) moved = Math.max(moved, Math.hypot(a.observations[39 * t + 4] - a.observations[4], a.observations[39 * t + 5] - a.observations[5]));
    expect(moved).toBeGreaterThan(0.02);
  });

  it('differs when the actions differ', () => {
    const a = rollout(spec), b = rollout({ ...spec, actionSeed: 6 });
    expect(bytes(a.observations).equals(bytes(b.observations))).toBe(false);
  });

  it('gives the same bits in a worker thread as in the main thread', async () => {
    for (const family of ['reach', 'pick-place']) {
      const s = { ...spec, family };
      expectIdentical(await inWorker(s), rollout(s));
    }
  }, 60_000);
});
