// The ML45 articulated fixtures (dial, faucet, handle press, the safe's lock lever): each joint holds
// its range when forced, a weightless part stays where it is left, and each family's expert turns the
// fixture's joint by contact as far as its success rule needs.
import { describe, expect, it } from 'vitest';
import { ManipulationEnv, TIMING } from '../../sim/env.ts';
import { HideGoal } from '../../sim/wrappers.ts';
import { sampleTasks } from '../../sim/family.ts';
import { getFamily } from '../../sim/families/index.ts';
import { fixtureWorld } from './fixture-world.ts';
import { dialScene } from '../../sim/fixtures/dial.ts';
import { FAUCET, faucetScene } from '../../sim/fixtures/faucet.ts';
import { HANDLE_PRESS, handlePressScene } from '../../sim/fixtures/handle-press.ts';
import { DOOR_LOCK, lockedDoorScene } from '../../sim/fixtures/door.ts';

describe('ML45 fixtures hold their range', () => {
  it('dial: a torque about z turns it that way, against its damping', () => {
    for (const torque of [1, -1]) {
      const dial = fixtureWorld(dialScene([0, 0.75, 0], 0, [0, 0, 0]));
      dial.child.addTorque({ x: 0, y: 0, z: torque }, true);
      dial.run(20);
      expect(Math.sign(dial.position())).toBe(Math.sign(torque));
      expect(Math.abs(dial.position())).toBeGreaterThan(0.3);
      dial.free();
    }
  });

  it('faucet: the handle turned hard either way stops a quarter turn round', () => {
    for (const torque of [3, -3]) {
      const faucet = fixtureWorld(faucetScene([0, 0.8, 0], 0, FAUCET.openSite, [0, 0, 0]));
      faucet.child.addTorque({ x: 0, y: 0, z: torque }, true);
      const [low, high] = faucet.run(120);
      // Swung freely onto its stop, it overshoots for a step or two (Rapier's soft limit), then rests on it.
      expect(low).toBeGreaterThan(-FAUCET.limit - 0.2);
      expect(high).toBeLessThan(FAUCET.limit + 0.2);
      expect(faucet.position()).toBeCloseTo(Math.sign(torque) * FAUCET.limit, 1);
      faucet.free();
    }
  });

  it('handle press: pushed down it stops at full travel, pulled up at its top; left alone it stays put', () => {
    for (const [force, limit] of [[-40, HANDLE_PRESS.travel], [40, 0]] as const) {
      const press = fixtureWorld(handlePressScene([0, 0.85, 0], 0, 0.05, HANDLE_PRESS.gripTop, [0, 0, 0]));
      press.child.addForce({ x: 0, y: 0, z: force }, true);
      const [low, high] = press.run(80);
      expect(low).toBeGreaterThan(-0.005);
      expect(high).toBeLessThan(HANDLE_PRESS.travel + 0.005);
      expect(press.position()).toBeCloseTo(limit, 2);
      press.free();
    }
    const idle = fixtureWorld(handlePressScene([0, 0.85, 0], HANDLE_PRESS.sideYaw, 0.05, HANDLE_PRESS.leverCentre, [0, 0, 0]));
    const [low, high] = idle.run(TIMING.maxEpisodeSteps);
    expect(high - low).toBeLessThan(1e-3);
    idle.free();
  });

  it('lock lever: pressed down it stops hanging, pushed up it stops level; left alone it stays put', () => {
    for (const [torque, limit] of [[1, DOOR_LOCK.maxAngle], [-1, 0]] as const) {
      const lock = fixtureWorld(lockedDoorScene([0, 0.82, 0.15], 0.8, DOOR_LOCK.lockSite, [0, 0, 0]));
      // Torque about +y swings the lever's end down.
      lock.child.addTorque({ x: 0, y: torque, z: 0 }, true);
      const [low, high] = lock.run(120);
      expect(low).toBeGreaterThan(-0.2);
      expect(high).toBeLessThan(DOOR_LOCK.maxAngle + 0.2);
      expect(lock.position()).toBeCloseTo(limit, 1);
      lock.free();
    }
    const idle = fixtureWorld(lockedDoorScene([0, 0.82, 0.15], 0.8, DOOR_LOCK.lockSite, [0, 0, 0]));
    const [low, high] = idle.run(TIMING.maxEpisodeSteps);
    expect(high - low).toBeLessThan(1e-3);
    idle.free();
  });
});

describe('ML45 articulated experts move their fixture by contact', () => {
  /** The fixture joint, and how far (in its units, either sign) the success rule needs it moved from the start. */
  const CASES: Array<[string, string, number]> = [
    ['dial-turn', 'dialAngle', 1.3], ['faucet-open', 'faucetAngle', 1.3], ['faucet-close', 'faucetAngle', 1.2],
    ['handle-press', 'handleTravel', 0.07], ['handle-press-side', 'handleTravel', 0.07], ['handle-pull', 'handleTravel', 0.05],
    ['handle-pull-side', 'handleTravel', 0.05], ['door-lock', 'lockAngle', 1.1], ['door-unlock', 'lockAngle', 0.8],
  ];
  it.each(CASES)('%s: succeeds on a test task with %s moved by at least %f', (name, joint, needed) => {
    const family = getFamily(name);
    const task = sampleTasks(family, 1, 1)[0];
    const env = new HideGoal(new ManipulationEnv({ family, task }));
    const start = env.reset({ task, seed: 0 });
    let obs = start.obs;
    let moved = NaN;
    for (let step = 0; step < TIMING.maxEpisodeSteps && Number.isNaN(moved); step++) {
      const result = env.step(family.expert(obs, env.goalPosition));
      obs = result.obs;
      if (result.info.success) moved = Math.abs((result.info[joint] as number) - (start.info[joint] as number));
    }
    env.close();
    expect(moved).toBeGreaterThan(needed);
  });
});
