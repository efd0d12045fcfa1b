// The manipulation environment: a Gymnasium-shaped reset/step over one Rapier world of the
// tabletop, the arm and one task's objects and fixtures. Pure data in, pure data out. One env takes
// tasks of any of its families: reset() rebuilds the world for the task it is given. Its observation
// is MetaWorld's raw 39-D one (goal visible); goal hiding and the family one-hot are wrappers
// (wrappers.ts).

import { RAPIER, type PrismaticImpulseJoint, type RigidBody, type World } from './rapier.ts';
import { forwardKinematics, inverseKinematics } from './arm.ts';
import { GRIPPER, fingerTarget, gripperOpening } from './gripper.ts';
import { type Evaluation, type StepState, type Task, type TaskFamily, sampleTasks } from './family.ts';
import { getFamily } from './families/index.ts';
import type { SceneDescription } from '../protocol/scene.ts';
import { type BodySpec, type JointSpec, type TaskScene, createBody, createJoint, describeScene, jointPosition, robotSpecs, tableSpec, toRotation, toVector } from './scene.ts';
import { type BoxSpace, box } from './spaces.ts';
import { type Rng, createRng } from './rng.ts';
import { type Quat, type Vec3, clamp, rotate } from './vec.ts';

/** Control and episode timing (MetaWorld's): 80 Hz control, 500 steps, 50 settle steps at reset. */
export const TIMING = {
  controlDt: 0.0125,
  /** Physics steps per control step. One 12.5 ms step with Rapier's 4 internal solver substeps holds a grasp through a 400-step carry (test/sim/grasp.test.ts). */
  physicsSubsteps: 1,
  solverIterations: 4,
  /** Contact stiffness (Hz); Rapier's default of 30 lets a puck squeezed at full force sink about 6 mm into each pad; 100 keeps it near 1 mm. */
  contactFrequency: 100,
  maxEpisodeSteps: 500,
  settleSteps: 50,
} as const;

export const ACTION_SCALE = 0.01;
export const HAND_TARGET_LOW: Vec3 = [-0.5, 0.4, 0.05];
export const HAND_TARGET_HIGH: Vec3 = [0.5, 1.0, 0.5];
const HAND_OBS_LOW: Vec3 = [-0.525, 0.348, -0.0525];
const HAND_OBS_HIGH: Vec3 = [0.525, 1.025, 0.7];
export const OBS_DIM = 39;

export interface EnvOptions {
  /** Task family (name or module) to start with; default: the family of `task`. */
  family?: string | TaskFamily;
  /** Task to start with; defaults to the first task drawn with seed 0 of the (first) family. */
  task?: Task;
  /**
   * Families whose tasks the env takes (names or modules); default: the starting family alone. The
   * goal bounds of the observation space span them all.
   */
  families?: ReadonlyArray<string | TaskFamily>;
}

export interface StepInfo {
  success: 0 | 1;
  tcp: [number, number, number];
  /** The arm's seven joint angles (rad), j0..j6. */
  jointPositions: number[];
  /** Finger travel from the hand's centre plane (m), left and right. */
  fingerPositions: [number, number];
  /** Named reward terms and distances of the family. */
  [component: string]: number | number[];
}

export interface ResetResult { obs: Float32Array; info: StepInfo }
export interface StepResult { obs: Float32Array; reward: number; terminated: boolean; truncated: boolean; info: StepInfo }
export interface ResetOptions { seed?: number; task?: Task }

/** What every manipulation env offers, wrapped or not (Gymnasium's Env surface plus the robot's extras). */
export interface Env {
  readonly observationSpace: BoxSpace;
  readonly actionSpace: BoxSpace;
  /** The family of the current task. */
  readonly family: TaskFamily;
  readonly currentTask: Task;
  readonly elapsedSteps: number;
  /** The goal of the current task (known to experts even when hidden from the observation). */
  readonly goalPosition: Vec3;
  reset(options?: ResetOptions): ResetResult;
  step(action: ArrayLike<number>): StepResult;
  sampleAction(): [number, number, number, number];
  describeScene(): SceneDescription;
  bodyPoses(out?: Float64Array): Float64Array;
  close(): void;
}

