// sweep: slide the puck along the table, 0.4..0.6 m to the right, to a goal at x = 0.5 level with its start.

import type { TaskFamily } from '../family.ts';
import { freeObjectTerms, padCagingScore, sweepReward } from '../rewards.ts';
import { dragPuckTo } from '../experts.ts';
import { PUCK_AND_GOAL, PUCK_BOX, puckScene } from '../fixtures/puck.ts';

const TARGET_RADIUS = 0.05;
/** MetaWorld's OBJ_RADIUS for the sweep families' caging score. */
const OBJECT_RADIUS = 0.02;
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
    const { object, tcpToObject, objectToTarget, inPlace } = freeObjectTerms(s);
    // MetaWorld's sweep overrides the generic caging score: each pad caged on its own side, and pads
    // closing in on the puck count as gripping (the gripper command does not count).
    const grasp = padCagingScore(s, object, { objectRadius: OBJECT_RADIUS, padSuccessMargin: 0.05, xzSuccessMargin: 0.005, gripSuccessMargin: OBJECT_RADIUS + 0.01 });
    return {
      reward: sweepReward(grasp, inPlace, objectToTarget < TARGET_RADIUS),
      success: objectToTarget <= TARGET_RADIUS,
      components: {
        nearObject: tcpToObject <= 0.03 ? 1 : 0, graspSuccess: s.touchingMainObject && s.gripperOpening > 0 ? 1 : 0,
        graspReward: grasp, inPlaceReward: inPlace, objToTarget: objectToTarget, tcpToObject,
      },
    };
  },
  expert: (obs, goal) => dragPuckTo(obs, goal, 0.02),
};
