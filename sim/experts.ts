// Motions the families' scripted experts share: moving the hand, grasping and carrying a free
// object, dragging the puck along the table, pushing the door and the window, turning an arm about a
// vertical axis (dial, faucet), pressing and pulling the handle press, and the safe's lock lever.

import type { Action, SearcherStep } from './family.ts';
import { FINGERTIPS_BELOW_HAND, GRIPPER, TCP_BELOW_HAND } from './gripper.ts';
import { DOOR, DOOR_LOCK, doorPoint, doorToWorld, hingeFromHandle } from './fixtures/door.ts';
import { PUCK_BOX } from './fixtures/puck.ts';
import { WINDOW } from './fixtures/window.ts';
import { FAUCET } from './fixtures/faucet.ts';
import type { WallGeometry } from './fixtures/wall.ts';
import { BUTTON } from './fixtures/button.ts';
import { MUG_CENTRE_OF_MASS, MUG_RADIUS } from './fixtures/coffee-machine.ts';
import { PLATE } from './fixtures/plate-slide.ts';
import { type Vec3, norm, sub } from './vec.ts';

/** Action that moves the hand towards `target` as fast as the action scale allows. */
export function moveHandTowards(hand: ArrayLike<number>, target: Vec3, gripper: number): Action {
  const axis = (i: number) => Math.max(-1, Math.min(1, (target[i] - hand[i]) / 0.01));
  return [axis(0), axis(1), axis(2), gripper];
}

// ---- search by distance ----

/**
 * How fast the climbing searcher moves along an axis: 0.7 of the action's range, 0.7 cm a step; later
 * episodes go to the goal at full speed. The fall of the reward just past the goal's coordinate, which a
 * clone must read to turn, shrinks with the square of the step: cloning a searcher at 0.5 cm a step
 * stalled at 30-47 % with the mean action (action noise 0.37 and 0.2) where 0.7 reached 100 % by
 * iteration 40.
 */
const CLIMB_SPEED = 0.7;

/** The climbing searcher's turn: +x to +y to +z to -x to -y to -z and back to +x, so six turns try every way along every axis. */
const climbTurn = (d: Vec3): Vec3 => [-d[2], d[0], d[1]];

/** The axis direction an action mostly moves along (+y for no motion): what the climbing searcher keeps or turns. */
function axisOf(action: ArrayLike<number>): Vec3 {
  let axis = 1;
  for (const i of [0, 2]) if (Math.abs(action[i]) > Math.abs(action[axis])) axis = i;
  const sign = action[axis] < 0 ? -1 : 1;
  return [axis === 0 ? sign : 0, axis === 1 ? sign : 0, axis === 2 ? sign : 0];
}

/**
 * A searcher for a goal whose reward is a decreasing function of the distance to it, flat within
 * `flatWithin` (reach: the success ball): it climbs the reward. Each step it moves along one axis: the
 * one the trial's last action mostly moved along, while the reward rose on that step, else the next of
 * six axis directions (climbTurn). Along an axis the reward rises until the hand passes the goal's
 * coordinate, so this is a coordinate search that needs nothing of the past but the last action and
 * whether the reward rose (both in a policy's input). The first episode starts along +y (every reach
 * goal lies ahead of the hand's start); later episodes go straight to where the reward was highest in
 * the trial (the latest such point) and climb from there. `handTarget` (where the hand must be) stands
 * in for the rewards the trial shows: the distance to it, flattened within `flatWithin`, orders positions
 * as the reward does. Stateful: one per trial.
 */
