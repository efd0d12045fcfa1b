// window-close: slide the open window's sash (0.2 m open) shut by pushing its handle to the left.

import type { TaskFamily } from '../family.ts';
import { windowEvaluation } from '../rewards.ts';
import { windowExpert } from '../experts.ts';
import { windowScene } from '../fixtures/window.ts';

const OPENED = 0.2;
const TARGET_RADIUS = 0.05;

export const windowClose: TaskFamily = {
  name: 'window-close',
  summary: 'Slide the open window shut by pushing its handle to the left.',
  paramNames: ['window_x', 'window_y', 'window_z'],
  randomBox: { low: [0, 0.75, 0.2], high: [0, 0.9, 0.2] },
  handInit: [0, 0.4, 0.2],
  goalBox: { low: [0, 0.75, 0.2], high: [0, 0.9, 0.2] },
  scene: (p) => windowScene([p[0], p[1], p[2]], OPENED, 'close', [p[0], p[1], p[2]]),
  successThreshold: TARGET_RADIUS,
  evaluate: (s) => windowEvaluation(s, TARGET_RADIUS, Math.abs(s.objectsInit[0][0] - s.goal[0]), 'gaussian'),
  expert: (obs, goal) => windowExpert(obs, goal, 'close'),
};
