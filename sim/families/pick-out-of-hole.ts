// pick-out-of-hole: pick the puck up out of a hole in a raised table top and hold it at a goal in the air.

import { type TaskFamily, rejectCloserInXy } from '../family.ts';
import { aboveFloorScore, freeObjectTerms, funnelFloor, hamacher, objectGraspScore } from '../rewards.ts';
import { graspAndCarry } from '../experts.ts';
import { PUCK_RADIUS, puckScene } from '../fixtures/puck.ts';
import { type DeckGeometry, deckHandFloor, deckWithHole } from '../fixtures/deck-with-hole.ts';

const SUCCESS_RADIUS = 0.07;
/** Inside this the reward is the full 10 (MetaWorld's TARGET_RADIUS; the in-place score is full within 0.02). */
const REWARD_RADIUS = 0.05;
const IN_PLACE_RADIUS = 0.02;
/** MetaWorld's table top for this task: 5.4 cm up, a 0.3 m square hole centred at (0, 0.8) down to our table. */
const DECK: DeckGeometry = { thickness: 0.054, holeCentre: [0, 0.8], holeHalf: [0.15, 0.15] };

export const pickOutOfHole: TaskFamily = {
  name: 'pick-out-of-hole',
  summary: 'Pick the puck up out of the hole in the table top and hold it at a goal position in the air.',
  paramNames: ['puck_x', 'puck_y', 'puck_z', 'goal_x', 'goal_y', 'goal_z'],
  // The puck always starts at the same place, in the hole; only the goal varies.
  randomBox: { low: [0, 0.75, 0.02, -0.1, 0.5, 0.15], high: [0, 0.75, 0.02, 0.1, 0.6, 0.3] },
  reject: rejectCloserInXy(0.15),
  handInit: [0, 0.6, 0.2],
  // The fingers rest on the raised table top; the hand goes lower only over the hole.
  handFloor: deckHandFloor(DECK),
  goalBox: { low: [-0.1, 0.5, 0.15], high: [0.1, 0.6, 0.3] },
  scene: (p) => puckScene(p, [p[3], p[4], p[5]], deckWithHole(DECK)),
  successThreshold: SUCCESS_RADIUS,
  evaluate(s) {
    const { object, tcpToObject, objectToTarget, inPlace } = freeObjectTerms(s, s.goal, IN_PLACE_RADIUS);
    // The funnel round the puck's start: the TCP should stay above the hole's rim until it is over the puck.
    const radius = Math.hypot(s.tcp[0] - s.objectsInit[0][0], s.tcp[1] - s.objectsInit[0][1]);
    const aboveFloor = aboveFloorScore(s.tcp[2], funnelFloor(radius, 0.03, 0.015, 0.15), 0.02);
    const grasp = objectGraspScore(s, { objectReachRadius: 0.01, objectRadius: 0.015, padSuccessThreshold: 0.02, xzThreshold: 0.03, desiredGripperEffort: 0.1, density: 'high' });
    let reward = hamacher(grasp, inPlace);
    // Held (the fingers not pinched shut) and lifted 2 cm: progress to the goal, the funnel ANDed in.
    const grasped = tcpToObject < 0.04 && object[2] - 0.02 > s.objectsInit[0][2] && !(s.gripperOpening < 0.33);
    if (grasped) reward += 1 + 5 * hamacher(inPlace, aboveFloor);
    if (objectToTarget < REWARD_RADIUS) reward = 10;
    return {
      reward,
      success: objectToTarget <= SUCCESS_RADIUS,
      components: {
        nearObject: tcpToObject <= 0.03 ? 1 : 0, graspSuccess: grasped ? 1 : 0,
        graspReward: grasp, inPlaceReward: inPlace, objToTarget: objectToTarget, tcpToObject, aboveFloor,
      },
    };
  },
  // Grasp the puck in the hole, lift it straight up until it clears the rim, then carry it to the goal.
  expert(obs, goal) {
    const inHole = obs[6] < DECK.thickness + PUCK_RADIUS + 0.03;
    return graspAndCarry(obs, inHole ? [obs[4], obs[5], goal[2]] : goal);
  },
};
