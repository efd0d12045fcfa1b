// handle-press: press the handle press's lever down by its grip, from above.

import type { TaskFamily } from '../family.ts';
import { handlePressEvaluation } from '../rewards.ts';
import { handlePressExpert } from '../experts.ts';
import { HANDLE_PRESS, handlePressPoint, handlePressScene } from '../fixtures/handle-press.ts';

export const handlePress: TaskFamily = {
  name: 'handle-press',
  summary: 'Press the handle down.',
  paramNames: ['press_x', 'press_y', 'press_z'],
  randomBox: { low: [-0.1, 0.8, -0.001], high: [0.1, 0.9, 0.001] },
  handInit: [0, 0.6, 0.2],
  goalBox: { low: [-0.1, 0.584, 0.074], high: [0.1, 0.684, 0.076] },
  // MetaWorld starts the lever 1 mm below its top.
  scene: (p) => handlePressScene([p[0], p[1], p[2]], 0, 0.001, HANDLE_PRESS.gripTop, handlePressPoint([p[0], p[1], p[2]], 0, HANDLE_PRESS.pressGoal)),
  successThreshold: 0.02,
  evaluate: (s) => handlePressEvaluation(s, s.objectsInit[0]),
  expert: handlePressExpert,
};
