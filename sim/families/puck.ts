// The puck shared by reach, push and pick-place: MetaWorld's object, radius 0.02 m, 0.75 kg, and
// the random box and rejection rule those three families share.

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

/** Reward terms of the puck-moving families (push, pick-place), from one step's state. */
export function puckTerms(s: StepState, grasp: CagingOptions) {
  const puck = s.objects[0], puckInit = s.objectsInit[0];
  const tcpToObject = distance(s.tcp, puck);
  const objectToGoal = distance(puck, s.goal);
  const inPlace = tol(objectToGoal, 0, IN_PLACE_RADIUS, distance(puckInit, s.goal), 'long_tail');
  const graspReward = graspScore(
    { leftPadY: s.leftPadY, rightPadY: s.rightPadY, tcp: s.tcp, initTcp: s.initTcp, object: puck, objectInit: puckInit, gripperCommand: s.action[3] },
    grasp,
  );
  const components = {
    tcpToObject, objectToGoal, graspReward, inPlaceReward: inPlace,
    nearObject: tcpToObject <= 0.03 ? 1 : 0,
    graspSuccess: s.gripperOpening > 0 && puck[2] - 0.02 > puckInit[2] ? 1 : 0,
  };
  return { puck, puckInit, tcpToObject, objectToGoal, inPlace, graspReward, components };
}

/** Gripper opening (obs[3]) when the fingers squeeze the puck: 0.052 m between finger centres. */
const CLOSED_ON_PUCK = 0.52;

/**
 * Scripted grasp shared by the puck experts: go above the puck, descend with the fingers open,
 * close, wait for a firm squeeze, lift the first 2 cm gently, then carry the puck so that its
 * centre ends at `carryTo`.
 */
export function graspAndCarry(obs: Float32Array, carryTo: Vec3): Action {
  const hand: Vec3 = [obs[0], obs[1], obs[2]];
  const opening = obs[3];
  const puck: Vec3 = [obs[4], obs[5], obs[6]];
  const tcp: Vec3 = [hand[0], hand[1], hand[2] - TCP_BELOW_HAND];
  const graspHand: Vec3 = [puck[0], puck[1], puck[2] + TCP_BELOW_HAND];
  const xyError = Math.hypot(hand[0] - puck[0], hand[1] - puck[1]);
  const puckBetweenPads = Math.hypot(tcp[0] - puck[0], tcp[1] - puck[1], tcp[2] - puck[2]) < 0.03;
  if (puckBetweenPads && opening < 0.75) {
    // Still closing: hold still until the squeeze builds.
    if (opening > CLOSED_ON_PUCK + 0.08) return [0, 0, 0, 1];
    const liftTo = Math.min(carryTo[2], PUCK_BOX.low[2] + 0.02);
    if (puck[2] < liftTo - 0.005 && Math.hypot(puck[0] - carryTo[0], puck[1] - carryTo[1]) > 0.02) return [0, 0, 0.5, 1];
    return moveHandTowards(hand, [carryTo[0], carryTo[1], carryTo[2] + TCP_BELOW_HAND], 1);
  }
  if (xyError > 0.012) {
    // Rise before moving sideways when low, so the fingers do not knock the puck away.
    if (hand[2] < graspHand[2] + 0.04) return moveHandTowards(hand, [hand[0], hand[1], graspHand[2] + 0.06], -1);
    return moveHandTowards(hand, [puck[0], puck[1], Math.max(hand[2], graspHand[2] + 0.06)], -1);
  }
  if (hand[2] - graspHand[2] > 0.004) return moveHandTowards(hand, graspHand, -1);
  return moveHandTowards(hand, graspHand, 1);
}
