// The tabletop scene: body and shape specifications, built into a Rapier world and published as a
// plain scene description (protocol/scene.ts: names, shapes, sizes, colours) so viewers never re-type geometry.

import { RAPIER, type ImpulseJoint, type PrismaticImpulseJoint, type RevoluteImpulseJoint, type RigidBody, type World } from './rapier.ts';
import { ARM, type ArmPoses } from './arm.ts';
import { GRIPPER } from './gripper.ts';
import { type Pose, type Quat, type Vec3, IDENTITY_QUAT, quatFromAxisAngle, quatMultiply, rotate } from './vec.ts';
import type { BodyType, SceneDescription, Shape } from '../protocol/scene.ts';
import { PALETTE } from './palette.ts';

export interface PartSpec {
  shape: Shape;
  /** Offset of the shape in the body frame. */
  offset?: Pose;
  colour: string;
  friction?: number;
  /** Mass of this part (kg); dynamic bodies only. */
  mass?: number;
  /** Drawn, not simulated. */
  visualOnly?: boolean;
  /**
   * Simulated for its mass only: it touches nothing. For the carriage between two stacked slide
   * joints (a body that moves in x and y on two prismatic joints), which needs mass but no contacts.
   */
  massOnly?: boolean;
}

export interface BodySpec {
  name: string;
  type: BodyType;
  pose: Pose;
  parts: PartSpec[];
  /** Multiplies gravity on a dynamic body (default 1); 0 for a part that in MetaWorld weighs next to nothing, so it does not sag on a damped joint. */
  gravityScale?: number;
}

/** A free object of a task family (puck, ball, peg...), placed by the task. */
export interface ObjectSpec {
  name: string;
  parts: PartSpec[];
}

/** A fixture joint (door hinge, drawer slide, button plunger...) between two bodies of the task. */
export interface JointSpec {
  name: string;
  kind: 'revolute' | 'prismatic';
  /** Body names; the parent is usually a fixed fixture base. Both bodies start unrotated. */
  parent: string;
  child: string;
  /** Joint origin in each body's frame. */
  parentAnchor: Vec3;
  childAnchor: Vec3;
  /** Unit axis, in the parent's frame: the hinge axis or the slide direction. */
  axis: Vec3;
  /** Travel limits (m or rad). */
  limits?: readonly [number, number];
  /** Viscous resistance (N s/m or N m s/rad), capped by `friction` (N or N m): a velocity motor towards 0. */
  damping?: number;
  friction?: number;
  /** A spring pulling the joint back to `rest` (a button springing back), with its damping and force cap. */
  spring?: { rest: number; stiffness: number; damping: number; maxForce: number };
  /** Set back to the scene's pose after the reset's settling (MetaWorld sets the joint after its hand reset). */
  restoreAfterSettle?: boolean;
}

/** A point whose position (and its body's quaternion) the observation reports, e.g. a handle. */
export interface ObservedPoint {
  body: string;
  /** In the body's frame; default the body's origin. */
  offset?: Vec3;
}

/** Everything a task adds to the robot: bodies and joints, what is observed, and the goal. */
export interface TaskScene {
  /** The task's free objects and fixtures. */
  bodies: BodySpec[];
  joints?: JointSpec[];
  /** Replaces the plain table (e.g. one with a hole). */
  table?: BodySpec;
  /** What obs[4:11] and obs[11:18] report, at most two. The first one's body is the task's main object. */
  observed: ObservedPoint[];
  /** Further named points a reward reads (MetaWorld's sites, e.g. the peg box's collision-box corners). */
  sites?: Readonly<Record<string, ObservedPoint>>;
  goal: Vec3;
}

/** A free object placed upright at `position`. */
export const placeObject = (object: ObjectSpec, position: Vec3): BodySpec => ({ name: object.name, type: 'dynamic', pose: at(position), parts: object.parts });

export const TABLE = { halfExtents: [0.7, 0.5, 0.05] as Vec3, centre: [0, 0.6, -0.05] as Vec3 };

const ROBOT_GROUP = 0x0001, WORLD_GROUP = 0x0002;
/** Robot parts touch the world but not each other; world bodies touch everything. */
const ROBOT_FILTER = (ROBOT_GROUP << 16) | WORLD_GROUP;
const WORLD_FILTER = (WORLD_GROUP << 16) | (WORLD_GROUP | ROBOT_GROUP);
/** Member of no group, touching none: a mass-only part. */
const NO_CONTACTS = 0;

const at = (position: Vec3, rotation: Quat = IDENTITY_QUAT): Pose => ({ position, rotation });
const ALONG_Y_TO_Z = quatFromAxisAngle([1, 0, 0], Math.PI / 2);
/** Turns a part that runs along local z (a cylinder) to run along x. */
const ALONG_Z_TO_X = quatFromAxisAngle([0, 1, 0], Math.PI / 2);

