// stick-push: pick the stick up and push the thermos along the table with it.

import type { TaskFamily } from '../family.ts';
import { graspScore, tol } from '../rewards.ts';
import { type GraspProfile, graspAndCarry } from '../experts.ts';
import { type Vec3, add, distance, sub } from '../vec.ts';
import { STICK, STICK_OBJECT, THERMOS, thermosScene } from '../fixtures/thermos.ts';
import { placeObject } from '../scene.ts';

const TARGET_RADIUS = 0.12;
/** MetaWorld reads the stick 1.5 cm ahead of its centre. */
const STICK_POINT: Vec3 = [0.015, 0, 0];
/** The thermos's rail: it starts here and slides up to 0.2 m either way. */
const RAIL: Vec3 = [0.2, 0.6, 0];

/** The stick (0.04 m across) squeezed between the pads leaves 0.052 m between finger centres. */
const STICK_GRASP: GraspProfile = { closedOpening: 0.52, closingBelow: 0.75, restHeight: STICK.halfExtents[2] };
/** The expert holds the stick at its centre: its end reaches 5 cm past the fingers, the palm stays clear of the thermos. */
const HOLD: Vec3 = [0, 0, 0];
/** Push slowly: a fast stick knocks the thermos and turns in the grip. */
const PUSH_SPEED = 0.3;

export const stickPush: TaskFamily = {
  name: 'stick-push',
  summary: 'Pick the stick up and push the thermos to the goal with it.',
  paramNames: ['stick_x', 'stick_y', 'stick_z', 'goal_x', 'goal_y', 'goal_z'],
  randomBox: { low: [-0.08, 0.58, 0, 0.399, 0.55, 0.1319], high: [-0.03, 0.62, 0.001, 0.401, 0.6, 0.1321] },
  reject: (p) => Math.hypot(p[0] - p[3], p[1] - p[4]) < 0.1,
  handInit: [0, 0.6, 0.2],
  goalBox: { low: [0.399, 0.55, THERMOS.centre[2]], high: [0.401, 0.6, THERMOS.centre[2]] },
  scene(p) {
    const thermos = thermosScene(RAIL, 0);
    return {
      // MetaWorld's stick rests at z = 0.02 whatever the drawn height.
      bodies: [placeObject(STICK_OBJECT, [p[0], p[1], STICK.halfExtents[2]]), ...thermos.bodies],
      joints: thermos.joints,
      // obs[11:14]: the thermos's axis at the handle's mid-height (MetaWorld's insertion site + 0.09 y).
      observed: [{ body: STICK_OBJECT.name }, { body: 'thermos', offset: THERMOS.centre }],
      // The goal's height is the insertion site's (0.132 m), not the drawn one.
      goal: [p[3], p[4], THERMOS.centre[2]],
    };
  },
  successThreshold: TARGET_RADIUS,
  evaluate(s) {
    const stick = add(s.objects[0], STICK_POINT), stickInit = s.objectsInit[0];
    const container = s.objects[1];
    // MetaWorld's obj_init_pos: the thermos's frame on the table at reset.
    const thermosInit = sub(s.objectsInit[1], THERMOS.centre);
    const tcpToStick = distance(stick, s.tcp);
    const stickInPlace = tol(distance(stick, s.goal), 0, TARGET_RADIUS, distance(stickInit, s.goal) - TARGET_RADIUS, 'long_tail');
    const containerToTarget = distance(container, s.goal);
    const containerInPlace = tol(containerToTarget, 0, TARGET_RADIUS, distance(thermosInit, s.goal) - TARGET_RADIUS, 'long_tail');
    // MetaWorld's stick-push measures the caging margins from the stick's start.
    let grasp = graspScore(
      { leftPadY: s.leftPad[1], rightPadY: s.rightPad[1], tcp: s.tcp, initTcp: s.initTcp, object: stick, objectInit: stickInit, gripperCommand: s.action[3] },
      { objectRadius: 0.04, padSuccessThreshold: 0.05, objectReachRadius: 0.01, xzThreshold: 0.01, density: 'high' },
    );
    let reward = grasp;
    if (tcpToStick < 0.02 && s.gripperOpening > 0 && stick[2] - 0.01 > stickInit[2]) {
      grasp = 1;
      reward = containerToTarget <= TARGET_RADIUS ? 10 : 2 + 5 * stickInPlace + 3 * containerInPlace;
    }
    const graspSuccess = s.touchingMainObject && s.gripperOpening > 0 && s.objects[0][2] - 0.01 > stickInit[2];
    return {
      reward,
      success: graspSuccess && distance(container, s.goal) <= TARGET_RADIUS,
      components: {
        nearObject: tcpToStick <= 0.03 ? 1 : 0, graspSuccess: graspSuccess ? 1 : 0,
        graspReward: grasp, inPlaceReward: stickInPlace, objToTarget: containerToTarget, tcpToStick,
      },
    };
  },
  // Grasp the stick behind its centre, lift it to the thermos's mid-height, line it up with the
  // thermos's axis and push the thermos, end on, until its axis is on the goal.
  expert(obs, goal) {
    const stick: Vec3 = [obs[4], obs[5], obs[6]];
    const container: Vec3 = [obs[11], obs[12], obs[13]];
    const hold = add(stick, HOLD);
    const view = Float32Array.from(obs);
    view.set(hold, 4);
    const end = stick[0] + STICK.end[0];
    const contactX = container[0] - THERMOS.radius;
    // Push at the thermos's mid-height, a fixed height (the pushed thermos may rock a little on its slides).
    const pushZ = THERMOS.centre[2];
    const dy = Math.abs(stick[1] - container[1]), dz = Math.abs(stick[2] - pushZ);
    // Pushing once the stick's end is within 4 cm of the thermos, lined up with its axis (looser once under way).
    const pushing = end > contactX - 0.04 && dy < 0.025 && dz < 0.025 && (end > contactX - 0.02 || (dy < 0.01 && dz < 0.01));
    let carryTo: Vec3;
    if (pushing) carryTo = [goal[0] - THERMOS.radius - STICK.end[0] + HOLD[0] + 0.01, container[1], pushZ];
    else if (end > contactX - 0.02) carryTo = [hold[0] - 0.05, hold[1], pushZ];
    else if (stick[2] < pushZ - 0.03) carryTo = [hold[0], hold[1], pushZ];
    else carryTo = [Math.min(hold[0], contactX - 0.03 - STICK.end[0] + HOLD[0]), container[1], pushZ];
    const action = graspAndCarry(view, carryTo, STICK_GRASP);
    if (pushing) for (let i = 0; i < 3; i++) action[i] *= PUSH_SPEED;
    return action;
  },
};