interface Physics {
  world: World;
  links: Record<'column' | 'upperArm' | 'forearm' | 'wrist' | 'hand', RigidBody>;
  fingers: [RigidBody, RigidBody];
  fingerJoints: [PrismaticImpulseJoint, PrismaticImpulseJoint];
  /** Bodies and body-frame offsets of the observed points. */
  observed: Array<{ body: RigidBody; offset: Vec3 }>;
  /** The same for the scene's named sites. */
  sites: Array<{ name: string; body: RigidBody; offset: Vec3 }>;
  /** Body of the first observed point: the object MetaWorld's touching_main_object asks about. */
  mainObject: RigidBody | null;
  fixtureJoints: Array<{ spec: JointSpec; parent: RigidBody; child: RigidBody }>;
  /** Every body, in the order of describeScene()'s bodies. */
  ordered: RigidBody[];
}

export class ManipulationEnv implements Env {
  readonly observationSpace: BoxSpace;
  readonly actionSpace: BoxSpace = box([-1, -1, -1, -1], [1, 1, 1, 1]);
  private readonly families: ReadonlyMap<string, TaskFamily>;
  private currentFamily: TaskFamily;
  private task: Task;
  private physics: Physics | null = null;
  private rng: Rng = createRng(0);
  private readonly q = new Float64Array(7);
  private handTarget: Vec3 = [0, 0, 0];
  private objectsInit: Vec3[] = [];
  private jointsInit: Record<string, number> = {};
  private episodeValues: Readonly<Record<string, number>> = {};
  private goal: Vec3 = [0, 0, 0];
  private initTcp: Vec3 = [0, 0, 0];
  private previous = new Float32Array(18);
  private steps = 0;
  private episodeOver = true;

  constructor(options: EnvOptions) {
    const first = options.family ?? options.task?.family;
    if (first === undefined) throw new Error('an env needs a family or a task to start with');
    const families = (options.families ?? [first]).map(familyOf);
    this.families = new Map(families.map((f) => [f.name, f]));
    this.currentFamily = familyOf(first);
    this.task = options.task ?? defaultTask(this.currentFamily);
    this.checkTask(this.task);
    this.currentFamily = this.families.get(this.task.family)!;
    this.observationSpace = rawObservationSpace(families);
  }

  get family(): TaskFamily { return this.currentFamily; }
  get currentTask(): Task { return this.task; }
  get elapsedSteps(): number { return this.steps; }

  /**
   * Starts an episode: rebuilds the world for the task (of any of the env's families) and lets it
   * settle for 50 control steps. A refused task leaves the env as it was.
   */
  reset(options: ResetOptions = {}): ResetResult {
    if (options.task !== undefined) {
      this.checkTask(options.task);
      this.task = options.task;
      this.currentFamily = this.families.get(options.task.family)!;
    }
    if (options.seed !== undefined) this.rng = createRng(options.seed);
    this.physics?.world.free();
    const scene = this.family.scene(this.task.params);
    this.goal = scene.goal;
    this.handTarget = [...this.family.handInit];
    this.physics = this.build(scene);
    const hold = [0, 0, 0, -1];
    for (let i = 0; i < TIMING.settleSteps; i++) this.advance(hold);
    this.restoreAfterSettle(scene);
    const obs = new Float32Array(this.observationSpace.shape[0]);
    const observed = this.observe(obs);
    this.initTcp = observed.tcp;
    this.objectsInit = observed.objects;
    this.jointsInit = this.jointPositions();
    this.episodeValues = {};
    this.episodeValues = Object.freeze(this.family.episodeValues?.(this.stepState(observed, hold)) ?? {});
    obs.copyWithin(18, 0, 18);
    this.previous.set(obs.subarray(0, 18));
    this.steps = 0;
    this.episodeOver = false;
    const evaluation = this.family.evaluate(this.stepState(observed, hold));
    return { obs, info: this.info(evaluation, observed.tcp) };
  }

