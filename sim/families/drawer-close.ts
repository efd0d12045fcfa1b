// drawer-close: push an open drawer shut.

import type { TaskFamily } from '../family.ts';
import { moveHandTowards } from '../experts.ts';
import { TCP_BELOW_HAND } from '../gripper.ts';
import { hamacher, tol } from '../rewards.ts';
import { DRAWER, drawerScene } from '../fixtures/drawer.ts';
import { type Vec3, distance } from '../vec.ts';

const OPENED = 0.15;
/** MetaWorld's drawer-close declares 0.04 but reads its base class's 0.05; 0.05 is what its reward uses. */
const TARGET_RADIUS = 0.05;
const SUCCESS_RADIUS = TARGET_RADIUS + 0.015;
const HANDLE_REACH_RADIUS = 0.005;
/**
 * MetaWorld's drawer-close observes (and scores) a point 5 cm above the handle, so even the shut
 * drawer's point sits 5 cm above the goal: success needs the drawer within 4.15 cm of shut.
 */
const OBSERVED_ABOVE_HANDLE = 0.05;
const OBSERVED: Vec3 = [DRAWER.handle[0], DRAWER.handle[1], DRAWER.handle[2] + OBSERVED_ABOVE_HANDLE];

export const drawerClose: TaskFamily = {
  name: 'drawer-close',
  summary: 'Push the open drawer shut.',
  paramNames: ['drawer_x', 'drawer_y', 'drawer_z'],
  randomBox: { low: [-0.1, 0.9, 0], high: [0.1, 0.9, 0] },
  handInit: [0, 0.6, 0.2],
  goalBox: { low: [-0.1, 0.74, 0.09], high: [0.1, 0.74, 0.09] },
  scene: (p) => ({ ...drawerScene([p[0], p[1], p[2]], OPENED, [p[0], p[1] - 0.16, p[2] + DRAWER.drawerHeight]), observed: [{ body: 'drawer', offset: OBSERVED }] }),
  successThreshold: SUCCESS_RADIUS,
  evaluate(s) {
    const handle = s.objects[0], handleInit = s.objectsInit[0];
    const handleToGoal = distance(handle, s.goal);
    const inPlace = tol(handleToGoal, 0, TARGET_RADIUS, Math.abs(distance(handleInit, s.goal) - TARGET_RADIUS), 'long_tail');
    const tcpToHandle = distance(handle, s.tcp);
    const reach = tol(tcpToHandle, 0, HANDLE_REACH_RADIUS, Math.abs(distance(handleInit, s.initTcp) - HANDLE_REACH_RADIUS), 'gaussian');
    // Only a closing gripper earns the reach: MetaWorld's reward is 0 whenever a[3] <= 0, short of success.
    const reachAndClose = hamacher(reach, Math.min(Math.max(0, s.action[3]), 1));
    const success = handleToGoal <= SUCCESS_RADIUS;
    return {
      reward: 10 * (success ? 1 : hamacher(reachAndClose, inPlace)),
      success,
      components: {
        nearObject: tcpToHandle <= 0.01 ? 1 : 0, graspSuccess: 1, graspReward: reachAndClose, inPlaceReward: inPlace, objToTarget: handleToGoal,
        tcpToHandle, drawerTravel: s.joints.drawerSlide,
      },
    };
  },
  // Drop in front of the drawer's front plate and push it home.
  expert(obs, goal) {
    const hand = obs, handle: Vec3 = [obs[4], obs[5], obs[6] - OBSERVED_ABOVE_HANDLE];
    const start: Vec3 = [handle[0], handle[1] - 0.05, handle[2] + TCP_BELOW_HAND];
    const inFront = hand[1] < handle[1] - 0.02;
    if (!inFront || (Math.abs(hand[0] - start[0]) > 0.01 && hand[2] > start[2] + 0.01)) {
      return moveHandTowards(hand, [start[0], start[1], Math.max(hand[2], handle[2] + 0.1)], 1);
    }
    if (hand[2] - start[2] > 0.005) return moveHandTowards(hand, start, 1);
    return moveHandTowards(hand, [goal[0], goal[1] + 0.05, start[2]], 1);
  },
};
