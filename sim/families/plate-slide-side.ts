// plate-slide-side: slide the plate sideways (-x) into the goal cage at the table's left.

import type { TaskFamily } from '../family.ts';
import { plateSlideEvaluation } from '../rewards.ts';
import { slidePlateTo } from '../experts.ts';
import { plateSlideScene } from '../fixtures/plate-slide.ts';
import { type Vec3, clamp } from '../vec.ts';

const SUCCESS_RADIUS = 0.07;
const randomBox = { low: [0, 0.6, 0, -0.3, 0.54, 0], high: [0, 0.6, 0, -0.25, 0.66, 0] };
/** MetaWorld's obj_init_pos: the task vector's (fixed) first three entries. */
const PLATE_INIT: Vec3 = [randomBox.low[0], randomBox.low[1], randomBox.low[2]];
/**
 * The cage stays where MetaWorld's scene file puts it, open towards +x: MetaWorld's reset writes the
 * goal into the cage's computed world position, which the next physics step overwrites.
 */
const CAGE: Vec3 = [-0.3, 0.6, 0];
/** Plate centres whose edges clear the cage's side bars by 2 mm. */
const CAGE_Y_RANGE = [0.56, 0.64] as const;

export const plateSlideSide: TaskFamily = {
  name: 'plate-slide-side',
  summary: 'Slide the plate sideways into the goal cage.',
  paramNames: ['plate_x', 'plate_y', 'plate_z', 'goal_x', 'goal_y', 'goal_z'],
  randomBox,
  handInit: [0, 0.6, 0.2],
  goalBox: { low: [-0.3, 0.54, 0], high: [-0.25, 0.66, 0] },
  scene: (p) => plateSlideScene([0, 0], CAGE, Math.PI / 2, [p[3], p[4], p[5]]),
  successThreshold: SUCCESS_RADIUS,
  evaluate: (s) => plateSlideEvaluation(s, PLATE_INIT, 'other', SUCCESS_RADIUS),
  // Shift the plate to the goal's y (inside the cage's width), then push it straight in.
  expert: (obs, goal) => slidePlateTo(obs, [goal[0], clamp(goal[1], CAGE_Y_RANGE[0], CAGE_Y_RANGE[1]), goal[2]], 1),
};
