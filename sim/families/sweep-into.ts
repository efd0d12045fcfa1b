// sweep-into: move the puck across the table into a square hole in it, 0.84 m out.

import type { TaskFamily } from '../family.ts';
import { freeObjectTerms, padCagingScore, sweepReward } from '../rewards.ts';
import { dragPuckTo } from '../experts.ts';
import { tableWithHole } from '../fixtures/table-with-hole.ts';
import { PUCK_AND_GOAL, PUCK_BOX, puckScene } from '../fixtures/puck.ts';
import type { Vec3 } from '../vec.ts';

const TARGET_RADIUS = 0.05;
/** MetaWorld's goal, and the hole's centre: fixed. */
const GOAL: Vec3 = [0, 0.84, 0.02];
/** MetaWorld's OBJ_RADIUS for the sweep families' caging score. */
const OBJECT_RADIUS = 0.02;

export const sweepInto: TaskFamily = {
  ...PUCK_AND_GOAL,
  name: 'sweep-into',
  summary: 'Sweep the puck into a hole in the table.',
  // MetaWorld draws a goal too, from a 2 mm box round the hole's centre, but never uses it: its
  // target stays at the hole's centre. Drawn as there, so the tasks are MetaWorld's; unused as there.
  randomBox: { low: [...PUCK_BOX.low, -0.001, 0.8399, 0.0199], high: [...PUCK_BOX.high, 0.001, 0.8401, 0.0201] },
  // MetaWorld draws again while the puck is within 0.15 m of the hole's centre in xy.
  reject: (p) => Math.hypot(GOAL[0] - p[0], GOAL[1] - p[1]) < 0.15,
  goalBox: { low: GOAL, high: GOAL },
  scene: (p) => ({ ...puckScene(p, GOAL), table: tableWithHole([GOAL[0], GOAL[1]]) }),
  successThreshold: TARGET_RADIUS,
  evaluate(s) {
    // The goal is level with the puck wherever it is: over the hole, or fallen into it, counts alike.
    const { object, tcpToObject, objectToTarget, inPlace } = freeObjectTerms(s, [s.goal[0], s.goal[1], s.objects[0][2]]);
    // MetaWorld's sweep-into overrides the generic caging score as sweep does, with a 5 mm grip band and 1 cm x-z alignment.
    const grasp = padCagingScore(s, object, { objectRadius: OBJECT_RADIUS, padSuccessMargin: 0.05, xzSuccessMargin: 0.01, gripSuccessMargin: OBJECT_RADIUS + 0.005 });
    return {
      reward: sweepReward(grasp, inPlace, objectToTarget < TARGET_RADIUS),
      success: objectToTarget <= TARGET_RADIUS,
      components: {
        nearObject: tcpToObject <= 0.03 ? 1 : 0, graspSuccess: s.touchingMainObject && s.gripperOpening > 0 ? 1 : 0,
        graspReward: grasp, inPlaceReward: inPlace, objToTarget: objectToTarget, tcpToObject,
      },
    };
  },
  // Drag the puck over the hole and let it drop in (and stay open once it has).
  expert: (obs, goal) => (obs[6] < PUCK_BOX.low[2] - 0.01 ? [0, 0, 0, -1] : dragPuckTo(obs, goal, 0.015)),
};
