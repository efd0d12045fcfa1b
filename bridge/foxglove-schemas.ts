// What we publish to Foxglove tooling, live (bridge/foxglove.ts) and in recordings (bridge/recorder.ts):
// the JSON schemas of every channel and the one conversion from a sim's scene, poses and joints to
// Foxglove's FrameTransforms / SceneUpdate / JointStates messages.

import { FrameTransforms as FRAME_TRANSFORMS_SCHEMA, JointStates as JOINT_STATES_SCHEMA, SceneUpdate as SCENE_UPDATE_SCHEMA } from '@foxglove/schemas/jsonschema.js';
import type { Color, CubePrimitive, CylinderPrimitive, FrameTransform, FrameTransforms, JointStates, Pose, SceneEntity, SceneUpdate, SpherePrimitive, Time } from '@foxglove/schemas';
import { TIMING } from '../sim/env.ts';
import { type Quat, type Vec3, quatFromAxisAngle, quatMultiply, rotate } from '../sim/vec.ts';
import type { StepFrame } from '../protocol/wire.ts';
import type { SceneDescription } from '../protocol/scene.ts';

export type { FrameTransforms, JointStates, SceneUpdate };

/** A channel's schema as MCAP and the Foxglove WebSocket protocol carry it. */
export interface JsonChannelSchema {
  name: string;
  encoding: 'jsonschema';
  /** The JSON schema, serialised. */
  data: string;
}

const jsonSchema = (name: string, schema: object): JsonChannelSchema => ({ name, encoding: 'jsonschema', data: JSON.stringify(schema) });

const numberArray = (description: string) => ({ type: 'array', items: { type: 'number' }, description });
const stepHeader = {
  episode: { type: 'integer', minimum: 0, description: 'Episode index of the sim, from 0' },
  step: { type: 'integer', minimum: 0, description: 'Control step within the episode; 0 is the reset' },
};

/** Schemas of every channel we publish. Foxglove's come verbatim from @foxglove/schemas. */
export const SCHEMAS = {
  frameTransforms: jsonSchema('foxglove.FrameTransforms', FRAME_TRANSFORMS_SCHEMA),
  sceneUpdate: jsonSchema('foxglove.SceneUpdate', SCENE_UPDATE_SCHEMA),
  jointStates: jsonSchema('foxglove.JointStates', JOINT_STATES_SCHEMA),
  recordedEpisode: jsonSchema('metamanip.RecordedEpisode', {
    title: 'metamanip.RecordedEpisode',
    description: 'The sim and the scene (bodies, shapes, colours, goal) of one recorded episode',
    type: 'object',
    properties: {
      info: { type: 'object', description: 'SimInfo: id, family, benchmark, split, task, seed, policy, episode, step' },
      scene: { type: 'object', description: 'SceneDescription: bodies[{name, type, parts[{shape, offset, colour, visualOnly}]}], goal' },
    },
    required: ['info', 'scene'],
  }),
  recordedStep: jsonSchema('metamanip.RecordedStep', {
    title: 'metamanip.RecordedStep',
    description: 'One control step of a recorded episode',
    type: 'object',
    properties: {
      ...stepHeader,
      poses: numberArray('7 numbers per body (x, y, z, qx, qy, qz, qw) in the scene description\'s body order'),
      reward: { type: 'number' },
      success: { type: 'integer', minimum: 0, maximum: 1 },
      gripper: { type: 'number', description: 'Finger opening (m)' },
      obs: numberArray('Observation'),
      action: { oneOf: [numberArray('Action (dx, dy, dz, gripper) that led here'), { type: 'null' }] },
      jointPositions: numberArray('Arm joint angles j0..j6 (rad)'),
    },
    required: ['episode', 'step', 'poses', 'reward', 'success', 'gripper', 'obs', 'action', 'jointPositions'],
  }),
  observation: jsonSchema('metamanip.Observation', {
    title: 'metamanip.Observation',
    type: 'object',
    properties: { ...stepHeader, obs: numberArray('Observation') },
    required: ['episode', 'step', 'obs'],
  }),
  action: jsonSchema('metamanip.Action', {
    title: 'metamanip.Action',
    type: 'object',
    properties: { ...stepHeader, action: numberArray('Action (dx, dy, dz, gripper) that led to this step') },
    required: ['episode', 'step', 'action'],
  }),
  reward: jsonSchema('metamanip.Reward', {
    title: 'metamanip.Reward',
    type: 'object',
    properties: { ...stepHeader, reward: { type: 'number' }, success: { type: 'integer', minimum: 0, maximum: 1 } },
    required: ['episode', 'step', 'reward', 'success'],
  }),
} as const;

