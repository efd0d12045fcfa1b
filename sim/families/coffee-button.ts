// coffee-button: push the coffee machine's button 3 cm in, from the front.

import type { Action, TaskFamily } from '../family.ts';
import { moveHandTowards } from '../experts.ts';
import { GRIPPER, fingerTarget } from '../gripper.ts';
import { buttonEvaluation, openHandPressReward } from '../rewards.ts';
import { COFFEE_MACHINE, coffeeScene } from '../fixtures/coffee-machine.ts';
import type { Vec3 } from '../vec.ts';

/** MetaWorld's max_dist: the button's travel to the goal, and the press score's margin. */
const MAX_DIST = 0.03;
const SUCCESS_RADIUS = 0.02;
const NEAR_BUTTON = 0.05;
const { buttonStart, mugPlace } = COFFEE_MACHINE;

export const coffeeButton: TaskFamily = {
  name: 'coffee-button',
  summary: 'Push the button on the front of the coffee machine in.',
  paramNames: ['machine_x', 'machine_y', 'machine_z'],
  randomBox: { low: [-0.1, 0.8, -0.001], high: [0.1, 0.9, 0.001] },
  handInit: [0, 0.4, 0.2],
  // MetaWorld's goal space: the random box moved by (0, -0.19, 0.3), widened by 1 mm.
  goalBox: { low: [-0.101, 0.61, 0.298], high: [0.101, 0.71, 0.302] },
  scene: (p) => {
    const base: Vec3 = [p[0], p[1], p[2]];
    const button: Vec3 = [base[0] + buttonStart[0], base[1] + buttonStart[1], base[2] + buttonStart[2]];
    return coffeeScene(base, [base[0] + mugPlace[0], base[1] + mugPlace[1], base[2] + mugPlace[2]], [button[0], button[1] + MAX_DIST, button[2]], 'button');
  },
  successThreshold: SUCCESS_RADIUS,
  // MetaWorld's button-press reward (shared): 2 x (fingers open AND TCP near the button) + 8 x pressed
  // with the TCP within 5 cm; the press score's margin is max_dist, the button's travel to the goal.
  evaluate: (s) => buttonEvaluation(s, 1, NEAR_BUTTON, SUCCESS_RADIUS, openHandPressReward(s, NEAR_BUTTON)),
  episodeValues: () => ({ buttonToGoalInit: MAX_DIST }),
  expert: coffeeButtonExpert,
};

/** Gripper command that stands the fingers 0.035 m off the hand's centre plane: the left finger's front face leads the hand by 0.041 m. */
const PRESS_COMMAND = -0.4;
const FINGER_LEAD = fingerTarget(PRESS_COMMAND) + GRIPPER.fingerHalfExtents[1];
/** The push ends 4 mm short of the stop (the pressed score is full within 5 mm): pressed against it, the button would be squeezed between finger and stop. */
const PRESS_SHORT_OF_STOP = 0.004;
/** The hand 4.5 cm above the button's axis: its palm passes 9 mm over the button, the left finger (down to 3 mm below the axis) pushes its face. */
const PRESS_ABOVE_AXIS = 0.045;

/**
 * Come in front of the button at its height with the fingers part open, then push it in with the
 * left (+y) finger's front face to 4 mm short of its stop (the TCP stays within 5 cm of the button,
 * as MetaWorld's press bonus asks).
 */
function coffeeButtonExpert(obs: Float32Array, goal: Vec3): Action {
  const hand: Vec3 = [obs[0], obs[1], obs[2]];
  const button: Vec3 = [obs[4], obs[5], obs[6]];
  // The goal is level with the button's axis (read from it, not from the button, which a push may tip).
  const pressZ = goal[2] + PRESS_ABOVE_AXIS;
  const standOffY = goal[1] - MAX_DIST - FINGER_LEAD - 0.03;
  const lined = Math.abs(hand[0] - button[0]) < 0.006 && Math.abs(hand[2] - pressZ) < 0.006;
  if (!lined) return moveHandTowards(hand, [button[0], Math.min(hand[1], standOffY), pressZ], PRESS_COMMAND);
  const action = moveHandTowards(hand, [button[0], goal[1] - PRESS_SHORT_OF_STOP - FINGER_LEAD, pressZ], PRESS_COMMAND);
  // Slow to 0.32 m/s from 1 cm before the button: at full speed the blow throws it against its stop.
  if (hand[1] + FINGER_LEAD > button[1] - 0.01) action[1] = Math.min(action[1], 0.4);
  return action;
}
