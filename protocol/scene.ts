// The scene description: what the simulator publishes of its bodies (names, shapes, sizes, colours)
// so that viewers, recordings and Foxglove draw the scene without re-typing its geometry.
// Browser-safe (types only). Positions in metres as [x, y, z]; rotations as (w, x, y, z) quaternions.

/** Shapes in their body's frame. Capsules and cylinders run along local y and z respectively. */
export type Shape =
  | { kind: 'box'; halfExtents: readonly [number, number, number] }
  | { kind: 'capsule'; halfHeight: number; radius: number }
  | { kind: 'cylinder'; halfHeight: number; radius: number }
  | { kind: 'sphere'; radius: number };

/** How the simulator moves a body: not at all, posed by the arm's kinematics, or by physics. */
export type BodyType = 'fixed' | 'kinematic' | 'dynamic';

/** One drawn part of a body, placed in the body's frame. */
export interface PartDescription {
  shape: Shape;
  offset: { position: readonly [number, number, number]; rotation: readonly [number, number, number, number] };
  colour: string;
  /** Drawn, not simulated (e.g. the table's leg). */
  visualOnly: boolean;
}

/** The bodies in the order of every frame's poses (7 numbers per body), and the task's goal. */
export interface SceneDescription {
  bodies: Array<{ name: string; type: BodyType; parts: PartDescription[] }>;
  goal: readonly [number, number, number];
}