export function tableSpec(): BodySpec {
  return {
    name: 'table',
    type: 'fixed',
    pose: at(TABLE.centre),
    parts: [
      { shape: { kind: 'box', halfExtents: TABLE.halfExtents }, colour: '#8a6a4a', friction: 1 },
      { shape: { kind: 'cylinder', halfHeight: 0.4, radius: 0.09 }, offset: at([0, -0.6, -0.35]), colour: '#3a3a3a', visualOnly: true },
    ],
  };
}

/**
 * The arm's link bodies (kinematic, posed from forward kinematics) and the two dynamic fingers. Each
 * link's first part is its collider; the rest are drawn only (visualOnly, no collider: physics never
 * sees them): the pedestal under the base, and at the shoulder, elbow and wrist a dark housing along
 * the joint's pitch axis with light end caps, so that a viewer sees where each joint is and how the
 * links turn about it.
 */
export function robotSpecs(poses: ArmPoses): BodySpec[] {
  const { armLink: red, armJoint: dark, armJointCap: cap, armBase: base, finger: fingerColour } = PALETTE;
  const link = (name: keyof ArmPoses, parts: PartSpec[]): BodySpec => ({ name, type: 'kinematic', pose: poses[name], parts });
  const fingerBox: Shape = { kind: 'box', halfExtents: GRIPPER.fingerHalfExtents };
  const finger = (name: string, side: 1 | -1): BodySpec => ({
    name,
    type: 'dynamic',
    pose: at([poses.hand.position[0], poses.hand.position[1] + side * GRIPPER.open, poses.hand.position[2] - GRIPPER.fingerDrop]),
    parts: [{ shape: fingerBox, colour: fingerColour, friction: GRIPPER.padFriction, mass: GRIPPER.fingerMass }],
  });
  const drawn = (shape: Shape, position: Vec3, colour: string, rotation: Quat = IDENTITY_QUAT): PartSpec => ({ shape, offset: at(position, rotation), colour, visualOnly: true });
  /** A pitch joint at the link frame's origin: a housing along local x and a cap on each end. */
  const joint = (radius: number, halfWidth: number): PartSpec[] => [
    drawn({ kind: 'cylinder', halfHeight: halfWidth, radius }, [0, 0, 0], dark, ALONG_Z_TO_X),
    ...[1, -1].map((side) => drawn({ kind: 'cylinder', halfHeight: 0.004, radius: 0.7 * radius }, [side * (halfWidth + 0.003), 0, 0], cap, ALONG_Z_TO_X)),
  ];
  // The robot stands on a pedestal reaching down to the floor under the table's top (its leg's foot).
  const floor = TABLE.centre[2] - TABLE.halfExtents[2] - 0.7;
  return [
    link('column', [
      { shape: { kind: 'cylinder', halfHeight: ARM.shoulderHeight / 2, radius: 0.07 }, offset: at([0, 0, ARM.shoulderHeight / 2]), colour: red },
      drawn({ kind: 'cylinder', halfHeight: -floor / 2, radius: 0.09 }, [0, 0, floor / 2], base),
      drawn({ kind: 'cylinder', halfHeight: 0.015, radius: 0.2 }, [0, 0, floor + 0.015], base),
      drawn({ kind: 'cylinder', halfHeight: 0.02, radius: 0.11 }, [0, 0, 0.02], dark),
      // The shoulder's bracket: the column's top reaching out to the shoulder pivot.
      drawn({ kind: 'box', halfExtents: [0.06, ARM.shoulderOffset / 2 + 0.03, 0.05] }, [0, ARM.shoulderOffset / 2, ARM.shoulderHeight], dark),
    ]),
    link('upperArm', [
      { shape: { kind: 'capsule', halfHeight: ARM.upperArm / 2, radius: 0.05 }, offset: at([0, ARM.upperArm / 2, 0]), colour: red },
      ...joint(0.075, 0.075),
    ]),
    link('forearm', [
      { shape: { kind: 'capsule', halfHeight: ARM.forearm / 2, radius: 0.04 }, offset: at([0, ARM.forearm / 2, 0]), colour: red },
      ...joint(0.06, 0.06),
    ]),
    link('wrist', [
      { shape: { kind: 'capsule', halfHeight: 0.03, radius: 0.03 }, offset: at([0, 0.06, 0]), colour: dark },
      ...joint(0.045, 0.045),
    ]),
    link('hand', [
      { shape: { kind: 'box', halfExtents: [0.025, 0.058, 0.012] }, offset: at([0, 0, 0.008]), colour: dark },
      // The flange between wrist and hand: a light disc that turns with the hand's roll.
      drawn({ kind: 'cylinder', halfHeight: 0.01, radius: 0.035 }, [0, 0, 0.03], cap),
    ]),
    finger('leftFinger', 1),
    finger('rightFinger', -1),
  ];
}

function colliderDesc(shape: Shape) {
  switch (shape.kind) {
    case 'box': return RAPIER.ColliderDesc.cuboid(...shape.halfExtents);
    case 'capsule': return RAPIER.ColliderDesc.capsule(shape.halfHeight, shape.radius);
    case 'cylinder': return RAPIER.ColliderDesc.cylinder(shape.halfHeight, shape.radius);
    case 'sphere': return RAPIER.ColliderDesc.ball(shape.radius);
  }
}

