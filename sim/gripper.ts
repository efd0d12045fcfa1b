// The two-finger parallel gripper: geometry, finger travel and the command-to-target mapping.
// Fingers are dynamic bodies on prismatic joints driven by force-limited position motors, so a
// grasp holds by friction and squeeze force alone (no weld, no teleport).

import type { Vec3 } from './vec.ts';

export const GRIPPER = {
  /** Finger box half extents (x, y, z); y is the closing direction. */
  fingerHalfExtents: [0.012, 0.006, 0.022] as Vec3,
  /** Finger centre below the hand point. Finger bottoms sit 0.048 m below the hand, so at the lowest hand target (z 0.05) they clear the table top. */
  fingerDrop: 0.026,
  /** Pads (the lower part of each finger) are centred this far below the finger centre. */
  padDrop: 0.008,
  /** Travel of each finger from the hand's centre plane (m): touching at `closed`, fully open at `open`. */
  closed: 0.006,
  open: 0.05,
  fingerMass: 0.1,
  padFriction: 2,
  /** Squeeze force limit per finger (N) and the position motor's gains. */
  maxForce: 60,
  stiffness: 4000,
  damping: 120,
} as const;

/** TCP (midpoint between the pads) below the hand point when the fingers are symmetric. */
export const TCP_BELOW_HAND = GRIPPER.fingerDrop + GRIPPER.padDrop;
/** Finger bottoms below the hand point. */
export const FINGERTIPS_BELOW_HAND = GRIPPER.fingerDrop + GRIPPER.fingerHalfExtents[2];

/** Finger position target for a command in [-1, 1]: -1 fully open, +1 closed past contact (squeeze). */
export function fingerTarget(command: number): number {
  const c = command < -1 ? -1 : command > 1 ? 1 : command;
  return (GRIPPER.open * (1 - c)) / 2;
}

/** Observation entry 3: distance between the finger bodies / 0.1, clipped to [0, 1]. */
export function gripperOpening(leftFingerY: number, rightFingerY: number): number {
  const d = Math.abs(leftFingerY - rightFingerY) / 0.1;
  return d > 1 ? 1 : d;
}
