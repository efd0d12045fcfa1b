// sweep: slide the puck along the table, 0.4..0.6 m to the right, to a goal at x = 0.5 level with its start.

import type { TaskFamily } from '../family.ts';
import { freeObjectTerms, sweepReward } from '../rewards.ts';
import { dragPuckTo } from '../experts.ts';
import { PUCK_AND_GOAL, PUCK_BOX, puckScene } from '../fixtures/puck.ts';

const TARGET_RADIUS = 0.05;
/** MetaWorld v2's goal: x = 0.5, the puck's own y, 1 cm above the table (the puck's centre rests at 0.02). */
const GOAL_X = 0.5, GOAL_Z = 0.01;

export const sweep: TaskFamily = {
  name: 'sweep',
  summary: 'Sweep the puck sideways along the table to a goal at its right-hand side.',
  // MetaWorld draws only the puck; the goal follows from it.
  paramNames: ['puck_x', 'puck_y', 'puck_z'],
  randomBox: { low: [...PUCK_BOX.low], high: [...PUCK_BOX.high] },
  handInit: PUCK_AND_GOAL.handInit,
  goalBox: { low: [0.49, 0.6, 0], high: [0.51, 0.7, 0.02] },
  scene: (p) => puckScene(p, [GOAL_X, p[1], GOAL_Z]),
  successThreshold: TARGET_RADIUS,
  evaluate(s) {
    const t = freeObjectTerms(s, { objectRadius: 0.02, padSuccessThreshold: 0.05, xzThreshold: 0.005, density: 'high' });
    const success = t.objectToGoal <= TARGET_RADIUS;
    return { reward: sweepReward(t.graspReward, t.inPlace, success), success, components: t.components };
  },
  expert: (obs, goal) => dragPuckTo(obs, goal, 0.02),
};
