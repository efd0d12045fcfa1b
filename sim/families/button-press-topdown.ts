// button-press-topdown: press the spring-loaded button on top of the box down, from above.

import type { TaskFamily } from '../family.ts';
import { topdownButtonExpert } from '../experts.ts';
import { buttonEpisodeValues, buttonEvaluation, hamacher } from '../rewards.ts';
import { buttonGoal, buttonScene } from '../fixtures/button.ts';

const SUCCESS_DEPTH = 0.024;

export const buttonPressTopdown: TaskFamily = {
  name: 'button-press-topdown',
  summary: 'Press the button on top of the box down from above.',
  paramNames: ['box_x', 'box_y', 'box_z'],
  randomBox: { low: [-0.1, 0.8, 0.115], high: [0.1, 0.9, 0.115] },
  handInit: [0, 0.4, 0.2],
  goalBox: { low: [-0.1, 0.8, 0.215], high: [0.1, 0.9, 0.215] },
  // The goal (MetaWorld's "hole" site) sits 0.1 m above the box's base point; the released cap is 0.093 m above it.
  scene: (p) => buttonScene([p[0], p[1], p[2]], buttonGoal([p[0], p[1], p[2]], 'up')),
  successThreshold: SUCCESS_DEPTH,
  // MetaWorld's reach margin is the distance from the TCP's start to where the button is now.
  evaluate: (s) => buttonEvaluation(s, 2, 0.01, SUCCESS_DEPTH, ({ tcpToButton, near, pressed }) =>
    5 * hamacher(1 - s.gripperOpening, near) + (tcpToButton <= 0.03 ? 5 * pressed : 0)),
  // MetaWorld's _obj_to_target_init: how far the released button sits above the goal.
  episodeValues: buttonEpisodeValues(2),
  expert: topdownButtonExpert,
};