const toVector = (v: Vec3) => ({ x: v[0], y: v[1], z: v[2] });
const toRotation = (q: Quat) => ({ w: q[0], x: q[1], y: q[2], z: q[3] });

export function createBody(world: World, spec: BodySpec, isRobot: boolean): RigidBody {
  const desc = spec.type === 'fixed' ? RAPIER.RigidBodyDesc.fixed()
    : spec.type === 'kinematic' ? RAPIER.RigidBodyDesc.kinematicPositionBased()
    : RAPIER.RigidBodyDesc.dynamic();
  desc.setTranslation(...spec.pose.position).setRotation(toRotation(spec.pose.rotation));
  // Nothing sleeps: Rapier's kinematic arm links do not wake a sleeping body, they pass through it.
  if (spec.type === 'dynamic') desc.setCanSleep(false);
  if (spec.gravityScale !== undefined) desc.setGravityScale(spec.gravityScale);
  const body = world.createRigidBody(desc);
  for (const part of spec.parts) {
    if (part.visualOnly) continue;
    const offset = part.offset ?? at([0, 0, 0]);
    // Rapier's cylinders run along y; ours run along z.
    const rotation = part.shape.kind === 'cylinder' ? quatMultiply(offset.rotation, ALONG_Y_TO_Z) : offset.rotation;
    const collider = colliderDesc(part.shape)
      .setTranslation(...offset.position)
      .setRotation(toRotation(rotation))
      .setFriction(part.friction ?? 0.8)
      .setCollisionGroups(part.massOnly ? NO_CONTACTS : isRobot ? ROBOT_FILTER : WORLD_FILTER);
    if (part.friction !== undefined && part.friction > 1) collider.setFrictionCombineRule(RAPIER.CoefficientCombineRule.Max);
    if (spec.type === 'dynamic') collider.setMass(part.mass ?? 0.1);
    world.createCollider(collider, body);
  }
  return body;
}

/** Creates a fixture joint, with its limits, damping/friction or spring as force-based motors. */
export function createJoint(world: World, spec: JointSpec, parent: RigidBody, child: RigidBody): ImpulseJoint {
  const anchor1 = toVector(spec.parentAnchor), anchor2 = toVector(spec.childAnchor), axis = toVector(spec.axis);
  const data = spec.kind === 'revolute' ? RAPIER.JointData.revolute(anchor1, anchor2, axis) : RAPIER.JointData.prismatic(anchor1, anchor2, axis);
  const joint = world.createImpulseJoint(data, parent, child, true) as RevoluteImpulseJoint | PrismaticImpulseJoint;
  // Set on the joint, not the joint data: Rapier's revolute joint data drops limits.
  if (spec.limits) joint.setLimits(spec.limits[0], spec.limits[1]);
  joint.setContactsEnabled(false);
  joint.configureMotorModel(RAPIER.MotorModel.ForceBased);
  if (spec.spring) {
    joint.configureMotor(spec.spring.rest, 0, spec.spring.stiffness, spec.spring.damping);
    joint.setMotorMaxForce(spec.spring.maxForce);
  } else if (spec.damping !== undefined) {
    joint.configureMotorVelocity(0, spec.damping);
    joint.setMotorMaxForce(spec.friction ?? Number.MAX_VALUE);
  }
  return joint;
}

/** Current position of a fixture joint (m or rad), from its two bodies' poses. */
export function jointPosition(spec: JointSpec, parent: RigidBody, child: RigidBody): number {
  const qp = parent.rotation(), qc = child.rotation();
  const parentRotation: Quat = [qp.w, qp.x, qp.y, qp.z], inverse: Quat = [qp.w, -qp.x, -qp.y, -qp.z];
  if (spec.kind === 'prismatic') {
    const pp = parent.translation(), pc = child.translation();
    const a1 = rotate(parentRotation, spec.parentAnchor), a2 = rotate([qc.w, qc.x, qc.y, qc.z], spec.childAnchor);
    const d = rotate(inverse, [pc.x + a2[0] - pp.x - a1[0], pc.y + a2[1] - pp.y - a1[1], pc.z + a2[2] - pp.z - a1[2]]);
    return d[0] * spec.axis[0] + d[1] * spec.axis[1] + d[2] * spec.axis[2];
  }
  const relative = quatMultiply(inverse, [qc.w, qc.x, qc.y, qc.z]);
  const along = relative[1] * spec.axis[0] + relative[2] * spec.axis[1] + relative[3] * spec.axis[2];
  return 2 * Math.atan2(along, relative[0]);
}

export function describeScene(bodies: BodySpec[], goal: Vec3): SceneDescription {
  return {
    bodies: bodies.map((b) => ({
      name: b.name,
      type: b.type,
      parts: b.parts.map((p) => ({ shape: p.shape, offset: p.offset ?? at([0, 0, 0]), colour: p.colour, visualOnly: p.visualOnly ?? false })),
    })),
    goal,
  };
}

export { toVector, toRotation };
