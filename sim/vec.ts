// Small 3-vector and quaternion arithmetic on plain tuples, for kinematics and rewards.

export type Vec3 = readonly [number, number, number];
/** Quaternion as (w, x, y, z), MuJoCo's order, which the observation uses. */
export type Quat = readonly [number, number, number, number];

export const add = (a: Vec3, b: Vec3): Vec3 => [a[0] + b[0], a[1] + b[1], a[2] + b[2]];
export const sub = (a: Vec3, b: Vec3): Vec3 => [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
export const scale = (a: Vec3, s: number): Vec3 => [a[0] * s, a[1] * s, a[2] * s];
export const dot = (a: Vec3, b: Vec3): number => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
export const norm = (a: Vec3): number => Math.hypot(a[0], a[1], a[2]);
export const distance = (a: Vec3, b: Vec3): number => Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);
/** Distance with each axis's error scaled by `weights` (MetaWorld's rewards stress the axes a task cares most about). */
export const weightedDistance = (a: Vec3, b: Vec3, weights: Vec3): number =>
  Math.hypot(weights[0] * (a[0] - b[0]), weights[1] * (a[1] - b[1]), weights[2] * (a[2] - b[2]));
export const clamp = (x: number, low: number, high: number): number => (x < low ? low : x > high ? high : x);

export const IDENTITY_QUAT: Quat = [1, 0, 0, 0];

export function quatMultiply(a: Quat, b: Quat): Quat {
  return [
    a[0] * b[0] - a[1] * b[1] - a[2] * b[2] - a[3] * b[3],
    a[0] * b[1] + a[1] * b[0] + a[2] * b[3] - a[3] * b[2],
    a[0] * b[2] - a[1] * b[3] + a[2] * b[0] + a[3] * b[1],
    a[0] * b[3] + a[1] * b[2] - a[2] * b[1] + a[3] * b[0],
  ];
}

/** Rotation of `angle` radians about a unit axis. */
export function quatFromAxisAngle(axis: Vec3, angle: number): Quat {
  const s = Math.sin(angle / 2);
  return [Math.cos(angle / 2), axis[0] * s, axis[1] * s, axis[2] * s];
}

export function rotate(q: Quat, v: Vec3): Vec3 {
  const [w, x, y, z] = q;
  // v' = v + 2w (u x v) + 2 u x (u x v), u = (x, y, z)
  const cx = y * v[2] - z * v[1], cy = z * v[0] - x * v[2], cz = x * v[1] - y * v[0];
  const ccx = y * cz - z * cy, ccy = z * cx - x * cz, ccz = x * cy - y * cx;
  return [v[0] + 2 * (w * cx + ccx), v[1] + 2 * (w * cy + ccy), v[2] + 2 * (w * cz + ccz)];
}

export interface Pose {
  position: Vec3;
  rotation: Quat;
}

/** Pose `child` (expressed in `parent`'s frame) in the world frame. */
export function compose(parent: Pose, child: Pose): Pose {
  return { position: add(parent.position, rotate(parent.rotation, child.position)), rotation: quatMultiply(parent.rotation, child.rotation) };
}
