// Motions the families' scripted experts share: moving the hand, grasping and carrying a free
// object, dragging the puck along the table, and pushing the door and the window.

import type { Action } from './family.ts';
import { GRIPPER, TCP_BELOW_HAND } from './gripper.ts';
import { DOOR, doorPoint, doorToWorld, hingeFromHandle } from './fixtures/door.ts';
import { PUCK_BOX } from './fixtures/puck.ts';
import { WINDOW } from './fixtures/window.ts';
import type { Vec3 } from './vec.ts';

/** Action that moves the hand towards `target` as fast as the action scale allows. */
export function moveHandTowards(hand: ArrayLike<number>, target: Vec3, gripper: number): Action {
  const axis = (i: number) => Math.max(-1, Math.min(1, (target[i] - hand[i]) / 0.01));
  return [axis(0), axis(1), axis(2), gripper];
}

// ---- grasp and carry a free object ----

/** How the scripted grasp handles one object; the observed point (obs[4:7]) is where the pads close. */
export interface GraspProfile {
  /** Gripper opening (obs[3]) once the fingers squeeze the object. */
  closedOpening: number;
  /** Below this opening the fingers have closed onto the object (above it they are still open or opening). */
  closingBelow: number;
  /** Height of the grasp point while the object rests on the table. */
  restHeight: number;
}

/** The puck squeezed between the pads leaves 0.052 m between finger centres. */
export const PUCK_GRASP: GraspProfile = { closedOpening: 0.52, closingBelow: 0.75, restHeight: PUCK_BOX.low[2] };

/**
 * Go above the object, descend with the fingers open, close, wait for a firm squeeze, lift the
 * first 2 cm gently, then carry the object so that its grasp point ends at `carryTo`.
 */
export function graspAndCarry(obs: Float32Array, carryTo: Vec3, profile: GraspProfile = PUCK_GRASP): Action {
  const hand: Vec3 = [obs[0], obs[1], obs[2]];
  const opening = obs[3];
  const object: Vec3 = [obs[4], obs[5], obs[6]];
  const tcp: Vec3 = [hand[0], hand[1], hand[2] - TCP_BELOW_HAND];
  const graspHand: Vec3 = [object[0], object[1], object[2] + TCP_BELOW_HAND];
  const xyError = Math.hypot(hand[0] - object[0], hand[1] - object[1]);
  const objectBetweenPads = Math.hypot(tcp[0] - object[0], tcp[1] - object[1], tcp[2] - object[2]) < 0.03;
  if (objectBetweenPads && opening < profile.closingBelow) {
    // Still closing: hold still until the squeeze builds.
    if (opening > profile.closedOpening + 0.08) return [0, 0, 0, 1];
    const liftTo = Math.min(carryTo[2], profile.restHeight + 0.02);
    if (object[2] < liftTo - 0.005 && Math.hypot(object[0] - carryTo[0], object[1] - carryTo[1]) > 0.02) return [0, 0, 0.5, 1];
    return moveHandTowards(hand, [carryTo[0], carryTo[1], carryTo[2] + TCP_BELOW_HAND], 1);
  }
  if (xyError > 0.012) {
    // Rise before moving sideways when low, so the fingers do not knock the object away.
    if (hand[2] < graspHand[2] + 0.04) return moveHandTowards(hand, [hand[0], hand[1], graspHand[2] + 0.06], -1);
    return moveHandTowards(hand, [object[0], object[1], Math.max(hand[2], graspHand[2] + 0.06)], -1);
  }
  if (hand[2] - graspHand[2] > 0.004) return moveHandTowards(hand, graspHand, -1);
  return moveHandTowards(hand, graspHand, 1);
}

/**
 * Grip the puck and drag it along the table top to the goal's xy, then let go once it is within
 * `releaseWithin` (MetaWorld's own sweep policies drag it in the gripper as well).
 */
export function dragPuckTo(obs: Float32Array, goal: Vec3, releaseWithin: number): Action {
  if (Math.hypot(obs[4] - goal[0], obs[5] - goal[1]) < releaseWithin) return [0, 0, 0, -1];
  return graspAndCarry(obs, [goal[0], goal[1], PUCK_BOX.low[2]]);
}

// ---- the door (door-open, door-close) ----

/** Push points just off the door's back face (to swing it further open) and front face (to shut it), near its top edge. */
const DOOR_BACK: Vec3 = [0.27, 0.045, 0];
const DOOR_FRONT: Vec3 = [0.27, -0.045, 0];
/** Hand height that puts the fingers over the door's top 2.6 cm (the hand itself clears it), and the height to travel at. */
const DOOR_PUSH_ABOVE_BASE = DOOR.panelHalfExtents[2] + 0.022;
const DOOR_TRAVEL_ABOVE_BASE = DOOR.panelHalfExtents[2] + 0.06;
/** The hook pulls the door this far; past it the hand would leave the workspace, so it pushes the back face instead. */
const DOOR_HOOK_UNTIL = 0.7;
const DOOR_OPEN_TO = 1.75;
/** The hand leads the door by this angle, so it keeps pressing the handle or face ahead of it. */
const DOOR_LEAD = 0.12;

