// VectorEnv on real worker threads: bit-identical results for any worker count, both autoreset
// modes against single envs stepped in this thread, per-env error reporting, input validation.

import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { ML10, MT10, VectorEnv, VectorEnvError, makeEnv, parseBenchmark, type AutoresetMode, type Task } from '../../sim/index.ts';
import { createRng } from '../../sim/rng.ts';

const SEED = 40;
// One benchmark, tasks of four families in both splits (ML10's train tasks: 50 per family, reach first).
const BENCH = ML10(0);
const TASKS: Task[] = [BENCH.train[3], BENCH.train[55], BENCH.train[101], BENCH.test[7]];
const N = TASKS.length;
const OBS = 39;
// Past the 500-step episode, so every env ends one episode and starts the next.
const STEPS = 520;

const bytes = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

/** Seeded random actions for `steps` steps of `n` envs, low over the table so the arm meets the puck. */
function randomActions(steps: number, n: number, seed: number): Float32Array {
  const rng = createRng(seed);
  const actions = new Float32Array(steps * n * 4);
  for (let k = 0; k < actions.length; k += 4) {
    actions[k] = rng.uniform(-1, 1);
    actions[k + 1] = rng.uniform(-1, 1);
    actions[k + 2] = rng.uniform(-1, 0.2);
    actions[k + 3] = rng.uniform(-1, 1);
  }
  return actions;
}

/** Everything a run returns, step by step, in one layout for the vector and the reference. */
interface Log { obs: Float32Array; finalObs: Float32Array; rewards: Float64Array; flags: Uint8Array; seeds: Float64Array }
const newLog = (steps: number, n: number): Log => ({
  obs: new Float32Array((steps + 1) * n * OBS), finalObs: new Float32Array(steps * n * OBS), rewards: new Float64Array(steps * n),
  flags: new Uint8Array(steps * n * 3), seeds: new Float64Array((steps + 1) * n),
});
const logBytes = (log: Log) => Buffer.concat([log.obs, log.finalObs, log.rewards, log.flags, log.seeds].map(bytes));

async function runVector(workers: number, autoreset: AutoresetMode, actions: Float32Array): Promise<Log> {
  const venv = await VectorEnv.create({ benchmark: BENCH, tasks: TASKS, workers, autoreset, seed: SEED });
  try {
    expect(venv.numWorkers).toBe(workers);
    const log = newLog(STEPS, N);
    log.obs.set(venv.reset().obs, 0);
    log.seeds.set(venv.episodeSeeds, 0);
    for (let t = 0; t < STEPS; t++) {
      const r = venv.step(actions.subarray(t * N * 4, (t + 1) * N * 4));
      log.obs.set(r.obs, (t + 1) * N * OBS);
      log.rewards.set(r.rewards, t * N);
      for (let i = 0; i < N; i++) {
        log.flags.set([r.terminated[i], r.truncated[i], r.success[i]], (t * N + i) * 3);
        // finalObs rows are defined only where an episode ended.
        if (r.finalObs && (r.terminated[i] || r.truncated[i])) log.finalObs.set(r.finalObs.subarray(i * OBS, (i + 1) * OBS), (t * N + i) * OBS);
      }
      log.seeds.set(venv.episodeSeeds, (t + 1) * N);
    }
    return log;
  } finally {
    await venv.close();
  }
}

/** What the vector must return, from one env per task stepped here by the documented rules. */
function reference(autoreset: AutoresetMode, actions: Float32Array): Log {
  const log = newLog(STEPS, N);
  TASKS.forEach((task, i) => {
    const env = makeEnv(BENCH, task);
    let episode = 0, autoresetDue = false;
    const reset = () => env.reset({ seed: SEED + i + episode++ * N }).obs;
    log.obs.set(reset(), i * OBS);
    log.seeds[i] = SEED + i;
    for (let t = 0; t < STEPS; t++) {
      const row = (t + 1) * N + i;
      if (autoresetDue) {
        log.obs.set(reset(), row * OBS);
        autoresetDue = false;
      } else {
        const r = env.step(actions.subarray((t * N + i) * 4, (t * N + i + 1) * 4));
        const ended = r.terminated || r.truncated;
        log.rewards[t * N + i] = r.reward;
        log.flags.set([r.terminated ? 1 : 0, r.truncated ? 1 : 0, r.info.success], (t * N + i) * 3);
        if (ended && autoreset === 'same-step') {
          log.finalObs.set(r.obs, (t * N + i) * OBS);
          log.obs.set(reset(), row * OBS);
        } else {
          log.obs.set(r.obs, row * OBS);
          autoresetDue = ended;
        }
      }
      log.seeds[row] = SEED + i + (episode - 1) * N;
    }
    env.close();
  });
  return log;
}

