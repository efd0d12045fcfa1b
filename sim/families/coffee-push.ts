// coffee-push: push the mug across the table to its place under the coffee machine's spout.

import { type TaskFamily, rejectCloserInXy } from '../family.ts';
import { mugToTargetEvaluation } from '../rewards.ts';
import { MUG_GRASP, carryMugTo } from '../experts.ts';
import { coffeeScene, mugBaseAtReset } from '../fixtures/coffee-machine.ts';

const SUCCESS_RADIUS = 0.07;
/** The machine stands 0.22 m behind the mug's place. */
const MACHINE_BEHIND_GOAL = 0.22;

export const coffeePush: TaskFamily = {
  name: 'coffee-push',
  summary: 'Move the mug across the table to its place in front of the coffee machine.',
  paramNames: ['mug_x', 'mug_y', 'mug_z', 'goal_x', 'goal_y', 'goal_z'],
  randomBox: { low: [-0.1, 0.55, -0.001, -0.05, 0.7, -0.001], high: [0.1, 0.65, 0.001, 0.05, 0.75, 0.001] },
  reject: rejectCloserInXy(0.15),
  handInit: [0, 0.4, 0.2],
  goalBox: { low: [-0.05, 0.7, -0.001], high: [0.05, 0.75, 0.001] },
  scene: (p) => coffeeScene([p[3], p[4] + MACHINE_BEHIND_GOAL, p[5]], [p[0], p[1], p[2]], [p[3], p[4], p[5]], 'mug'),
  successThreshold: SUCCESS_RADIUS,
  evaluate: (s) => mugToTargetEvaluation(s, [s.episode.mugInitX, s.episode.mugInitY, s.episode.mugInitZ], SUCCESS_RADIUS),
  episodeValues: mugBaseAtReset,
  expert: (obs, goal) => carryMugTo(obs, goal, MUG_GRASP),
};
