// Reward building blocks shared by every task family (MetaWorld v2 shapes): tolerance, the
// Hamacher product and the gripper caging ("grasp") score. Families compose these; none re-types them.

import { type Vec3, clamp } from './vec.ts';

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