describe('VectorEnv', () => {
  const actions = randomActions(STEPS, N, 9);

  for (const autoreset of ['next-step', 'same-step'] as const) {
    // Every run must equal the single-env reference bit for bit, hence each other; the same-step
    // mode shares the cross-worker code path, so one worker count is enough there.
    const counts = autoreset === 'next-step' ? [1, 2, 3] : [2];
    it(`matches single envs bit for bit with W = ${counts.join(', ')} workers (${autoreset} autoreset)`, async () => {
      const logs = await Promise.all(counts.map((w) => runVector(w, autoreset, actions)));
      const expected = reference(autoreset, actions);
      for (const log of logs) expect(logBytes(log).equals(logBytes(expected))).toBe(true);
      // The run really ended episodes and moved things, so equality means something.
      const log = logs[0];
      const truncatedAt = (i: number) => Array.from({ length: STEPS }, (_, t) => log.flags[(t * N + i) * 3 + 1]).indexOf(1);
      for (let i = 0; i < N; i++) expect(truncatedAt(i)).toBe(499);
      expect(log.seeds[STEPS * N + 2]).toBe(SEED + 2 + N);
      expect(log.obs[(400 * N + 1) * OBS]).not.toBe(log.obs[OBS]); // env 1's hand x, step 400 vs reset
      if (autoreset === 'next-step') {
        // The step after the end resets: reward 0, flags 0, the first observation of the next episode.
        expect(log.rewards[500 * N]).toBe(0);
        expect(Array.from(log.flags.subarray(500 * N * 3, 501 * N * 3)).every((f) => f === 0)).toBe(true);
      } else {
        // The final step keeps its reward and flag; its observation went to finalObs.
        expect(log.rewards[499 * N]).not.toBe(0);
        expect(log.finalObs[(499 * N) * OBS]).not.toBe(0);
      }
    }, 60_000);
  }

  it('steps MT50 (one env per family, all fifty) bit-identically with 1 and 2 workers, as single envs do', async () => {
    const mt50 = parseBenchmark('MT50');
    const tasks = mt50.trainFamilies.map((f) => mt50.train.find((t) => t.family === f)!);
    const n = tasks.length, steps = 40, size = mt50.observationSpace.shape[0];
    const moves = randomActions(steps, n, 21);
    const run = async (workers: number) => {
      const venv = await VectorEnv.create({ benchmark: mt50, tasks, workers, seed: SEED });
      try {
        const out = [Buffer.from(venv.reset().obs.slice().buffer)];
        for (let t = 0; t < steps; t++) {
          const r = venv.step(moves.subarray(t * n * 4, (t + 1) * n * 4));
          out.push(Buffer.from(r.obs.slice().buffer), Buffer.from(r.rewards.slice().buffer));
        }
        return Buffer.concat(out);
      } finally {
        await venv.close();
      }
    };
    const [one, two] = [await run(1), await run(2)];
    expect(one.equals(two)).toBe(true);
    // And env 49 (window-close, the last one-hot slot) equals a single env of the benchmark.
    const env = makeEnv(mt50, tasks[49]);
    const single = [env.reset({ seed: SEED + 49 }).obs];
    for (let t = 0; t < steps; t++) single.push(env.step(moves.subarray((t * n + 49) * 4, (t * n + 50) * 4)).obs);
    env.close();
    const obsAt = (k: number) => {
      // Layout: reset obs, then per step (obs, rewards).
      const offset = k === 0 ? 0 : n * size * 4 + (k - 1) * (n * size * 4 + n * 8);
      return new Float32Array(one.buffer.slice(one.byteOffset + offset + 49 * size * 4, one.byteOffset + offset + 50 * size * 4));
    };
    for (let k = 0; k <= steps; k++) expect(bytes(obsAt(k)).equals(bytes(single[k]))).toBe(true);
    expect(single[steps][39 + 49]).toBe(1);
  }, 120_000);

  it('reports a failing env by index and cause, keeps the others valid, and lets the failed env be reset', async () => {
    const diverging = { family: 'reach', params: [0, 0.65, 1e39, 0, 0.85, 0.1] }; // puck beyond float32 range
    const nanTask = { family: 'push', params: [0, 0.65, NaN, 0, 0.85, 0.02] };
    const tasks: Task[] = [TASKS[0], diverging, nanTask, TASKS[2]];
    // Two workers: each has a broken env beside a healthy one.
    const venv = await VectorEnv.create({ benchmark: BENCH, tasks, workers: 2, seed: SEED });
    try {
      const healthy = [0, 3].map((i) => {
        const env = makeEnv(BENCH, tasks[i]);
        return { i, env, obs: env.reset({ seed: SEED + i }).obs };
      });
      const row = (obs: Float32Array, i: number) => obs.subarray(i * OBS, (i + 1) * OBS);
      const expectHealthyRows = (obs: Float32Array) => {
        for (const h of healthy) expect(bytes(row(obs, h.i)).equals(bytes(h.obs))).toBe(true);
      };

      const failureOf = (call: () => unknown): VectorEnvError => {
        try { call(); } catch (error) { expect(error).toBeInstanceOf(VectorEnvError); return error as VectorEnvError; }
        throw new Error('expected the call to throw');
      };
      const onReset = failureOf(() => venv.reset());
      expect(onReset.failures.map((f) => f.env)).toEqual([2]);
      expect(onReset.message).toMatch(/env 2 \(push\): push task parameter puck_z is NaN/);
      expectHealthyRows(onReset.result.obs);
      expect(Number.isNaN(onReset.result.obs[2 * OBS])).toBe(true);

      const step = actions.subarray(0, N * 4);
      const stepHealthy = () => { for (const h of healthy) h.obs = h.env.step(step.subarray(h.i * 4, h.i * 4 + 4)).obs; };
      const onStep = failureOf(() => venv.step(step));
      stepHealthy();
      expect(onStep.failures.map((f) => f.env)).toEqual([1, 2]);
      expect(onStep.message).toMatch(/env 1 \(reach\): physics diverged at step 1/);
      expect(onStep.failures[1].message).toMatch(/out of service .*puck_z is NaN/);
      const { obs, rewards } = onStep.result;
      expectHealthyRows(obs);
      expect(Number.isNaN(obs[OBS]) && Number.isNaN(rewards[1])).toBe(true);

      // Still broken until reset; still no harm to the others.
      expect(failureOf(() => venv.step(step)).failures.map((f) => f.env)).toEqual([1, 2]);
      stepHealthy();
      expectHealthyRows(obs);

      const fixed = [undefined, TASKS[0], BENCH.train[50], undefined];
      venv.reset({ mask: [0, 1, 1, 0], tasks: fixed });
      // Env 1's second episode; env 2's first (its failed reset did not count).
      expect(Array.from(venv.episodeSeeds)).toEqual([SEED, SEED + 1 + N, SEED + 2, SEED + 3]);
      const r = venv.step(step);
      stepHealthy();
      expectHealthyRows(r.obs);
      expect(r.obs.every(Number.isFinite)).toBe(true);
      for (const h of healthy) h.env.close();
    } finally {
      await venv.close();
    }
  }, 60_000);

  it('rejects bad input naming the env and the problem, leaving the state as it was', async () => {
    await expect(VectorEnv.create({ benchmark: BENCH, tasks: [TASKS[0], { family: 'juggle', params: [] }], seed: 0 })).rejects.toThrow(/tasks\[1\]: family 'juggle' is not a family of ML10 \(reach, push,/);
    await expect(VectorEnv.create({ benchmark: BENCH, tasks: [TASKS[0], { family: 'push', params: 3 } as unknown as Task], seed: 0 })).rejects.toThrow(/tasks\[1\] must be a task \{ family: string, params: number\[\] \}/);
    await expect(VectorEnv.create({ benchmark: BENCH, tasks: TASKS, workers: N + 1, seed: 0 })).rejects.toThrow(/workers must be an integer from 1 to the number of envs \(4\)/);
    await expect(VectorEnv.create({ benchmark: BENCH, tasks: TASKS, seed: -1 })).rejects.toThrow(/seed must be a non-negative integer/);
    await expect(VectorEnv.create({ benchmark: BENCH, tasks: [], seed: 0 })).rejects.toThrow(/at least one task/);

    // MT10: the observation size comes from the benchmark (39 + a 10-entry one-hot family id).
    const mt10 = MT10(0);
    const tasks = [mt10.train[3], mt10.train[55]];
    const venv = await VectorEnv.create({ benchmark: mt10, tasks, seed: SEED });
    const size = venv.observationSize;
    expect(size).toBe(49);
    expect(venv.numWorkers).toBe(Math.min(availableParallelism(), 2));
    expect(venv.autoreset).toBe('next-step');
    expect(() => venv.step(new Float32Array(8))).toThrow(/before reset/);
    const first = venv.reset().obs.slice();
    expect([first[39], first[size + 40]]).toEqual([1, 1]);
    expect(() => venv.step(new Float32Array(7))).toThrow(/2 envs x 4 = 8 entries .* got 7/);
    const bad = new Float32Array(8);
    bad[6] = NaN;
    expect(() => venv.step(bad)).toThrow(/env 1: action\[2\] is NaN/);
    expect(() => venv.reset({ mask: [true] })).toThrow(/mask must have one entry per env \(2\)/);
    expect(() => venv.reset({ mask: [true, false], tasks: [undefined, tasks[0]] })).toThrow(/tasks\[1\] is given but env 1 is outside the mask/);
    expect(bytes(venv.reset({ mask: [0, 0] }).obs).equals(bytes(first))).toBe(true);

    // Nothing stepped: the next step is the first step of the episode.
    const action = actions.subarray(0, 8);
    const r = venv.step(action);
    tasks.forEach((task, i) => {
      const env = makeEnv(mt10, task);
      env.reset({ seed: SEED + i });
      expect(bytes(r.obs.subarray(i * size, (i + 1) * size)).equals(bytes(env.step(action.subarray(i * 4, i * 4 + 4)).obs))).toBe(true);
      env.close();
    });

    // A task of another family of the benchmark rebuilds the env and moves its one-hot id; a family
    // outside the benchmark is refused before anything changes.
    expect(() => venv.reset({ tasks: [{ family: 'sweep', params: [0, 0.6, 0.02] }, undefined] })).toThrow(/reset: tasks\[0\]: family 'sweep' is not a family of MT10/);
    const switched = venv.reset({ tasks: [mt10.train[120], undefined] }).obs;
    expect(Array.from(switched.subarray(39, 49))).toEqual([0, 0, 1, 0, 0, 0, 0, 0, 0, 0]);
    expect(Array.from(switched.subarray(size + 39, size + 49))).toEqual([0, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
    await venv.close();
    expect(() => venv.step(action)).toThrow(/after close/);
  }, 60_000);
  it('turns a worker that never answers into an error instead of a hang, and one that died into an error on the next call', async () => {
    // 32 reach envs on one worker take far longer than 1 ms per step: the deadline passes mid-call,
    // as it would for a worker killed (out of memory) while stepping.
    const many = Array.from({ length: 32 }, () => TASKS[0]);
    const slow = await VectorEnv.create({ benchmark: BENCH, tasks: many, workers: 1, seed: SEED, callTimeoutMs: 1 });
    expect(() => slow.reset()).toThrow(/reset\(\): 1 of 1 VectorEnv workers did not finish reset\(\) within 1 ms .*create a new one/);
    expect(() => slow.step(new Float32Array(32 * 4))).toThrow(/step\(\): 1 of 1 VectorEnv workers did not finish reset\(\)/);
    await slow.close();
    await expect(VectorEnv.create({ benchmark: BENCH, tasks: many, seed: 0, callTimeoutMs: 0 })).rejects.toThrow(/callTimeoutMs must be > 0/);

    const venv = await VectorEnv.create({ benchmark: BENCH, tasks: TASKS, workers: 2, seed: SEED });
    venv.reset();
    // Kill a worker outright, as the operating system would.
    await (venv as unknown as { workers: Array<{ terminate(): Promise<number> }> }).workers[1].terminate();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(() => venv.step(new Float32Array(N * 4))).toThrow(/step\(\): VectorEnv worker 1 died \(exit code 1\)/);
    await venv.close();
  }, 60_000);
});
