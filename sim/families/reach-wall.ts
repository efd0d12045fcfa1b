// reach-wall: bring the TCP within 5 cm of a goal point behind a low wall.

import type { TaskFamily } from '../family.ts';
import { moveHandTowards, overWall } from '../experts.ts';
import { FINGERTIPS_BELOW_HAND, TCP_BELOW_HAND } from '../gripper.ts';
import { reachTerms } from '../rewards.ts';
import { PUCK_WALL, WALL_PUCK_BOX, wallPuckLayout } from '../fixtures/wall.ts';

const TARGET_RADIUS = 0.05;

export const reachWall: TaskFamily = {
  ...wallPuckLayout(),
  name: 'reach-wall',
  summary: 'Move the gripper to a goal position in the air behind a wall.',
  randomBox: { low: [...WALL_PUCK_BOX.low, -0.05, 0.85, 0.05], high: [...WALL_PUCK_BOX.high, 0.05, 0.9, 0.3] },
  goalBox: { low: [-0.05, 0.85, 0.05], high: [0.05, 0.9, 0.3] },
  successThreshold: TARGET_RADIUS,
  evaluate(s) {
    const { tcpToGoal, inPlace, reward } = reachTerms(s, TARGET_RADIUS);
    return {
      reward,
      success: tcpToGoal <= TARGET_RADIUS,
      // Unlike reach, MetaWorld reports no object terms here: 0 for near_object, grasp_success and grasp_reward.
      components: { nearObject: 0, graspSuccess: 0, graspReward: 0, inPlaceReward: inPlace, objToTarget: tcpToGoal },
    };
  },
  // Over the wall with the fingers closed, then down onto the goal.
  expert: (obs, goal) => moveHandTowards(obs, overWall(obs, [goal[0], goal[1], goal[2] + TCP_BELOW_HAND], PUCK_WALL, FINGERTIPS_BELOW_HAND), 1),
};
