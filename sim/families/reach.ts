// reach: bring the TCP within 5 cm of a goal point in the air.

import type { TaskFamily } from '../family.ts';
import { climbingSearcher, moveHandTowards } from '../experts.ts';
import { TCP_BELOW_HAND } from '../gripper.ts';
import { reachTerms } from '../rewards.ts';
import { PUCK_AND_GOAL, PUCK_BOX } from '../fixtures/puck.ts';

const TARGET_RADIUS = 0.05;

export const reach: TaskFamily = {
  ...PUCK_AND_GOAL,
  name: 'reach',
  summary: 'Move the gripper to a goal position in the air.',
  randomBox: { low: [...PUCK_BOX.low, -0.1, 0.8, 0.05], high: [...PUCK_BOX.high, 0.1, 0.9, 0.3] },
  goalBox: { low: [-0.1, 0.8, 0.05], high: [0.1, 0.9, 0.3] },
  successThreshold: TARGET_RADIUS,
  evaluate(s) {
    const { tcpToGoal, inPlace, reward } = reachTerms(s, TARGET_RADIUS);
    return {
      reward,
      success: tcpToGoal <= TARGET_RADIUS,
      // MetaWorld reports the TCP-to-goal distance as near_object and grasp_reward too.
      components: { nearObject: tcpToGoal, graspSuccess: 1, graspReward: tcpToGoal, inPlaceReward: inPlace, objToTarget: tcpToGoal },
    };
  },
  expert: (obs, goal) => moveHandTowards(obs, [goal[0], goal[1], goal[2] + TCP_BELOW_HAND], -1),
  searcher: (goal) => climbingSearcher([goal[0], goal[1], goal[2] + TCP_BELOW_HAND], TARGET_RADIUS, -1),
  searcherReadsTrial: true,
};
