// Kinematics of the Sawyer-like 7-joint arm: joint layout, forward kinematics (every link's pose
// from the seven angles) and the analytic inverse kinematics that keeps the gripper pointing down.
//
// Why a kinematic arm driven by IK (see docs/SIMULATOR.md): MetaWorld drags a passive arm with a
// mocap weld, so the hand goes where the target goes and the joints are whatever the arm settles
// into. We reproduce that contract exactly and cheaply: the hand target is solved in closed form
// into seven real joint angles, every link is posed from them (forward kinematics), and the links
// are kinematic bodies with colliders, so the arm pushes objects but costs the solver nothing.
// Redundancy (7 joints for a 4-DoF task: xyz + fixed orientation) is resolved by holding the two
// roll joints (j2, j4) at zero, which gives a planar shoulder-elbow-wrist chain and a unique
// elbow-up solution.

import { type Pose, type Quat, type Vec3, IDENTITY_QUAT, compose, quatFromAxisAngle, quatMultiply } from './vec.ts';

/** Dimensions in metres. The base sits behind the table at the world origin. */
export const ARM = {
  base: [0, 0, 0] as Vec3,
  shoulderHeight: 0.3,
  shoulderOffset: 0.08,
  upperArm: 0.55,
  forearm: 0.55,
  /** Wrist pitch axis to the hand point (the point reported as the hand position). */
  wristToHand: 0.15,
  /** Joint limits (rad), Sawyer's published ranges. */
  jointLimits: [
    [-3.05, 3.05], [-3.8, 2.27], [-3.04, 3.04], [-3.04, 3.04], [-2.98, 2.98], [-2.98, 2.98], [-4.71, 4.71],
  ] as ReadonlyArray<readonly [number, number]>,
} as const;

export const JOINT_NAMES = ['j0', 'j1', 'j2', 'j3', 'j4', 'j5', 'j6'] as const;

/** Poses of the arm's moving links, in the world frame, named as in the scene. */
export interface ArmPoses {
  column: Pose;
  upperArm: Pose;
  forearm: Pose;
  wrist: Pose;
  hand: Pose;
}

const X: Vec3 = [1, 0, 0], Y: Vec3 = [0, 1, 0], Z: Vec3 = [0, 0, 1];
const at = (position: Vec3, rotation: Quat = IDENTITY_QUAT): Pose => ({ position, rotation });
const turn = (axis: Vec3, angle: number): Pose => at([0, 0, 0], quatFromAxisAngle(axis, angle));
/** The hand frame is the wrist-roll frame turned so that its z axis points up and its y axis runs along the finger travel. */
const HAND_FRAME_FIX: Quat = quatFromAxisAngle(X, Math.PI / 2);

/**
 * Forward kinematics. Link frames: the column turns about world z (j0); the shoulder (j1), elbow
 * (j3) and wrist (j5) pitch about the local x axis; the rolls (j2, j4, j6) turn about the link's
 * own long axis, local y.
 */
export function forwardKinematics(q: ArrayLike<number>): ArmPoses {
  const column = compose(at(ARM.base), turn(Z, q[0]));
  const shoulder = compose(compose(column, at([0, ARM.shoulderOffset, ARM.shoulderHeight])), turn(X, q[1]));
  const upperArm = compose(shoulder, turn(Y, q[2]));
  const elbow = compose(compose(upperArm, at([0, ARM.upperArm, 0])), turn(X, q[3]));
  const forearm = compose(elbow, turn(Y, q[4]));
  const wristPitch = compose(compose(forearm, at([0, ARM.forearm, 0])), turn(X, q[5]));
  const wrist = compose(wristPitch, turn(Y, q[6]));
  const handPoint = compose(wrist, at([0, ARM.wristToHand, 0]));
  const hand = at(handPoint.position, quatMultiply(handPoint.rotation, HAND_FRAME_FIX));
  return { column, upperArm, forearm, wrist, hand };
}

/**
 * Inverse kinematics for a hand position with the gripper pointing straight down and its fingers
 * sliding along world y. Writes the seven angles into `out`. A target out of reach is approached
 * as closely as the stretched arm allows; returns false in that case.
 */
export function inverseKinematics(hand: Vec3, out: Float64Array): boolean {
  const px = hand[0] - ARM.base[0], py = hand[1] - ARM.base[1];
  const yaw = Math.atan2(-px, py);
  const radial = Math.hypot(px, py) - ARM.shoulderOffset;
  const rise = hand[2] + ARM.wristToHand - ARM.base[2] - ARM.shoulderHeight;
  const l1 = ARM.upperArm, l2 = ARM.forearm;
  let reach = Math.hypot(radial, rise);
  const maxReach = l1 + l2 - 1e-6, minReach = Math.abs(l1 - l2) + 1e-6;
  const reachable = reach <= maxReach && reach >= minReach;
  reach = Math.min(Math.max(reach, minReach), maxReach);
  // Elbow up: the upper arm is raised above the shoulder-wrist line by the triangle's angle.
  const cosShoulder = (l1 * l1 + reach * reach - l2 * l2) / (2 * l1 * reach);
  const shoulderPitch = Math.atan2(rise, radial) + Math.acos(Math.min(1, Math.max(-1, cosShoulder)));
  const cosElbow = (l1 * l1 + l2 * l2 - reach * reach) / (2 * l1 * l2);
  const forearmPitch = shoulderPitch - (Math.PI - Math.acos(Math.min(1, Math.max(-1, cosElbow))));
  out[0] = yaw;
  out[1] = shoulderPitch;
  out[2] = 0;
  out[3] = forearmPitch - shoulderPitch;
  out[4] = 0;
  out[5] = -Math.PI / 2 - forearmPitch;
  out[6] = yaw;
  return reachable;
}
