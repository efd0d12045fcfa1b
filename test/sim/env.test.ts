import { describe, expect, it } from 'vitest';
import { ManipulationEnv, ML1, MT1, makeEnv, OBS_DIM, TIMING } from '../../sim/index.ts';
import { GRIPPER, TCP_BELOW_HAND } from '../../sim/gripper.ts';
import { contains } from '../../sim/spaces.ts';

const hand = (obs: Float32Array) => [obs[0], obs[1], obs[2]];

describe('observation layout', () => {
  const benchmark = MT1('pick-place', 0);
  const task = benchmark.train[4];
  const env = makeEnv(benchmark, task);
  const { obs, info } = env.reset({ seed: 1 });

  it('has 39 float32 entries in MetaWorld order', () => {
    expect(obs).toBeInstanceOf(Float32Array);
    expect(obs.length).toBe(OBS_DIM);
    // Hand at its start pose after settling.
    expect(hand(obs).map((v) => Number(v.toFixed(4)))).toEqual([0, 0.6, 0.2]);
    // Gripper fully open: finger distance 0.1 m -> 1.
    expect(obs[3]).toBeGreaterThan(0.95);
    // Puck where the task put it, upright (unit quaternion near identity).
    expect(obs[4]).toBeCloseTo(task.params[0], 3);
    expect(obs[5]).toBeCloseTo(task.params[1], 3);
    expect(obs[6]).toBeCloseTo(0.02, 2);
    expect(Math.hypot(obs[7], obs[8], obs[9], obs[10])).toBeCloseTo(1, 5);
    expect(obs[7]).toBeGreaterThan(0.999);
    // No second object.
    expect(Array.from(obs.subarray(11, 18))).toEqual([0, 0, 0, 0, 0, 0, 0]);
    // Previous frame is a copy at reset.
    expect(Array.from(obs.subarray(18, 36))).toEqual(Array.from(obs.subarray(0, 18)));
    // Goal visible in MT.
    expect(Array.from(obs.subarray(36, 39))).toEqual(Array.from(new Float32Array(task.params.slice(3, 6))));
  });

  it('reports the TCP between the pads, the seven joint angles and the success flag', () => {
    expect(info.tcp[2]).toBeCloseTo(0.2 - TCP_BELOW_HAND, 3);
    expect(info.jointPositions).toHaveLength(7);
    expect(info.success).toBe(0);
    expect(info.fingerPositions[0]).toBeCloseTo(GRIPPER.open, 2);
  });

  it('carries the previous frame in obs[18:36] after a step', () => {
    const next = env.step([1, 0, 0, -1]).obs;
    expect(Array.from(next.subarray(18, 36))).toEqual(Array.from(obs.subarray(0, 18)));
  });

  it('hides the goal in ML benchmarks', () => {
    const ml = ML1('pick-place', 0);
    const hidden = makeEnv(ml, ml.train[4]).reset().obs;
    expect(Array.from(hidden.subarray(36, 39))).toEqual([0, 0, 0]);
  });

  it('describes its spaces as plain JSON', () => {
    const json = JSON.parse(JSON.stringify({ obs: env.observationSpace, act: env.actionSpace }));
    expect(json.act).toEqual({ type: 'Box', shape: [4], dtype: 'float32', low: [-1, -1, -1, -1], high: [1, 1, 1, 1] });
    expect(json.obs.shape).toEqual([39]);
    expect(json.obs.low.slice(0, 4)).toEqual([-0.525, 0.348, -0.0525, -1]);
    expect(json.obs.high[4]).toBeNull();
  });

  it('reports every described body\'s pose, and the hand\'s follows the TCP as it moves', () => {
    const scene = env.describeScene();
    const poseEnv = makeEnv(benchmark, task);
    poseEnv.reset({ seed: 1 });
    const before = poseEnv.bodyPoses();
    expect(before.length).toBe(scene.bodies.length * 7);
    const index = (name: string) => scene.bodies.findIndex((b) => b.name === name);
    const table = index('table');
    [0, 0.6, -0.05].forEach((v, i) => expect(before[table * 7 + i]).toBeCloseTo(v, 6));
    const handAt = (poses: Float64Array) => [...poses.subarray(index('hand') * 7, index('hand') * 7 + 3)];
    const puck = index('puck');
    expect(Math.hypot(before[puck * 7] - obs[4], before[puck * 7 + 1] - obs[5])).toBeLessThan(1e-6);
    let last = poseEnv.step([1, 0, 0, -1]);
    for (let i = 0; i < 9; i++) last = poseEnv.step([1, 0, 0, -1]);
    const moved = handAt(poseEnv.bodyPoses(new Float64Array(before.length)));
    expect(moved[0] - handAt(before)[0]).toBeCloseTo(last.obs[0] - obs[0], 2);
    expect(() => poseEnv.bodyPoses(new Float64Array(3))).toThrow(/7 per body/);
  });
});

