// Reward building blocks shared by every task family, MetaWorld's v2 rewards term for term:
// tolerance, the Hamacher product, the rectangular-prism tolerance, the generic gripper caging
// ("grasp") score and the per-pad caging of pick-place and the sweep families, and the reward tails
// several families share. Families compose these; none re-types them.

import type { Evaluation, StepState } from './family.ts';
import { type Quat, type Vec3, distance, weightedDistance } from './vec.ts';

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

/** The reach families' reward: 10 x a long-tail tolerance of the TCP-to-goal distance (margin: from the hand's start). */
export function reachTerms(s: StepState, targetRadius: number): { tcpToGoal: number; inPlace: number; reward: number } {
  const tcpToGoal = distance(s.tcp, s.goal);
  const inPlace = tol(tcpToGoal, 0, targetRadius, distance(s.handInit, s.goal), 'long_tail');
  return { tcpToGoal, inPlace, reward: 10 * inPlace };
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
 * own height, so only the xy error counts. The in-place score is full within `inPlaceRadius` (0.05 m;
 * pick-out-of-hole's 0.02 m).
 */
export function freeObjectTerms(s: StepState, target: Vec3 = s.goal, inPlaceRadius = IN_PLACE_RADIUS) {
  const object = s.objects[0];
  const tcpToObject = distance(object, s.tcp);
  const objectToTarget = distance(object, target);
  const objectToTargetInit = distance(s.objectsInit[0], target);
  const inPlace = tol(objectToTarget, 0, inPlaceRadius, objectToTargetInit, 'long_tail');
  return { object, tcpToObject, objectToTarget, objectToTargetInit, inPlace };
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

/** y beyond which the wall families' object counts as past the wall (MetaWorld's, absolute). */
const PAST_WALL_Y = 0.75;

/**
 * The wall families' two-stage progress (push-wall, pick-place-wall): the free-object terms towards
 * the goal, an in-place score towards a `midpoint` beside or over the wall (axis errors scaled by
 * `scaling`, margin the object's start distance from it), and the bonus paid once the TCP holds the
 * object: 1 + 4 x the midpoint score until the object is past the wall (y > 0.75), then
 * 1 + 4 + 3 x the goal score.
 */
export function wallDetourTerms(s: StepState, midpoint: Vec3, scaling: Vec3) {
  const terms = freeObjectTerms(s);
  const toMidpoint = weightedDistance(terms.object, midpoint, scaling);
  const inPlaceMidpoint = tol(toMidpoint, 0, IN_PLACE_RADIUS, weightedDistance(s.objectsInit[0], midpoint, scaling), 'long_tail');
  const heldBonus = terms.object[1] > PAST_WALL_Y ? 1 + 4 + 3 * terms.inPlace : 1 + 4 * inPlaceMidpoint;
  return { ...terms, inPlaceMidpoint, heldBonus };
}

/** Handle-to-goal distance inside which the faucet families succeed (and earn 10). */
const FAUCET_TARGET_RADIUS = 0.07;
const FAUCET_REACH_RADIUS = 0.01;

/**
 * Faucet-open and faucet-close: 2 x (2 reach + 3 in-place), 10 once `handle` is within 0.07 m of
 * the goal. Both margins start from the faucet's base point on the table (MetaWorld's obj_init_pos),
 * not from the handle; `handle` is the point the family's reward reads (faucet-open shifts its
 * observed point, faucet-close does not).
 */
export function faucetEvaluation(s: StepState, handle: Vec3, base: Vec3): Evaluation {
  const handleToGoal = distance(handle, s.goal);
  const inPlace = tol(handleToGoal, 0, FAUCET_TARGET_RADIUS, Math.abs(distance(base, s.goal) - FAUCET_TARGET_RADIUS), 'long_tail');
  const tcpToHandle = distance(handle, s.tcp);
  const reach = tol(tcpToHandle, 0, FAUCET_REACH_RADIUS, Math.abs(distance(base, s.initTcp) - FAUCET_REACH_RADIUS), 'gaussian');
  const success = handleToGoal <= FAUCET_TARGET_RADIUS;
  return {
    reward: success ? 10 : 2 * (2 * reach + 3 * inPlace),
    success,
    components: {
      nearObject: tcpToHandle <= 0.01 ? 1 : 0, graspSuccess: 1, graspReward: reach, inPlaceReward: inPlace, objToTarget: handleToGoal,
      tcpToHandle, faucetAngle: s.joints.faucetAxis,
    },
  };
}

/**
 * MetaWorld's funnel floor round a point the hand should come down on (door-open, box-close,
 * bin-picking): 0 within `threshold` of it in xy, `scale` ln(r - threshold) + `offset` beyond, so the
 * hand is asked to stay high away from the point and drops only near it.
 */
export const funnelFloor = (radius: number, threshold: number, scale: number, offset: number): number =>
  radius > threshold ? scale * Math.log(radius - threshold) + offset : 0;

/** 1 with the hand at or above the floor; below it, a long tail with the given margin (MetaWorld's above_floor). */
export const aboveFloorScore = (handZ: number, floor: number, margin: number): number =>
  handZ >= floor ? 1 : tol(floor - handZ, 0, 0.01, margin, 'long_tail');

/** The gripper command as a grab score in [0, 1] (-1 open: 0, +1 close: 1): MetaWorld's reward_grab_effort. */
export const grabEffort = (command: number): number => (Math.min(Math.max(command, -1), 1) + 1) / 2;

/**
 * MetaWorld's orientation score of box-close, assembly, disassemble and hammer: 1 minus the Euclidean
 * distance between the observed quaternion (w, x, y, z) and an ideal one, over `tolerance`, at least 0.
 */
export function quatScore(q: Quat, ideal: Quat, tolerance: number): number {
  const error = Math.hypot(q[0] - ideal[0], q[1] - ideal[1], q[2] - ideal[2], q[3] - ideal[3]);
  return Math.max(1 - error / tolerance, 0);
}

/**
 * The point the generic caging score is given for a long handle (MetaWorld's hammer, assembly,
 * disassemble): the handle's point with its x replaced by the hand's while the hand is within
 * `halfLength` of it along x, so holding the handle anywhere along its length counts.
 */
function handleAlongX(handle: Vec3, hand: Vec3, halfLength: number): Vec3 {
  return Math.abs(handle[0] - hand[0]) < halfLength ? [hand[0], handle[1], handle[2]] : handle;
}

/** The mug families' in-place radius, and their weights on the mug's x, y and z error (x and y count twice). */
const MUG_TARGET_RADIUS = 0.05;
const MUG_XY_STRESSED: Vec3 = [2, 2, 1];

/**
 * coffee-push and coffee-pull: the mug (the first observed point, its centre of mass) carried to
 * the goal. Grasp is the generic caging score, medium density (with a reach term), at 0.7 grip
 * effort; in place weighs the xy error twice; the reward is grasp AND in place, plus 1 + 5 x in
 * place with the TCP within 4 cm of the mug and the fingers apart, 10 inside the weighted radius.
 * `mugInit` is where the reset put the mug's base (MetaWorld's obj_init_pos).
 */
export function mugToTargetEvaluation(s: StepState, mugInit: Vec3, successRadius: number): Evaluation {
  const mug = s.objects[0];
  const weightedToTarget = weightedDistance(mug, s.goal, MUG_XY_STRESSED);
  const inPlace = tol(weightedToTarget, 0, MUG_TARGET_RADIUS, weightedDistance(mugInit, s.goal, MUG_XY_STRESSED), 'long_tail');
  const tcpToMug = distance(mug, s.tcp);
  const grasp = graspScore(
    { leftPadY: s.leftPad[1], rightPadY: s.rightPad[1], tcp: s.tcp, initTcp: s.initTcp, object: mug, objectInit: mugInit, gripperCommand: s.action[3] },
    { objectReachRadius: 0.04, objectRadius: 0.02, padSuccessThreshold: 0.05, xzThreshold: 0.05, desiredGripperEffort: 0.7, density: 'medium' },
  );
  let reward = hamacher(grasp, inPlace);
  if (tcpToMug < 0.04 && s.gripperOpening > 0) reward += 1 + 5 * inPlace;
  if (weightedToTarget < MUG_TARGET_RADIUS) reward = 10;
  const mugToTarget = distance(mug, s.goal);
  return {
    reward,
    success: mugToTarget <= successRadius,
    components: {
      nearObject: tcpToMug <= 0.03 ? 1 : 0, graspSuccess: s.touchingMainObject && s.gripperOpening > 0 ? 1 : 0, graspReward: grasp, inPlaceReward: inPlace, objToTarget: mugToTarget,
      tcpToMug,
    },
  };
}

/** What the button families' rewards are made of. */
export interface ButtonTerms {
  tcpToButton: number;
  /** The button's distance from the goal along the pressing axis. */
  pressError: number;
  near: number;
  pressed: number;
}

/**
 * The button families' evaluation (button-press, button-press-wall, button-press-topdown,
 * button-press-topdown-wall): the TCP near the button's observed point (margin: the TCP's start to
 * where the button is now), the button pressed to the goal along `axis` (margin: the episode's
 * buttonToGoalInit, MetaWorld's _obj_to_target_init), MetaWorld's info fields, and the family's own
 * `reward` of these terms.
 */
export function buttonEvaluation(s: StepState, axis: 0 | 1 | 2, nearRadius: number, successRadius: number, reward: (t: ButtonTerms) => number): Evaluation {
  const button = s.objects[0];
  const tcpToButton = distance(button, s.tcp);
  const pressError = Math.abs(s.goal[axis] - button[axis]);
  const near = tol(tcpToButton, 0, nearRadius, distance(button, s.initTcp), 'long_tail');
  const pressed = tol(pressError, 0, 0.005, s.episode.buttonToGoalInit, 'long_tail');
  return {
    reward: reward({ tcpToButton, pressError, near, pressed }),
    success: pressError <= successRadius,
    components: {
      nearObject: tcpToButton <= 0.05 ? 1 : 0, graspSuccess: s.gripperOpening > 0 ? 1 : 0, graspReward: near, inPlaceReward: pressed, objToTarget: pressError,
      buttonTravel: s.joints.buttonTravel,
    },
  };
}

/** MetaWorld's _obj_to_target_init of the button families: how far the released button sits from the goal along `axis`. */
export const buttonEpisodeValues = (axis: 0 | 1 | 2) => (initial: StepState): Record<string, number> => ({ buttonToGoalInit: Math.abs(initial.goal[axis] - initial.objects[0][axis]) });

/** Height error inside which a handle press counts as pressed (and earns 10). */
const HANDLE_PRESS_RADIUS = 0.02;

/**
 * Handle-press and handle-press-side: the grip's top (the first observed point) down to the goal's
 * height, AND the TCP at the grip; 10 once within 0.02 m of the goal height. `gripInit` is the grip's
 * top after the reset (MetaWorld's _handle_init_pos).
 */
export function handlePressEvaluation(s: StepState, gripInit: Vec3): Evaluation {
  const grip = s.objects[0];
  const heightError = Math.abs(grip[2] - s.goal[2]);
  const inPlace = tol(heightError, 0, HANDLE_PRESS_RADIUS, Math.abs(Math.abs(gripInit[2] - s.goal[2]) - HANDLE_PRESS_RADIUS), 'long_tail');
  const tcpToGrip = distance(grip, s.tcp);
  const reach = tol(tcpToGrip, 0, 0.02, Math.abs(distance(gripInit, s.initTcp) - 0.02), 'long_tail');
  const success = heightError <= HANDLE_PRESS_RADIUS;
  return {
    reward: 10 * (success ? 1 : hamacher(reach, inPlace)),
    success,
    components: {
      nearObject: tcpToGrip <= 0.05 ? 1 : 0, graspSuccess: 1, graspReward: reach, inPlaceReward: inPlace, objToTarget: heightError,
      tcpToGrip, handleTravel: s.joints.handleSlide,
    },
  };
}

/** The plate families' target radius: in place, the reach score and the flat 10. */
const PLATE_TARGET_RADIUS = 0.05;

/**
 * The plate-slide families: the plate (the first observed point) slid to the goal. `plateInit` is
 * MetaWorld's obj_init_pos (the task vector's first three entries, which is not where the plate
 * starts in the back variants). plate-slide ('front'): 8 x (TCP at the plate AND plate in place);
 * the other three ('other'): their margins less the radius, 1.5 x TCP at the plate, or
 * 2 + 7 x in place with the TCP within 7 cm of the plate and at most 3 cm above the table.
 * All: 10 inside the radius.
 */
export function plateSlideEvaluation(s: StepState, plateInit: Vec3, variant: 'front' | 'other', successRadius: number): Evaluation {
  const plate = s.objects[0];
  const plateToTarget = distance(plate, s.goal);
  const tcpToPlate = distance(s.tcp, plate);
  const less = variant === 'front' ? 0 : PLATE_TARGET_RADIUS;
  const inPlace = tol(plateToTarget, 0, PLATE_TARGET_RADIUS, distance(plateInit, s.goal) - less, 'long_tail');
  const atPlate = tol(tcpToPlate, 0, PLATE_TARGET_RADIUS, distance(s.initTcp, plateInit) - less, 'long_tail');
  let reward: number;
  if (variant === 'front') {
    reward = 8 * hamacher(atPlate, inPlace);
  } else {
    reward = 1.5 * atPlate;
    if (s.tcp[2] <= 0.03 && tcpToPlate < 0.07) reward = 2 + 7 * inPlace;
  }
  if (plateToTarget < PLATE_TARGET_RADIUS) reward = 10;
  return {
    reward,
    success: plateToTarget <= successRadius,
    components: {
      nearObject: tcpToPlate <= 0.03 ? 1 : 0, graspSuccess: 0, graspReward: atPlate, inPlaceReward: inPlace, objToTarget: plateToTarget,
      tcpToPlate, plateSlideX: s.joints.plateSlideX, plateSlideY: s.joints.plateSlideY,
    },
  };
}

/**
 * The generic caging score of a long handle held anywhere along its middle (hammer, assembly,
 * disassemble): the handle's point taken at the hand's x within `halfLength` of it (handleAlongX),
 * its margins measured from `objectInit` (MetaWorld's obj_init_pos, which for the nut is the ring's
 * centre, not the handle).
 */
export function handleGraspScore(s: StepState, handle: Vec3, objectInit: Vec3, halfLength: number, options: CagingOptions): number {
  return graspScore(
    { leftPadY: s.leftPad[1], rightPadY: s.rightPad[1], tcp: s.tcp, initTcp: s.initTcp, object: handleAlongX(handle, s.hand, halfLength), objectInit, gripperCommand: s.action[3] },
    options,
  );
}

/**
 * The press reward of the front buttons (button-press, coffee-button), for `buttonEvaluation`: 2 x
 * (fingers open, obs[3], AND the TCP near the button) + 8 x pressed with the TCP within `near` of it.
 */
export const openHandPressReward = (s: StepState, near: number) => ({ tcpToButton, near: nearScore, pressed }: ButtonTerms): number =>
  2 * hamacher(Math.max(s.gripperOpening, 0), nearScore) + (tcpToButton <= near ? 8 * pressed : 0);
