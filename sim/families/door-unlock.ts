// door-unlock: swing the safe's lock lever from hanging down back up level to unlock the door.

import type { TaskFamily } from '../family.ts';
import { tol } from '../rewards.ts';
import { lockExpert } from '../experts.ts';
import { DOOR_LOCK, lockPivot, lockedDoorScene } from '../fixtures/door.ts';
import { type Vec3, add, sub, weightedDistance } from '../vec.ts';

const GOAL_OFFSET: Vec3 = [0.1, -0.04, 0];
/** MetaWorld's "ready to push" point: the hand this far behind and above the lever's end (its shoulder at the lever), y weighed most. */
const READY_OFFSET: Vec3 = [0, 0.055, 0.07];
const READY_SCALE: Vec3 = [0.25, 1, 0.5];
const LOCK_LENGTH = 0.1;
const SUCCESS_RADIUS = 0.02;

export const doorUnlock: TaskFamily = {
  name: 'door-unlock',
  summary: 'Swing the lock lever back up to unlock the door.',
  paramNames: ['door_x', 'door_y', 'door_z'],
  randomBox: { low: [-0.1, 0.8, 0.15], high: [0.1, 0.85, 0.15] },
  handInit: [0, 0.6, 0.2],
  goalBox: { low: [0, 0.642, 0.211], high: [0.2, 0.692, 0.211] },
  // MetaWorld starts the lever at 1.5708 rad: hanging down (locked).
  scene: (p) => lockedDoorScene([p[0], p[1], p[2]], 1.5708, DOOR_LOCK.unlockSite, add(lockPivot([p[0], p[1], p[2]]), GOAL_OFFSET)),
  successThreshold: SUCCESS_RADIUS,
  evaluate(s) {
    const lock = s.objects[0];
    // MetaWorld's obj_init_pos is the lever's pivot: the goal less its offset.
    const pivot = sub(s.goal, GOAL_OFFSET);
    const shoulderToLock = weightedDistance(add(s.hand, READY_OFFSET), lock, READY_SCALE);
    const ready = tol(shoulderToLock, 0, 0.02, weightedDistance(add(s.initTcp, READY_OFFSET), pivot, READY_SCALE), 'long_tail');
    const xError = Math.abs(s.goal[0] - lock[0]);
    const pushed = tol(xError, 0, 0.005, LOCK_LENGTH, 'long_tail');
    return {
      reward: 2 * ready + 8 * pushed,
      success: xError <= SUCCESS_RADIUS,
      components: {
        nearObject: shoulderToLock <= 0.05 ? 1 : 0, graspSuccess: s.gripperOpening > 0 ? 1 : 0, graspReward: ready, inPlaceReward: pushed, objToTarget: xError,
        lockAngle: s.joints.lockAxis,
      },
    };
  },
  expert: (obs, goal) => lockExpert(obs, sub(goal, GOAL_OFFSET), DOOR_LOCK.unlockSite, 'unlock'),
};
