// The puck shared by reach, push, pick-place, sweep, sweep-into and shelf-place (MetaWorld's object,
// radius 0.02 m, 0.75 kg), and what every free-object family shares: reward terms and the scripted grasp.

import { type ObjectSpec, placeObject } from '../scene.ts';
import { TCP_BELOW_HAND } from '../gripper.ts';
import { type Action, type StepState, type TaskFamily, moveHandTowards } from '../family.ts';
import { type CagingOptions, graspScore, tol } from '../rewards.ts';
import { type Vec3, distance } from '../vec.ts';

export const PUCK: ObjectSpec = {
  name: 'puck',
  parts: [{ shape: { kind: 'cylinder', halfHeight: 0.02, radius: 0.02 }, colour: '#2f6fd6', friction: 1, mass: 0.75 }],
};

export const PUCK_RADIUS = 0.02;

/** [puck x, y, z] box shared by the puck families. */
export const PUCK_BOX = { low: [-0.1, 0.6, 0.02], high: [0.1, 0.7, 0.02] } as const;

/** Reject vectors [puck xyz, goal xyz] whose puck and goal are closer than 0.15 m in xy. */
export const rejectNearGoal = (p: readonly number[]): boolean => Math.hypot(p[3] - p[0], p[4] - p[1]) < 0.15;

/** What reach, push and pick-place share: task vector [puck xyz, goal xyz], hand start, the puck. */
export const PUCK_FAMILY = {
  paramNames: ['puck_x', 'puck_y', 'puck_z', 'goal_x', 'goal_y', 'goal_z'],
  reject: rejectNearGoal,
  handInit: [0, 0.6, 0.2],
  scene: (p: readonly number[]) => ({ bodies: [placeObject(PUCK, [p[0], p[1], p[2]])], observed: [{ body: PUCK.name }], goal: [p[3], p[4], p[5]] as Vec3 }),
} satisfies Partial<TaskFamily>;

/** Puck-to-goal distance inside which the in-place reward is full. */
const IN_PLACE_RADIUS = 0.05;

/** Distance with each axis's error scaled by `weights` (MetaWorld stresses the axes a task cares most about). */
export const weightedDistance = (a: Vec3, b: Vec3, weights: Vec3): number =>
  Math.hypot(weights[0] * (a[0] - b[0]), weights[1] * (a[1] - b[1]), weights[2] * (a[2] - b[2]));

/** Grasp (caging) score of the scene's first observed object. */
export function objectGraspScore(s: StepState, grasp: CagingOptions): number {
  return graspScore(
    { leftPadY: s.leftPadY, rightPadY: s.rightPadY, tcp: s.tcp, initTcp: s.initTcp, object: s.objects[0], objectInit: s.objectsInit[0], gripperCommand: s.action[3] },
    grasp,
  );
}

/**
 * Reward terms of the families that move the first observed object to a target (push, pick-place,
 * sweep, sweep-into, shelf-place), from one step's state. `target` defaults to the goal; sweep-into
 * passes the goal at the object's own height, so only the xy error counts.
 */
export function puckTerms(s: StepState, grasp: CagingOptions, target: Vec3 = s.goal) {
  const puck = s.objects[0], puckInit = s.objectsInit[0];
  const tcpToObject = distance(s.tcp, puck);
  const objectToGoal = distance(puck, target);
  const inPlace = tol(objectToGoal, 0, IN_PLACE_RADIUS, distance(puckInit, target), 'long_tail');
  const graspReward = objectGraspScore(s, grasp);
  const components = {
    tcpToObject, objectToGoal, graspReward, inPlaceReward: inPlace,
    nearObject: tcpToObject <= 0.03 ? 1 : 0,
    graspSuccess: s.gripperOpening > 0 && puck[2] - 0.02 > puckInit[2] ? 1 : 0,
  };
  return { puck, puckInit, tcpToObject, objectToGoal, inPlace, graspReward, components };
}

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
 * Scripted grasp shared by the free-object experts: go above the object, descend with the fingers
 * open, close, wait for a firm squeeze, lift the first 2 cm gently, then carry the object so that its
 * grasp point ends at `carryTo`.
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
