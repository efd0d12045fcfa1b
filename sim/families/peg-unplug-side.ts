// peg-unplug-side: pull the plug sideways out of its socket in a wall.

import type { TaskFamily } from '../family.ts';
import { objectGraspScore, tol } from '../rewards.ts';
import { type GraspProfile, graspAndCarry } from '../experts.ts';
import { type Vec3, add, distance } from '../vec.ts';
import { PLUG, SOCKET, plug, socketWall } from '../fixtures/plug-socket.ts';

const SUCCESS_RADIUS = 0.07;
/** Inside this the reward is the full 10. */
const REWARD_RADIUS = 0.05;
/** The goal: the plug's frame 0.15 m further out along the socket (+x). */
const PULL: Vec3 = [0.15, 0, 0];

/** The grip block (0.076 m across) squeezed between the pads leaves 0.088 m between finger centres. */
const GRIP_GRASP: GraspProfile = { closedOpening: 0.88, closingBelow: 0.97, restHeight: SOCKET.holeZ };
/** The pads close this far behind the observed end, clear of the knob. */
const GRIP_BEHIND_END = 0.005;

const plugFrame = (p: readonly number[]): Vec3 => add([p[0], p[1], p[2]], SOCKET.plugOffset);

export const pegUnplugSide: TaskFamily = {
  name: 'peg-unplug-side',
  summary: 'Pull the plug out of its socket in the wall, sideways.',
  paramNames: ['wall_x', 'wall_y', 'wall_z'],
  randomBox: { low: [-0.25, 0.6, -0.001], high: [-0.15, 0.8, 0.001] },
  handInit: [0, 0.6, 0.2],
  goalBox: {
    low: add(add([-0.25, 0.6, -0.001], SOCKET.plugOffset), PULL),
    high: add(add([-0.15, 0.8, 0.001], SOCKET.plugOffset), PULL),
  },
  scene(p) {
    const frame = plugFrame(p);
    return {
      // The head rests on the socket's floor (MetaWorld's plug frame is 2 mm higher, its head clear of the floor).
      bodies: [socketWall([p[0], p[1], p[2]]), plug([frame[0], frame[1], p[2] + SOCKET.holeZ - SOCKET.holeHalf + PLUG.headRadius + 0.0005])],
      observed: [{ body: 'plug', offset: PLUG.end }],
      goal: add(frame, add(PLUG.end, PULL)),
    };
  },
  successThreshold: SUCCESS_RADIUS,
  evaluate(s) {
    const end = s.objects[0], endInit = s.objectsInit[0];
    const tcpToEnd = distance(end, s.tcp);
    const endToGoal = distance(end, s.goal);
    const grasp = objectGraspScore(s, { objectReachRadius: 0.01, objectRadius: 0.025, padSuccessThreshold: 0.05, xzThreshold: 0.005, desiredGripperEffort: 0.8, density: 'high' });
    const inPlace = tol(endToGoal, 0, REWARD_RADIUS, distance(endInit, s.goal), 'long_tail');
    // Held with the fingers apart on the block and pulled 1.5 cm out.
    const pulling = s.gripperOpening > 0.5 && end[0] - endInit[0] > 0.015;
    let reward = 2 * grasp;
    if (pulling && tcpToEnd < 0.035) reward = 1 + 2 * grasp + 5 * inPlace;
    if (endToGoal <= REWARD_RADIUS) reward = 10;
    return {
      reward,
      success: endToGoal <= SUCCESS_RADIUS,
      components: {
        nearObject: tcpToEnd <= 0.03 ? 1 : 0, graspSuccess: pulling ? 1 : 0,
        graspReward: grasp, inPlaceReward: inPlace, objToTarget: endToGoal, tcpToObject: tcpToEnd,
      },
    };
  },
  // Come down on the grip block from above, squeeze it, and draw the plug straight out along the socket.
  expert(obs, goal) {
    const view = Float32Array.from(obs);
    view[4] -= GRIP_BEHIND_END;
    return graspAndCarry(view, [goal[0] - GRIP_BEHIND_END, goal[1], goal[2]], GRIP_GRASP);
  },
};