  /** Advances one control step (12.5 ms). Throws, leaving the state as it was, on a bad action or a call outside an episode. */
  step(action: ArrayLike<number>): StepResult {
    if (this.physics === null) throw new Error('step() called before reset(); call reset() to start an episode');
    if (this.episodeOver) throw new Error(`step() called after the episode ended (truncated at ${TIMING.maxEpisodeSteps} steps); call reset() to start a new one`);
    checkAction(action);
    this.advance(action);
    const obs = new Float32Array(this.observationSpace.shape[0]);
    const observed = this.observe(obs);
    const diverged = obs.findIndex((v) => !Number.isFinite(v));
    if (diverged >= 0) {
      this.episodeOver = true;
      throw new Error(`physics diverged at step ${this.steps + 1}: observation entry ${diverged} is ${obs[diverged]}; call reset() to start a new episode`);
    }
    obs.set(this.previous, 18);
    this.previous.set(obs.subarray(0, 18));
    this.steps++;
    const truncated = this.steps >= TIMING.maxEpisodeSteps;
    this.episodeOver = truncated;
    const evaluation = this.family.evaluate(this.stepState(observed, action));
    return { obs, reward: evaluation.reward, terminated: false, truncated, info: this.info(evaluation, observed.tcp) };
  }

  /** A uniformly random action from the episode's seeded stream. */
  sampleAction(): [number, number, number, number] {
    return [this.rng.uniform(-1, 1), this.rng.uniform(-1, 1), this.rng.uniform(-1, 1), this.rng.uniform(-1, 1)];
  }

  get goalPosition(): Vec3 { return this.goal; }

  /** Bodies, shapes and colours of the current scene, for viewers. */
  describeScene(): SceneDescription {
    const scene = this.family.scene(this.task.params);
    return describeScene(this.sceneSpecs(scene), scene.goal);
  }

  /**
   * World poses of the scene's bodies, in describeScene()'s body order: 7 numbers per body
   * (x, y, z, qx, qy, qz, qw). Writes into `out` when given (length 7 x bodies).
   */
  bodyPoses(out?: Float64Array): Float64Array {
    if (this.physics === null) throw new Error('bodyPoses() called before reset(); call reset() to build the scene');
    const bodies = this.physics.ordered;
    const poses = out ?? new Float64Array(bodies.length * 7);
    if (poses.length !== bodies.length * 7) throw new RangeError(`bodyPoses needs an array of ${bodies.length * 7} numbers (7 per body), got ${poses.length}`);
    bodies.forEach((body, i) => {
      const t = body.translation(), r = body.rotation();
      poses.set([t.x, t.y, t.z, r.x, r.y, r.z, r.w], i * 7);
    });
    return poses;
  }

  close(): void {
    this.physics?.world.free();
    this.physics = null;
    this.episodeOver = true;
  }

  private checkTask(task: Task): void {
    const family = this.families.get(task?.family);
    if (family === undefined) throw new Error(`task of family '${String(task?.family)}' given to an environment of ${[...this.families.keys()].map((f) => `'${f}'`).join(', ')}`);
    if (!Array.isArray(task.params) || task.params.length !== family.paramNames.length) throw new Error(`${family.name} task needs ${family.paramNames.length} parameters (${family.paramNames.join(', ')}), got ${Array.isArray(task.params) ? task.params.length : String(task.params)}`);
    const bad = task.params.findIndex((v) => typeof v !== 'number' || !Number.isFinite(v));
    if (bad >= 0) throw new Error(`${family.name} task parameter ${family.paramNames[bad]} is ${String(task.params[bad])}; task parameters must be finite numbers`);
  }

  private sceneSpecs(scene: TaskScene): BodySpec[] {
    inverseKinematics(this.family.handInit, this.q);
    return [scene.table ?? tableSpec(), ...robotSpecs(forwardKinematics(this.q)), ...scene.bodies];
  }

