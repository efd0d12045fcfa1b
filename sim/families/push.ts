// push: move the puck along the table to a goal at puck height.

import type { TaskFamily } from '../family.ts';
import { freeObjectTerms, objectGraspScore } from '../rewards.ts';
import { graspAndCarry, puckSweep } from '../experts.ts';
import { PUCK_AND_GOAL, PUCK_BOX } from '../fixtures/puck.ts';
import type { Vec3 } from '../vec.ts';

const TARGET_RADIUS = 0.05;
const GOAL_BOX: { low: Vec3; high: Vec3 } = { low: [-0.1, 0.8, PUCK_BOX.low[2]], high: [0.1, 0.9, PUCK_BOX.high[2]] };

export const push: TaskFamily = {
  ...PUCK_AND_GOAL,
  name: 'push',
  summary: 'Push the puck across the table to a goal position.',
  // The goal lies on the table at the puck's height.
  randomBox: { low: [...PUCK_BOX.low, ...GOAL_BOX.low], high: [...PUCK_BOX.high, ...GOAL_BOX.high] },
  goalBox: GOAL_BOX,
  successThreshold: TARGET_RADIUS,
  evaluate(s) {
    const { object, tcpToObject, objectToTarget, inPlace } = freeObjectTerms(s);
    const grasp = objectGraspScore(s, { objectReachRadius: 0.01, objectRadius: 0.015, padSuccessThreshold: 0.05, xzThreshold: 0.005, density: 'high' });
    let reward = 2 * grasp;
    // At the puck with the fingers apart: the grasp counts twice more, plus progress to the goal.
    if (tcpToObject < 0.02 && s.gripperOpening > 0) reward += 1 + reward + 5 * inPlace;
    if (objectToTarget < TARGET_RADIUS) reward = 10;
    return {
      reward,
      success: objectToTarget <= TARGET_RADIUS,
      components: {
        nearObject: tcpToObject <= 0.03 ? 1 : 0,
        graspSuccess: s.touchingMainObject && s.gripperOpening > 0 && object[2] - 0.02 > s.objectsInit[0][2] ? 1 : 0,
        graspReward: grasp, inPlaceReward: inPlace, objToTarget: objectToTarget, tcpToObject,
      },
    };
  },
  // Grasp the puck and slide it, held just above the table, onto the goal.
  expert: (obs, goal) => graspAndCarry(obs, [goal[0], goal[1], goal[2] + 0.01]),
  // Goal-blind: carry the puck along the goal box's mid-line.
  searcher: () => puckSweep(GOAL_BOX),
};