describe('bounds, action scaling and workspace clipping', () => {
  it('keeps every observation inside the observation space under random actions', () => {
    const env = new ManipulationEnv({ family: 'push' });
    let { obs } = env.reset({ seed: 3 });
    for (let t = 0; t < 300; t++) {
      expect(contains(env.observationSpace, obs)).toBe(true);
      obs = env.step(env.sampleAction()).obs;
    }
  });

  it('moves the hand by action * 0.01 m per step, clipping actions to [-1, 1]', () => {
    const env = new ManipulationEnv({ family: 'reach' });
    const start = hand(env.reset().obs);
    const after = hand(env.step([0.5, -0.3, 0.2, 0]).obs);
    expect(after[0] - start[0]).toBeCloseTo(0.005, 6);
    expect(after[1] - start[1]).toBeCloseTo(-0.003, 6);
    expect(after[2] - start[2]).toBeCloseTo(0.002, 6);
    const clipped = hand(env.step([7, 0, -3, 0]).obs);
    expect(clipped[0] - after[0]).toBeCloseTo(0.01, 6);
    expect(clipped[2] - after[2]).toBeCloseTo(-0.01, 6);
  });

  it('clips the hand target to the workspace corners', () => {
    const env = new ManipulationEnv({ family: 'reach' });
    env.reset();
    let obs: Float32Array = new Float32Array();
    for (let t = 0; t < 120; t++) obs = env.step([1, 1, -1, 0]).obs;
    expect(hand(obs).map((v) => Number(v.toFixed(5)))).toEqual([0.5, 1.0, 0.05]);
    for (let t = 0; t < 120; t++) obs = env.step([-1, -1, 1, 0]).obs;
    expect(hand(obs).map((v) => Number(v.toFixed(5)))).toEqual([-0.5, 0.4, 0.5]);
  });

  it('stops the fingers above the table at the lowest hand target', () => {
    const env = new ManipulationEnv({ family: 'reach' });
    env.reset();
    let info = env.step([0, 0, -1, 1]).info;
    for (let t = 0; t < 40; t++) info = env.step([0, 0, -1, 1]).info;
    const fingerBottom = info.tcp[2] + GRIPPER.padDrop - GRIPPER.fingerHalfExtents[2];
    expect(fingerBottom).toBeGreaterThanOrEqual(0);
    expect(fingerBottom).toBeLessThan(0.01);
  });

  it('lets the arm push things: sweeping the closed fingers through the puck moves it', () => {
    const env = new ManipulationEnv({ family: 'push' });
    const start = env.reset().obs;
    const puckY = start[5];
    // Go to the near side of the puck, down to table level, then sweep along +y.
    let obs = start;
    for (let t = 0; t < 60 && Math.abs(obs[0] - start[4]) + Math.abs(obs[1] - (puckY - 0.08)) > 1e-3; t++) {
      obs = env.step([(start[4] - obs[0]) / 0.01, (puckY - 0.08 - obs[1]) / 0.01, 0, 1]).obs;
    }
    for (let t = 0; t < 20; t++) obs = env.step([0, 0, -1, 1]).obs;
    for (let t = 0; t < 15; t++) obs = env.step([0, 1, 0, 1]).obs;
    expect(obs[5] - puckY).toBeGreaterThan(0.04);
  });
});

describe('episodes and bad input', () => {
  it('truncates at 500 steps, never terminates, and refuses to step past the end', () => {
    const env = new ManipulationEnv({ family: 'reach' });
    env.reset();
    let result = env.step([0, 0, 0, 0]);
    let steps = 1;
    while (!result.truncated) { expect(result.terminated).toBe(false); result = env.step([0, 0, 0, 0]); steps++; }
    expect(steps).toBe(TIMING.maxEpisodeSteps);
    expect(() => env.step([0, 0, 0, 0])).toThrow(/episode ended.*reset/);
    expect(env.reset().obs.length).toBe(39);
  });

  it('refuses to step before reset', () => {
    expect(() => new ManipulationEnv({ family: 'reach' }).step([0, 0, 0, 0])).toThrow(/before reset/);
  });

  it('rejects wrong-length, NaN and infinite actions, naming the problem and leaving the state unchanged', () => {
    const env = new ManipulationEnv({ family: 'push' });
    const twin = new ManipulationEnv({ family: 'push' });
    env.reset({ seed: 2 });
    twin.reset({ seed: 2 });
    env.step([0.3, 0.2, -0.5, 1]);
    twin.step([0.3, 0.2, -0.5, 1]);
    expect(() => env.step([0, 0, 0])).toThrow(/4 entries.*got 3/);
    expect(() => env.step([0, Number.NaN, 0, 0])).toThrow(/action\[1\] is NaN/);
    expect(() => env.step([0, 0, Infinity, 0])).toThrow(/action\[2\] is Infinity/);
    expect(() => env.step(null as unknown as number[])).toThrow(/array of 4 numbers/);
    expect(() => env.step(['1', 0, 0, 0] as unknown as number[])).toThrow(/action\[0\]/);
    expect(env.elapsedSteps).toBe(1);
    const a = env.step([0.1, 0.1, -0.1, 0]), b = twin.step([0.1, 0.1, -0.1, 0]);
    expect(Array.from(a.obs)).toEqual(Array.from(b.obs));
    expect(a.reward).toBe(b.reward);
  });

  it('rejects a task of another family or a malformed task', () => {
    const env = new ManipulationEnv({ family: 'reach' });
    expect(() => env.reset({ task: ML1('push', 0).train[0] })).toThrow(/family 'push'.*'reach'/);
    expect(() => env.reset({ task: { family: 'reach', params: [0, 0.6] } })).toThrow(/6 parameters/);
    expect(() => new ManipulationEnv({ family: 'dance' })).toThrow(/unknown task family 'dance'/);
    expect(() => env.reset({ task: { family: 'reach', params: [0, 0.6, 0.02, Number.NaN, 0.85, 0.2] } })).toThrow(/goal_x is NaN/);
  });
});
