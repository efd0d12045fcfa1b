// Reward building blocks shared by every task family, MetaWorld's v2 rewards term for term:
// tolerance, the Hamacher product, the rectangular-prism tolerance, the generic gripper caging
// ("grasp") score and the per-pad caging of pick-place and the sweep families, and the reward tails
// several families share. Families compose these; none re-types them.

import type { Evaluation, StepState } from './family.ts';
import { type Vec3, distance } from './vec.ts';

export type Sigmoid = 'gaussian' | 'long_tail';

/** Gaussian scale giving 0.1 at one margin: sqrt(-2 ln 0.1), as MetaWorld computes it. */
const GAUSSIAN_SCALE = Math.sqrt(-2 * Math.log(0.1));
/** Long-tail scale giving 0.1 at one margin: sqrt(1 / 0.1 - 1) = 3. */
const LONG_TAIL_SCALE = Math.sqrt(1 / 0.1 - 1);

/**
 * 1 when `x` lies in [low, high]; outside, decays with d = distance to the nearest bound / margin,
 * reaching 0.1 at d = 1: long-tail 1 / ((3 d)^2 + 1), gaussian exp(-(d s)^2 / 2) with s^2 = -2 ln 0.1.
 * A zero margin gives a step. The same operations, in the same order, as MetaWorld's tolerance().
 */
export function tol(x: number, low: number, high: number, margin: number, sigmoid: Sigmoid = 'gaussian'): number {
  if (low > high) throw new RangeError(`tol: low ${low} > high ${high}`);
  if (margin < 0) throw new RangeError(`tol: margin must be >= 0, got ${margin}`);
  if (x >= low && x <= high) return 1;
  if (margin === 0) return 0;
  const d = (x < low ? low - x : x - high) / margin;
  if (sigmoid === 'gaussian') {
    const scaled = d * GAUSSIAN_SCALE;
    return Math.exp(-0.5 * (scaled * scaled));
  }
  const scaled = d * LONG_TAIL_SCALE;
  return 1 / (scaled * scaled + 1);
}

/** Hamacher product: a soft AND of two scores in [0, 1]; 0 when both are 0. */
export function hamacher(a: number, b: number): number {
  const denominator = a + b - a * b;
  return denominator > 0 ? (a * b) / denominator : 0;
}

/**
 * MetaWorld's rect_prism_tolerance: inside the box spanned by the corners `zero` and `one`, the
 * product over the axes of how far `point` has come from `zero` towards `one` (0 at `zero`'s faces,
 * 1 at `one`'s); 1 everywhere outside.
 */
export function rectPrismTolerance(point: Vec3, zero: Vec3, one: Vec3): number {
  const inRange = (a: number, b: number, c: number) => (c >= b ? b <= a && a <= c : c <= a && a <= b);
  if (!(inRange(point[0], zero[0], one[0]) && inRange(point[1], zero[1], one[1]) && inRange(point[2], zero[2], one[2]))) return 1;
  return ((point[0] - zero[0]) / (one[0] - zero[0])) * ((point[1] - zero[1]) / (one[1] - zero[1])) * ((point[2] - zero[2]) / (one[2] - zero[2]));
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
 * MetaWorld's generic _gripper_caging_reward, in [0, 1]: the pads surround the object along y (each
 * pad's margin measured from the object's start), the TCP is aligned with it in x and z, and the
 * gripper is being closed (counted only once the object is caged above 0.97).
 */
export function graspScore(s: CagingInput, options: CagingOptions = {}): number {
  const { objectRadius = 0, padSuccessThreshold = 0, xzThreshold = 0, objectReachRadius = 0, desiredGripperEffort = 1, density = 'plain' } = options;
  const cageSide = (padY: number): number => {
    const margin = Math.abs(Math.abs(padY - s.objectInit[1]) - padSuccessThreshold);
    return tol(Math.abs(padY - s.object[1]), objectRadius, padSuccessThreshold, margin, 'long_tail');
  };
  const cagingY = hamacher(cageSide(s.leftPadY), cageSide(s.rightPadY));
  // MetaWorld raises on the negative margin a TCP starting within xzThreshold of the object would
  // give; no task starts so, and a zero margin (a step) is the safe reading.
  const xzMargin = Math.hypot(s.objectInit[0] - s.initTcp[0], s.objectInit[2] - s.initTcp[2]) - xzThreshold;
  const cagingXz = tol(Math.hypot(s.tcp[0] - s.object[0], s.tcp[2] - s.object[2]), 0, xzThreshold, Math.max(0, xzMargin), 'long_tail');
  const gripperClosed = Math.min(Math.max(0, s.gripperCommand), desiredGripperEffort) / desiredGripperEffort;
  const caging = hamacher(cagingY, cagingXz);
  const gripping = caging > 0.97 ? gripperClosed : 0;
  let score = hamacher(caging, gripping);
  if (density === 'high') score = (score + caging) / 2;
  if (density === 'medium') {
    const tcpToObject = distance(s.object, s.tcp);
    const tcpToObjectInit = distance(s.objectInit, s.initTcp);
    // The reach margin leaves out the reach radius, so the reach score starts at 0.1.
    const reach = tol(tcpToObject, 0, objectReachRadius, Math.abs(tcpToObjectInit - objectReachRadius), 'long_tail');
    score = (score + reach) / 2;
  }
  return score;
}

