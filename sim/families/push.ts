// push: move the puck along the table to a goal at puck height.

import type { TaskFamily } from '../family.ts';
import { graspScore, tol } from '../rewards.ts';
import { distance } from '../vec.ts';
import { PUCK, PUCK_BOX, graspAndCarry, puckLayout, rejectNearGoal } from './puck.ts';

const TARGET_RADIUS = 0.05;

export const push: TaskFamily = {
  name: 'push',
  summary: 'Push the puck across the table to a goal position.',
  paramNames: ['puck_x', 'puck_y', 'puck_z', 'goal_x', 'goal_y', 'goal_z'],
  // The goal lies on the table at the puck's height.
  randomBox: { low: [...PUCK_BOX.low, -0.1, 0.8, PUCK_BOX.low[2]], high: [...PUCK_BOX.high, 0.1, 0.9, PUCK_BOX.high[2]] },
  reject: rejectNearGoal,
  handInit: [0, 0.6, 0.2],
  goalBox: { low: [-0.1, 0.8, PUCK_BOX.low[2]], high: [0.1, 0.9, PUCK_BOX.high[2]] },
  objects: [PUCK],
  layout: puckLayout,
  successThreshold: TARGET_RADIUS,
  evaluate(s) {
    const puck = s.objects[0], puckInit = s.objectsInit[0];
    const tcpToPuck = distance(s.tcp, puck);
    const puckToGoal = distance(puck, s.goal);
    const inPlace = tol(puckToGoal, 0, TARGET_RADIUS, distance(puckInit, s.goal), 'long_tail');
    const grasp = graspScore(
      { leftPadY: s.leftPadY, rightPadY: s.rightPadY, tcp: s.tcp, initTcp: s.initTcp, object: puck, objectInit: puckInit, gripperCommand: s.action[3] },
      { objectReachRadius: 0.01, objectRadius: 0.015, padSuccessThreshold: 0.05, xzThreshold: 0.005, density: 'high' },
    );
    let reward = 2 * grasp;
    if (tcpToPuck < 0.02 && s.gripperOpening > 0) reward = 1 + 2 * reward + 5 * inPlace;
    const success = puckToGoal <= TARGET_RADIUS;
    if (success) reward = 10;
    return {
      reward,
      success,
      components: {
        tcpToObject: tcpToPuck, objectToGoal: puckToGoal, graspReward: grasp, inPlaceReward: inPlace,
        nearObject: tcpToPuck <= 0.03 ? 1 : 0,
        graspSuccess: s.gripperOpening > 0 && puck[2] - 0.02 > puckInit[2] ? 1 : 0,
      },
    };
  },
  // Grasp the puck and slide it, held just above the table, onto the goal.
  expert: (obs, goal) => graspAndCarry(obs, [goal[0], goal[1], goal[2] + 0.01]),
};