export function climbingSearcher(handTarget: Vec3, flatWithin: number, gripper: number): (obs: ArrayLike<number>, previous?: SearcherStep) => Action {
  let best = Infinity;
  let bestHand: Vec3 | undefined;
  let last: number | undefined;
  let approaching = false;
  return (obs, previous) => {
    const hand: Vec3 = [obs[0], obs[1], obs[2]];
    const distance = Math.max(flatWithin, norm(sub(hand, handTarget)));
    const episodeStart = !previous || previous.done;
    if (episodeStart) {
      last = undefined;
      approaching = bestHand !== undefined;
    }
    if (approaching && bestHand && distance > flatWithin && norm(sub(hand, bestHand)) > 0.01) {
      last = distance;
      return moveHandTowards(hand, bestHand, gripper);
    }
    approaching = false;
    if (distance <= best) { best = distance; bestHand = hand; }
    const along: Vec3 = episodeStart ? [0, 1, 0] : axisOf(previous.action);
    const d = last === undefined || distance < last ? along : climbTurn(along);
    last = distance;
    return [CLIMB_SPEED * d[0], CLIMB_SPEED * d[1], CLIMB_SPEED * d[2], gripper];
  };
}

// ---- over a wall ----

/** How far in front of and behind a wall's faces a moving point keeps its height (open fingers reach 0.056 m out in y). */
const WALL_BAND = 0.06;

/**
 * Next waypoint for a point (the hand, or a held object) on its way to `target` when a wall may
 * stand between them: rise to `below` plus a margin over the wall's top before entering the band
 * over the wall, cross at that height, and go down only once past it. `below` is how far the
 * lowest thing carried with the point reaches below it, `band` how far in front of and behind the
 * wall's faces it reaches.
 */
