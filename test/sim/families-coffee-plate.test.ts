// The coffee machine's button and the sliding plate: each stays inside its joints' range when pushed
// hard, the button stays in (no spring), and the plate keeps to the table plane.
import { describe, expect, it } from 'vitest';
import { TIMING } from '../../sim/env.ts';
import { RAPIER } from '../../sim/rapier.ts';
import { type TaskScene, createBody, createJoint, jointPosition, tableSpec } from '../../sim/scene.ts';
import { COFFEE_MACHINE, coffeeScene } from '../../sim/fixtures/coffee-machine.ts';
import { PLATE, plateSlideScene } from '../../sim/fixtures/plate-slide.ts';

/** A world of the table and the scene's bodies and joints (no robot). */
function fixtureWorld(scene: TaskScene) {
  const world = new RAPIER.World({ x: 0, y: 0, z: -9.81 });
  world.timestep = TIMING.controlDt;
  world.numSolverIterations = TIMING.solverIterations;
  world.integrationParameters.contact_natural_frequency = TIMING.contactFrequency;
  const bodies = new Map([['table', createBody(world, tableSpec(), false)], ...scene.bodies.map((spec) => [spec.name, createBody(world, spec, false)] as const)]);
  const joints = (scene.joints ?? []).map((spec) => {
    const parent = bodies.get(spec.parent)!, child = bodies.get(spec.child)!;
    createJoint(world, spec, parent, child);
    return { spec, parent, child };
  });
  const position = (name: string) => {
    const joint = joints.find((j) => j.spec.name === name)!;
    return jointPosition(joint.spec, joint.parent, joint.child);
  };
  return {
    body: (name: string) => bodies.get(name)!,
    position,
    /** Steps `n` times; returns the lowest and highest position of joint `name` seen. */
    run(n: number, name: string): [number, number] {
      let low = Infinity, high = -Infinity;
      for (let i = 0; i < n; i++) {
        world.step();
        low = Math.min(low, position(name));
        high = Math.max(high, position(name));
      }
      return [low, high];
    },
    free: () => world.free(),
  };
}

describe('coffee machine and plate fixtures', () => {
  it('coffee button: pushed hard it stops at 3 cm; let go it stays in', () => {
    const world = fixtureWorld(coffeeScene([0, 0.85, 0], [0, 0.63, 0], [0, 0, 0], 'button'));
    const button = world.body('coffeeButton');
    button.addForce({ x: 0, y: 20, z: 0 }, true);
    const [low, high] = world.run(40, 'buttonTravel');
    expect(low).toBeGreaterThanOrEqual(-0.002);
    expect(high).toBeLessThan(COFFEE_MACHINE.buttonTravel + 0.004);
    expect(world.position('buttonTravel')).toBeGreaterThan(COFFEE_MACHINE.buttonTravel - 0.004);
    button.resetForces(true);
    world.run(40, 'buttonTravel');
    expect(world.position('buttonTravel')).toBeGreaterThan(COFFEE_MACHINE.buttonTravel - 0.004);
    world.free();
  });

  it('plate: flung along x it stops at its slide limit, flat on the table plane; its y slide holds still', () => {
    const world = fixtureWorld(plateSlideScene([0, 0], [0, 0.9, 0], 0, [0, 0, 0]));
    const plate = world.body('plate');
    plate.setLinvel({ x: 3, y: 0, z: 0 }, true);
    const [, high] = world.run(60, 'plateSlideX');
    expect(high).toBeLessThan(PLATE.xLimits[1] + 0.01);
    expect(world.position('plateSlideX')).toBeGreaterThan(0.05);
    expect(Math.abs(world.position('plateSlideY'))).toBeLessThan(0.002);
    expect(plate.translation().z).toBeCloseTo(PLATE.channel[2], 2);
    world.free();
  });

  it('plate: pushed gently along y it slides and stops within a few centimetres (damped)', () => {
    const world = fixtureWorld(plateSlideScene([0, 0], [0, 0.9, 0], 0, [0, 0, 0]));
    world.body('plate').setLinvel({ x: 0, y: 0.5, z: 0 }, true);
    const [, high] = world.run(40, 'plateSlideY');
    expect(high).toBeGreaterThan(0.01);
    expect(high).toBeLessThan(0.06);
    world.free();
  });
});
