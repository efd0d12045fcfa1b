// button-press: push the spring-loaded button on the box's front face in, towards the box.

import type { TaskFamily } from '../family.ts';
import { frontButtonExpert } from '../experts.ts';
import { buttonEpisodeValues, buttonEvaluation, hamacher } from '../rewards.ts';
import { buttonGoal, buttonScene } from '../fixtures/button.ts';

const SUCCESS_RADIUS = 0.02;

export const buttonPress: TaskFamily = {
  name: 'button-press',
  summary: 'Push the button on the front of the box in.',
  paramNames: ['box_x', 'box_y', 'box_z'],
  randomBox: { low: [-0.1, 0.85, 0.115], high: [0.1, 0.9, 0.115] },
  handInit: [0, 0.4, 0.2],
  goalBox: { low: [-0.1, 0.75, 0.115], high: [0.1, 0.8, 0.115] },
  // The goal (MetaWorld's "hole" site) is 0.1 m in front of the box's base point; the released cap's face 0.093 m in front of it.
  scene: (p) => buttonScene([p[0], p[1], p[2]], buttonGoal([p[0], p[1], p[2]], 'front'), 'front'),
  successThreshold: SUCCESS_RADIUS,
  // Unlike the top-down button, the opening itself (not 1 - opening) is ANDed with the reach, and the press pays 8 within 5 cm.
  evaluate: (s) => buttonEvaluation(s, 1, 0.05, SUCCESS_RADIUS, ({ tcpToButton, near, pressed }) =>
    2 * hamacher(Math.max(s.gripperOpening, 0), near) + (tcpToButton <= 0.05 ? 8 * pressed : 0)),
  episodeValues: buttonEpisodeValues(1),
  expert: (obs, goal) => frontButtonExpert(obs, goal),
};