  private build(scene: TaskScene): Physics {
    const world = new RAPIER.World({ x: 0, y: 0, z: -9.81 });
    world.timestep = TIMING.controlDt / TIMING.physicsSubsteps;
    world.numSolverIterations = TIMING.solverIterations;
    world.integrationParameters.contact_natural_frequency = TIMING.contactFrequency;
    const specs = this.sceneSpecs(scene);
    const bodies = new Map<string, RigidBody>();
    for (const spec of specs) {
      if (bodies.has(spec.name)) throw new Error(`${this.family.name}: two bodies are named '${spec.name}'`);
      bodies.set(spec.name, createBody(world, spec, isRobotPart(spec.name)));
    }
    const get = (name: string) => {
      const body = bodies.get(name);
      if (!body) throw new Error(`${this.family.name}: the scene has no body named '${name}'`);
      return body;
    };
    const hand = get('hand');
    const fingers: [RigidBody, RigidBody] = [get('leftFinger'), get('rightFinger')];
    const fingerJoints = fingers.map((finger, i) => {
      const side = i === 0 ? 1 : -1;
      const data = RAPIER.JointData.prismatic({ x: 0, y: 0, z: -GRIPPER.fingerDrop }, { x: 0, y: 0, z: 0 }, { x: 0, y: side, z: 0 });
      data.limitsEnabled = true;
      data.limits = [GRIPPER.closed, GRIPPER.open];
      const joint = world.createImpulseJoint(data, hand, finger, true) as PrismaticImpulseJoint;
      joint.setContactsEnabled(false);
      // Force-based: the squeeze is stiffness x error capped at maxForce newtons, whatever the finger's mass.
      joint.configureMotorModel(RAPIER.MotorModel.ForceBased);
      return joint;
    }) as [PrismaticImpulseJoint, PrismaticImpulseJoint];
    return {
      world,
      links: { column: get('column'), upperArm: get('upperArm'), forearm: get('forearm'), wrist: get('wrist'), hand },
      fingers,
      fingerJoints,
      observed: scene.observed.map((point) => ({ body: get(point.body), offset: point.offset ?? [0, 0, 0] })),
      sites: Object.entries(scene.sites ?? {}).map(([name, point]) => ({ name, body: get(point.body), offset: point.offset ?? [0, 0, 0] })),
      mainObject: scene.observed.length > 0 ? get(scene.observed[0].body) : null,
      fixtureJoints: (scene.joints ?? []).map((spec) => {
        const parent = get(spec.parent), child = get(spec.child);
        createJoint(world, spec, parent, child);
        return { spec, parent, child };
      }),
      ordered: specs.map((spec) => get(spec.name)),
    };
  }

  /** Moves the hand target, poses the arm by IK and steps the physics for one control step. */
  private advance(action: ArrayLike<number>): void {
    const physics = this.physics!;
    const from = this.handTarget;
    let to: Vec3 = [0, 1, 2].map((i) => clamp(from[i] + clamp(action[i], -1, 1) * ACTION_SCALE, HAND_TARGET_LOW[i], HAND_TARGET_HIGH[i])) as unknown as Vec3;
    if (this.family.handFloor) to = keepAboveFloor(this.family.handFloor, from, to, this.fingerReach());
    this.handTarget = to;
    const target = fingerTarget(action[3]);
    for (const joint of physics.fingerJoints) {
      joint.configureMotorPosition(target, GRIPPER.stiffness, GRIPPER.damping);
      joint.setMotorMaxForce(GRIPPER.maxForce);
    }
    for (let k = 1; k <= TIMING.physicsSubsteps; k++) {
      const f = k / TIMING.physicsSubsteps;
      inverseKinematics([from[0] + (to[0] - from[0]) * f, from[1] + (to[1] - from[1]) * f, from[2] + (to[2] - from[2]) * f], this.q);
      const poses = forwardKinematics(this.q);
      for (const name of LINK_NAMES) {
        physics.links[name].setNextKinematicTranslation(toVector(poses[name].position));
        physics.links[name].setNextKinematicRotation(toRotation(poses[name].rotation));
      }
      physics.world.step();
    }
  }

