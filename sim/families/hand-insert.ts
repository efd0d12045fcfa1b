// hand-insert: pick the block up and put it into a hole in a raised table top.

import type { TaskFamily } from '../family.ts';
import { freeObjectTerms, hamacher, objectGraspScore } from '../rewards.ts';
import { graspAndCarry } from '../experts.ts';
import { BLOCK_HALF, blockScene } from '../fixtures/block.ts';
import { type DeckGeometry, deckHandFloor, deckWithHole } from '../fixtures/deck-with-hole.ts';
import type { Vec3 } from '../vec.ts';

const TARGET_RADIUS = 0.05;
/** MetaWorld's table top for this task: 5 cm up, a 0.16 m square hole centred at (0, 0.84) down to our table. */
const DECK: DeckGeometry = { thickness: 0.05, holeCentre: [0, 0.84], holeHalf: [0.08, 0.08] };

/** The block resting on the deck, squeezed as the puck is (both are 4 cm across). */
const BLOCK_ON_DECK = { closedOpening: 0.52, closingBelow: 0.75, restHeight: DECK.thickness + BLOCK_HALF };

export const handInsert: TaskFamily = {
  name: 'hand-insert',
  summary: 'Pick the block up and put it into the hole in the table top.',
  paramNames: ['block_x', 'block_y', 'block_z', 'goal_x', 'goal_y', 'goal_z'],
  // MetaWorld drops the block from z = 0.05 onto its table top (0.05 up); ours is placed resting on the deck.
  randomBox: { low: [-0.1, 0.6, 0.05, -0.04, 0.8, -0.0201], high: [0.1, 0.7, 0.05, 0.04, 0.88, -0.0199] },
  reject: (p) => Math.hypot(p[3] - p[0], p[4] - p[1]) < 0.15,
  handInit: [0, 0.6, 0.2],
  // The fingers rest on the raised table top; the hand goes lower only over the hole.
  handFloor: deckHandFloor(DECK),
  goalBox: { low: [-0.04, 0.8, -0.0201], high: [0.04, 0.88, -0.0199] },
  // A light block (MetaWorld's weighs 10 g): a heavy one slides along the pads as the hand swings it.
  scene: (p) => blockScene([p[0], p[1], DECK.thickness + BLOCK_HALF], [p[3], p[4], p[5]], { mass: 0.1, fixtures: [deckWithHole(DECK)] }),
  successThreshold: TARGET_RADIUS,
  evaluate(s) {
    const { object, tcpToObject, objectToTarget, inPlace } = freeObjectTerms(s);
    const grasp = objectGraspScore(s, { objectReachRadius: 0.01, objectRadius: 0.015, padSuccessThreshold: 0.05, xzThreshold: 0.005, density: 'high' });
    let reward = hamacher(grasp, inPlace);
    // At the block with the fingers apart: progress to the goal pays 7.
    if (tcpToObject < 0.02 && s.gripperOpening > 0) reward += 1 + 7 * inPlace;
    if (objectToTarget < TARGET_RADIUS) reward = 10;
    return {
      reward,
      success: objectToTarget <= TARGET_RADIUS,
      components: {
        nearObject: tcpToObject <= 0.03 ? 1 : 0,
        graspSuccess: s.touchingMainObject && s.gripperOpening > 0 && object[2] - 0.02 > s.objectsInit[0][2] ? 1 : 0,
        graspReward: grasp, inPlaceReward: inPlace, objToTarget: objectToTarget, tcpToObject,
      },
    };
  },
  // Grasp, carry the block just over the deck until it is above the goal (allowing for where it sits
  // in the grip: it slides a little along the pads), and lower it onto the hole's floor.
  expert(obs, goal) {
    const block: Vec3 = [obs[4], obs[5], obs[6]];
    const aim: Vec3 = [goal[0] - (block[0] - obs[0]), goal[1] - (block[1] - obs[1]), 0];
    const inHole = block[2] < DECK.thickness + BLOCK_HALF - 0.01;
    const overGoal = inHole || Math.hypot(block[0] - goal[0], block[1] - goal[1]) < 0.008;
    return graspAndCarry(obs, [aim[0], aim[1], overGoal ? BLOCK_HALF : DECK.thickness + BLOCK_HALF + 0.015], BLOCK_ON_DECK);
  },
};