/** The fixed frame every body's transform hangs from. */
export const WORLD_FRAME = 'world';
/** Joint names of JointStates: the arm's seven joints, then the gripper's opening (m). */
export const ARM_JOINT_NAMES = ['j0', 'j1', 'j2', 'j3', 'j4', 'j5', 'j6'] as const;
export const GRIPPER_JOINT_NAME = 'gripper';

/** One control step of simulated time, in ns. */
export const CONTROL_DT_NS = BigInt(Math.round(TIMING.controlDt * 1e9));

export const toTime = (ns: bigint): Time => ({ sec: Number(ns / 1_000_000_000n), nsec: Number(ns % 1_000_000_000n) });

/** Wall-clock time now in ns, finer than Date.now()'s milliseconds. */
export const wallClockNs = (): bigint => BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e3)) * 1000n;

/**
 * Frame naming: a body's frame is `prefix + body name`. Recordings hold one sim, so no prefix;
 * a live connection sees several sims at once and prefixes `<sim>/` so their bodies do not collide.
 */
export const bodyFrame = (body: string, prefix = ''): string => prefix + body;

/** World transform of every body, from a frame's poses (7 per body: x, y, z, qx, qy, qz, qw). */
export function posesToFrameTransforms(scene: SceneDescription, poses: ArrayLike<number>, timeNs: bigint, framePrefix = ''): FrameTransforms {
  const timestamp = toTime(timeNs);
  const count = Math.min(scene.bodies.length, Math.floor(poses.length / 7));
  const transforms: FrameTransform[] = [];
  for (let i = 0; i < count; i++) {
    const p = i * 7;
    transforms.push({
      timestamp,
      parent_frame_id: WORLD_FRAME,
      child_frame_id: bodyFrame(scene.bodies[i].name, framePrefix),
      translation: { x: poses[p], y: poses[p + 1], z: poses[p + 2] },
      rotation: { x: poses[p + 3], y: poses[p + 4], z: poses[p + 5], w: poses[p + 6] },
    });
  }
  return { transforms };
}

/** The arm's joint angles and the gripper's opening. */
export function frameToJointStates(frame: Pick<StepFrame, 'jointPositions' | 'gripper'>, timeNs: bigint): JointStates {
  const joints: JointStates['joints'] = ARM_JOINT_NAMES.map((name, i) => ({ name, position: frame.jointPositions[i] ?? 0 }));
  joints.push({ name: GRIPPER_JOINT_NAME, position: frame.gripper });
  return { timestamp: toTime(timeNs), joints };
}

/** '#rrggbb' (or '#rgb') to Foxglove's 0..1 colour; anything else draws grey rather than failing. */
export function hexToColor(hex: string, alpha = 1): Color {
  const short = /^#([0-9a-f])([0-9a-f])([0-9a-f])$/i.exec(hex);
  const long = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
  const digits = long ? [long[1], long[2], long[3]] : short ? [short[1] + short[1], short[2] + short[2], short[3] + short[3]] : ['80', '80', '80'];
  const [r, g, b] = digits.map((d) => parseInt(d, 16) / 255);
  return { r, g, b, a: alpha };
}

