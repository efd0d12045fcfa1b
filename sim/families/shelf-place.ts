// shelf-place: pick the puck up and put it on a shelf 0.25 m above the table.

import { type TaskFamily, rejectCloserInXy } from '../family.ts';
import { clamp, type Vec3 } from '../vec.ts';
import { freeObjectTerms, hamacher, liftAndPlaceReward, liftedBy } from '../rewards.ts';
import { graspAndCarry } from '../experts.ts';
import { SHELF, shelf } from '../fixtures/shelf.ts';
import { PUCK_AND_GOAL, PUCK_RADIUS, puckScene } from '../fixtures/puck.ts';

const SUCCESS_RADIUS = 0.07;
/** Inside this the reward is the full 10. */
const REWARD_RADIUS = 0.05;
/** Below the board's underside (relative to the goal) the puck is under the shelf, not on it. */
const UNDER_BOARD = SHELF.goalOffset[2] - SHELF.boardTop + 0.01;

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
    const t = freeObjectTerms(s, { objectRadius: 0.02, padSuccessThreshold: 0.05, objectReachRadius: 0.01, xzThreshold: 0.01 });
    // MetaWorld takes the in-place credit of the lifted bonus away from a puck under the board or
    // behind the goal at board height, so that pushing it into the shelf's lower opening earns nothing.
    let inPlace = t.inPlace;
    const [x, y, z] = s.objects[0], goal = s.goal, underside = goal[2] - UNDER_BOARD;
    const besideShelf = z > 0 && z < underside && Math.abs(x - goal[0]) < 0.15;
    if (besideShelf && y > goal[1] - 3 * REWARD_RADIUS && y < goal[1]) {
      const yScale = (y - (goal[1] - 3 * REWARD_RADIUS)) / (3 * REWARD_RADIUS);
      const zScale = (underside - z) / underside;
      inPlace = clamp(inPlace - hamacher(yScale, zScale), 0, 1);
    }
    if (besideShelf && y > goal[1]) inPlace = 0;
    const lifted = t.tcpToObject < 0.025 && liftedBy(s, 0.01);
    const reward = liftAndPlaceReward({ grasp: t.graspReward, inPlace: t.inPlace, liftedInPlace: inPlace, lifted, atGoal: t.objectToGoal < REWARD_RADIUS });
    return { reward, success: t.objectToGoal <= SUCCESS_RADIUS, components: { ...t.components, inPlaceReward: inPlace } };
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
