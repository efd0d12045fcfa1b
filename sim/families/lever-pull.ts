// lever-pull: swing the lever up from lying level to standing vertical.

import type { Action, TaskFamily } from '../family.ts';
import { moveHandTowards } from '../experts.ts';
import { hamacher, tol } from '../rewards.ts';
import { LEVER, leverScene } from '../fixtures/lever.ts';
import { type Vec3, add, distance, weightedDistance } from '../vec.ts';

const SUCCESS_ANGLE = Math.PI / 24;
const UPRIGHT = Math.PI / 2;
/**
 * MetaWorld's "ready to lift" point: the hand this far behind and below the lever's end (so the
 * Sawyer's shoulder, not its fingers, gets under it), with the y error weighed a quarter of x and z.
 */
const READY_OFFSET: Vec3 = [0, 0.055, 0.07];
const READY_SCALE: Vec3 = [4, 1, 4];
/**
 * Where our expert holds the ball for the lift, relative to the ball: the palm's front top edge
 * (0.058 m ahead of and 0.02 m above the hand point, sim/scene.ts) under the ball's near side, 35
 * degrees below its centre. From there a lift pushes the ball along its arc all the way up (the
 * contact normal stays within 55 degrees of the arc's direction), and the wrist above the palm stays
 * clear of the ball.
 */
const HOLD_OFFSET: Vec3 = [0, 0.075, 0.045];

export const leverPull: TaskFamily = {
  name: 'lever-pull',
  summary: 'Swing the lever up to vertical.',
  paramNames: ['lever_x', 'lever_y', 'lever_z'],
  randomBox: { low: [-0.1, 0.7, 0], high: [0.1, 0.8, 0] },
  handInit: [0, 0.4, 0.2],
  goalBox: { low: [0.02, 0.7, 0.45], high: [0.22, 0.8, 0.45] },
  scene: (p) => leverScene([p[0], p[1], p[2]], 0, [p[0] + LEVER.pivot[0], p[1] + LEVER.pivot[1], p[2] + LEVER.pivot[2] + LEVER.length]),
  successThreshold: SUCCESS_ANGLE,
  successUnit: 'rad',
  evaluate(s) {
    const lever = s.objects[0], leverInit = s.objectsInit[0];
    // Measured from the hand (obs[:3]) now, from the TCP at the start, as MetaWorld does.
    const shoulderToLever = weightedDistance(add(s.hand, READY_OFFSET), lever, READY_SCALE);
    const ready = tol(shoulderToLever, 0, 0.02, weightedDistance(add(s.initTcp, READY_OFFSET), leverInit, READY_SCALE), 'long_tail');
    const angle = s.joints.leverAxis;
    const angleError = Math.abs(angle - UPRIGHT);
    // Reported, not rewarded (MetaWorld's in_place_reward): within pi/48 of upright, 0.1 at 15 degrees up.
    const engagement = tol(angleError, 0, Math.PI / 48, Math.PI / 2 - Math.PI / 12, 'long_tail');
    const leverToGoal = distance(lever, s.goal);
    const inPlace = tol(leverToGoal, 0, 0.04, distance(leverInit, s.goal), 'long_tail');
    return {
      reward: 10 * hamacher(ready, inPlace),
      success: angleError <= SUCCESS_ANGLE,
      components: {
        nearObject: shoulderToLever < 0.03 ? 1 : 0, graspSuccess: ready > 0.9 ? 1 : 0, graspReward: ready, inPlaceReward: engagement, objToTarget: shoulderToLever,
        angleError, leverToGoal, leverInPlaceReward: inPlace, leverAngle: angle,
      },
    };
  },
  expert: leverExpert,
};

/** Lever angle from the ball's quaternion (obs[7:11], w x y z): the arm turns about -x. */
export const leverAngle = (obs: ArrayLike<number>): number => -2 * Math.atan2(obs[8], obs[7]);

/** The hand leads the ball by this angle along its arc, so the palm keeps pressing it. */
const LEAD = 0.15;
/** Aim just short of upright: the arm coasts onto its stop, and the palm never squeezes the ball against it. */
const PUSH_TO = UPRIGHT - 0.04;
/**
 * A lever at rest is asleep, and in this Rapier build the kinematic palm passes through a sleeping
 * body without waking it; only a dynamic body (a finger) does. So a lever lying level is first
 * touched with the closed fingers from above its near side (POKE), then the hand backs off (BACK),
 * drops behind it and comes in under it to lift. A woken lever sleeps again after about 0.5 s at
 * rest; the way round takes about 0.25 s.
 */
const POKE: Vec3 = [0, -0.038, 0.045];
/** As far back as the workspace (hand y >= 0.4) allows for the nearest levers; the palm clears the ball by 1 cm. */
const BACK_Y = -0.098;
const LOW_Z = -HOLD_OFFSET[2] - 0.02;

function leverExpert(obs: Float32Array): Action {
  const hand: Vec3 = [obs[0], obs[1], obs[2]];
  const ball: Vec3 = [obs[4], obs[5], obs[6]];
  const angle = leverAngle(obs);
  const pivot: Vec3 = [ball[0], ball[1] + LEVER.length * Math.cos(angle), ball[2] - LEVER.length * Math.sin(angle)];
  const hold = (a: number): Vec3 => [pivot[0] - HOLD_OFFSET[0], pivot[1] - LEVER.length * Math.cos(a) - HOLD_OFFSET[1], pivot[2] + LEVER.length * Math.sin(a) - HOLD_OFFSET[2]];
  const at = (dy: number, dz: number): Vec3 => [ball[0], ball[1] + dy, ball[2] + dz];
  const rel: Vec3 = [hand[0] - ball[0], hand[1] - ball[1], hand[2] - ball[2]];
  const alignedX = Math.abs(rel[0]) < 0.012;
  // Under the ball's near side: lift along the arc (the closed fingers stay clear of the rod).
  const now = hold(angle);
  if (Math.abs(hand[0] - now[0]) < 0.01 && Math.abs(hand[1] - now[1]) < 0.015 && hand[2] - now[2] > -0.035 && hand[2] - now[2] < 0.03) {
    return moveHandTowards(hand, hold(Math.min(angle + LEAD, PUSH_TO)), 1);
  }
  if (angle > 0.05) return moveHandTowards(hand, [now[0], now[1], now[2] - 0.02], 1);
  // Behind the ball and low: come in under it.
  if (alignedX && rel[1] < BACK_Y + 0.01 && rel[2] < LOW_Z + 0.005) return moveHandTowards(hand, [now[0], now[1], now[2] - 0.02], 1);
  // Backed off behind the ball: drop.
  if (alignedX && Math.abs(rel[1] - BACK_Y) < 0.006) return moveHandTowards(hand, at(BACK_Y, LOW_Z), 1);
  // Fingers down beside the ball's near side (the poke made): back off at that height.
  if (alignedX && rel[1] < POKE[1] + 0.005 && rel[1] > BACK_Y && rel[2] < POKE[2] + 0.005 && rel[2] > POKE[2] - 0.015) return moveHandTowards(hand, at(BACK_Y, POKE[2]), 1);
  // Otherwise rise clear of the lever, cross over to above the poke point and come down onto it.
  if (Math.hypot(rel[0] - POKE[0], rel[1] - POKE[1]) > 0.008) {
    if (rel[2] < 0.08) return moveHandTowards(hand, [hand[0], hand[1], ball[2] + 0.1], 1);
    return moveHandTowards(hand, at(POKE[1], Math.max(rel[2], 0.1)), 1);
  }
  return moveHandTowards(hand, at(POKE[1], POKE[2]), 1);
}
