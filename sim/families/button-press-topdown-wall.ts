// button-press-topdown-wall: press the button on top of the box down from above, reaching over a low wall.

import type { TaskFamily } from '../family.ts';
import { topdownButtonExpert } from '../experts.ts';
import { buttonEpisodeValues, buttonEvaluation, hamacher } from '../rewards.ts';
import { buttonGoal, buttonScene } from '../fixtures/button.ts';
import { buttonWall, wall } from '../fixtures/wall.ts';

const SUCCESS_DEPTH = 0.024;
/** MetaWorld's wall: 0.2 m wide from x = 0, across y = 0.7, between the hand's start and the box. */
const WALL = buttonWall(0.7);

export const buttonPressTopdownWall: TaskFamily = {
  name: 'button-press-topdown-wall',
  summary: 'Press the button on top of the box down from above, reaching over a wall.',
  paramNames: ['box_x', 'box_y', 'box_z'],
  randomBox: { low: [-0.1, 0.8, 0.115], high: [0.1, 0.9, 0.115] },
  handInit: [0, 0.4, 0.2],
  goalBox: { low: [-0.1, 0.8, 0.215], high: [0.1, 0.9, 0.215] },
  scene(p) {
    const scene = buttonScene([p[0], p[1], p[2]], buttonGoal([p[0], p[1], p[2]], 'up'));
    return { ...scene, bodies: [...scene.bodies, wall(WALL)] };
  },
  successThreshold: SUCCESS_DEPTH,
  // As button-press-topdown, but MetaWorld ANDs the reach with the opening (obs[3]) itself, not 1 - opening.
  evaluate: (s) => buttonEvaluation(s, 2, 0.01, SUCCESS_DEPTH, ({ tcpToButton, near, pressed }) =>
    5 * hamacher(Math.max(s.gripperOpening, 0), near) + (tcpToButton <= 0.03 ? 5 * pressed : 0)),
  episodeValues: buttonEpisodeValues(2),
  // The approach over the box's cap (hand 0.38 m up) clears the wall (0.15 m) on the way.
  expert: topdownButtonExpert,
};
