// faucet-close: swing the faucet's handle a quarter turn to the left (towards -x).

import type { TaskFamily } from '../family.ts';
import { faucetEvaluation } from '../rewards.ts';
import { FAUCET, faucetScene } from '../fixtures/faucet.ts';
import { faucetExpert } from '../experts.ts';
import { type Vec3, add, sub } from '../vec.ts';

const GOAL_OFFSET: Vec3 = [-0.175, 0, 0.125];

export const faucetClose: TaskFamily = {
  name: 'faucet-close',
  summary: 'Turn the faucet handle a quarter turn to the left.',
  paramNames: ['faucet_x', 'faucet_y', 'faucet_z'],
  randomBox: { low: [-0.1, 0.8, 0], high: [0.1, 0.85, 0] },
  handInit: [0, 0.4, 0.2],
  goalBox: { low: [-0.275, 0.8, 0.125], high: [-0.075, 0.85, 0.125] },
  scene: (p) => faucetScene([p[0], p[1], p[2]], 0, FAUCET.closeSite, add([p[0], p[1], p[2]], GOAL_OFFSET)),
  successThreshold: 0.07,
  // The faucet's base point is the goal less its offset (MetaWorld's obj_init_pos).
  evaluate: (s) => faucetEvaluation(s, s.objects[0], sub(s.goal, GOAL_OFFSET)),
  expert: (obs) => faucetExpert(obs, FAUCET.closeSite, -1),
};
