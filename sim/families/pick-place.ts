// pick-place: grasp the puck, lift it and place it at a goal in the air.

import type { TaskFamily } from '../family.ts';
import { freeObjectTerms, liftAndPlaceReward, liftedBy, padCagingScore } from '../rewards.ts';
import { graspAndCarry } from '../experts.ts';
import { PUCK_AND_GOAL, PUCK_BOX } from '../fixtures/puck.ts';

const SUCCESS_RADIUS = 0.07;
/** Inside this the reward is the full 10 (MetaWorld's pick-place rewards a tighter radius than it counts as success). */
const REWARD_RADIUS = 0.05;

export const pickPlace: TaskFamily = {
  ...PUCK_AND_GOAL,
  name: 'pick-place',
  summary: 'Pick the puck up and hold it at a goal position in the air.',
  randomBox: { low: [...PUCK_BOX.low, -0.1, 0.8, 0.05], high: [...PUCK_BOX.high, 0.1, 0.9, 0.3] },
  goalBox: { low: [-0.1, 0.8, 0.05], high: [0.1, 0.9, 0.3] },
  successThreshold: SUCCESS_RADIUS,
  evaluate(s) {
    const { object, tcpToObject, objectToTarget, inPlace } = freeObjectTerms(s);
    // MetaWorld's pick-place overrides the generic caging score: each pad caged on its own side.
    const grasp = padCagingScore(s, object, { objectRadius: 0.015, padSuccessMargin: 0.05, xzSuccessMargin: 0.005 });
    const lifted = tcpToObject < 0.02 && liftedBy(s, 0.01);
    const reward = liftAndPlaceReward({ grasp, inPlace, lifted, atGoal: objectToTarget < REWARD_RADIUS });
    return {
      reward,
      success: objectToTarget <= SUCCESS_RADIUS,
      components: {
        nearObject: tcpToObject <= 0.03 ? 1 : 0,
        graspSuccess: s.touchingMainObject && liftedBy(s, 0.02) ? 1 : 0,
        graspReward: grasp, inPlaceReward: inPlace, objToTarget: objectToTarget, tcpToObject,
      },
    };
  },
  expert: (obs, goal) => graspAndCarry(obs, goal),
};
