// coffee-pull: take the mug from in front of the coffee machine and pull it back to a goal on the table.

import { type TaskFamily, rejectCloserInXy } from '../family.ts';
import { mugToTargetEvaluation } from '../rewards.ts';
import { MUG_GRASP, carryMugTo } from '../experts.ts';
import { coffeeScene, mugBaseAtReset } from '../fixtures/coffee-machine.ts';

const SUCCESS_RADIUS = 0.07;
/** The machine stands 0.22 m behind the mug's start. */
const MACHINE_BEHIND_MUG = 0.22;

export const coffeePull: TaskFamily = {
  name: 'coffee-pull',
  summary: 'Pull the mug away from the coffee machine to a goal on the table.',
  paramNames: ['mug_x', 'mug_y', 'mug_z', 'goal_x', 'goal_y', 'goal_z'],
  randomBox: { low: [-0.05, 0.7, -0.001, -0.1, 0.55, -0.001], high: [0.05, 0.75, 0.001, 0.1, 0.65, 0.001] },
  reject: rejectCloserInXy(0.15),
  handInit: [0, 0.4, 0.2],
  goalBox: { low: [-0.1, 0.55, -0.001], high: [0.1, 0.65, 0.001] },
  scene: (p) => coffeeScene([p[0], p[1] + MACHINE_BEHIND_MUG, p[2]], [p[0], p[1], p[2]], [p[3], p[4], p[5]], 'mug'),
  successThreshold: SUCCESS_RADIUS,
  evaluate: (s) => mugToTargetEvaluation(s, [s.episode.mugInitX, s.episode.mugInitY, s.episode.mugInitZ], SUCCESS_RADIUS),
  episodeValues: mugBaseAtReset,
  expert: (obs, goal) => carryMugTo(obs, goal, MUG_GRASP),
};
