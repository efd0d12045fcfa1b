// basketball: pick the ball up and hold it just over the hoop's ring.

import { type TaskFamily, rejectCloserInXy } from '../family.ts';
import { liftAndPlaceReward, liftedBy, objectGraspScore, tol } from '../rewards.ts';
import { type GraspProfile, graspAndCarry } from '../experts.ts';
import { type Vec3, distance, weightedDistance } from '../vec.ts';
import { BALL, BALL_RADIUS, HOOP, hoop } from '../fixtures/hoop.ts';
import { placeObject } from '../scene.ts';

const TARGET_RADIUS = 0.08;
/** MetaWorld scores the ball against a point at this height over the ring's centre, 5 cm above the ring (the hoop stands on the table). */
const SCORING_HEIGHT = 0.3;
const ABOVE_RING = SCORING_HEIGHT - HOOP.ringOffset[2];
/** ... and weighs the height error twice. */
const WEIGHT: Vec3 = [1, 1, 2];

const aboveRing = (goal: Vec3): Vec3 => [goal[0], goal[1], goal[2] + ABOVE_RING];

/** The ball squeezed between the pads leaves 0.072 m between finger centres. */
const BALL_GRASP: GraspProfile = { closedOpening: 0.72, closingBelow: 0.95, restHeight: BALL_RADIUS };

export const basketball: TaskFamily = {
  name: 'basketball',
  summary: 'Pick the ball up and bring it over the basketball hoop.',
  paramNames: ['ball_x', 'ball_y', 'ball_z', 'hoop_x', 'hoop_y', 'hoop_z'],
  randomBox: { low: [-0.1, 0.6, 0.0299, -0.1, 0.85, 0], high: [0.1, 0.7, 0.0301, 0.1, 0.9, 0] },
  reject: rejectCloserInXy(0.15),
  handInit: [0, 0.6, 0.2],
  goalBox: { low: [-0.1, 0.85 + HOOP.ringOffset[1], HOOP.ringOffset[2]], high: [0.1, 0.9 + HOOP.ringOffset[1], HOOP.ringOffset[2]] },
  scene(p) {
    const base: Vec3 = [p[3], p[4], p[5]];
    return {
      bodies: [placeObject(BALL, [p[0], p[1], p[2]]), hoop(base)],
      observed: [{ body: BALL.name }],
      goal: [base[0] + HOOP.ringOffset[0], base[1] + HOOP.ringOffset[1], base[2] + HOOP.ringOffset[2]],
    };
  },
  successThreshold: TARGET_RADIUS,
  evaluate(s) {
    const ball = s.objects[0], ballInit = s.objectsInit[0];
    // MetaWorld scores the ball against a point at z = 0.3 over the ring's centre.
    const target: Vec3 = [s.goal[0], s.goal[1], SCORING_HEIGHT];
    const ballToTarget = weightedDistance(ball, target, WEIGHT);
    const inPlace = tol(ballToTarget, 0, TARGET_RADIUS, weightedDistance(ballInit, target, WEIGHT), 'long_tail');
    const tcpToObject = distance(ball, s.tcp);
    const lifted = tcpToObject < 0.035 && liftedBy(s, 0.01);
    const grasp = lifted ? 1 : objectGraspScore(s, { objectReachRadius: 0.01, objectRadius: 0.025, padSuccessThreshold: 0.06, xzThreshold: 0.005, density: 'high' });
    return {
      reward: liftAndPlaceReward({ grasp, inPlace, lifted, atGoal: ballToTarget < TARGET_RADIUS }),
      success: ballToTarget <= TARGET_RADIUS,
      components: {
        nearObject: tcpToObject <= 0.05 ? 1 : 0, graspSuccess: liftedBy(s, 0.03) ? 1 : 0,
        graspReward: grasp, inPlaceReward: inPlace, objToTarget: ballToTarget, tcpToObject,
      },
    };
  },
  // Grasp, lift up to the scoring height well in front of the ring (a ball that starts close to the
  // hoop would rise into the ring's underside), then carry it over the ring.
  expert(obs, goal) {
    const target = aboveRing(goal);
    const low = obs[6] < target[2] - 0.02;
    const clearOfRing = goal[1] - (HOOP.ringRadius + HOOP.tubeRadius + BALL_RADIUS + 0.015);
    return graspAndCarry(obs, low ? [obs[4], Math.min(obs[5], clearOfRing), target[2]] : target, BALL_GRASP);
  },
};
