// handle-press-side: press down the lever of a handle press that faces +x (turned a quarter turn), from above.

import type { TaskFamily } from '../family.ts';
import { handlePressEvaluation } from '../rewards.ts';
import { handlePressExpert } from '../experts.ts';
import { HANDLE_PRESS, handlePressPoint, handlePressScene } from '../fixtures/handle-press.ts';

export const handlePressSide: TaskFamily = {
  name: 'handle-press-side',
  summary: 'Press down the handle of the press turned sideways.',
  paramNames: ['press_x', 'press_y', 'press_z'],
  randomBox: { low: [-0.35, 0.65, -0.001], high: [-0.25, 0.75, 0.001] },
  handInit: [0, 0.6, 0.2],
  goalBox: { low: [-0.134, 0.65, 0.074], high: [-0.034, 0.75, 0.076] },
  // MetaWorld starts the lever 1 mm below its top.
  scene: (p) => handlePressScene([p[0], p[1], p[2]], HANDLE_PRESS.sideYaw, 0.001, HANDLE_PRESS.gripTop, handlePressPoint([p[0], p[1], p[2]], HANDLE_PRESS.sideYaw, HANDLE_PRESS.pressGoal)),
  successThreshold: 0.02,
  evaluate: (s) => handlePressEvaluation(s, s.objectsInit[0]),
  expert: handlePressExpert,
};
