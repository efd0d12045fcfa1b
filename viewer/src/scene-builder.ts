// Turns the simulator's scene description into a three.js scene graph that mirrors the simulated
// bodies by name, and poses it from the 7-numbers-per-body frames. No DOM: unit-testable in Node.

import * as THREE from 'three';
import type { SceneDescription, Shape } from '../../protocol/scene.ts';

/** Numbers per body in a frame's poses: x, y, z, qx, qy, qz, qw. */
export const POSE_STRIDE = 7;

export interface BuiltScene {
  /** Root of the simulated world (Z-up, metres). */
  root: THREE.Group;
  /** One group per simulated body, by the body's name, in the description's order. */
  bodies: Map<string, THREE.Group>;
  goal: THREE.Mesh;
  /** Poses every body from a frame: 7 numbers per body in the description's body order. */
  applyPoses(poses: ArrayLike<number>): void;
  /** Frees the GPU resources of the scene's geometries and materials. */
  dispose(): void;
}

const CURVE_SEGMENTS = 24;

/**
 * A geometry in the body frame's conventions. Cylinders run along local Z (sim/scene.ts rotates
 * Rapier's Y-axis cylinder onto Z), three's runs along Y: rotate it. Capsules run along Y in Rapier
 * and in three alike.
 */
export function shapeGeometry(shape: Shape): THREE.BufferGeometry {
  switch (shape.kind) {
    case 'box': {
      const [x, y, z] = shape.halfExtents;
      return new THREE.BoxGeometry(2 * x, 2 * y, 2 * z);
    }
    case 'sphere':
      return new THREE.SphereGeometry(shape.radius, CURVE_SEGMENTS, CURVE_SEGMENTS / 2);
    case 'cylinder':
      return new THREE.CylinderGeometry(shape.radius, shape.radius, 2 * shape.halfHeight, CURVE_SEGMENTS).rotateX(Math.PI / 2);
    case 'capsule':
      return new THREE.CapsuleGeometry(shape.radius, 2 * shape.halfHeight, 6, CURVE_SEGMENTS);
  }
}

/** Builds the scene graph. Bodies stay hidden until their first pose arrives (the description has no poses). */
export function buildScene(description: SceneDescription): BuiltScene {
  const root = new THREE.Group();
  root.name = 'world';
  const bodies = new Map<string, THREE.Group>();
  const materials = new Map<string, THREE.MeshStandardMaterial>();
  const geometries: THREE.BufferGeometry[] = [];
  const material = (colour: string): THREE.MeshStandardMaterial => {
    let found = materials.get(colour);
    if (!found) {
      found = new THREE.MeshStandardMaterial({ color: new THREE.Color(colour), roughness: 0.65, metalness: 0.05 });
      materials.set(colour, found);
    }
    return found;
  };

  for (const body of description.bodies) {
    const group = new THREE.Group();
    group.name = body.name;
    group.visible = false;
    group.userData = { bodyType: body.type };
    body.parts.forEach((part, index) => {
      const geometry = shapeGeometry(part.shape);
      geometries.push(geometry);
      const mesh = new THREE.Mesh(geometry, material(part.colour));
      mesh.name = `${body.name}/${index}`;
      // Offsets are Poses: position (x, y, z) and rotation as (w, x, y, z), sim/vec.ts's order.
      const [w, x, y, z] = part.offset.rotation;
      mesh.position.set(...part.offset.position);
      mesh.quaternion.set(x, y, z, w);
      mesh.userData = { shape: part.shape.kind, visualOnly: part.visualOnly };
      group.add(mesh);
    });
    bodies.set(body.name, group);
    root.add(group);
  }

  // The goal is a point, not a body: a translucent marker the size of a typical success radius.
  const goalGeometry = new THREE.SphereGeometry(0.02, 16, 8);
  geometries.push(goalGeometry);
  const goalMaterial = new THREE.MeshStandardMaterial({ color: 0x22c55e, emissive: 0x0a5c2a, transparent: true, opacity: 0.75 });
  const goal = new THREE.Mesh(goalGeometry, goalMaterial);
  goal.name = 'goal';
  goal.position.set(...description.goal);
  root.add(goal);

  const ordered = [...bodies.values()];
  return {
    root,
    bodies,
    goal,
    applyPoses(poses) {
      const count = Math.min(ordered.length, Math.floor(poses.length / POSE_STRIDE));
      for (let i = 0; i < count; i++) {
        const o = i * POSE_STRIDE, group = ordered[i];
        group.position.set(poses[o], poses[o + 1], poses[o + 2]);
        group.quaternion.set(poses[o + 3], poses[o + 4], poses[o + 5], poses[o + 6]);
        group.visible = true;
      }
    },
    dispose() {
      for (const geometry of geometries) geometry.dispose();
      for (const m of materials.values()) m.dispose();
      goalMaterial.dispose();
    },
  };
}

/** Same bodies and parts (goals may differ): the scene graph can be kept across an episode change. */
export function sameGeometry(a: SceneDescription, b: SceneDescription): boolean {
  return JSON.stringify(a.bodies) === JSON.stringify(b.bodies);
}