  /** How far the fingers reach out from the hand in y now (finger centre plus its half width). */
  private fingerReach(): number {
    const physics = this.physics!;
    const handY = physics.links.hand.translation().y;
    return Math.max(...physics.fingers.map((finger) => Math.abs(finger.translation().y - handY))) + GRIPPER.fingerHalfExtents[1];
  }

  /**
   * Puts the moving part of each fixture joint marked `restoreAfterSettle` back where the scene put it,
   * at rest: MetaWorld sets those joints after its hand reset, so whatever the hand's start pose
   * touched while settling does not move them before the first observation.
   */
  private restoreAfterSettle(scene: TaskScene): void {
    for (const { spec, child } of this.physics!.fixtureJoints) {
      if (!spec.restoreAfterSettle) continue;
      const pose = scene.bodies.find((body) => body.name === spec.child)!.pose;
      child.setTranslation(toVector(pose.position), false);
      child.setRotation(toRotation(pose.rotation), false);
      child.setLinvel({ x: 0, y: 0, z: 0 }, false);
      child.setAngvel({ x: 0, y: 0, z: 0 }, false);
    }
  }

  /** Writes obs[0:18] (and the goal); returns what the reward reads, in full precision. */
  private observe(obs: Float32Array): Observed {
    const physics = this.physics!;
    const hand = forwardKinematics(this.q).hand.position;
    const left = physics.fingers[0].translation(), right = physics.fingers[1].translation();
    const opening = gripperOpening(left.y, right.y);
    obs[0] = hand[0]; obs[1] = hand[1]; obs[2] = hand[2];
    obs[3] = opening;
    const objectQuats: Quat[] = [];
    const objects = physics.observed.map((point, i): Vec3 => {
      const position = pointPosition(point);
      const r = point.body.rotation();
      obs.set([...position, r.w, r.x, r.y, r.z], 4 + 7 * i);
      objectQuats.push([r.w, r.x, r.y, r.z]);
      return position;
    });
    obs.set(this.goal, 36);
    const sites: Record<string, Vec3> = {};
    for (const site of physics.sites) sites[site.name] = pointPosition(site);
    // The pads are the fingers' lower parts; the TCP is the midpoint between them.
    const leftPad: Vec3 = [left.x, left.y, left.z - GRIPPER.padDrop], rightPad: Vec3 = [right.x, right.y, right.z - GRIPPER.padDrop];
    const tcp: Vec3 = [(left.x + right.x) / 2, (left.y + right.y) / 2, (left.z + right.z) / 2 - GRIPPER.padDrop];
    return { hand, opening, tcp, leftPad, rightPad, objects, objectQuats, sites };
  }

  /**
   * MetaWorld's touching_main_object: both pads in contact with the main object, each with a positive
   * total contact impulse this step (MetaWorld sums the contacts' constraint forces).
   */
  private touchingMainObject(): boolean {
    const physics = this.physics!;
    const main = physics.mainObject;
    if (main === null) return false;
    const pressing = (finger: RigidBody): boolean => {
      let impulse = 0;
      for (let i = 0; i < finger.numColliders(); i++) {
        for (let j = 0; j < main.numColliders(); j++) {
          physics.world.contactPair(finger.collider(i), main.collider(j), (manifold) => {
            for (let k = 0; k < manifold.numContacts(); k++) impulse += manifold.contactImpulse(k);
          });
        }
      }
      return impulse > 0;
    };
    return pressing(physics.fingers[0]) && pressing(physics.fingers[1]);
  }

  private jointPositions(): Record<string, number> {
    const positions: Record<string, number> = {};
    for (const { spec, parent, child } of this.physics!.fixtureJoints) positions[spec.name] = jointPosition(spec, parent, child);
    return positions;
  }

  private stepState(observed: Observed, action: ArrayLike<number>): StepState {
    return {
      hand: observed.hand,
      tcp: observed.tcp,
      initTcp: this.initTcp,
      handInit: this.family.handInit,
      gripperOpening: observed.opening,
      leftPad: observed.leftPad,
      rightPad: observed.rightPad,
      // MetaWorld's init pads are live views of the pads (see StepState).
      initLeftPad: observed.leftPad,
      initRightPad: observed.rightPad,
      objects: observed.objects,
      objectQuats: observed.objectQuats,
      objectsInit: this.objectsInit,
      sites: observed.sites,
      joints: this.jointPositions(),
      jointsInit: this.jointsInit,
      goal: this.goal,
      action,
      touchingMainObject: this.touchingMainObject(),
      episode: this.episodeValues,
    };
  }