// Sim quaternions are (w, x, y, z); Foxglove's are {x, y, z, w}.
const toPose = (position: Vec3, rotation: Quat): Pose => ({
  position: { x: position[0], y: position[1], z: position[2] },
  orientation: { x: rotation[1], y: rotation[2], z: rotation[3], w: rotation[0] },
});
// Foxglove cylinders run along local z; our capsules run along local y.
const Z_TO_Y: Quat = quatFromAxisAngle([1, 0, 0], -Math.PI / 2);
const GOAL_COLOUR = '#2fbf4f';
const GOAL_RADIUS = 0.02;

interface Primitives { cubes: CubePrimitive[]; spheres: SpherePrimitive[]; cylinders: CylinderPrimitive[] }

function addPart(part: SceneDescription['bodies'][number]['parts'][number], into: Primitives): void {
  const { shape, offset, colour } = part;
  const color = hexToColor(colour);
  switch (shape.kind) {
    case 'box': {
      const [x, y, z] = shape.halfExtents;
      into.cubes.push({ pose: toPose(offset.position, offset.rotation), size: { x: 2 * x, y: 2 * y, z: 2 * z }, color });
      return;
    }
    case 'sphere': {
      const d = 2 * shape.radius;
      into.spheres.push({ pose: toPose(offset.position, offset.rotation), size: { x: d, y: d, z: d }, color });
      return;
    }
    case 'cylinder': {
      const d = 2 * shape.radius;
      into.cylinders.push({ pose: toPose(offset.position, offset.rotation), size: { x: d, y: d, z: 2 * shape.halfHeight }, bottom_scale: 1, top_scale: 1, color });
      return;
    }
    case 'capsule': {
      // A cylinder between two hemispherical caps, drawn as a cylinder and two full spheres.
      const d = 2 * shape.radius;
      into.cylinders.push({ pose: toPose(offset.position, quatMultiply(offset.rotation, Z_TO_Y)), size: { x: d, y: d, z: 2 * shape.halfHeight }, bottom_scale: 1, top_scale: 1, color });
      for (const side of [1, -1]) {
        const axis = rotate(offset.rotation, [0, side * shape.halfHeight, 0]);
        const centre: Vec3 = [offset.position[0] + axis[0], offset.position[1] + axis[1], offset.position[2] + axis[2]];
        into.spheres.push({ pose: toPose(centre, offset.rotation), size: { x: d, y: d, z: d }, color });
      }
      return;
    }
  }
}

function entity(id: string, frameId: string, timestamp: Time, primitives: Primitives, metadata: Array<{ key: string; value: string }>): SceneEntity {
  return {
    timestamp, frame_id: frameId, id, lifetime: { sec: 0, nsec: 0 }, frame_locked: true, metadata,
    arrows: [], cubes: primitives.cubes, spheres: primitives.spheres, cylinders: primitives.cylinders, lines: [], triangles: [], texts: [], models: [],
  };
}

/**
 * The scene as Foxglove entities: one per body in the body's own frame (so its /tf transform moves
 * it), plus the goal as a sphere in the world frame. Deletes every older entity first, so a new
 * episode's scene replaces the last one's rather than adding to it.
 */
export function sceneToSceneUpdate(scene: SceneDescription, timeNs: bigint, framePrefix = ''): SceneUpdate {
  const timestamp = toTime(timeNs);
  const entities = scene.bodies.map((body) => {
    const primitives: Primitives = { cubes: [], spheres: [], cylinders: [] };
    for (const part of body.parts) addPart(part, primitives);
    return entity(bodyFrame(body.name, framePrefix), bodyFrame(body.name, framePrefix), timestamp, primitives, [{ key: 'type', value: body.type }]);
  });
  const d = 2 * GOAL_RADIUS;
  const goal = toPose(scene.goal, [1, 0, 0, 0]);
  entities.push(entity(bodyFrame('goal', framePrefix), WORLD_FRAME, timestamp, { cubes: [], cylinders: [], spheres: [{ pose: goal, size: { x: d, y: d, z: d }, color: hexToColor(GOAL_COLOUR, 0.6) }] }, [{ key: 'type', value: 'goal' }]));
  return { deletions: [{ timestamp, type: 1, id: '' }], entities };
}
