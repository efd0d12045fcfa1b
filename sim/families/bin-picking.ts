// bin-picking: pick the cube out of the left bin and put it into the right one.

import type { TaskFamily } from '../family.ts';
import { aboveFloorScore, funnelFloor, hamacher, objectGraspScore, tol } from '../rewards.ts';
import { type GraspProfile, graspAndCarry } from '../experts.ts';
import { type Vec3, distance } from '../vec.ts';
import { CUBE, CUBE_HALF, CUBE_IN_BIN_Z, bin, insideBin } from '../fixtures/bins.ts';
import { placeObject } from '../scene.ts';

const TARGET_RADIUS = 0.05;
/** The bins' centres, fixed: the cube starts in the first, the goal is the second's centre on the table. */
const START_BIN: Vec3 = [-0.12, 0.7, 0];
const GOAL_BIN: Vec3 = [0.12, 0.7, 0];
/** The funnels that keep the hand above the bins' walls open from 3 cm round the start and the goal. */
const FLOOR_THRESHOLD = 0.03;

/** The cube squeezed between the pads leaves 0.052 m between finger centres. */
const CUBE_GRASP: GraspProfile = { closedOpening: 0.52, closingBelow: 0.75, restHeight: CUBE_IN_BIN_Z };
/** Hand y range in which the open fingers clear both the cube (at 0.65..0.75) and the bin's walls. */
const GRASP_Y: readonly [number, number] = [0.67, 0.73];
/** Height to carry the cube at, over the walls. */
const CARRY_Z = 0.16;

export const binPicking: TaskFamily = {
  name: 'bin-picking',
  summary: 'Pick the cube out of one bin and place it in the other.',
  paramNames: ['cube_x', 'cube_y', 'cube_z', 'goal_x', 'goal_y', 'goal_z'],
  // MetaWorld draws goal entries too, from a 2 mm box round the goal bin's centre, and never uses them.
  randomBox: { low: [-0.21, 0.65, 0.02, 0.1199, 0.699, -0.001], high: [-0.03, 0.75, 0.02, 0.1201, 0.701, 0.001] },
  handInit: [0, 0.6, 0.2],
  goalBox: { low: GOAL_BIN, high: GOAL_BIN },
  scene(p) {
    const [x, y] = insideBin(START_BIN, p[0], p[1]);
    return {
      bodies: [placeObject(CUBE, [x, y, CUBE_IN_BIN_Z]), bin('startBin', START_BIN, '#b03030'), bin('goalBin', GOAL_BIN, '#2f55c0')],
      observed: [{ body: CUBE.name }],
      goal: GOAL_BIN,
    };
  },
  successThreshold: TARGET_RADIUS,
  // MetaWorld fixes its in-place margin on the first reward call, from where the cube is then.
  episodeValues: (s) => ({ targetToObjInit: distance(s.objects[0], s.goal) }),
  evaluate(s) {
    const hand = s.hand, cube = s.objects[0], cubeInit = s.objectsInit[0];
    const cubeToTarget = distance(cube, s.goal);
    const inPlace = tol(cubeToTarget, 0, TARGET_RADIUS, s.episode.targetToObjInit, 'long_tail');
    // Two funnels round the start and the goal keep the hand above the bins' walls away from them.
    const floor = Math.min(...[cubeInit, s.goal].map((centre) => funnelFloor(Math.hypot(hand[0] - centre[0], hand[1] - centre[1]), FLOOR_THRESHOLD, 0.02, 0.2)));
    const aboveFloor = aboveFloorScore(hand[2], floor, 0.05);
    const grasp = objectGraspScore(s, { objectRadius: 0.015, padSuccessThreshold: 0.05, objectReachRadius: 0.01, xzThreshold: 0.01, desiredGripperEffort: 0.7, density: 'high' });
    const nearObject = distance(cube, hand) < 0.04;
    const pinchedWithoutObject = s.gripperOpening < 0.43;
    const lifted = cube[2] - 0.02 > cubeInit[2];
    const graspSuccess = nearObject && lifted && !pinchedWithoutObject;
    let reward = hamacher(grasp, inPlace);
    if (graspSuccess) reward += 1 + 5 * hamacher(aboveFloor, inPlace);
    if (cubeToTarget < TARGET_RADIUS) reward = 10;
    return {
      reward,
      success: cubeToTarget <= TARGET_RADIUS,
      components: {
        nearObject: nearObject ? 1 : 0, graspSuccess: graspSuccess ? 1 : 0,
        graspReward: grasp, inPlaceReward: inPlace, objToTarget: cubeToTarget, aboveFloor,
      },
    };
  },
  // Grasp the cube with the hand kept 3 cm clear of the bin's walls in y (closing, the fingers pull
  // the cube in from a wall), lift it straight up over the walls, carry it over the goal bin and
  // lower it in.
  expert(obs, goal) {
    const cube: Vec3 = [obs[4], obs[5], obs[6]];
    const view = Float32Array.from(obs);
    view[5] = Math.min(Math.max(cube[1], GRASP_Y[0]), GRASP_Y[1]);
    const overGoal = Math.hypot(cube[0] - goal[0], cube[1] - goal[1]) < 0.015;
    let carryTo: Vec3;
    if (overGoal) carryTo = [goal[0], goal[1], CUBE_IN_BIN_Z + CUBE_HALF / 2];
    else if (cube[2] < CARRY_Z - 0.03 && Math.abs(cube[0] - goal[0]) > 0.05) carryTo = [cube[0], view[5], CARRY_Z];
    else carryTo = [goal[0], goal[1], CARRY_Z];
    return graspAndCarry(view, carryTo, CUBE_GRASP);
  },
};