export function overWall(point: ArrayLike<number>, target: Vec3, wall: WallGeometry, below: number, clearance = 0.02, band = WALL_BAND): Vec3 {
  const clearZ = wall.centre[2] + wall.halfExtents[2] + below + clearance;
  const front = wall.centre[1] - wall.halfExtents[1] - band, back = wall.centre[1] + wall.halfExtents[1] + band;
  const side = (y: number) => (y < front ? -1 : y > back ? 1 : 0);
  const pointSide = side(point[1]);
  if (pointSide === side(target[1]) && pointSide !== 0) return target;
  if (point[2] < clearZ - 0.005) {
    // Rise (and line up in x) without entering the band; over it already, only rise.
    const y = pointSide < 0 ? Math.min(target[1], front) : pointSide > 0 ? Math.max(target[1], back) : point[1];
    return [target[0], y, clearZ];
  }
  return [target[0], target[1], Math.max(target[2], clearZ)];
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

/** How far below the goal box's mid-line the carried puck counts as on it (then it goes along the line). */
const SWEEP_BAND = 0.02;

/**
 * A goal-blind sweep of a goal box by the carried puck: grasp it, carry it to the near end of the box's
 * mid-line (low x), then along the line to the far end, where it stays. A policy that cannot see the goal
 * and does not read the reward can clone it (which leg it is on follows from where the puck is), and
 * the puck passes within the box's half depth of every goal in it: push's 10 cm deep box against its
 * 5 cm success radius.
 */
export function puckSweep(box: { low: Vec3; high: Vec3 }): (obs: Float32Array) => Action {
  const midY = (box.low[1] + box.high[1]) / 2, z = box.low[2] + 0.01;
  return (obs) => graspAndCarry(obs, [obs[5] > midY - SWEEP_BAND ? box.high[0] : box.low[0], midY, z]);
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

// ---- arms turning about a vertical axis (dial-turn, faucet-open, faucet-close) ----

/** How the closed fingers push an arm that turns about a vertical axis; angle 0 points the arm at -y (towards the robot). */
export interface TurnProfile {
  /** Distance from the axis to where the fingers push, along the arm. */
  radius: number;
  /** Distance from the arm's centre line to the finger post's centre: the arm's half width, the post's, and a little air. */
  behind: number;
  /** Hand height at which the fingers overlap the arm, and the height to travel at. */
  pushZ: number;
  travelZ: number;
  /** The hand leads the arm by this distance along its arc. */
  lead: number;
  /** Signed angle to turn the arm to (positive: counter-clockwise seen from above). */
  turnTo: number;
}

/** Where the finger post stands to push an arm at `angle` round towards `direction`. */
function turnPost(axis: Vec3, angle: number, direction: number, profile: TurnProfile, z: number): Vec3 {
  const s = Math.sin(angle), c = Math.cos(angle);
  return [axis[0] + profile.radius * s - direction * profile.behind * c, axis[1] - profile.radius * c - direction * profile.behind * s, z];
}

/**
 * Rise, cross over to the arm's trailing side, drop beside it with the fingers closed (a post), and
 * push it round along its arc to `turnTo`, the hand a little ahead of the arm.
 */
export function turnArmExpert(obs: Float32Array, axis: Vec3, angle: number, profile: TurnProfile): Action {
  const hand: Vec3 = [obs[0], obs[1], obs[2]];
  const direction = Math.sign(profile.turnTo);
  const now = turnPost(axis, angle, direction, profile, profile.pushZ);
  const xy = Math.hypot(hand[0] - now[0], hand[1] - now[1]);
  if (xy < profile.lead + 0.01 && Math.abs(hand[2] - profile.pushZ) < 0.01) {
    const lead = profile.lead / profile.radius;
    const next = direction > 0 ? Math.min(angle + lead, profile.turnTo) : Math.max(angle - lead, profile.turnTo);
    return moveHandTowards(hand, turnPost(axis, next, direction, profile, profile.pushZ), 1);
  }
  if (xy > 0.004) {
    if (hand[2] < profile.travelZ - 0.01) return moveHandTowards(hand, [hand[0], hand[1], profile.travelZ], 1);
    return moveHandTowards(hand, [now[0], now[1], profile.travelZ], 1);
  }
  return moveHandTowards(hand, now, 1);
}

/**
 * Faucet-open (direction +1) and faucet-close (-1): push the handle arm a quarter turn round from
 * its trailing side, 15 cm out, the fingers level with the arm. `site` is the observed point in the
 * handle's frame; obs[7:11] is the handle's rotation about z.
 */
export function faucetExpert(obs: Float32Array, site: Vec3, direction: 1 | -1): Action {
  const angle = 2 * Math.atan2(obs[10], obs[7]);
  const c = Math.cos(angle), s = Math.sin(angle);
  const hub: Vec3 = [obs[4] - (site[0] * c - site[1] * s), obs[5] - (site[0] * s + site[1] * c), obs[6] - site[2]];
  return turnArmExpert(obs, hub, angle, {
    radius: 0.15, behind: FAUCET.armRadius + GRIPPER.fingerHalfExtents[0] + 0.008,
    pushZ: hub[2] + GRIPPER.fingerDrop + 0.001, travelZ: hub[2] + 0.1, lead: 0.01, turnTo: direction * 1.5,
  });
}

/**
 * Limits how fast the hand's velocity changes: each xyz entry of `action` is kept within `maxChange`
 * of the previous step's (read from the hand's move between obs[18:21] and obs[0:3]), so a heavy
 * object hanging from the fingers (the box's lid) is not swung round its grip by a sudden start or stop.
 */
export function limitAcceleration(obs: Float32Array, action: Action, maxChange: number): Action {
  const limited: Action = [...action];
  for (let i = 0; i < 3; i++) {
    const previous = (obs[i] - obs[18 + i]) / 0.01;
    limited[i] = Math.min(Math.max(action[i], previous - maxChange), previous + maxChange);
  }
  return limited;
}

// ---- the mug (coffee-push, coffee-pull) ----

/** The mug squeezed between the pads (finger centres a mug's width plus a finger apart); its grasp point, the observed centre of mass, 3.6 cm up. */
export const MUG_GRASP: GraspProfile = {
  closedOpening: (2 * (MUG_RADIUS + GRIPPER.fingerHalfExtents[1])) / 0.1,
  closingBelow: 0.85,
  restHeight: MUG_CENTRE_OF_MASS[2],
};

/**
 * Grasp the mug round its middle, carry it 1.5 cm above the table to the goal and set it down
 * there (the goal is on the table; MetaWorld's weighted in-place radius counts the height too).
 */
export function carryMugTo(obs: Float32Array, goal: Vec3, profile: GraspProfile): Action {
  const near = Math.hypot(obs[4] - goal[0], obs[5] - goal[1]) < 0.015;
  return graspAndCarry(obs, [goal[0], goal[1], profile.restHeight + (near ? 0.002 : 0.015)], profile);
}

// ---- buttons (button-press, button-press-wall, button-press-topdown, button-press-topdown-wall) ----

/**
 * Top-down: close the fingers, come over the button 3 cm above its cap, and press straight down with
 * the fingertips to 4 mm short of the plunger's stop (never into it: the kinematic hand would jam the
 * fingers against the stop).
 */
export function topdownButtonExpert(obs: Float32Array, goal: Vec3): Action {
  const hand: Vec3 = [obs[0], obs[1], obs[2]];
  const top: Vec3 = [obs[4], obs[5], obs[6]];
  const released = goal[2] - BUTTON.goalFromBase + BUTTON.top;
  const pressZ = released - BUTTON.travel + 0.004 + FINGERTIPS_BELOW_HAND;
  if (Math.hypot(hand[0] - top[0], hand[1] - top[1]) > 0.008) return moveHandTowards(hand, [top[0], top[1], Math.max(hand[2], released + FINGERTIPS_BELOW_HAND + 0.03)], 1);
  return moveHandTowards(hand, [top[0], top[1], pressZ], 1);
}

/** Closed fingers reach this far in front of the hand point (y). */
const CLOSED_FINGER_FRONT = GRIPPER.closed + GRIPPER.fingerHalfExtents[1];
/** Hand height above the cap's centre: the palm (bottom 4 mm below the hand point) passes 3 mm over the cap, the fingers press its upper half. */
const FRONT_PRESS_ABOVE = BUTTON.capRadius + 0.007;

/**
 * Facing the robot: close the fingers, line up in front of the cap (over `wall` if one stands in the
 * way), and push along +y with the fingers' front faces to 4 mm short of the plunger's stop.
 */
export function frontButtonExpert(obs: Float32Array, goal: Vec3, wall?: WallGeometry): Action {
  const hand: Vec3 = [obs[0], obs[1], obs[2]];
  const face: Vec3 = [obs[4], obs[5], obs[6]];
  const released = goal[1] + BUTTON.goalFromBase - BUTTON.top;
  const pushZ = face[2] + FRONT_PRESS_ABOVE;
  const ready: Vec3 = [face[0], released - CLOSED_FINGER_FRONT - 0.007, pushZ];
  const lined = Math.abs(hand[0] - face[0]) < 0.006 && Math.abs(hand[2] - pushZ) < 0.006 && hand[1] > ready[1] - 0.006;
  if (lined) return moveHandTowards(hand, [face[0], released + BUTTON.travel - 0.004 - CLOSED_FINGER_FRONT, pushZ], 1);
  return moveHandTowards(hand, wall ? overWall(hand, ready, wall, FINGERTIPS_BELOW_HAND, 0.02, CLOSED_FINGER_FRONT + 0.003) : ready, 1);
}

// ---- the handle press (handle-press, handle-pull and their side variants) ----

/** Press the grip's top (the observed point) down from above with the closed fingers, 1 cm past the goal's height. */
export function handlePressExpert(obs: Float32Array, goal: Vec3): Action {
  const hand: Vec3 = [obs[0], obs[1], obs[2]];
  if (Math.hypot(hand[0] - obs[4], hand[1] - obs[5]) > 0.006) {
    const travelZ = obs[6] + FINGERTIPS_BELOW_HAND + 0.05;
    // Rise with the fingers open: closing them low could knock the grip (the hand may start beside it).
    if (hand[2] < travelZ - 0.01) return moveHandTowards(hand, [hand[0], hand[1], travelZ], -1);
    return moveHandTowards(hand, [obs[4], obs[5], travelZ], 1);
  }
  return moveHandTowards(hand, [obs[4], obs[5], goal[2] - 0.01 + FINGERTIPS_BELOW_HAND], 1);
}

/**
 * Come down over the grasp point (the observed point plus `graspOffset`) with the fingers open,
 * squeeze it, and once the squeeze holds (the opening below `closedBelow`) pull it straight up
 * to `liftTo` (a height for the grasp point).
 */
export function handlePullExpert(obs: Float32Array, graspOffset: Vec3, closedBelow: number, liftTo: number): Action {
  const hand: Vec3 = [obs[0], obs[1], obs[2]];
  const grasp: Vec3 = [obs[4] + graspOffset[0], obs[5] + graspOffset[1], obs[6] + graspOffset[2]];
  const graspHand: Vec3 = [grasp[0], grasp[1], grasp[2] + TCP_BELOW_HAND];
  const atGrasp = Math.hypot(hand[0] - graspHand[0], hand[1] - graspHand[1], hand[2] - graspHand[2]) < 0.012;
  if (atGrasp && obs[3] < 0.99) {
    if (obs[3] > closedBelow) return [0, 0, 0, 1];
    return [0, 0, Math.max(0, Math.min(0.5, (liftTo - grasp[2]) / 0.01)), 1];
  }
  if (Math.hypot(hand[0] - graspHand[0], hand[1] - graspHand[1]) > 0.006) {
    const travelZ = graspHand[2] + 0.06;
    if (hand[2] < travelZ - 0.01) return moveHandTowards(hand, [hand[0], hand[1], travelZ], -1);
    return moveHandTowards(hand, [graspHand[0], graspHand[1], travelZ], -1);
  }
  if (hand[2] - graspHand[2] > 0.003) return moveHandTowards(hand, graspHand, -1);
  return [0, 0, 0, 1];
}

// ---- the sliding plate (plate-slide, plate-slide-side, plate-slide-back, plate-slide-back-side) ----

/** Hand heights: pushing (the closed fingers' bottoms 2 mm over the table, along the plate's edge) and travelling (their bottoms 1.8 cm over the plate). */
const PLATE_PUSH_Z = 0.05;
const PLATE_TRAVEL_Z = 0.095;
/**
 * Hand centre to plate centre with the closed fingers (a 2.4 cm block) touching the plate's edge, and
 * where the hand comes down and backs off to: 2.5 cm off it. Rapier keeps a box-box contact's first
 * normal while the fingers slide less than about 3 cm along it, so the fingers must meet the plate's
 * edge moving sideways (not coming down past it) and leave it the same way, or the stale contact
 * presses the plate into the table or drags it along.
 */
const PLATE_TOUCH = PLATE.halfSize + 2 * GRIPPER.fingerHalfExtents[1];
const PLATE_APPROACH = PLATE_TOUCH + 0.025;
const PLATE_THERE = 0.008;

/** True with the hand down behind the plate's centre, ready to push it along `axis` in direction `sign`. */
function linedUpBehindPlate(obs: Float32Array, axis: 0 | 1, sign: number): boolean {
  const other = 1 - axis;
  const behind = sign * (obs[4 + axis] - obs[axis]);
  return Math.abs(obs[other] - obs[4 + other]) < 0.01 && behind > PLATE_TOUCH - 0.01 && behind < PLATE_APPROACH + 0.02 && obs[2] < PLATE_PUSH_Z + 0.01;
}

/**
 * Push the plate (obs[4:7]) along one table axis (0: x, 1: y) until its centre is at `to` on that
 * axis: come down behind it (travelling above it), then push its centre with the closed fingers' side.
 */
export function pushPlateAlong(obs: Float32Array, axis: 0 | 1, to: number): Action {
  const hand: Vec3 = [obs[0], obs[1], obs[2]];
  const plate = [obs[4], obs[5]];
  const other = 1 - axis;
  const remaining = Math.abs(to - plate[axis]);
  const sign = to >= plate[axis] ? 1 : -1;
  const lined = linedUpBehindPlate(obs, axis, sign);
  // There (the plate coasts a few millimetres after a push): hold still rather than go round to push it back.
  if (remaining < PLATE_THERE) return [0, 0, 0, 1];
  if (lined) {
    const push: [number, number, number] = [0, 0, PLATE_PUSH_Z];
    push[axis] = to - sign * PLATE_TOUCH;
    push[other] = plate[other];
    // Push gently (0.32 m/s, 0.12 m/s for the last 3 cm): the plate coasts on after the fingers stop.
    // Follow the plate's centre sideways slowly (0.8 mm a step): an off-centre push turns the plate
    // on its slides, and a quick sideways follow drags it further by the fingers' friction.
    const action = moveHandTowards(hand, push, 1);
    const limit = remaining > 0.03 ? 0.4 : 0.15;
    action[axis] = Math.max(-limit, Math.min(limit, action[axis]));
    action[other] = Math.max(-0.08, Math.min(0.08, action[other]));
    return action;
  }
  const approach: [number, number, number] = [0, 0, PLATE_PUSH_Z];
  approach[axis] = plate[axis] - sign * PLATE_APPROACH;
  approach[other] = plate[other];
  if (Math.hypot(hand[0] - approach[0], hand[1] - approach[1]) > 0.008) {
    // Back straight away from the plate's edge before rising.
    if (hand[2] < PLATE_TRAVEL_Z - 0.01) {
      const dx = hand[0] - plate[0], dy = hand[1] - plate[1];
      const near = Math.max(Math.abs(dx), Math.abs(dy)) < PLATE_APPROACH - 0.003;
      if (near && hand[2] < PLATE_PUSH_Z + 0.03) {
        const away: [number, number, number] = [hand[0], hand[1], hand[2]];
        if (Math.abs(dx) > Math.abs(dy)) away[0] = plate[0] + Math.sign(dx) * PLATE_APPROACH;
        else away[1] = plate[1] + Math.sign(dy) * PLATE_APPROACH;
        return moveHandTowards(hand, away, 1);
      }
      return moveHandTowards(hand, [hand[0], hand[1], PLATE_TRAVEL_Z], 1);
    }
    return moveHandTowards(hand, [approach[0], approach[1], PLATE_TRAVEL_Z], 1);
  }
  // Come down only once the plate has stopped (obs[22:24] is its previous position), so the fingers land beside it.
  if (Math.hypot(obs[4] - obs[22], obs[5] - obs[23]) > 0.0005) return [0, 0, 0, 1];
  return moveHandTowards(hand, approach, 1);
}

/**
 * Slide the plate to `target` in two straight pushes: along axis `first` until within `tolerance`
 * of the target there, then along the other axis (the plate enters or leaves its cage straight).
 */
export function slidePlateTo(obs: Float32Array, target: Vec3, first: 0 | 1, tolerance = 0.02): Action {
  const second = (1 - first) as 0 | 1;
  const firstError = Math.abs(obs[4 + first] - target[first]);
  // Once lined up for the second push, a drift along the first axis is corrected only past 3 cm.
  const pushingSecond = linedUpBehindPlate(obs, second, target[second] >= obs[4 + second] ? 1 : -1);
  const axis = firstError > (pushingSecond ? 0.03 : tolerance) ? first : second;
  return pushPlateAlong(obs, axis, target[axis]);
}

// ---- the safe's lock lever (door-lock, door-unlock) ----

/**
 * Locking: come down on the lever 7.5 cm out with the closed fingers and press it down along its
 * arc, the fingers staying on its upper face as it turns to hanging down. Unlocking: line the
 * fingers up behind the hanging lever, 3 cm under the pivot, and sweep them out along the door
 * (+x): the lever swings up ahead of them. `pivot` is the lever's pivot (the family knows it from
 * the goal); `site` the observed point in the lever's frame.
 */
export function lockExpert(obs: Float32Array, pivot: Vec3, site: Vec3, task: 'lock' | 'unlock'): Action {
  const hand: Vec3 = [obs[0], obs[1], obs[2]];
  // The lever turns about +y: a positive angle turns its (x, -z) direction further round.
  const angle = Math.atan2(pivot[2] - obs[6], obs[4] - pivot[0]) - Math.atan2(-site[2], site[0]);
  const y = pivot[1] + DOOR_LOCK.leverCentre[1];
  if (task === 'lock') {
    const press = (a: number): Vec3 => {
      // A point 7.5 cm out along the lever and 1.4 cm off its upper face, turned by `a` about +y.
      const x = 0.075, z = DOOR_LOCK.leverHalfExtents[2] + 0.004;
      return [pivot[0] + x * Math.cos(a) + z * Math.sin(a) + GRIPPER.fingerHalfExtents[0] * Math.sin(a), y, pivot[2] - x * Math.sin(a) + z * Math.cos(a) + FINGERTIPS_BELOW_HAND * Math.cos(a) + 0.03 * Math.sin(a)];
    };
    const now = press(angle);
    if (Math.hypot(hand[0] - now[0], hand[1] - now[1], hand[2] - now[2]) < 0.015) return moveHandTowards(hand, press(Math.min(angle + 0.15, 1.5)), 1);
    if (Math.hypot(hand[0] - now[0], hand[1] - now[1]) > 0.006) {
      const travelZ = pivot[2] + 0.1;
      if (hand[2] < travelZ - 0.01) return moveHandTowards(hand, [hand[0], hand[1], travelZ], 1);
      return moveHandTowards(hand, [now[0], now[1], travelZ], 1);
    }
    return moveHandTowards(hand, now, 1);
  }
  const sweepZ = pivot[2] - 0.03;
  const start: Vec3 = [pivot[0] - 0.05, y, sweepZ];
  const lined = Math.abs(hand[1] - y) < 0.006 && Math.abs(hand[2] - sweepZ) < 0.008 && hand[0] > start[0] - 0.01;
  if (lined) return moveHandTowards(hand, [pivot[0] + 0.085, y, sweepZ], 1);
  // Come in from the robot's side at the sweep height, behind the lever (the hand is 11.6 cm wide in y).
  if (Math.abs(hand[0] - start[0]) > 0.006 || Math.abs(hand[2] - sweepZ) > 0.006) return moveHandTowards(hand, [start[0], Math.min(hand[1], y - 0.1), sweepZ], 1);
  return moveHandTowards(hand, start, 1);
}

/**
 * Where the fingers hold a bar (a handle the hand may grip off-centre): the point of the bar's axis
 * nearest the TCP while the TCP is within 2 cm of it, else the bar's centre (where to go to grasp it).
 */
export function gripPointOnBar(obs: Float32Array, centre: Vec3, axis: Vec3, halfLength: number): Vec3 {
  const tcp: Vec3 = [obs[0], obs[1], obs[2] - TCP_BELOW_HAND];
  const along = Math.min(Math.max((tcp[0] - centre[0]) * axis[0] + (tcp[1] - centre[1]) * axis[1] + (tcp[2] - centre[2]) * axis[2], -halfLength), halfLength);
  const nearest: Vec3 = [centre[0] + axis[0] * along, centre[1] + axis[1] * along, centre[2] + axis[2] * along];
  return Math.hypot(tcp[0] - nearest[0], tcp[1] - nearest[1], tcp[2] - nearest[2]) < 0.02 ? nearest : centre;
}

/** Once something is held (the fingers closed on it), the action's moves at `speed` of full and with their changes per step limited (limitAcceleration), so a held load hanging off-centre does not swing. */
export function carryGently(obs: Float32Array, action: Action, speed = 0.5, maxChange = 0.04): Action {
  if (action[3] <= 0 || obs[3] > 0.9) return action;
  const slowed: Action = [action[0] * speed, action[1] * speed, action[2] * speed, action[3]];
  return limitAcceleration(obs, slowed, maxChange);
}
