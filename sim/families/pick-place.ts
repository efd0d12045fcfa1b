// pick-place: grasp the puck, lift it and place it at a goal in the air.

import type { TaskFamily } from '../family.ts';
import { freeObjectTerms, liftAndPlaceReward, liftedBy } from '../rewards.ts';
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
    const t = freeObjectTerms(s, { objectRadius: 0.015, padSuccessThreshold: 0.05, xzThreshold: 0.005 });
    const lifted = t.tcpToObject < 0.02 && liftedBy(s, 0.01);
    const reward = liftAndPlaceReward({ grasp: t.graspReward, inPlace: t.inPlace, lifted, atGoal: t.objectToGoal < REWARD_RADIUS });
    return { reward, success: t.objectToGoal <= SUCCESS_RADIUS, components: t.components };
  },
  expert: (obs, goal) => graspAndCarry(obs, goal),
};