  private info(evaluation: Evaluation, tcp: Vec3): StepInfo {
    const physics = this.physics!;
    const hand = physics.links.hand.translation();
    return {
      ...evaluation.components,
      success: evaluation.success ? 1 : 0,
      tcp: [tcp[0], tcp[1], tcp[2]],
      jointPositions: Array.from(this.q),
      fingerPositions: [physics.fingers[0].translation().y - hand.y, hand.y - physics.fingers[1].translation().y],
    };
  }
}

/** What observe() reads off the physics for the reward, in full precision. */
interface Observed {
  hand: Vec3;
  opening: number;
  tcp: Vec3;
  leftPad: Vec3;
  rightPad: Vec3;
  objects: Vec3[];
  objectQuats: Quat[];
  sites: Record<string, Vec3>;
}

/**
 * The hand target `to` kept above a family's raised surface (TaskFamily.handFloor): a hand below the
 * floor it would move over (low in a hole) keeps its x and y, and z never goes below the floor.
 */
function keepAboveFloor(floor: NonNullable<TaskFamily['handFloor']>, from: Vec3, to: Vec3, fingerReach: number): Vec3 {
  let [x, y] = to;
  if (to[2] < floor(x, y, fingerReach) && from[2] < floor(x, y, fingerReach)) [x, y] = from;
  return [x, y, Math.max(to[2], floor(x, y, fingerReach))];
}

/** World position of a point fixed in a body. */
function pointPosition({ body, offset }: { body: RigidBody; offset: Vec3 }): Vec3 {
  const p = body.translation(), r = body.rotation();
  const o = rotate([r.w, r.x, r.y, r.z], offset);
  return [p.x + o[0], p.y + o[1], p.z + o[2]];
}

const LINK_NAMES = ['column', 'upperArm', 'forearm', 'wrist', 'hand'] as const;
const ROBOT_PARTS = new Set<string>([...LINK_NAMES, 'leftFinger', 'rightFinger']);
const isRobotPart = (name: string) => ROBOT_PARTS.has(name);

const defaultTask = (family: TaskFamily): Task => sampleTasks(family, 0, 1)[0];
const familyOf = (family: string | TaskFamily): TaskFamily => (typeof family === 'string' ? getFamily(family) : family);

/** MetaWorld's raw observation space: hand, gripper, two object poses, the previous frame's 18, the goal (bounds spanning `families`). */
function rawObservationSpace(families: readonly TaskFamily[]): BoxSpace {
  const goalLow = [0, 1, 2].map((i) => Math.min(...families.map((f) => f.goalBox.low[i])));
  const goalHigh = [0, 1, 2].map((i) => Math.max(...families.map((f) => f.goalBox.high[i])));
  const objectLow = new Array(14).fill(-Infinity), objectHigh = new Array(14).fill(Infinity);
  const low = [...HAND_OBS_LOW, -1, ...objectLow], high = [...HAND_OBS_HIGH, 1, ...objectHigh];
  return box([...low, ...low, ...goalLow], [...high, ...high, ...goalHigh]);
}

/** Throws a message naming the problem when an action is not 4 finite numbers. */
export function checkAction(action: ArrayLike<number>): void {
  if (action === null || typeof action !== 'object' || typeof action.length !== 'number') {
    throw new TypeError(`action must be an array of 4 numbers (dx, dy, dz, gripper), got ${action === null ? 'null' : typeof action}`);
  }
  if (action.length !== 4) throw new RangeError(`action must have 4 entries (dx, dy, dz, gripper), got ${action.length}`);
  for (let i = 0; i < 4; i++) {
    const v = action[i];
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new RangeError(`action[${i}] is ${String(v)}; every action entry must be a finite number`);
  }
}
