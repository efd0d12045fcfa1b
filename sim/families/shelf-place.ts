// shelf-place: pick the puck up and put it on a shelf 0.25 m above the table.

import { type TaskFamily, rejectCloserInXy } from '../family.ts';
import { clamp, type Vec3 } from '../vec.ts';
import { freeObjectTerms, hamacher, liftAndPlaceReward, liftedBy, objectGraspScore } from '../rewards.ts';
import { graspAndCarry } from '../experts.ts';
import { SHELF, shelf } from '../fixtures/shelf.ts';
import { PUCK_AND_GOAL, PUCK_RADIUS, puckScene } from '../fixtures/puck.ts';

const SUCCESS_RADIUS = 0.07;
/** Inside this the reward is the full 10. */
const REWARD_RADIUS = 0.05;
/** Below this height (MetaWorld's, absolute) a puck near the shelf is under its board, not on it. */
const UNDER_BOARD_Z = 0.24;

export const shelfPlace: TaskFamily = {
  name: 'shelf-place',
  summary: 'Pick the puck up and place it on the shelf.',
  paramNames: ['puck_x', 'puck_y', 'puck_z', 'goal_x', 'goal_y', 'goal_z'],
  randomBox: { low: [-0.1, 0.5, 0.019, -0.1, 0.8, 0.299], high: [0.1, 0.6, 0.021, 0.1, 0.9, 0.301] },
  // MetaWorld's threshold here is 0.1 m, not the puck families' 0.15 m.
  reject: rejectCloserInXy(0.1),
  handInit: PUCK_AND_GOAL.handInit,
  goalBox: { low: [-0.1, 0.8, 0.299], high: [0.1, 0.9, 0.301] },
  scene(p) {
    const goal: Vec3 = [p[3], p[4], p[5]];
    const base: Vec3 = [goal[0] - SHELF.goalOffset[0], goal[1] - SHELF.goalOffset[1], goal[2] - SHELF.goalOffset[2]];
    return puckScene(p, goal, shelf(base));
  },
  successThreshold: SUCCESS_RADIUS,
  evaluate(s) {
    const { object, tcpToObject, objectToTarget, inPlace } = freeObjectTerms(s);
    // The generic caging score without a density term: 0 until the pads cage the puck above 0.97 and the gripper closes.
    const grasp = objectGraspScore(s, { objectRadius: 0.02, padSuccessThreshold: 0.05, objectReachRadius: 0.01, xzThreshold: 0.01 });
    // MetaWorld takes the in-place credit of the lifted bonus away from a puck low in front of the
    // goal (scaled by how far in and how low) or behind it, below z = 0.24 and within 0.15 m of it in
    // x, so that pushing the puck into the shelf's lower opening earns nothing.
    let liftedInPlace = inPlace;
    const [x, y, z] = object, goal = s.goal;
    const besideShelf = z > 0 && z < UNDER_BOARD_Z && goal[0] - 0.15 < x && x < goal[0] + 0.15;
    if (besideShelf && goal[1] - 3 * REWARD_RADIUS < y && y < goal[1]) {
      const zScale = (UNDER_BOARD_Z - z) / UNDER_BOARD_Z;
      const yScale = (y - (goal[1] - 3 * REWARD_RADIUS)) / (3 * REWARD_RADIUS);
      liftedInPlace = clamp(liftedInPlace - hamacher(yScale, zScale), 0, 1);
    }
    if (besideShelf && y > goal[1]) liftedInPlace = 0;
    const lifted = tcpToObject < 0.025 && liftedBy(s, 0.01);
    return {
      reward: liftAndPlaceReward({ grasp, inPlace, liftedInPlace, lifted, atGoal: objectToTarget < REWARD_RADIUS }),
      success: objectToTarget <= SUCCESS_RADIUS,
      components: {
        nearObject: tcpToObject <= 0.03 ? 1 : 0, graspSuccess: s.touchingMainObject && liftedBy(s, 0.02) ? 1 : 0,
        graspReward: grasp, inPlaceReward: liftedInPlace, objToTarget: objectToTarget, tcpToObject,
      },
    };
  },
  // Grasp, lift straight up to the goal's height (clear of the board's front edge), slide in over
  // the board, and let go once the puck is over the goal.
  expert(obs, goal) {
    const puck: Vec3 = [obs[4], obs[5], obs[6]];
    const nearGoal = Math.hypot(puck[0] - goal[0], puck[1] - goal[1]) < 0.02 && Math.abs(puck[2] - goal[2]) < 0.05;
    if (nearGoal) return [0, 0, 0, -1];
    const belowBoardLevel = puck[2] < goal[2] - 0.01;
    const inFrontOfBoard = goal[1] - SHELF.goalOffset[1] + SHELF.boardFront - PUCK_RADIUS - 0.02;
    return graspAndCarry(obs, belowBoardLevel ? [goal[0], Math.min(puck[1], inFrontOfBoard), goal[2]] : goal);
  },
};
