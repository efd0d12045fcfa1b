// button-press-topdown: press the spring-loaded button on top of the box down, from above.

import type { Action, TaskFamily } from '../family.ts';
import { moveHandTowards } from '../experts.ts';
import { GRIPPER } from '../gripper.ts';
import { hamacher, tol } from '../rewards.ts';
import { BUTTON, buttonScene } from '../fixtures/button.ts';
import { type Vec3, distance } from '../vec.ts';

/** The goal (MetaWorld's "hole" site) sits 0.1 m above the box's base point; the released cap is 0.093 m above it. */
const GOAL_ABOVE_BASE = 0.1;
const SUCCESS_DEPTH = 0.024;

export const buttonPressTopdown: TaskFamily = {
  name: 'button-press-topdown',
  summary: 'Press the button on top of the box down from above.',
  paramNames: ['box_x', 'box_y', 'box_z'],
  randomBox: { low: [-0.1, 0.8, 0.115], high: [0.1, 0.9, 0.115] },
  handInit: [0, 0.4, 0.2],
  goalBox: { low: [-0.1, 0.8, 0.215], high: [0.1, 0.9, 0.215] },
  scene: (p) => buttonScene([p[0], p[1], p[2]], [p[0], p[1], p[2] + GOAL_ABOVE_BASE]),
  successThreshold: SUCCESS_DEPTH,
  evaluate(s) {
    const top = s.objects[0];
    const tcpToButton = distance(top, s.tcp);
    const depthError = Math.abs(s.goal[2] - top[2]);
    // MetaWorld's reach margin is the distance from the TCP's start to where the button is now.
    const near = tol(tcpToButton, 0, 0.01, distance(top, s.initTcp), 'long_tail');
    const pressed = tol(depthError, 0, 0.005, s.episode.buttonToGoalInit, 'long_tail');
    const closed = 1 - s.gripperOpening;
    let reward = 5 * hamacher(closed, near);
    if (tcpToButton <= 0.03) reward += 5 * pressed;
    return {
      reward,
      success: depthError <= SUCCESS_DEPTH,
      components: {
        nearObject: tcpToButton <= 0.05 ? 1 : 0, graspSuccess: s.gripperOpening > 0 ? 1 : 0, graspReward: near, inPlaceReward: pressed, objToTarget: depthError,
        buttonTravel: s.joints.buttonTravel,
      },
    };
  },
  // MetaWorld's _obj_to_target_init: how far the released button sits above the goal.
  episodeValues: (initial) => ({ buttonToGoalInit: Math.abs(initial.goal[2] - initial.objects[0][2]) }),
  expert: buttonExpert,
};

/** Fingertips below the hand point. */
const FINGERTIPS_BELOW_HAND = GRIPPER.fingerDrop + GRIPPER.fingerHalfExtents[2];

/**
 * Close the fingers, come over the button 3 cm above its cap, and press straight down with the
 * fingertips to 4 mm short of the plunger's stop (never into it: the kinematic hand would jam the
 * fingers against the stop).
 */
function buttonExpert(obs: Float32Array, goal: Vec3): Action {
  const hand: Vec3 = [obs[0], obs[1], obs[2]];
  const top: Vec3 = [obs[4], obs[5], obs[6]];
  const released = goal[2] - GOAL_ABOVE_BASE + BUTTON.top;
  const pressZ = released - BUTTON.travel + 0.004 + FINGERTIPS_BELOW_HAND;
  if (Math.hypot(hand[0] - top[0], hand[1] - top[1]) > 0.008) return moveHandTowards(hand, [top[0], top[1], Math.max(hand[2], released + FINGERTIPS_BELOW_HAND + 0.03)], 1);
  return moveHandTowards(hand, [top[0], top[1], pressZ], 1);
}
