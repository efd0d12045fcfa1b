// box-close: pick the lid up by its handle and put it on the box.

import type { TaskFamily } from '../family.ts';
import { aboveFloorScore, funnelFloor, grabEffort, hamacher, quatScore, tol } from '../rewards.ts';
import { type GraspProfile, graspAndCarry, gripPointOnBar, limitAcceleration } from '../experts.ts';
import { type Quat, type Vec3, add, distance, rotate, sub, weightedDistance } from '../vec.ts';
import { LID, box, lid } from '../fixtures/lidded-box.ts';

const SUCCESS_RADIUS = 0.08;
/** MetaWorld's upright lid, a quarter turn about z (its approximation of the angle, 0.707 for sqrt(1/2)). */
const IDEAL_QUAT: Quat = [0.707, 0, 0, 0.707];
/** MetaWorld's "lid" point, 2 cm over the lid's frame: where the hand is asked to go. */
const LID_POINT: Vec3 = [0, 0, 0.02];
/** The placing error weighs height three times. */
const PLACE_SCALING: Vec3 = [1, 1, 3];

/** The handle bar (0.016 m thick) squeezed between the pads leaves 0.028 m between finger centres. */
const HANDLE_GRASP: GraspProfile = { closedOpening: 0.28, closingBelow: 0.6, restHeight: LID.rimDepth + LID.handle[2] };
/** Lid frame height that carries the rims over the box's walls. */
const CARRY_Z = 0.1;
const CARRY_SPEED = 0.4;
/** Largest change of the carrying hand's step (in action units) from one control step to the next. */
const CARRY_ACCELERATION = 0.04;

export const boxClose: TaskFamily = {
  name: 'box-close',
  summary: 'Pick the lid up by its handle and close the box with it.',
  paramNames: ['lid_x', 'lid_y', 'lid_z', 'box_x', 'box_y', 'box_z'],
  randomBox: { low: [-0.05, 0.5, 0.02, -0.1, 0.7, 0.133], high: [0.05, 0.55, 0.02, 0.1, 0.8, 0.133] },
  // MetaWorld draws again while lid and box are closer than 0.25 m in xy.
  reject: (p) => Math.hypot(p[0] - p[3], p[1] - p[4]) < 0.25,
  handInit: [0, 0.6, 0.2],
  goalBox: { low: [-0.1, 0.7, 0.133], high: [0.1, 0.8, 0.133] },
  scene(p) {
    // MetaWorld drops the lid from 0.075 m over the drawn height; ours starts lying on the table.
    return { bodies: [lid([p[0], p[1], LID.rimDepth + 0.0005]), box([p[3], p[4], 0])], observed: [{ body: 'lid' }], goal: [p[3], p[4], p[5]] };
  },
  successThreshold: SUCCESS_RADIUS,
  evaluate(s) {
    const hand = s.hand, lidFrame = s.objects[0];
    const grab = grabEffort(s.action[3]);
    const upright = quatScore(s.objectQuats[0], IDEAL_QUAT, 0.2);
    const lidPoint = add(lidFrame, LID_POINT);
    const floor = funnelFloor(Math.hypot(hand[0] - lidPoint[0], hand[1] - lidPoint[1]), 0.02, 0.04, 0.4);
    const aboveFloor = aboveFloorScore(hand[2], floor, floor / 2);
    const atHandle = tol(distance(hand, lidPoint), 0, 0.02, 0.5, 'long_tail');
    const ready = hamacher(aboveFloor, atHandle);
    // A fifth for lifting the lid at all, the rest for bringing it onto the box.
    const placed = 0.2 * (lidPoint[2] > 0.04 ? 1 : 0) + 0.8 * tol(weightedDistance(s.goal, lidPoint, PLACE_SCALING), 0, 0.05, 0.25, 'long_tail');
    const lidToGoal = distance(lidFrame, s.goal);
    const success = lidToGoal < SUCCESS_RADIUS;
    // A lid flipped or tilted on the way earns less, even at the goal.
    const reward = (success ? 10 : 2 * hamacher(grab, ready) + 8 * placed) * upright;
    return {
      reward,
      success,
      components: { nearObject: ready, graspSuccess: grab >= 0.5 ? 1 : 0, graspReward: grab, inPlaceReward: placed, objToTarget: 0, lidToGoal, upright },
    };
  },
  // Grasp the handle bar, lift the lid straight up over the box's walls, carry it over the box and
  // hold it at the goal, just over the walls.
  expert(obs, goal) {
    const q: Quat = [obs[7], obs[8], obs[9], obs[10]];
    const frame: Vec3 = [obs[4], obs[5], obs[6]];
    // The grasp point: the point of the bar's axis nearest the TCP (the fingers may hold it off-centre).
    const grip = gripPointOnBar(obs, add(frame, rotate(q, LID.handle)), rotate(q, [0, 1, 0]), LID.barHalfLength);
    const view = Float32Array.from(obs);
    view.set(grip, 4);
    const lidToGoalXy = Math.hypot(frame[0] - goal[0], frame[1] - goal[1]);
    // Rise straight up first; then bring the lid's frame, wherever the grip is on it, to the goal.
    const carryTo: Vec3 = frame[2] < CARRY_Z - 0.02 && lidToGoalXy > 0.05 ? [grip[0], grip[1], grip[2] + CARRY_Z - frame[2]] : add(goal, sub(grip, frame));
    const action = graspAndCarry(view, carryTo, HANDLE_GRASP);
    if (obs[6] < LID.rimDepth + 0.01) return action;
    // Carry slowly, speeding up and slowing down gently: a sudden start or stop swings the hanging lid round the bar.
    for (let i = 0; i < 3; i++) action[i] *= CARRY_SPEED;
    return limitAcceleration(obs, action, CARRY_ACCELERATION);
  },
};
