// door-open: swing the safe's door open (about 100 degrees) by its handle.

import { type Action, type TaskFamily, moveHandTowards } from '../family.ts';
import { TCP_BELOW_HAND } from '../gripper.ts';
import { hamacher, tol } from '../rewards.ts';
import { DOOR, doorScene } from '../fixtures/door.ts';
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
    const hookPoint = doorPoint(hingeOf(handle, opening), opening, HOOK);
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
  expert: (obs, goal) => doorExpert(obs, goal, 'open'),
};

// ---- the scripted expert, shared with door-close ----

/** Where the closed fingers hook: behind the handle bar, beside the post, 6 cm off the door face. */
const HOOK: Vec3 = [0.4, -0.07, 0];
/** Push points just off the door's back face (to swing it further open) and front face (to shut it), near its top edge. */
const BACK: Vec3 = [0.27, 0.045, 0];
const FRONT: Vec3 = [0.27, -0.045, 0];
/** Hand height that puts the fingers over the door's top 2.6 cm (the hand itself clears it), and the height to travel at. */
const PUSH_ABOVE_BASE = DOOR.panelHalfExtents[2] + 0.022;
const TRAVEL_ABOVE_BASE = DOOR.panelHalfExtents[2] + 0.06;
/** The hook pulls the door this far; past it the hand would leave the workspace, so it pushes the back face instead. */
const HOOK_UNTIL = 0.7;
const OPEN_TO = 1.75;
/** The hand leads the door by this angle, so it keeps pressing the handle or face ahead of it. */
const LEAD = 0.12;

/** Opening angle of the door, read from the handle's quaternion (obs[7:11], w x y z): the door turns about -z. */
export const doorOpening = (obs: ArrayLike<number>): number => -2 * Math.atan2(obs[10], obs[7]);

/** Door-frame vectors to world vectors for a door opened by `opening`: a rotation by -opening about z. */
function doorToWorld(opening: number, v: Vec3): Vec3 {
  const c = Math.cos(opening), s = Math.sin(opening);
  return [v[0] * c + v[1] * s, -v[0] * s + v[1] * c, v[2]];
}

/** The hinge point (door frame origin), from the observed handle and the opening angle. */
function hingeOf(handle: Vec3, opening: number): Vec3 {
  const h = doorToWorld(opening, DOOR.handle);
  return [handle[0] - h[0], handle[1] - h[1], handle[2] - h[2]];
}

/** World position of a door-frame point when the door is opened by `opening`. */
function doorPoint(hinge: Vec3, opening: number, local: Vec3): Vec3 {
  const p = doorToWorld(opening, local);
  return [hinge[0] + p[0], hinge[1] + p[1], hinge[2] + p[2]];
}

/**
 * Opening: hook the closed fingers behind the handle bar and pull along the door's arc to 40
 * degrees, then lift out, go round the door's free edge and push its back face to about 100
 * degrees. Closing: come down in front of the door's face above the handle and push it shut.
 */
export function doorExpert(obs: Float32Array, _goal: Vec3, task: 'open' | 'close'): Action {
  const hand: Vec3 = [obs[0], obs[1], obs[2]];
  const handle: Vec3 = [obs[4], obs[5], obs[6]];
  const opening = doorOpening(obs);
  const hinge = hingeOf(handle, opening);
  // The hand in the door's frame.
  const local = doorToWorld(-opening, [hand[0] - hinge[0], hand[1] - hinge[1], hand[2] - hinge[2]]);
  const travelZ = handle[2] + TRAVEL_ABOVE_BASE, pushZ = handle[2] + PUSH_ABOVE_BASE;
  if (task === 'open' && opening < HOOK_UNTIL) {
    const hookZ = handle[2] + TCP_BELOW_HAND;
    const hooked = local[0] > 0.37 && local[0] < 0.43 && local[1] > -0.1 && local[1] < -0.03 && Math.abs(hand[2] - hookZ) < 0.01;
    if (hooked) {
      const ahead = doorPoint(hinge, opening + LEAD, HOOK);
      return moveHandTowards(hand, [ahead[0], ahead[1], hookZ], 1);
    }
    // Drop onto the hook point from above (lower than the travel height: nothing is under it).
    const hook = doorPoint(hinge, opening, HOOK);
    const xy = Math.hypot(hand[0] - hook[0], hand[1] - hook[1]);
    const clearZ = handle[2] + TCP_BELOW_HAND + 0.06;
    if (xy > 0.012) return moveHandTowards(hand, [hook[0], hook[1], Math.max(clearZ, Math.min(hand[2], travelZ))], 1);
    return moveHandTowards(hand, [hook[0], hook[1], hookZ], 1);
  }
  const face = task === 'open' ? BACK : FRONT;
  const atFace = local[0] > 0.2 && local[0] < 0.34 && (task === 'open' ? local[1] > 0.015 : local[1] < -0.015) && local[1] * Math.sign(face[1]) < 0.08 && Math.abs(hand[2] - pushZ) < 0.01;
  if (atFace) {
    const target = task === 'open' ? Math.min(opening + LEAD, OPEN_TO) : Math.max(opening - LEAD, 0.02);
    const ahead = doorPoint(hinge, target, face);
    return moveHandTowards(hand, [ahead[0], ahead[1], pushZ], 1);
  }
  // Rise straight up to the travel height, cross over to the push point, then drop onto it.
  const start = doorPoint(hinge, opening, face);
  if (Math.hypot(hand[0] - start[0], hand[1] - start[1]) > 0.012) {
    if (hand[2] < travelZ - 0.01) return moveHandTowards(hand, [hand[0], hand[1], travelZ], 1);
    return moveHandTowards(hand, [start[0], start[1], travelZ], 1);
  }
  return moveHandTowards(hand, [start[0], start[1], pushZ], 1);
}
