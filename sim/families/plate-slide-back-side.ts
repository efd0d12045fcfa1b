// plate-slide-back-side: slide the plate sideways (+x) out of the goal cage at the table's left.

import type { TaskFamily } from '../family.ts';
import { plateSlideEvaluation } from '../rewards.ts';
import { slidePlateTo } from '../experts.ts';
import { plateSlideScene } from '../fixtures/plate-slide.ts';
import type { Vec3 } from '../vec.ts';

const SUCCESS_RADIUS = 0.07;
const randomBox = { low: [-0.25, 0.6, 0, -0.05, 0.6, 0.015], high: [-0.25, 0.6, 0, 0.15, 0.6, 0.015] };
/** MetaWorld's obj_init_pos: the task vector's (fixed) first three entries, the cage's place (the plate starts 0.1 m in front of it). */
const PLATE_INIT: Vec3 = [randomBox.low[0], randomBox.low[1], randomBox.low[2]];
/** The plate starts 0.15 m along its x slide towards the cage, half inside it. */
const PLATE_START = [-0.15, 0] as const;

export const plateSlideBackSide: TaskFamily = {
  name: 'plate-slide-back-side',
  summary: 'Slide the plate sideways out of the goal cage.',
  paramNames: ['plate_x', 'plate_y', 'plate_z', 'goal_x', 'goal_y', 'goal_z'],
  randomBox,
  handInit: [0, 0.6, 0.2],
  goalBox: { low: [-0.05, 0.6, 0.015], high: [0.15, 0.6, 0.015] },
  // The cage, open towards +x, stands at the task vector's first point.
  scene: (p) => plateSlideScene(PLATE_START, [p[0], p[1], p[2]], Math.PI / 2, [p[3], p[4], p[5]]),
  successThreshold: SUCCESS_RADIUS,
  evaluate: (s) => plateSlideEvaluation(s, PLATE_INIT, 'other', SUCCESS_RADIUS),
  // Reach in behind the plate and push it straight out along x to the goal.
  expert: (obs, goal) => slidePlateTo(obs, goal, 0),
};
