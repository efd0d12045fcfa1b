// dial-turn: turn the dial on the table about a quarter turn and more, pushing its knob round.

import type { Action, TaskFamily } from '../family.ts';
import { type TurnProfile, turnArmExpert } from '../experts.ts';
import { hamacher, tol } from '../rewards.ts';
import { DIAL, dialScene } from '../fixtures/dial.ts';
import { type Vec3, add, distance } from '../vec.ts';

const GOAL_OFFSET: Vec3 = [0, 0.03, 0.03];
const TARGET_RADIUS = 0.07;
/** MetaWorld's push position: the TCP this far from the observed rim point (beside and above the knob). */
const PUSH_FROM_RIM: Vec3 = [0.05, 0.02, 0.09];
const PUSH_RADIUS = 0.005;

export const dialTurn: TaskFamily = {
  name: 'dial-turn',
  summary: 'Turn the dial by pushing its knob round.',
  paramNames: ['dial_x', 'dial_y', 'dial_z'],
  randomBox: { low: [-0.1, 0.7, 0], high: [0.1, 0.8, 0] },
  handInit: [0, 0.6, 0.2],
  goalBox: { low: [-0.1, 0.73, 0.03], high: [0.1, 0.83, 0.03] },
  scene: (p) => dialScene([p[0], p[1], p[2]], 0, add([p[0], p[1], p[2]], GOAL_OFFSET)),
  successThreshold: TARGET_RADIUS,
  // MetaWorld fixes the push position at reset and measures both margins from it.
  episodeValues: (s) => {
    const [x, y, z] = add(s.objectsInit[0], PUSH_FROM_RIM);
    return { dialPushX: x, dialPushY: y, dialPushZ: z };
  },
  evaluate(s) {
    const rim = s.objects[0];
    const pushInit: Vec3 = [s.episode.dialPushX, s.episode.dialPushY, s.episode.dialPushZ];
    const rimToGoal = distance(rim, s.goal);
    const inPlace = tol(rimToGoal, 0, TARGET_RADIUS, Math.abs(distance(pushInit, s.goal) - TARGET_RADIUS), 'long_tail');
    const tcpToPush = distance(add(rim, PUSH_FROM_RIM), s.tcp);
    const near = tol(tcpToPush, 0, PUSH_RADIUS, Math.abs(distance(pushInit, s.initTcp) - PUSH_RADIUS), 'gaussian');
    const reach = hamacher(near, Math.min(Math.max(0, s.action[3]), 1));
    return {
      reward: 10 * hamacher(reach, inPlace),
      success: rimToGoal <= TARGET_RADIUS,
      components: {
        nearObject: tcpToPush <= 0.01 ? 1 : 0, graspSuccess: 1, graspReward: reach, inPlaceReward: inPlace, objToTarget: rimToGoal,
        tcpToPush, dialAngle: s.joints.dialAxis,
      },
    };
  },
  expert: dialExpert,
};

/** Dial angle from its quaternion (obs[7:11], w x y z): it turns about +z. */
const dialAngle = (obs: ArrayLike<number>): number => 2 * Math.atan2(obs[10], obs[7]);

/**
 * Closed fingers push the knob's near arm (the one towards the robot) counter-clockwise, 3.4 cm out
 * from the axis; the fingers (0.004..0.048 m below the hand) overlap the knob, not the dial's base.
 * Success needs about 1.37 rad.
 */
const TURN: Omit<TurnProfile, 'pushZ' | 'travelZ'> = { radius: 0.034, behind: DIAL.knobHalfExtents[0] + 0.016, lead: 0.007, turnTo: 2 };

function dialExpert(obs: Float32Array): Action {
  const angle = dialAngle(obs);
  const axis: Vec3 = [obs[4] - DIAL.radius * Math.sin(angle), obs[5] + DIAL.radius * Math.cos(angle), obs[6]];
  return turnArmExpert(obs, axis, angle, { ...TURN, pushZ: axis[2] + 0.09, travelZ: axis[2] + 0.15 });
}
