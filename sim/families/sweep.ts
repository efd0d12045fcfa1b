// sweep: slide the puck along the table, 0.4..0.6 m to the right, to a goal at x = 0.5 level with its start.

import type { TaskFamily } from '../family.ts';
import { hamacher } from '../rewards.ts';
import type { Vec3 } from '../vec.ts';
import { PUCK, PUCK_BOX, PUCK_FAMILY, graspAndCarry, puckTerms } from './puck.ts';
import { placeObject } from '../scene.ts';

const TARGET_RADIUS = 0.05;
/** MetaWorld v2's goal: x = 0.5, the puck's own y, 1 cm above the table (the puck's centre rests at 0.02). */
const GOAL_X = 0.5, GOAL_Z = 0.01;

export const sweep: TaskFamily = {
  name: 'sweep',
  summary: 'Sweep the puck sideways along the table to a goal at its right-hand side.',
  // MetaWorld draws only the puck; the goal follows from it.
  paramNames: ['puck_x', 'puck_y', 'puck_z'],
  randomBox: { low: [...PUCK_BOX.low], high: [...PUCK_BOX.high] },
  handInit: PUCK_FAMILY.handInit,
  goalBox: { low: [0.49, 0.6, 0], high: [0.51, 0.7, 0.02] },
  scene: (p) => ({ bodies: [placeObject(PUCK, [p[0], p[1], p[2]])], observed: [{ body: PUCK.name }], goal: [GOAL_X, p[1], GOAL_Z] as Vec3 }),
  successThreshold: TARGET_RADIUS,
  evaluate(s) {
    const t = puckTerms(s, { objectRadius: 0.02, padSuccessThreshold: 0.05, xzThreshold: 0.005, density: 'high' });
    const success = t.objectToGoal <= TARGET_RADIUS;
    const reward = success ? 10 : 2 * t.graspReward + 6 * hamacher(t.graspReward, t.inPlace);
    return { reward, success, components: t.components };
  },
  // Grip the puck and drag it along the table top onto the goal, then let go (MetaWorld's own
  // scripted policy drags it in the gripper as well).
  expert(obs, goal) {
    if (Math.hypot(obs[4] - goal[0], obs[5] - goal[1]) < 0.02) return [0, 0, 0, -1];
    return graspAndCarry(obs, [goal[0], goal[1], PUCK_BOX.low[2]]);
  },
};
