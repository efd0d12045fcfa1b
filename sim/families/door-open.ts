// door-open: swing the safe's door open (about 100 degrees) by its handle.

import type { TaskFamily } from '../family.ts';
import { hamacher, tol } from '../rewards.ts';
import { doorExpert } from '../experts.ts';
import { DOOR, doorPoint, doorScene, hingeFromHandle } from '../fixtures/door.ts';
import { type Vec3, distance } from '../vec.ts';

const GOAL_OFFSET: Vec3 = [-0.3, -0.45, 0];
const SUCCESS_X = 0.08;
/** Fully rewarded opening: MetaWorld's 120 degrees, give or take 0.5 rad. */
const OPEN_TARGET = Math.PI / 2 + Math.PI / 6;

export const doorOpen: TaskFamily = {
  name: 'door-open',
  summary: 'Swing the door open by its handle.',
  paramNames: ['door_x', 'door_y', 'door_z'],
  randomBox: { low: [0, 0.85, 0.15], high: [0.1, 0.95, 0.15] },
  handInit: [0, 0.6, 0.2],
  goalBox: { low: [-0.3, 0.4, 0.15], high: [-0.2, 0.5, 0.15] },
  scene: (p) => doorScene([p[0], p[1], p[2]], 0, [p[0] + GOAL_OFFSET[0], p[1] + GOAL_OFFSET[1], p[2] + GOAL_OFFSET[2]]),
  successThreshold: SUCCESS_X,
  evaluate(s) {
    const handle = s.objects[0];
    const opening = s.joints.doorHinge;
    const hookPoint = doorPoint(hingeFromHandle(handle, opening), opening, DOOR.hook);
    // MetaWorld's funnel: the floor under the hand rises away from the handle, so the hand comes
    // in high and drops only when over the hook point.
    const radius = Math.hypot(s.hand[0] - hookPoint[0], s.hand[1] - hookPoint[1]);
    const floor = radius <= 0.12 ? 0 : 0.04 * Math.log(radius - 0.12) + 0.4;
    const aboveFloor = s.hand[2] >= floor ? 1 : tol(floor - s.hand[2], 0, 0.01, floor / 2, 'long_tail');
    const inPlace = tol(distance(s.tcp, hookPoint), 0, 0.06, 0.5, 'long_tail');
    const ready = hamacher(aboveFloor, inPlace);
    const effort = (Math.max(-1, Math.min(1, s.action[3])) + 1) / 2;
    const opened = 0.2 * (opening > Math.PI / 90 ? 1 : 0) + 0.8 * tol(OPEN_TARGET - opening, 0, 0.5, Math.PI / 3, 'long_tail');
    const handleToGoalX = Math.abs(handle[0] - s.goal[0]);
    const success = handleToGoalX <= SUCCESS_X;
    return {
      reward: success ? 10 : 2 * hamacher(ready, effort) + 8 * opened,
      success,
      components: { handleToGoalX, tcpToHook: distance(s.tcp, hookPoint), readyReward: ready, openedReward: opened, doorAngle: opening },
    };
  },
  expert: (obs) => doorExpert(obs, 'open'),
};
