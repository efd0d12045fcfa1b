// door-close: push the open safe door (90 degrees open) shut.

import type { TaskFamily } from '../family.ts';
import { tol } from '../rewards.ts';
import { doorExpert } from '../experts.ts';
import { doorScene } from '../fixtures/door.ts';
import { type Vec3, distance, norm } from '../vec.ts';

const GOAL_OFFSET: Vec3 = [0.2, -0.2, 0];
const TARGET_RADIUS = 0.05;
const SUCCESS_RADIUS = 0.08;

export const doorClose: TaskFamily = {
  name: 'door-close',
  summary: 'Push the open door shut.',
  paramNames: ['door_x', 'door_y', 'door_z'],
  randomBox: { low: [0, 0.85, 0.15], high: [0.1, 0.95, 0.15] },
  handInit: [-0.5, 0.6, 0.2],
  goalBox: { low: [0.2, 0.65, 0.15], high: [0.3, 0.75, 0.15] },
  scene: (p) => doorScene([p[0], p[1], p[2]], Math.PI / 2, [p[0] + GOAL_OFFSET[0], p[1] + GOAL_OFFSET[1], p[2] + GOAL_OFFSET[2]]),
  successThreshold: SUCCESS_RADIUS,
  evaluate(s) {
    const handle = s.objects[0];
    const handleToGoal = distance(handle, s.goal);
    // MetaWorld's margins: the safe's base-to-goal distance, and the hand's start to where the handle is now, plus 0.1 m.
    const inPlace = tol(handleToGoal, 0, TARGET_RADIUS, norm(GOAL_OFFSET), 'gaussian');
    const tcpToGoal = distance(s.tcp, s.goal);
    const handInPlace = tol(tcpToGoal, 0, 0.25 * TARGET_RADIUS, distance(s.handInit, handle) + 0.1, 'gaussian');
    return {
      reward: handleToGoal < TARGET_RADIUS ? 10 : 3 * handInPlace + 6 * inPlace,
      success: handleToGoal <= SUCCESS_RADIUS,
      // MetaWorld reports the hand's score as in_place_reward.
      components: { nearObject: 0, graspSuccess: 1, graspReward: 1, inPlaceReward: handInPlace, objToTarget: handleToGoal, tcpToGoal, doorInPlaceReward: inPlace, doorAngle: s.joints.doorHinge },
    };
  },
  expert: (obs) => doorExpert(obs, 'close'),
};
