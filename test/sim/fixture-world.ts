// A bare world (the table and one fixture scene) stepped like the environment, for driving a fixture's
// joint by hand in tests: forces act on the joint's child body.
import { TIMING } from '../../sim/env.ts';
import { RAPIER } from '../../sim/rapier.ts';
import { type TaskScene, createBody, createJoint, jointPosition, tableSpec } from '../../sim/scene.ts';

export function fixtureWorld(scene: TaskScene) {
  const world = new RAPIER.World({ x: 0, y: 0, z: -9.81 });
  world.timestep = TIMING.controlDt;
  world.numSolverIterations = TIMING.solverIterations;
  world.integrationParameters.contact_natural_frequency = TIMING.contactFrequency;
  createBody(world, tableSpec(), false);
  const bodies = new Map(scene.bodies.map((spec) => [spec.name, createBody(world, spec, false)]));
  const spec = scene.joints![0];
  const parent = bodies.get(spec.parent)!, child = bodies.get(spec.child)!;
  createJoint(world, spec, parent, child);
  return {
    child,
    position: () => jointPosition(spec, parent, child),
    /** Steps `n` times; returns the lowest and highest joint position seen. */
    run(n: number): [number, number] {
      let low = Infinity, high = -Infinity;
      for (let i = 0; i < n; i++) {
        world.step();
        const q = jointPosition(spec, parent, child);
        low = Math.min(low, q);
        high = Math.max(high, q);
      }
      return [low, high];
    },
    free: () => world.free(),
  };
}
