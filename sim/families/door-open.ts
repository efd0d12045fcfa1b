// door-open: swing the safe's door open (about 100 degrees) by its handle.

import type { TaskFamily } from '../family.ts';
import { hamacher, tol } from '../rewards.ts';
import { doorExpert } from '../experts.ts';
import { doorScene } from '../fixtures/door.ts';
import { type Vec3, add, clamp, norm, sub } from '../vec.ts';

const GOAL_OFFSET: Vec3 = [-0.3, -0.45, 0];
const SUCCESS_X = 0.08;
/** MetaWorld's door point is 5 cm left of the handle, and its ready pose 5 cm right of that, 3 cm behind, 1 cm down. */
const HANDLE_TO_DOOR: Vec3 = [-0.05, 0, 0];
const READY_FROM_DOOR: Vec3 = [0.05, 0.03, -0.01];
/** Radius round the door point inside which the hand may come down (MetaWorld's funnel). */
const FUNNEL_RADIUS = 0.12;

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
    const hand = s.hand, handle = s.objects[0];
    const door = add(handle, HANDLE_TO_DOOR);
    // The funnel: the floor under the hand rises away from the door point, so the hand comes in high
    // and drops only near the handle.
    const radius = Math.hypot(hand[0] - door[0], hand[1] - door[1]);
    const floor = radius <= FUNNEL_RADIUS ? 0 : 0.04 * Math.log(radius - FUNNEL_RADIUS) + 0.4;
    const aboveFloor = hand[2] >= floor ? 1 : tol(floor - hand[2], 0, 0.01, floor / 2, 'long_tail');
    const inPlace = tol(norm(sub(sub(hand, door), READY_FROM_DOOR)), 0, FUNNEL_RADIUS / 2, 0.5, 'long_tail');
    const ready = hamacher(aboveFloor, inPlace);
    const grab = (clamp(s.action[3], -1, 1) + 1) / 2;
    // MetaWorld's hinge angle is negative when open; ours (doorHinge) positive.
    const theta = -s.joints.doorHinge, doorAngle = -theta;
    // A fifth for moving the door at all (past 2 degrees), the rest for opening it to 120 degrees, give or take 0.5 rad.
    const opened = 0.2 * (theta < -Math.PI / 90 ? 1 : 0) + 0.8 * tol(Math.PI / 2 + Math.PI / 6 - doorAngle, 0, 0.5, Math.PI / 3, 'long_tail');
    const handleToGoalX = Math.abs(handle[0] - s.goal[0]);
    const success = handleToGoalX <= SUCCESS_X;
    return {
      reward: success ? 10 : 2 * hamacher(ready, grab) + 8 * opened,
      success,
      components: {
        nearObject: ready, graspSuccess: grab >= 0.5 ? 1 : 0, graspReward: grab, inPlaceReward: opened, objToTarget: 0,
        handleToGoalX, doorAngle: s.joints.doorHinge,
      },
    };
  },
  expert: (obs) => doorExpert(obs, 'open'),
};