/** Opening angle of the door, read from the handle's quaternion (obs[7:11], w x y z): the door turns about -z. */
const doorOpening = (obs: ArrayLike<number>): number => -2 * Math.atan2(obs[10], obs[7]);

/**
 * Opening: hook the closed fingers behind the handle bar and pull along the door's arc to 40
 * degrees, then lift out, go round the door's free edge and push its back face to about 100
 * degrees. Closing: come down in front of the door's face above the handle and push it shut.
 */
export function doorExpert(obs: Float32Array, task: 'open' | 'close'): Action {
  const hand: Vec3 = [obs[0], obs[1], obs[2]];
  const handle: Vec3 = [obs[4], obs[5], obs[6]];
  const opening = doorOpening(obs);
  const hinge = hingeFromHandle(handle, opening);
  // The hand in the door's frame.
  const local = doorToWorld(-opening, [hand[0] - hinge[0], hand[1] - hinge[1], hand[2] - hinge[2]]);
  const travelZ = handle[2] + DOOR_TRAVEL_ABOVE_BASE, pushZ = handle[2] + DOOR_PUSH_ABOVE_BASE;
  if (task === 'open' && opening < DOOR_HOOK_UNTIL) {
    const hookZ = handle[2] + TCP_BELOW_HAND;
    const hooked = local[0] > 0.37 && local[0] < 0.43 && local[1] > -0.1 && local[1] < -0.03 && Math.abs(hand[2] - hookZ) < 0.01;
    if (hooked) {
      const ahead = doorPoint(hinge, opening + DOOR_LEAD, DOOR.hook);
      return moveHandTowards(hand, [ahead[0], ahead[1], hookZ], 1);
    }
    // Drop onto the hook point from above (lower than the travel height: nothing is under it).
    const hook = doorPoint(hinge, opening, DOOR.hook);
    const xy = Math.hypot(hand[0] - hook[0], hand[1] - hook[1]);
    const clearZ = handle[2] + TCP_BELOW_HAND + 0.06;
    if (xy > 0.012) return moveHandTowards(hand, [hook[0], hook[1], Math.max(clearZ, Math.min(hand[2], travelZ))], 1);
    return moveHandTowards(hand, [hook[0], hook[1], hookZ], 1);
  }
  const face = task === 'open' ? DOOR_BACK : DOOR_FRONT;
  const atFace = local[0] > 0.2 && local[0] < 0.34 && (task === 'open' ? local[1] > 0.015 : local[1] < -0.015) && local[1] * Math.sign(face[1]) < 0.08 && Math.abs(hand[2] - pushZ) < 0.01;
  if (atFace) {
    const target = task === 'open' ? Math.min(opening + DOOR_LEAD, DOOR_OPEN_TO) : Math.max(opening - DOOR_LEAD, 0.02);
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

// ---- the window (window-open, window-close) ----

/** Hand centre to bar centre when the closed fingers (x half-extent 0.012 m) touch the bar. */
const FINGER_TO_BAR = GRIPPER.fingerHalfExtents[0] + WINDOW.barRadius;
/**
 * Hand height above the handle's middle: the fingers (0.004..0.048 m below the hand) push the bar's
 * upper half and its upper stand-off, the palm passes just over that stand-off (top 0.053 m up).
 * Fingers, not the palm, make the contact: they are dynamic bodies, and in this Rapier build only a
 * dynamic body wakes a sleeping sash (the kinematic palm passes through it).
 */
const PUSH_ABOVE_HANDLE = 0.06;

/**
 * Line the hand up beside the handle bar, coming in from the robot's side clear of the handle,
 * then push along the slide until the sash meets its stop (opening) or the frame (closing).
 */
export function windowExpert(obs: Float32Array, goal: Vec3, task: 'open' | 'close'): Action {
  const hand: Vec3 = [obs[0], obs[1], obs[2]];
  const dir = task === 'open' ? 1 : -1;
  const observedOffset = task === 'open' ? WINDOW.openHandle : WINDOW.closeHandle;
  const barX = obs[4] + WINDOW.bar[0] - observedOffset[0], barY = obs[5];
  const pushZ = obs[6] + PUSH_ABOVE_HANDLE;
  const preX = barX - dir * (FINGER_TO_BAR + 0.015);
  // At the end of the sash's travel (the goal, in both tasks) the bar is at goal x + bar x; stop touching it there.
  const endX = goal[0] + WINDOW.bar[0] - dir * FINGER_TO_BAR;
  const along = dir * (hand[0] - preX);
  const aligned = Math.abs(hand[1] - barY) < 0.008 && Math.abs(hand[2] - pushZ) < 0.008;
  if (aligned && along > -0.005 && along < 0.03) return moveHandTowards(hand, [endX, barY, pushZ], 1);
  if (Math.abs(hand[0] - preX) > 0.008) return moveHandTowards(hand, [preX, Math.min(hand[1], barY - 0.075), pushZ], 1);
  return moveHandTowards(hand, [preX, barY, pushZ], 1);
}
