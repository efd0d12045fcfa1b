// The wall, front-button and hole families (reach-wall, push-wall, pick-place-wall, push-back,
// button-press, button-press-wall, button-press-topdown-wall, hand-insert, pick-out-of-hole): their
// fixtures hold their range and block what they should, and the experts move things by contact.
import { describe, expect, it } from 'vitest';
import { ManipulationEnv, TIMING } from '../../sim/env.ts';
import { sampleTasks } from '../../sim/family.ts';
import { getFamily } from '../../sim/families/index.ts';
import { RAPIER } from '../../sim/rapier.ts';
import { createBody, createJoint, jointPosition, tableSpec } from '../../sim/scene.ts';
import { BUTTON, buttonGoal, buttonScene } from '../../sim/fixtures/button.ts';

describe('front button', () => {
  it('pressed hard along +y it stops at full travel; released it springs back out', () => {
    const world = new RAPIER.World({ x: 0, y: 0, z: -9.81 });
    world.timestep = TIMING.controlDt;
    world.numSolverIterations = TIMING.solverIterations;
    createBody(world, tableSpec(), false);
    const base = [0, 0.88, 0.115] as const;
    const scene = buttonScene(base, buttonGoal(base, 'front'), 'front');
    const bodies = new Map(scene.bodies.map((spec) => [spec.name, createBody(world, spec, false)]));
    const spec = scene.joints![0];
    const parent = bodies.get(spec.parent)!, child = bodies.get(spec.child)!;
    createJoint(world, spec, parent, child);
    const travel = () => jointPosition(spec, parent, child);
    // Released, the cap's front face (the observed point) sits BUTTON.top in front of the base point.
    for (let i = 0; i < 10; i++) world.step();
    expect(travel()).toBeLessThan(0.001);
    expect(child.translation().y).toBeCloseTo(base[1] - BUTTON.top, 3);
    child.addForce({ x: 0, y: 40, z: 0 }, true);
    let high = -Infinity;
    for (let i = 0; i < 40; i++) { world.step(); high = Math.max(high, travel()); }
    expect(high).toBeLessThan(BUTTON.travel + 0.004);
    expect(travel()).toBeGreaterThan(BUTTON.travel - 0.004);
    // It moves along y only: neither sags under gravity nor drifts sideways.
    expect(Math.abs(child.translation().z - base[2])).toBeLessThan(0.001);
    expect(Math.abs(child.translation().x - base[0])).toBeLessThan(0.001);
    child.resetForces(true);
    for (let i = 0; i < 16; i++) world.step();
    expect(travel()).toBeLessThan(0.002);
    world.free();
  });
});

/** Runs a family's expert on its first task until success; returns the env and what `watch` saw at each step. */
function expertRun(name: string, watch: (obs: Float32Array) => void = () => {}) {
  const family = getFamily(name);
  const task = sampleTasks(family, 0, 1)[0];
  const env = new ManipulationEnv({ family, task });
  let { obs } = env.reset({ task, seed: 0 });
  const initial = Float32Array.from(obs);
  for (let step = 0; step < TIMING.maxEpisodeSteps; step++) {
    const result = env.step(family.expert(obs, env.goalPosition));
    obs = result.obs;
    watch(obs);
    if (result.info.success) return { env, initial, obs, success: true, info: result.info };
  }
  return { env, initial, obs, success: false, info: undefined };
}

describe('walls and holes', () => {
  it('push-wall: the expert takes the puck round the wall\'s free end (x < -0.02), never through it', () => {
    let besideWall = 0;
    const run = expertRun('push-wall', (obs) => {
      if (obs[5] > 0.72 && obs[5] < 0.78) {
        besideWall++;
        expect(obs[4]).toBeLessThan(-0.04);
      }
    });
    expect(run.success).toBe(true);
    expect(besideWall).toBeGreaterThan(0);
    run.env.close();
  });

  it('pick-place-wall: the expert lifts the puck over the wall (underside above 0.12 m)', () => {
    const run = expertRun('pick-place-wall', (obs) => {
      if (obs[5] > 0.72 && obs[5] < 0.78) expect(obs[6] - 0.02).toBeGreaterThan(0.12);
    });
    expect(run.success).toBe(true);
    run.env.close();
  });

  it('button-press-wall: the expert reaches over the wall and pushes the button in by contact', () => {
    const run = expertRun('button-press-wall');
    expect(run.success).toBe(true);
    expect(run.info!.buttonTravel as number).toBeGreaterThan(0.063);
    run.env.close();
  });

  it('hand-insert: the block rests on the raised table top and ends on the hole\'s floor', () => {
    const run = expertRun('hand-insert');
    expect(run.initial[6]).toBeCloseTo(0.07, 2);
    expect(run.success).toBe(true);
    expect(run.obs[6]).toBeLessThan(0.03);
    run.env.close();
  });

  it('pick-out-of-hole: the puck rests in the hole, below the raised table top, until the expert lifts it out', () => {
    const run = expertRun('pick-out-of-hole');
    expect(run.initial[6]).toBeCloseTo(0.02, 2);
    expect(run.success).toBe(true);
    expect(run.obs[6]).toBeGreaterThan(0.1);
    run.env.close();
  });

  it('the deck stops the fingers: random actions pressing the hand down leave finite observations', () => {
    for (const name of ['hand-insert', 'pick-out-of-hole']) {
      const family = getFamily(name);
      const task = sampleTasks(family, 0, 1)[0];
      const env = new ManipulationEnv({ family, task });
      env.reset({ task, seed: 3 });
      // Down hard beside the hole, sweeping sideways over the deck with the fingers open and closing.
      for (let i = 0; i < 120; i++) {
        const { obs } = env.step([i < 60 ? 0.6 : -0.6, -0.2, -1, i % 20 < 10 ? -1 : 1]);
        expect(obs.every(Number.isFinite)).toBe(true);
      }
      env.close();
    }
  });
});
