// push-back: move the block along the table back towards the robot, to a goal in front of it.

import { type TaskFamily, rejectCloserInXy } from '../family.ts';
import { freeObjectTerms, hamacher, padCagingScore } from '../rewards.ts';
import { graspAndCarry } from '../experts.ts';
import { BLOCK_HALF, blockScene } from '../fixtures/block.ts';

const SUCCESS_RADIUS = 0.07;
/** Inside this the reward is the full 10. */
const REWARD_RADIUS = 0.05;
/** MetaWorld's OBJ_RADIUS for push-back's caging score (the cube is 4 cm across). */
const OBJECT_RADIUS = 0.007;

export const pushBack: TaskFamily = {
  name: 'push-back',
  summary: 'Pull the block back across the table to a goal position nearer the robot.',
  paramNames: ['block_x', 'block_y', 'block_z', 'goal_x', 'goal_y', 'goal_z'],
  randomBox: { low: [-0.1, 0.8, 0.02, -0.1, 0.6, 0.0199], high: [0.1, 0.85, 0.02, 0.1, 0.7, 0.0201] },
  reject: rejectCloserInXy(0.15),
  handInit: [0, 0.6, 0.2],
  // MetaWorld replaces the drawn goal height with the block's: the goal lies on the table.
  goalBox: { low: [-0.1, 0.6, BLOCK_HALF], high: [0.1, 0.7, BLOCK_HALF] },
  scene: (p) => blockScene([p[0], p[1], BLOCK_HALF], [p[3], p[4], BLOCK_HALF]),
  successThreshold: SUCCESS_RADIUS,
  evaluate(s) {
    const { object, tcpToObject, objectToTarget, objectToTargetInit, inPlace } = freeObjectTerms(s);
    // MetaWorld's push-back overrides the caging score as the sweep families do: pads within 3 mm count as gripping.
    const grasp = padCagingScore(s, object, { objectRadius: OBJECT_RADIUS, padSuccessMargin: 0.05, xzSuccessMargin: 0.01, gripSuccessMargin: OBJECT_RADIUS + 0.003 });
    let reward = hamacher(grasp, inPlace);
    // Gripped (the fingers apart but closed on it) and moved at least 1 cm towards the goal.
    const gripped = tcpToObject < 0.01 && s.gripperOpening > 0 && s.gripperOpening < 0.55;
    if (gripped && objectToTargetInit - objectToTarget > 0.01) reward += 1 + 5 * inPlace;
    if (objectToTarget < REWARD_RADIUS) reward = 10;
    return {
      reward,
      success: objectToTarget <= SUCCESS_RADIUS,
      components: {
        nearObject: tcpToObject <= 0.03 ? 1 : 0,
        graspSuccess: s.touchingMainObject && s.gripperOpening > 0 && object[2] - 0.02 > s.objectsInit[0][2] ? 1 : 0,
        graspReward: grasp, inPlaceReward: inPlace, objToTarget: objectToTarget, tcpToObject,
      },
    };
  },
  // Grasp the block and drag it, held just above the table, onto the goal.
  expert: (obs, goal) => graspAndCarry(obs, [goal[0], goal[1], goal[2] + 0.01]),
};
