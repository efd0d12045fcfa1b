// pick-place: grasp the puck, lift it and place it at a goal in the air.

import type { TaskFamily } from '../family.ts';
import { graspScore, hamacher, tol } from '../rewards.ts';
import { distance } from '../vec.ts';
import { PUCK, PUCK_BOX, graspAndCarry, puckLayout, rejectNearGoal } from './puck.ts';

const TARGET_RADIUS = 0.05;
const SUCCESS_RADIUS = 0.07;

export const pickPlace: TaskFamily = {
  name: 'pick-place',
  summary: 'Pick the puck up and hold it at a goal position in the air.',
  paramNames: ['puck_x', 'puck_y', 'puck_z', 'goal_x', 'goal_y', 'goal_z'],
  randomBox: { low: [...PUCK_BOX.low, -0.1, 0.8, 0.05], high: [...PUCK_BOX.high, 0.1, 0.9, 0.3] },
  reject: rejectNearGoal,
  handInit: [0, 0.6, 0.2],
  goalBox: { low: [-0.1, 0.8, 0.05], high: [0.1, 0.9, 0.3] },
  objects: [PUCK],
  layout: puckLayout,
  successThreshold: SUCCESS_RADIUS,
  evaluate(s) {
    const puck = s.objects[0], puckInit = s.objectsInit[0];
    const tcpToPuck = distance(s.tcp, puck);
    const puckToGoal = distance(puck, s.goal);
    const inPlace = tol(puckToGoal, 0, TARGET_RADIUS, distance(puckInit, s.goal), 'long_tail');
    const grasp = graspScore(
      { leftPadY: s.leftPadY, rightPadY: s.rightPadY, tcp: s.tcp, initTcp: s.initTcp, object: puck, objectInit: puckInit, gripperCommand: s.action[3] },
      { objectRadius: 0.015, padSuccessThreshold: 0.05, xzThreshold: 0.005 },
    );
    let reward = hamacher(grasp, inPlace);
    if (tcpToPuck < 0.02 && s.gripperOpening > 0 && puck[2] - 0.01 > puckInit[2]) reward += 1 + 5 * inPlace;
    if (puckToGoal < TARGET_RADIUS) reward = 10;
    return {
      reward,
      success: puckToGoal <= SUCCESS_RADIUS,
      components: {
        tcpToObject: tcpToPuck, objectToGoal: puckToGoal, graspReward: grasp, inPlaceReward: inPlace,
        nearObject: tcpToPuck <= 0.03 ? 1 : 0,
        graspSuccess: s.gripperOpening > 0 && puck[2] - 0.02 > puckInit[2] ? 1 : 0,
      },
    };
  },
  expert: (obs, goal) => graspAndCarry(obs, goal),
};
