// drawer-open: pull the drawer 0.2 m out by its handle.

import type { TaskFamily } from '../family.ts';
import { moveHandTowards } from '../experts.ts';
import { TCP_BELOW_HAND } from '../gripper.ts';
import { tol } from '../rewards.ts';
import { DRAWER, drawerScene } from '../fixtures/drawer.ts';
import { type Vec3, distance, weightedDistance } from '../vec.ts';

const PULL = 0.2;
const SUCCESS_RADIUS = 0.03;
/** The reach weighs the xy error three times the z error, so the gripper can drop down around the handle. */
const XY_STRESSED: Vec3 = [3, 3, 1];

export const drawerOpen: TaskFamily = {
  name: 'drawer-open',
  summary: 'Pull the drawer open by its handle.',
  paramNames: ['drawer_x', 'drawer_y', 'drawer_z'],
  randomBox: { low: [-0.1, 0.9, 0], high: [0.1, 0.9, 0] },
  handInit: [0, 0.6, 0.2],
  goalBox: { low: [-0.1, 0.54, 0.09], high: [0.1, 0.54, 0.09] },
  scene: (p) => drawerScene([p[0], p[1], p[2]], 0, [p[0], p[1] - 0.16 - PULL, p[2] + DRAWER.drawerHeight]),
  successThreshold: SUCCESS_RADIUS,
  evaluate(s) {
    const handle = s.objects[0];
    const handleToGoal = distance(handle, s.goal);
    const opening = tol(handleToGoal, 0, 0.02, PULL, 'long_tail');
    const handleInit: Vec3 = [s.goal[0], s.goal[1] + PULL, s.goal[2]];
    // MetaWorld measures this reach from the hand (obs[:3]), not the TCP.
    const caging = tol(weightedDistance(handle, s.hand, XY_STRESSED), 0, 0.01, weightedDistance(handleInit, s.initTcp, XY_STRESSED), 'long_tail');
    return {
      reward: 5 * (caging + opening),
      success: handleToGoal <= SUCCESS_RADIUS,
      components: {
        nearObject: distance(handle, s.hand) <= 0.03 ? 1 : 0, graspSuccess: s.gripperOpening > 0 ? 1 : 0, graspReward: caging, inPlaceReward: opening, objToTarget: handleToGoal,
        drawerTravel: s.joints.drawerSlide,
      },
    };
  },
  // Straddle the handle bar with open fingers, close on it, pull straight back.
  expert(obs, goal) {
    const hand = obs, handle: Vec3 = [obs[4], obs[5], obs[6]];
    const grip: Vec3 = [handle[0], handle[1], handle[2] + TCP_BELOW_HAND];
    const xy = Math.hypot(hand[0] - grip[0], hand[1] - grip[1]);
    if (xy > 0.01 && obs[3] > 0.6) return moveHandTowards(hand, [grip[0], grip[1], Math.max(hand[2], grip[2] + 0.05)], -1);
    if (hand[2] - grip[2] > 0.005 && obs[3] > 0.6) return moveHandTowards(hand, grip, -1);
    if (obs[3] > 0.4 && handle[1] > goal[1] + 0.15) return moveHandTowards(hand, grip, 1);
    return moveHandTowards(hand, [goal[0], goal[1] - 0.01, goal[2] + TCP_BELOW_HAND], 1);
  },
};
