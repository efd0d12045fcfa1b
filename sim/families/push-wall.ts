// push-wall: move the puck along the table, round the end of a low wall, to a goal behind it.

import type { TaskFamily } from '../family.ts';
import { objectGraspScore, wallDetourTerms } from '../rewards.ts';
import { graspAndCarry } from '../experts.ts';
import { PUCK_BOX } from '../fixtures/puck.ts';
import { PUCK_WALL, WALL_PUCK_BOX, wallPuckLayout } from '../fixtures/wall.ts';
import type { Vec3 } from '../vec.ts';

const SUCCESS_RADIUS = 0.07;
/** Inside this the reward is the full 10. */
const REWARD_RADIUS = 0.05;
/** MetaWorld's waypoint beside the wall's free end (x), at the object's own height; x errors count 3 times. */
const MIDPOINT_XY = [-0.05, 0.77] as const;
const MIDPOINT_SCALING: Vec3 = [3, 1, 1];

export const pushWall: TaskFamily = {
  // MetaWorld draws a goal height (0.01 .. 0.02) and replaces it with the puck's: the goal lies on the table.
  ...wallPuckLayout((p) => [p[3], p[4], PUCK_BOX.low[2]]),
  name: 'push-wall',
  summary: 'Push the puck round the end of a wall to a goal position behind it.',
  randomBox: { low: [...WALL_PUCK_BOX.low, -0.05, 0.85, 0.01], high: [...WALL_PUCK_BOX.high, 0.05, 0.9, 0.02] },
  goalBox: { low: [-0.05, 0.85, PUCK_BOX.low[2]], high: [0.05, 0.9, PUCK_BOX.high[2]] },
  successThreshold: SUCCESS_RADIUS,
  evaluate(s) {
    const midpoint: Vec3 = [MIDPOINT_XY[0], MIDPOINT_XY[1], s.objects[0][2]];
    const { object, tcpToObject, objectToTarget, inPlace, heldBonus } = wallDetourTerms(s, midpoint, MIDPOINT_SCALING);
    const grasp = objectGraspScore(s, { objectReachRadius: 0.01, objectRadius: 0.015, padSuccessThreshold: 0.05, xzThreshold: 0.005, density: 'high' });
    let reward = 2 * grasp;
    // At the puck with the fingers apart: progress round the wall, then to the goal.
    if (tcpToObject < 0.02 && s.gripperOpening > 0) reward += heldBonus;
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
  expert: (obs, goal) => graspAndCarry(obs, roundTheWall([obs[4], obs[5]], goal, PUCK_BOX.low[2] + 0.01)),
};

/** x of the puck's path past the wall's free end: its radius, a finger's half width and a margin clear of it. */
const AROUND_X = PUCK_WALL.centre[0] - PUCK_WALL.halfExtents[0] - 0.055;
const WALL_FRONT = PUCK_WALL.centre[1] - PUCK_WALL.halfExtents[1] - 0.04, WALL_BACK = PUCK_WALL.centre[1] + PUCK_WALL.halfExtents[1] + 0.04;

/** Next point for the puck held at height `z`: sideways in front of the wall, past its free end, then to the goal. */
function roundTheWall(puck: readonly [number, number], goal: Vec3, z: number): Vec3 {
  if (puck[1] < WALL_BACK && puck[0] > AROUND_X + 0.01) return [AROUND_X, Math.min(puck[1], WALL_FRONT), z];
  if (puck[1] < WALL_BACK) return [AROUND_X, WALL_BACK + 0.01, z];
  return [goal[0], goal[1], z];
}
