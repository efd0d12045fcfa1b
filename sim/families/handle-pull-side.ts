// handle-pull-side: grip the lever of a handle press that faces +x (turned a quarter turn) and pull it up from its bottom stop.

import type { TaskFamily } from '../family.ts';
import { liftAndPlaceReward, objectGraspScore, tol } from '../rewards.ts';
import { handlePullExpert } from '../experts.ts';
import { HANDLE_PRESS, handlePressPoint, handlePressScene } from '../fixtures/handle-press.ts';
import { distance } from '../vec.ts';

/** Inside this the reward is 10 flat; success allows 0.08 m. */
const TARGET_RADIUS = 0.05;
const SUCCESS_RADIUS = 0.08;

export const handlePullSide: TaskFamily = {
  name: 'handle-pull-side',
  summary: 'Pull up the handle of the press turned sideways.',
  paramNames: ['press_x', 'press_y', 'press_z'],
  randomBox: { low: [-0.35, 0.65, 0], high: [-0.25, 0.75, 0] },
  handInit: [0, 0.6, 0.2],
  goalBox: { low: [-0.134, 0.65, 0.172], high: [-0.034, 0.75, 0.172] },
  // MetaWorld starts the lever at its bottom stop.
  scene: (p) => handlePressScene([p[0], p[1], p[2]], HANDLE_PRESS.sideYaw, HANDLE_PRESS.travel, HANDLE_PRESS.leverCentre, handlePressPoint([p[0], p[1], p[2]], HANDLE_PRESS.sideYaw, HANDLE_PRESS.pullGoal)),
  successThreshold: SUCCESS_RADIUS,
  evaluate(s) {
    const lever = s.objects[0], leverInit = s.objectsInit[0];
    const leverToGoal = distance(lever, s.goal);
    const inPlace = tol(leverToGoal, 0, TARGET_RADIUS, distance(leverInit, s.goal), 'long_tail');
    const grasp = objectGraspScore(s, { objectRadius: 0.032, padSuccessThreshold: 0.06, objectReachRadius: 0.01, xzThreshold: 0.01, density: 'high' });
    const tcpToLever = distance(lever, s.tcp);
    const lifted = tcpToLever < 0.035 && s.gripperOpening > 0 && lever[2] - 0.01 > leverInit[2];
    return {
      reward: liftAndPlaceReward({ grasp, inPlace, lifted, atGoal: leverToGoal < TARGET_RADIUS }),
      success: leverToGoal <= SUCCESS_RADIUS,
      components: {
        nearObject: tcpToLever <= 0.05 ? 1 : 0, graspSuccess: s.gripperOpening > 0 && lever[2] - 0.03 > leverInit[2] ? 1 : 0, graspReward: grasp, inPlaceReward: inPlace, objToTarget: leverToGoal,
        tcpToLever, handleTravel: s.joints.handleSlide,
      },
    };
  },
  // Squeeze the lever across its width (6.4 cm: the fingers close to an opening of about 0.76) and pull it to its top stop.
  expert: (obs, goal) => handlePullExpert(obs, [0, 0, 0], 0.85, goal[2]),
};
