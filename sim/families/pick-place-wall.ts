// pick-place-wall: pick the puck up, lift it over a low wall and hold it at a goal behind it.

import type { TaskFamily } from '../family.ts';
import { hamacher, objectGraspScore, wallDetourTerms } from '../rewards.ts';
import { PUCK_GRASP, graspAndCarry, overWall } from '../experts.ts';
import { PUCK_RADIUS } from '../fixtures/puck.ts';
import { TCP_BELOW_HAND } from '../gripper.ts';
import { PUCK_WALL, WALL_PUCK_BOX, wallPuckLayout } from '../fixtures/wall.ts';
import type { Vec3 } from '../vec.ts';

const SUCCESS_RADIUS = 0.07;
/** Inside this the reward is the full 10. */
const REWARD_RADIUS = 0.05;
/** MetaWorld's waypoint over the wall: (goal x, 0.77, 0.25), height errors counted 3 times. */
const MIDPOINT_YZ = [0.77, 0.25] as const;
const MIDPOINT_SCALING: Vec3 = [1, 1, 3];

export const pickPlaceWall: TaskFamily = {
  ...wallPuckLayout(),
  name: 'pick-place-wall',
  summary: 'Pick the puck up, lift it over a wall and hold it at a goal position behind it.',
  randomBox: { low: [...WALL_PUCK_BOX.low, -0.05, 0.85, 0.05], high: [...WALL_PUCK_BOX.high, 0.05, 0.9, 0.3] },
  goalBox: { low: [-0.05, 0.85, 0.05], high: [0.05, 0.9, 0.3] },
  successThreshold: SUCCESS_RADIUS,
  evaluate(s) {
    const midpoint: Vec3 = [s.goal[0], MIDPOINT_YZ[0], MIDPOINT_YZ[1]];
    const { object, tcpToObject, objectToTarget, inPlace, inPlaceMidpoint, heldBonus } = wallDetourTerms(s, midpoint, MIDPOINT_SCALING);
    // The generic caging score without a density term: 0 until the pads cage the puck above 0.97 and the gripper closes.
    const grasp = objectGraspScore(s, { objectReachRadius: 0.01, objectRadius: 0.015, padSuccessThreshold: 0.05, xzThreshold: 0.005 });
    let reward = hamacher(grasp, inPlaceMidpoint);
    // Held and lifted more than 1.5 cm: progress over the wall, then to the goal.
    if (tcpToObject < 0.02 && s.gripperOpening > 0 && object[2] - 0.015 > s.objectsInit[0][2]) reward += heldBonus;
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
  // Grasp, lift straight up until the puck's underside clears the wall by 3 cm, cross over it, then on
  // to the goal. The waypoints are for the puck: held low in the grip (it can slip down a little as it
  // swings), the hand goes that much higher.
  expert(obs, goal) {
    const puck: Vec3 = [obs[4], obs[5], obs[6]];
    const next = overWall(puck, goal, PUCK_WALL, PUCK_RADIUS, 0.03);
    const held = obs[3] < PUCK_GRASP.closingBelow && puck[2] > PUCK_GRASP.restHeight + 0.015;
    const hangsBelowTcp = Math.max(0, obs[2] - TCP_BELOW_HAND - puck[2]);
    return graspAndCarry(obs, held ? [next[0], next[1], next[2] + Math.min(hangsBelowTcp, 0.02)] : next);
  },
};
