// hammer: pick the hammer up and drive the nail into its block with the hammer's head.

import type { TaskFamily } from '../family.ts';
import { handleGraspScore, quatScore, tol } from '../rewards.ts';
import { type GraspProfile, graspAndCarry, limitAcceleration } from '../experts.ts';
import { type Quat, type Vec3, add, distance, rotate, sub } from '../vec.ts';
import { HAMMER, NAIL_BLOCK, hammer, nailBlock } from '../fixtures/hammer.ts';

/** The nail block's base, fixed, and the goal: where the nail's head ends when driven fully in. */
const BLOCK: Vec3 = [0.24, 0.85, 0];
const GOAL: Vec3 = [BLOCK[0], BLOCK[1] - 0.11, 0.11];
/** Success: the nail driven in more than 9 cm. */
const DRIVEN_IN = 0.09;
/** MetaWorld's head point, fixed in the world frame relative to the hammer's frame. */
const HEAD_POINT: Vec3 = [0.16, 0.06, 0];
/** Half the handle's length, along which MetaWorld's caging counts any grip as centred (its HAMMER_HANDLE_LENGTH / 2). */
const HANDLE_HALF_LENGTH = 0.07;
const LEVEL: Quat = [1, 0, 0, 0];

/** The grip (0.042 m thick) squeezed between the pads leaves 0.054 m between finger centres. */
const HANDLE_GRASP: GraspProfile = { closedOpening: 0.54, closingBelow: 0.75, restHeight: HAMMER.handleRadius };
/** The expert holds the square grip, just short of the head and 4.5 cm from the centre of mass. */
const GRIP: Vec3 = HAMMER.grip;
const STRIKE_SPEED = 0.3;
const CARRY_SPEED = 0.6;
/** Largest change of the carrying hand's step (in action units) from one control step to the next. */
const CARRY_ACCELERATION = 0.05;

export const hammerFamily: TaskFamily = {
  name: 'hammer',
  summary: 'Pick the hammer up and drive the nail into the block with it.',
  paramNames: ['hammer_x', 'hammer_y', 'hammer_z'],
  randomBox: { low: [-0.1, 0.4, 0], high: [0.1, 0.5, 0] },
  handInit: [0, 0.4, 0.2],
  goalBox: { low: GOAL, high: GOAL },
  scene(p) {
    const block = nailBlock(BLOCK);
    return {
      // MetaWorld drops the hammer from the drawn height (0); ours starts level on its head's discs.
      bodies: [hammer([p[0], p[1], HAMMER.headRadius + 0.001]), ...block.bodies],
      joints: [block.joint],
      observed: [{ body: 'hammer' }, { body: 'nail' }],
      goal: GOAL,
    };
  },
  successThreshold: DRIVEN_IN,
  evaluate(s) {
    const hammerFrame = s.objects[0];
    const head = add(hammerFrame, HEAD_POINT);
    const level = quatScore(s.objectQuats[0], LEVEL, 0.4);
    const grab = handleGraspScore(s, hammerFrame, s.objectsInit[0], HANDLE_HALF_LENGTH, { objectReachRadius: 0.01, objectRadius: 0.015, padSuccessThreshold: 0.02, xzThreshold: 0.01, density: 'high' });
    // A tenth for lifting the head at all, the rest for bringing it to the nail's driven-in point.
    const inPlace = 0.1 * (head[2] > 0.02 ? 1 : 0) + 0.9 * tol(distance(s.goal, head), 0, 0.02, 0.2, 'long_tail');
    const nailIn = s.joints.nailSlide;
    const success = nailIn > DRIVEN_IN;
    let reward = (2 * grab + 6 * inPlace) * level;
    // MetaWorld pays the flat 10 only where the reward is already above 5: driving the nail by knocking the block does not count.
    if (success && reward > 5) reward = 10;
    return {
      reward,
      success,
      components: { nearObject: level, graspSuccess: grab >= 0.5 ? 1 : 0, graspReward: grab, inPlaceReward: inPlace, objToTarget: 0, nailIn },
    };
  },
  // Grasp the square grip next to the head (near the centre of mass, so the hammer hangs level), lift
  // it to the nail's height with the head's face in front of the nail, then push the nail in.
  expert(obs, goal) {
    const q: Quat = [obs[7], obs[8], obs[9], obs[10]];
    const frame: Vec3 = [obs[4], obs[5], obs[6]];
    const grip = add(frame, rotate(q, GRIP));
    const view = Float32Array.from(obs);
    view.set(grip, 4);
    const nail: Vec3 = [obs[11], obs[12], obs[13]];
    // Steer by the grip with the head where it would be on a level hammer: steering by the measured
    // head chases the hammer's swing in the grip and feeds it.
    const head = add(grip, sub(HAMMER.head, GRIP));
    // Where the head's centre is when its face touches the nail's head.
    const touching: Vec3 = [nail[0], nail[1] - NAIL_BLOCK.headHalfThickness - HAMMER.faceY, nail[2]];
    const behind = touching[1] - head[1];
    const off = Math.max(Math.abs(head[0] - touching[0]), Math.abs(head[2] - touching[2]));
    const striking = behind < 0.05 && behind > -0.02 && off < (behind < 0.02 ? 0.02 : 0.01);
    let headTo: Vec3;
    if (striking) headTo = [touching[0], goal[1] - NAIL_BLOCK.headHalfThickness - HAMMER.faceY + 0.01, touching[2]];
    else if (frame[2] < touching[2] - 0.04 && obs[3] < HANDLE_GRASP.closingBelow) headTo = [head[0], head[1], touching[2]];
    else if (behind < 0.03) headTo = [head[0], touching[1] - 0.05, touching[2]];
    else headTo = [touching[0], touching[1] - 0.03, touching[2]];
    const action = graspAndCarry(view, add(grip, sub(headTo, head)), HANDLE_GRASP);
    if (obs[3] > HANDLE_GRASP.closingBelow) return action;
    // Held: carry the heavy hammer gently, and strike slowly.
    const speed = striking ? STRIKE_SPEED : CARRY_SPEED;
    for (let i = 0; i < 3; i++) action[i] *= speed;
    return limitAcceleration(obs, action, CARRY_ACCELERATION);
  },
};
