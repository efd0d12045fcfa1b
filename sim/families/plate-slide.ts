// plate-slide: slide the plate forward across the table into the goal cage.

import type { TaskFamily } from '../family.ts';
import { plateSlideEvaluation } from '../rewards.ts';
import { slidePlateTo } from '../experts.ts';
import { plateSlideScene } from '../fixtures/plate-slide.ts';
import type { Vec3 } from '../vec.ts';

const SUCCESS_RADIUS = 0.07;
const randomBox = { low: [0, 0.6, 0, -0.1, 0.85, 0], high: [0, 0.6, 0, 0.1, 0.9, 0] };
/** MetaWorld's obj_init_pos: the task vector's (fixed) first three entries. */
const PLATE_INIT: Vec3 = [randomBox.low[0], randomBox.low[1], randomBox.low[2]];

export const plateSlide: TaskFamily = {
  name: 'plate-slide',
  summary: 'Slide the plate forward into the goal cage.',
  paramNames: ['plate_x', 'plate_y', 'plate_z', 'goal_x', 'goal_y', 'goal_z'],
  randomBox,
  handInit: [0, 0.6, 0.2],
  goalBox: { low: [-0.1, 0.85, 0], high: [0.1, 0.9, 0] },
  // The cage stands at the goal, open towards the plate.
  scene: (p) => plateSlideScene([0, 0], [p[3], p[4], p[5]], 0, [p[3], p[4], p[5]]),
  successThreshold: SUCCESS_RADIUS,
  evaluate: (s) => plateSlideEvaluation(s, PLATE_INIT, 'front', SUCCESS_RADIUS),
  // Line the plate up with the cage in x, then push it straight in.
  expert: (obs, goal) => slidePlateTo(obs, goal, 0),
};
