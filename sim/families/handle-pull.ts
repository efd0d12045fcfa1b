// handle-pull: grip the handle press's grip bar and pull the lever up from its bottom stop.

import type { TaskFamily } from '../family.ts';
import { liftAndPlaceReward, objectGraspScore, tol } from '../rewards.ts';
import { handlePullExpert } from '../experts.ts';
import { HANDLE_PRESS, handlePressPoint, handlePressScene } from '../fixtures/handle-press.ts';
import { type Vec3, distance } from '../vec.ts';

const TARGET_RADIUS = 0.05;

export const handlePull: TaskFamily = {
  name: 'handle-pull',
  summary: 'Pull the handle up by its grip.',
  paramNames: ['press_x', 'press_y', 'press_z'],
  randomBox: { low: [-0.1, 0.8, -0.001], high: [0.1, 0.9, 0.001] },
  handInit: [0, 0.6, 0.2],
  goalBox: { low: [-0.1, 0.584, 0.171], high: [0.1, 0.684, 0.173] },
  // MetaWorld starts the lever at its bottom stop.
  scene: (p) => handlePressScene([p[0], p[1], p[2]], 0, HANDLE_PRESS.travel, HANDLE_PRESS.gripRight, handlePressPoint([p[0], p[1], p[2]], 0, HANDLE_PRESS.pullGoal)),
  successThreshold: TARGET_RADIUS,
  evaluate(s) {
    const grip = s.objects[0];
    // MetaWorld's obj_init_pos here is the housing's base point: the goal less its offset.
    const baseZ = s.goal[2] - HANDLE_PRESS.pullGoal[2];
    const housing: Vec3 = [s.goal[0] - HANDLE_PRESS.pullGoal[0], s.goal[1] - HANDLE_PRESS.pullGoal[1], baseZ];
    const heightError = Math.abs(s.goal[2] - grip[2]);
    const inPlace = tol(heightError, 0, TARGET_RADIUS, Math.abs(s.goal[2] - baseZ), 'long_tail');
    const grasp = objectGraspScore({ ...s, objectsInit: [housing] }, { objectRadius: 0.022, padSuccessThreshold: 0.05, objectReachRadius: 0.01, xzThreshold: 0.01, density: 'high' });
    const tcpToGrip = distance(grip, s.tcp);
    // MetaWorld compares the grip's y (not z) with the base's height here: true wherever the grip is.
    const lifted = tcpToGrip < 0.035 && s.gripperOpening > 0 && grip[1] - 0.01 > baseZ;
    return {
      reward: liftAndPlaceReward({ grasp, inPlace, lifted, atGoal: heightError < TARGET_RADIUS }),
      success: heightError <= TARGET_RADIUS,
      components: {
        nearObject: tcpToGrip <= 0.05 ? 1 : 0, graspSuccess: s.gripperOpening > 0 && grip[2] - 0.03 > baseZ ? 1 : 0, graspReward: grasp, inPlaceReward: inPlace, objToTarget: heightError,
        tcpToGrip, handleTravel: s.joints.handleSlide,
      },
    };
  },
  // Squeeze the grip bar at its axis (the observed point is 1.4 cm above it) and pull it 2 cm past the goal.
  expert: (obs, goal) => handlePullExpert(obs, [0, 0, -0.014], 0.62, goal[2] + 0.02 - 0.014),
};
