// The multi-family env and the observation wrappers: one env switches families at reset, bit for
// bit like a fresh env of that family; goal hiding and the family one-hot describe their spaces.

import { describe, expect, it } from 'vitest';
import { FamilyOneHot, HideGoal, ManipulationEnv, ML10, MT10, makeEnv, type Env, type Task } from '../../sim/index.ts';
import { contains } from '../../sim/spaces.ts';

const bytes = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

/** Observations and rewards of `steps` steps of a fixed action pattern from a seeded reset. */
function episodeStart(env: Env, task: Task, seed: number, steps = 30): Buffer {
  const out = [bytes(env.reset({ task, seed }).obs)];
  for (let k = 0; k < steps; k++) {
    const r = env.step([Math.sin(k), Math.cos(k), -0.5, k % 2 ? 1 : -1]);
    out.push(bytes(r.obs), Buffer.from(Float64Array.of(r.reward).buffer));
  }
  return Buffer.concat(out);
}

describe('the multi-family env', () => {
  const ml10 = ML10(0);
  const [reach, push, drawerOpen] = [ml10.train[0], ml10.train[60], ml10.test[0]];

  it('rebuilds its world for a task of another family, bit for bit like a fresh env of that family', () => {
    const env = makeEnv(ml10, reach);
    const sequence = [reach, push, drawerOpen, reach].map((task) => episodeStart(env, task, 5));
    const fresh = [reach, push, drawerOpen, reach].map((task) => episodeStart(makeEnv(ml10, task), task, 5));
    sequence.forEach((run, i) => expect(run.equals(fresh[i])).toBe(true));
    expect(sequence[0].equals(sequence[1])).toBe(false);
    expect(env.family.name).toBe('reach');
    expect(env.describeScene().bodies.map((b) => b.name)).not.toEqual(makeEnv(ml10, drawerOpen).describeScene().bodies.map((b) => b.name));
  });

  it('refuses a task outside its families, or a malformed one, and stays as it was', () => {
    const env = new ManipulationEnv({ families: ['reach', 'push'], task: reach });
    env.reset({ seed: 1 });
    expect(() => env.reset({ task: drawerOpen })).toThrow(/task of family 'drawer-open' given to an environment of 'reach', 'push'/);
    expect(() => env.reset({ task: { family: 'push', params: [0, 1] } })).toThrow(/push task needs 6 parameters/);
    expect(env.currentTask).toBe(reach);
    expect(env.elapsedSteps).toBe(0);
    expect(() => env.step([0, 0, 0, 0])).not.toThrow();
  });

  it('spans the goal bounds of all its families in its observation space', () => {
    const env = new ManipulationEnv({ families: ['reach', 'drawer-open'], task: reach });
    const one = new ManipulationEnv({ family: 'reach' });
    const goalLow = env.observationSpace.low.slice(36), oneLow = one.observationSpace.low.slice(36);
    goalLow.forEach((v, i) => expect(v!).toBeLessThanOrEqual(oneLow[i]!));
    for (const task of [reach, drawerOpen]) expect(contains(env.observationSpace, env.reset({ task }).obs)).toBe(true);
  });
});

describe('observation wrappers', () => {
  it('HideGoal zeros obs[36:39] and says so in its space', () => {
    const raw = new ManipulationEnv({ family: 'pick-place' });
    const hidden = new HideGoal(new ManipulationEnv({ family: 'pick-place' }));
    const a = raw.reset({ seed: 3 }).obs, b = hidden.reset({ seed: 3 }).obs;
    expect(Array.from(a.subarray(36, 39)).some((v) => v !== 0)).toBe(true);
    expect(Array.from(b.subarray(36, 39))).toEqual([0, 0, 0]);
    expect(bytes(a.subarray(0, 36)).equals(bytes(b.subarray(0, 36)))).toBe(true);
    expect(hidden.observationSpace.low.slice(36)).toEqual([0, 0, 0]);
    expect(hidden.observationSpace.high.slice(36)).toEqual([0, 0, 0]);
    expect(hidden.observationSpace.low.slice(0, 36)).toEqual(raw.observationSpace.low.slice(0, 36));
    expect(contains(hidden.observationSpace, hidden.step([0, 0, 0, 0]).obs)).toBe(true);
  });

  it('FamilyOneHot appends the current family id (MT10: 49-D) and follows family switches', () => {
    const mt10 = MT10(0);
    const env = makeEnv(mt10, mt10.train[0]);
    expect(env).toBeInstanceOf(FamilyOneHot);
    expect(env.observationSpace.shape).toEqual([49]);
    expect(env.observationSpace).toEqual(mt10.observationSpace);
    const first = env.reset().obs;
    expect(Array.from(first.subarray(39))).toEqual([1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(contains(env.observationSpace, first)).toBe(true);
    const door = env.reset({ task: mt10.train[150] }).obs; // door-open, the fourth family
    expect(Array.from(door.subarray(39))).toEqual([0, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    expect(Array.from(env.step([0, 0, 0, 0]).obs.subarray(39))).toEqual([0, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
  });

  it('FamilyOneHot refuses a family without a slot before the env changes', () => {
    const inner = new ManipulationEnv({ families: ['reach', 'push'], family: 'reach' });
    const env = new FamilyOneHot(inner, ['reach']);
    env.reset({ seed: 0 });
    expect(() => env.reset({ task: ML10(0).train[60] })).toThrow(/no one-hot slot for family 'push'; this env's slots are: reach/);
    expect(env.currentTask.family).toBe('reach');
    expect(env.elapsedSteps).toBe(0);
    expect(() => new FamilyOneHot(inner, [])).toThrow(/at least one family/);
  });
});
