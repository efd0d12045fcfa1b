// soccer: get the ball into the goal, whose mouth faces the robot.

import { type TaskFamily, rejectCloserInXy } from '../family.ts';
import { padCagingScore, tol } from '../rewards.ts';
import { type GraspProfile, graspAndCarry } from '../experts.ts';
import { type Vec3, distance, weightedDistance } from '../vec.ts';
import { SOCCER_BALL, SOCCER_BALL_RADIUS, SOCCER_GOAL, soccerGoal } from '../fixtures/soccer.ts';
import { placeObject } from '../scene.ts';

const TARGET_RADIUS = 0.07;
/** MetaWorld's OBJ_RADIUS for soccer's caging score. */
const OBJECT_RADIUS = 0.013;
/** MetaWorld weighs the ball's x error three times: it must go between the posts. */
const X_SCALING: Vec3 = [3, 1, 1];

/** The ball squeezed between the pads leaves 0.064 m between finger centres. */
const BALL_GRASP: GraspProfile = { closedOpening: 0.64, closingBelow: 0.9, restHeight: SOCCER_BALL_RADIUS };

export const soccer: TaskFamily = {
  name: 'soccer',
  summary: 'Get the soccer ball into the goal.',
  paramNames: ['ball_x', 'ball_y', 'ball_z', 'goal_x', 'goal_y', 'goal_z'],
  randomBox: { low: [-0.1, 0.6, 0.03, -0.1, 0.8, 0], high: [0.1, 0.7, 0.03, 0.1, 0.9, 0] },
  reject: rejectCloserInXy(0.15),
  handInit: [0, 0.6, 0.2],
  goalBox: { low: [-0.1, 0.8, 0], high: [0.1, 0.9, 0] },
  scene(p) {
    const goal: Vec3 = [p[3], p[4], p[5]];
    return {
      // MetaWorld puts the ball's centre at z = 0.03; it drops onto the table (radius 0.026) as it settles.
      bodies: [placeObject(SOCCER_BALL, [p[0], p[1], p[2]]), soccerGoal(goal)],
      observed: [{ body: SOCCER_BALL.name }],
      goal,
    };
  },
  successThreshold: TARGET_RADIUS,
  evaluate(s) {
    const ball = s.objects[0], ballInit = s.objectsInit[0];
    const tcpToBall = distance(ball, s.tcp);
    const scaledToTarget = weightedDistance(ball, s.goal, X_SCALING);
    // MetaWorld's margin is how far the ball has moved so far (scaled): 0 at the start, so in-place is 0 there.
    let inPlace = tol(scaledToTarget, 0, TARGET_RADIUS, weightedDistance(ball, ballInit, X_SCALING), 'long_tail');
    // Past the line 0.1 m in front of the goal point but more than 0.1 m to its side: the ball went wide.
    const goalLine = s.goal[1] - 0.1;
    if (ball[1] > goalLine && Math.abs(ball[0] - s.goal[0]) > 0.1) inPlace = Math.min(Math.max(inPlace - 2 * ((ball[1] - goalLine) / (1 - goalLine)), 0), 1);
    const grasp = padCagingScore(s, ball, { objectRadius: OBJECT_RADIUS, padSuccessMargin: 0.05, xzSuccessMargin: 0.005, gripSuccessMargin: OBJECT_RADIUS + 0.01 });
    const ballToTarget = distance(ball, s.goal);
    return {
      reward: scaledToTarget < TARGET_RADIUS ? 10 : 3 * grasp + 6.5 * inPlace,
      success: ballToTarget <= TARGET_RADIUS,
      components: {
        nearObject: tcpToBall <= 0.03 ? 1 : 0,
        graspSuccess: s.touchingMainObject && s.gripperOpening > 0 && ball[2] - 0.02 > ballInit[2] ? 1 : 0,
        graspReward: grasp, inPlaceReward: inPlace, objToTarget: ballToTarget, tcpToObject: tcpToBall, scaledBallToTarget: scaledToTarget,
      },
    };
  },
  // Grasp the ball, lift it just off the table and carry it in between the posts, 3 cm behind the
  // goal line's centre (well inside the 7 cm success radius, clear of the net).
  expert(obs, goal) {
    const inside: Vec3 = [goal[0], goal[1] - 0.02, SOCCER_BALL_RADIUS + 0.012];
    // Enter the mouth straight along y: first line up in x in front of it.
    const ball: Vec3 = [obs[4], obs[5], obs[6]];
    const lined = Math.abs(ball[0] - goal[0]) < 0.01 || ball[1] > goal[1] + SOCCER_GOAL.mouthY - 0.01;
    const carryTo: Vec3 = lined ? inside : [goal[0], Math.min(ball[1], goal[1] + SOCCER_GOAL.mouthY - 0.04), inside[2]];
    return graspAndCarry(obs, carryTo, BALL_GRASP);
  },
};
