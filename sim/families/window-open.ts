// window-open: slide the window's sash 0.2 m to the right by pushing its handle.

import type { TaskFamily } from '../family.ts';
import { windowEvaluation } from '../rewards.ts';
import { windowExpert } from '../experts.ts';
import { windowScene } from '../fixtures/window.ts';

const OPEN_BY = 0.2;
const TARGET_RADIUS = 0.05;

export const windowOpen: TaskFamily = {
  name: 'window-open',
  summary: 'Slide the window open by pushing its handle to the right.',
  paramNames: ['window_x', 'window_y', 'window_z'],
  randomBox: { low: [-0.1, 0.7, 0.16], high: [0.1, 0.9, 0.16] },
  handInit: [0, 0.4, 0.2],
  goalBox: { low: [0.1, 0.7, 0.16], high: [0.3, 0.9, 0.16] },
  scene: (p) => windowScene([p[0], p[1], p[2]], 0, 'open', [p[0] + OPEN_BY, p[1], p[2]]),
  successThreshold: TARGET_RADIUS,
  // MetaWorld measures the in-place margin from the window's base point, which sits OPEN_BY from the goal.
  evaluate: (s) => windowEvaluation(s, TARGET_RADIUS, OPEN_BY, 'long_tail'),
  expert: (obs, goal) => windowExpert(obs, goal, 'open'),
};
