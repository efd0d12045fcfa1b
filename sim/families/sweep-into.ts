// sweep-into: move the puck across the table into a square hole in it, 0.84 m out.

import type { TaskFamily } from '../family.ts';
import { freeObjectTerms, sweepReward } from '../rewards.ts';
import { dragPuckTo } from '../experts.ts';
import type { Vec3 } from '../vec.ts';
import { tableWithHole } from '../fixtures/table-with-hole.ts';
import { PUCK_AND_GOAL, PUCK_BOX } from '../fixtures/puck.ts';

const TARGET_RADIUS = 0.05;

export const sweepInto: TaskFamily = {
  ...PUCK_AND_GOAL,
  name: 'sweep-into',
  summary: 'Sweep the puck into a hole in the table.',
  // MetaWorld draws the hole's centre too, from a 2 mm box around (0, 0.84, 0.02); the hole follows it.
  randomBox: { low: [...PUCK_BOX.low, -0.001, 0.8399, 0.0199], high: [...PUCK_BOX.high, 0.001, 0.8401, 0.0201] },
  goalBox: { low: [-0.001, 0.8399, 0.0199], high: [0.001, 0.8401, 0.0201] },
  scene: (p) => ({ ...PUCK_AND_GOAL.scene(p), table: tableWithHole([p[3], p[4]]) }),
  successThreshold: TARGET_RADIUS,
  evaluate(s) {
    // The goal is level with the puck wherever it is: over the hole, or fallen into it, counts alike.
    const puck = s.objects[0];
    const t = freeObjectTerms(s, { objectRadius: 0.02, padSuccessThreshold: 0.05, xzThreshold: 0.01, density: 'high' }, [s.goal[0], s.goal[1], puck[2]] as Vec3);
    const success = t.objectToGoal <= TARGET_RADIUS;
    return { reward: sweepReward(t.graspReward, t.inPlace, success), success, components: t.components };
  },
  // Drag the puck over the hole and let it drop in (and stay open once it has).
  expert: (obs, goal) => (obs[6] < PUCK_BOX.low[2] - 0.01 ? [0, 0, 0, -1] : dragPuckTo(obs, goal, 0.015)),
};
