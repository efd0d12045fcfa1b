// Reward building blocks shared by every task family (MetaWorld v2 shapes): tolerance, the
// Hamacher product, the gripper caging ("grasp") score, and the reward tails several families share.
// Families compose these; none re-types them.

import type { Evaluation, StepState } from './family.ts';
import { type Vec3, clamp, distance } from './vec.ts';

export type Sigmoid = 'gaussian' | 'long_tail';

/**
 * 1 when `x` lies in [low, high]; outside, decays with d = distance to the nearest bound / margin,
 * reaching 0.1 at d = 1: long-tail 1 / (1 + 9 d^2), gaussian 0.1^(d^2). A zero margin gives a step.
 */
export function tol(x: number, low: number, high: number, margin: number, sigmoid: Sigmoid = 'gaussian'): number {
  if (low > high) throw new RangeError(`tol: low ${low} > high ${high}`);
  if (margin < 0) throw new RangeError(`tol: margin must be >= 0, got ${margin}`);
  if (x >= low && x <= high) return 1;
  if (margin === 0) return 0;
  const d = (x < low ? low - x : x - high) / margin;
  return sigmoid === 'gaussian' ? Math.pow(0.1, d * d) : 1 / (1 + 9 * d * d);
}

/** Hamacher product: a soft AND of two scores in [0, 1]; 0 when both are 0. */
export function hamacher(a: number, b: number): number {
  const denominator = a + b - a * b;
  return denominator > 0 ? (a * b) / denominator : 0;
}

export interface CagingInput {
  /** y of the left and right finger pads. */
  leftPadY: number;
  rightPadY: number;
  tcp: Vec3;
  /** TCP at the start of the episode. */
  initTcp: Vec3;
  object: Vec3;
  objectInit: Vec3;
  /** The gripper command a[3] of this step. */
  gripperCommand: number;
}

export interface CagingOptions {
  objectRadius?: number;
  padSuccessThreshold?: number;
  xzThreshold?: number;
  objectReachRadius?: number;
  desiredGripperEffort?: number;
  /** 'high' averages in the caging score, 'medium' a reach-to-object score. */
  density?: 'plain' | 'high' | 'medium';
}

/**
 * Grasp score in [0, 1]: the pads surround the object along y, the TCP is aligned with it in x and
 * z, and the gripper is being closed (counted only once the object is caged).
 */
export function graspScore(s: CagingInput, options: CagingOptions = {}): number {
  const { objectRadius = 0, padSuccessThreshold = 0, xzThreshold = 0, objectReachRadius = 0, desiredGripperEffort = 1, density = 'plain' } = options;
  const cageSide = (padY: number): number => {
    const margin = Math.abs(Math.abs(padY - s.objectInit[1]) - padSuccessThreshold);
    return tol(Math.abs(padY - s.object[1]), objectRadius, padSuccessThreshold, margin, 'long_tail');
  };
  const cagingY = hamacher(cageSide(s.leftPadY), cageSide(s.rightPadY));
  const xzMargin = Math.hypot(s.objectInit[0] - s.initTcp[0], s.objectInit[2] - s.initTcp[2]) - xzThreshold;
  const cagingXz = tol(Math.hypot(s.tcp[0] - s.object[0], s.tcp[2] - s.object[2]), 0, xzThreshold, Math.max(0, xzMargin), 'long_tail');
  const gripperClosed = clamp(s.gripperCommand, 0, desiredGripperEffort) / desiredGripperEffort;
  const caging = hamacher(cagingY, cagingXz);
  const gripping = caging > 0.97 ? gripperClosed : 0;
  let score = hamacher(caging, gripping);
  if (density === 'high') score = (score + caging) / 2;
  if (density === 'medium') {
    const tcpToObject = Math.hypot(s.object[0] - s.tcp[0], s.object[1] - s.tcp[1], s.object[2] - s.tcp[2]);
    const tcpToObjectInit = Math.hypot(s.objectInit[0] - s.initTcp[0], s.objectInit[1] - s.initTcp[1], s.objectInit[2] - s.initTcp[2]);
    const reach = tol(tcpToObject, 0, objectReachRadius, Math.abs(tcpToObjectInit - objectReachRadius), 'long_tail');
    score = (score + reach) / 2;
  }
  return score;
}

