// window-open: slide the window's sash 0.2 m to the right by pushing its handle.

import { type Action, type StepState, type TaskFamily, moveHandTowards } from '../family.ts';
import { GRIPPER } from '../gripper.ts';
import { type Sigmoid, hamacher, tol } from '../rewards.ts';
import { WINDOW, windowScene } from '../fixtures/window.ts';
import { type Vec3, distance } from '../vec.ts';

const OPEN_BY = 0.2;
const TARGET_RADIUS = 0.05;
const HANDLE_RADIUS = 0.02;

export const windowOpen: TaskFamily = {
  name: 'window-open',
  summary: 'Slide the window open by pushing its handle to the right.',
  paramNames: ['window_x', 'window_y', 'window_z'],
  randomBox: { low: [-0.1, 0.7, 0.16], high: [0.1, 0.9, 0.16] },
  handInit: [0, 0.4, 0.2],
  goalBox: { low: [0.1, 0.7, 0.16], high: [0.3, 0.9, 0.16] },
  scene: (p) => windowScene([p[0], p[1], p[2]], 0, 'open', [p[0] + OPEN_BY, p[1], p[2]]),
  successThreshold: TARGET_RADIUS,
  evaluate: (s) => windowTerms(s, 'long_tail'),
  expert: (obs, goal) => windowExpert(obs, goal, 'open'),
};

/** Reward and success shared by window-open and window-close: the handle's x error and a reach to the handle. */
export function windowTerms(s: StepState, reachSigmoid: Sigmoid) {
  const handle = s.objects[0], handleInit = s.objectsInit[0];
  const handleToGoalX = Math.abs(handle[0] - s.goal[0]);
  const inPlace = tol(handleToGoalX, 0, TARGET_RADIUS, Math.abs(Math.abs(handleInit[0] - s.goal[0]) - TARGET_RADIUS), 'long_tail');
  const tcpToHandle = distance(s.tcp, handle);
  const reach = tol(tcpToHandle, 0, HANDLE_RADIUS, Math.abs(distance(handleInit, s.initTcp) - HANDLE_RADIUS), reachSigmoid);
  return {
    reward: 10 * hamacher(reach, inPlace),
    success: handleToGoalX <= TARGET_RADIUS,
    components: { handleToGoalX, tcpToHandle, reachReward: reach, inPlaceReward: inPlace, windowTravel: s.joints.windowSlide },
  };
}

/** Hand centre to bar centre when the closed fingers (x half-extent 0.012 m) touch the bar. */
const FINGER_TO_BAR = GRIPPER.fingerHalfExtents[0] + WINDOW.barRadius;
/**
 * Hand height above the handle's middle: the fingers (0.004..0.048 m below the hand) push the bar's
 * upper half and its upper stand-off, the palm passes just over that stand-off (top 0.053 m up).
 * Fingers, not the palm, make the contact: they are dynamic bodies, and in this Rapier build only a
 * dynamic body wakes a sleeping sash (the kinematic palm passes through it).
 */
const PUSH_ABOVE_HANDLE = 0.06;

/**
 * Line the hand up beside the handle bar, coming in from the robot's side clear of the handle,
 * then push along the slide until the sash meets its stop (opening) or the frame (closing).
 */
export function windowExpert(obs: Float32Array, goal: Vec3, task: 'open' | 'close'): Action {
  const hand: Vec3 = [obs[0], obs[1], obs[2]];
  const dir = task === 'open' ? 1 : -1;
  const observedOffset = task === 'open' ? WINDOW.openHandle : WINDOW.closeHandle;
  const barX = obs[4] + WINDOW.bar[0] - observedOffset[0], barY = obs[5];
  const pushZ = obs[6] + PUSH_ABOVE_HANDLE;
  const preX = barX - dir * (FINGER_TO_BAR + 0.015);
  // At the end of the sash's travel (the goal, in both tasks) the bar is at goal x + bar x; stop touching it there.
  const endX = goal[0] + WINDOW.bar[0] - dir * FINGER_TO_BAR;
  const along = dir * (hand[0] - preX);
  const aligned = Math.abs(hand[1] - barY) < 0.008 && Math.abs(hand[2] - pushZ) < 0.008;
  if (aligned && along > -0.005 && along < 0.03) return moveHandTowards(hand, [endX, barY, pushZ], 1);
  if (Math.abs(hand[0] - preX) > 0.008) return moveHandTowards(hand, [preX, Math.min(hand[1], barY - 0.075), pushZ], 1);
  return moveHandTowards(hand, [preX, barY, pushZ], 1);
}
