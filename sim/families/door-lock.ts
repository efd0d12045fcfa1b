// door-lock: turn the safe's lock lever down (a quarter turn) to lock the door.

import type { TaskFamily } from '../family.ts';
import { hamacher, tol } from '../rewards.ts';
import { lockExpert } from '../experts.ts';
import { DOOR_LOCK, lockPivot, lockedDoorScene } from '../fixtures/door.ts';
import { type Vec3, add, sub, weightedDistance } from '../vec.ts';

const GOAL_OFFSET: Vec3 = [0, -0.04, -0.1];
/** MetaWorld weighs the left pad's offset from the lever's end this way (y matters most), and the lever's travel as its margin. */
const REACH_SCALE: Vec3 = [0.25, 1, 0.5];
const LOCK_LENGTH = 0.1;
const SUCCESS_RADIUS = 0.02;

export const doorLock: TaskFamily = {
  name: 'door-lock',
  summary: 'Turn the lock lever down to lock the door.',
  paramNames: ['door_x', 'door_y', 'door_z'],
  randomBox: { low: [-0.1, 0.8, 0.15], high: [0.1, 0.85, 0.15] },
  handInit: [0, 0.6, 0.2],
  goalBox: { low: [-0.1, 0.642, 0.111], high: [0.1, 0.692, 0.111] },
  scene: (p) => lockedDoorScene([p[0], p[1], p[2]], 0, DOOR_LOCK.lockSite, add(lockPivot([p[0], p[1], p[2]]), GOAL_OFFSET)),
  successThreshold: SUCCESS_RADIUS,
  evaluate(s) {
    const lock = s.objects[0];
    // MetaWorld reads the left pad as its "TCP" here.
    const padToLock = weightedDistance(lock, s.leftPad, REACH_SCALE);
    const near = tol(padToLock, 0, 0.01, weightedDistance(lock, s.initLeftPad, REACH_SCALE), 'long_tail');
    const heightError = Math.abs(s.goal[2] - lock[2]);
    const pressed = tol(heightError, 0, 0.005, LOCK_LENGTH, 'long_tail');
    return {
      reward: 2 * hamacher(Math.max(s.gripperOpening, 0), near) + 8 * pressed,
      success: heightError <= SUCCESS_RADIUS,
      components: {
        nearObject: padToLock <= 0.05 ? 1 : 0, graspSuccess: s.gripperOpening > 0 ? 1 : 0, graspReward: near, inPlaceReward: pressed, objToTarget: heightError,
        lockAngle: s.joints.lockAxis,
      },
    };
  },
  expert: (obs, goal) => lockExpert(obs, sub(goal, GOAL_OFFSET), DOOR_LOCK.lockSite, 'lock'),
};