/** Grasp (caging) score of the scene's first observed object. */
export function objectGraspScore(s: StepState, grasp: CagingOptions): number {
  return graspScore(
    { leftPadY: s.leftPadY, rightPadY: s.rightPadY, tcp: s.tcp, initTcp: s.initTcp, object: s.objects[0], objectInit: s.objectsInit[0], gripperCommand: s.action[3] },
    grasp,
  );
}

/** Object-to-target distance inside which the free-object families' in-place score is full. */
const IN_PLACE_RADIUS = 0.05;

/**
 * Reward terms of the families that move a free object (the first observed point) to a target:
 * push, pick-place, sweep, sweep-into and shelf-place. `target` defaults to the goal; sweep-into
 * passes the goal at the object's own height, so only the xy error counts.
 */
export function freeObjectTerms(s: StepState, grasp: CagingOptions, target: Vec3 = s.goal) {
  const object = s.objects[0], objectInit = s.objectsInit[0];
  const tcpToObject = distance(s.tcp, object);
  const objectToGoal = distance(object, target);
  const inPlace = tol(objectToGoal, 0, IN_PLACE_RADIUS, distance(objectInit, target), 'long_tail');
  const graspReward = objectGraspScore(s, grasp);
  const components = {
    tcpToObject, objectToGoal, graspReward, inPlaceReward: inPlace,
    nearObject: tcpToObject <= 0.03 ? 1 : 0,
    graspSuccess: liftedBy(s, 0.02) ? 1 : 0,
  };
  return { tcpToObject, objectToGoal, inPlace, graspReward, components };
}

/**
 * True when the first observed object is more than `rise` above where it started and the fingers
 * are not shut (opening > 0: something holds them apart). MetaWorld's "lifted" and "grasp success"
 * tests, which add a TCP-to-object bound of their own.
 */
export const liftedBy = (s: StepState, rise: number): boolean => s.gripperOpening > 0 && s.objects[0][2] - rise > s.objectsInit[0][2];

export interface LiftAndPlace {
  grasp: number;
  inPlace: number;
  lifted: boolean;
  /** Inside the full-reward radius: the reward is 10 flat. */
  atGoal: boolean;
  /** In-place score for the lifted bonus where it differs: shelf-place discounts a puck under the board here only, as MetaWorld does. */
  liftedInPlace?: number;
}

/**
 * MetaWorld's pick-and-place reward (pick-place, shelf-place, basketball, peg-insert-side): grasp
 * AND in place; once the object is lifted, 1 + 5 x in-place on top, so carrying it pays more
 * than hovering over it; 10 at the goal.
 */
export function liftAndPlaceReward({ grasp, inPlace, lifted, atGoal, liftedInPlace = inPlace }: LiftAndPlace): number {
  let reward = hamacher(grasp, inPlace);
  if (lifted) reward += 1 + 5 * liftedInPlace;
  if (atGoal) reward = 10;
  return reward;
}

/**
 * MetaWorld's sweep reward (sweep, sweep-into): the object is dragged, not lifted, so the grasp
 * counts on its own (2 x grasp) as well as with the object's progress (6 x grasp AND in place); 10 at the goal.
 */
export const sweepReward = (grasp: number, inPlace: number, atGoal: boolean): number => (atGoal ? 10 : 2 * grasp + 6 * hamacher(grasp, inPlace));

/** Handle-to-hand distance inside which the window families' reach score is full. */
const WINDOW_HANDLE_RADIUS = 0.02;

/**
 * Window-open and window-close: the handle's x within `targetRadius` of the goal's (success), AND
 * the TCP at the handle. The two differ only in how the reach score decays.
 */
export function windowEvaluation(s: StepState, targetRadius: number, reachSigmoid: Sigmoid): Evaluation {
  const handle = s.objects[0], handleInit = s.objectsInit[0];
  const handleToGoalX = Math.abs(handle[0] - s.goal[0]);
  const inPlace = tol(handleToGoalX, 0, targetRadius, Math.abs(Math.abs(handleInit[0] - s.goal[0]) - targetRadius), 'long_tail');
  const tcpToHandle = distance(s.tcp, handle);
  const reach = tol(tcpToHandle, 0, WINDOW_HANDLE_RADIUS, Math.abs(distance(handleInit, s.initTcp) - WINDOW_HANDLE_RADIUS), reachSigmoid);
  return {
    reward: 10 * hamacher(reach, inPlace),
    success: handleToGoalX <= targetRadius,
    components: { handleToGoalX, tcpToHandle, reachReward: reach, inPlaceReward: inPlace, windowTravel: s.joints.windowSlide },
  };
}
