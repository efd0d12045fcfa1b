// button-press-wall: push the button on the box's front face in, reaching behind a low wall.

import type { TaskFamily } from '../family.ts';
import { frontButtonExpert } from '../experts.ts';
import { buttonEpisodeValues, buttonEvaluation, hamacher } from '../rewards.ts';
import { buttonGoal, buttonScene } from '../fixtures/button.ts';
import { buttonWall, wall } from '../fixtures/wall.ts';

const SUCCESS_RADIUS = 0.03;
/** MetaWorld's wall: 0.2 m wide from x = 0, across y = 0.6, between the hand's start and the box. */
const WALL = buttonWall(0.6);

export const buttonPressWall: TaskFamily = {
  name: 'button-press-wall',
  summary: 'Push the button on the front of the box in, reaching behind a wall.',
  paramNames: ['box_x', 'box_y', 'box_z'],
  randomBox: { low: [-0.05, 0.85, 0.1149], high: [0.05, 0.9, 0.1151] },
  handInit: [0, 0.4, 0.2],
  goalBox: { low: [-0.05, 0.75, 0.1149], high: [0.05, 0.8, 0.1151] },
  scene(p) {
    const scene = buttonScene([p[0], p[1], p[2]], buttonGoal([p[0], p[1], p[2]], 'front'), 'front');
    return { ...scene, bodies: [...scene.bodies, wall(WALL)] };
  },
  successThreshold: SUCCESS_RADIUS,
  // Away from the button (TCP beyond 7 cm): 2 x (the fingers closing AND near); at it, 2 + 2 (1 + opening) + 4 pressed^2.
  evaluate: (s) => buttonEvaluation(s, 1, 0.01, SUCCESS_RADIUS, ({ tcpToButton, near, pressed }) =>
    tcpToButton > 0.07 ? 2 * hamacher((1 - s.gripperOpening) / 2, near) : 2 + 2 * (1 + s.gripperOpening) + 4 * pressed ** 2),
  episodeValues: buttonEpisodeValues(1),
  expert: (obs, goal) => frontButtonExpert(obs, goal, WALL),
};