/** Generic grasp (caging) score of the scene's first observed object. */
export function objectGraspScore(s: StepState, grasp: CagingOptions): number {
  return graspScore(
    { leftPadY: s.leftPad[1], rightPadY: s.rightPad[1], tcp: s.tcp, initTcp: s.initTcp, object: s.objects[0], objectInit: s.objectsInit[0], gripperCommand: s.action[3] },
    grasp,
  );
}

export interface PadCagingOptions {
  objectRadius: number;
  /** Each pad's distance from the object (along y) counts as caging inside [objectRadius, this]. */
  padSuccessMargin: number;
  /** TCP-to-object distance in x and z inside which the TCP counts as aligned. */
  xzSuccessMargin: number;
  /**
   * The sweep families: each pad within [objectRadius, this] of the object counts as gripping, in
   * place of the gripper command; the score is then (caging + gripping) / 2 with gripping counted
   * above 0.95 caging. Without it (pick-place) the gripper command counts above 0.97 caging and the
   * score is (caging AND gripping + caging) / 2.
   */
  gripSuccessMargin?: number;
}

/**
 * The caging score pick-place, sweep and sweep-into use instead of the generic one: each pad's signed
 * y offset from the object (the left pad on the +y side, the right on the -y side), with a margin
 * measured from that pad's initial position (MetaWorld's init_left_pad / init_right_pad), and the
 * TCP's x-z distance from the object.
 */
export function padCagingScore(s: StepState, object: Vec3, options: PadCagingOptions): number {
  const { objectRadius, padSuccessMargin, xzSuccessMargin, gripSuccessMargin } = options;
  const leftDelta = s.leftPad[1] - object[1], rightDelta = object[1] - s.rightPad[1];
  const leftMargin = Math.abs(Math.abs(object[1] - s.initLeftPad[1]) - padSuccessMargin);
  const rightMargin = Math.abs(Math.abs(object[1] - s.initRightPad[1]) - padSuccessMargin);
  const cagingY = hamacher(
    tol(leftDelta, objectRadius, padSuccessMargin, leftMargin, 'long_tail'),
    tol(rightDelta, objectRadius, padSuccessMargin, rightMargin, 'long_tail'),
  );
  const objectInit = s.objectsInit[0];
  const xzMargin = Math.hypot(objectInit[0] - s.initTcp[0], objectInit[2] - s.initTcp[2]) - xzSuccessMargin;
  const cagingXz = tol(Math.hypot(s.tcp[0] - object[0], s.tcp[2] - object[2]), 0, xzSuccessMargin, Math.max(0, xzMargin), 'long_tail');
  const caging = hamacher(cagingY, cagingXz);
  if (gripSuccessMargin === undefined) {
    const gripping = caging > 0.97 ? Math.min(Math.max(0, s.action[3]), 1) : 0;
    return (hamacher(caging, gripping) + caging) / 2;
  }
  const grippingY = hamacher(
    tol(rightDelta, objectRadius, gripSuccessMargin, rightMargin, 'long_tail'),
    tol(leftDelta, objectRadius, gripSuccessMargin, leftMargin, 'long_tail'),
  );
  const gripping = caging > 0.95 ? grippingY : 0;
  return (caging + gripping) / 2;
}

/** Object-to-target distance inside which the free-object families' in-place score is full. */
const IN_PLACE_RADIUS = 0.05;

/**
 * Distances and in-place score of the families that move a free object (the first observed point) to
 * a target: push, pick-place, sweep, sweep-into and shelf-place. The in-place margin is the object's
 * start-to-target distance. `target` defaults to the goal; sweep-into passes the goal at the object's
 * own height, so only the xy error counts.
 */
export function freeObjectTerms(s: StepState, target: Vec3 = s.goal) {
  const object = s.objects[0];
  const tcpToObject = distance(object, s.tcp);
  const objectToTarget = distance(object, target);
  const inPlace = tol(objectToTarget, 0, IN_PLACE_RADIUS, distance(s.objectsInit[0], target), 'long_tail');
  return { object, tcpToObject, objectToTarget, inPlace };
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

/** Handle-to-TCP distance inside which the window families' reach score is full. */
const WINDOW_HANDLE_RADIUS = 0.02;

/**
 * Window-open and window-close: the handle's x within `targetRadius` of the goal's (success), AND
 * the TCP at the handle. `handleToGoalXInit` is the x distance the in-place margin starts from
 * (MetaWorld measures it from the window's base point in window-open, from the handle in
 * window-close); the two also differ in how the reach score decays.
 */
export function windowEvaluation(s: StepState, targetRadius: number, handleToGoalXInit: number, reachSigmoid: Sigmoid): Evaluation {
  const handle = s.objects[0], handleInit = s.objectsInit[0];
  const handleToGoalX = Math.abs(handle[0] - s.goal[0]);
  const inPlace = tol(handleToGoalX, 0, targetRadius, Math.abs(handleToGoalXInit - targetRadius), 'long_tail');
  const tcpToHandle = distance(handle, s.tcp);
  const reach = tol(tcpToHandle, 0, WINDOW_HANDLE_RADIUS, Math.abs(distance(handleInit, s.initTcp) - WINDOW_HANDLE_RADIUS), reachSigmoid);
  return {
    reward: 10 * hamacher(reach, inPlace),
    success: handleToGoalX <= targetRadius,
    components: {
      nearObject: tcpToHandle <= 0.05 ? 1 : 0, graspSuccess: 1, graspReward: reach, inPlaceReward: inPlace, objToTarget: handleToGoalX,
      tcpToHandle, windowTravel: s.joints.windowSlide,
    },
  };
}
