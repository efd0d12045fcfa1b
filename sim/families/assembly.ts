// assembly: pick the nut up by its handle and drop its ring over the peg.

import type { TaskFamily } from '../family.ts';
import { funnelFloor, handleGraspScore, quatScore, tol } from '../rewards.ts';
import { carryGently, graspAndCarry, gripPointOnBar } from '../experts.ts';
import { type Quat, type Vec3, add, rotate, sub } from '../vec.ts';
import { NUT, NUT_HANDLE_GRASP, PEG_POST, nut, pegPost } from '../fixtures/nut-peg.ts';

/** MetaWorld's upright nut, a quarter turn about z (0.707 for sqrt(1/2)). */
const IDEAL_QUAT: Quat = [0.707, 0, 0, 0.707];
/** Half of MetaWorld's WRENCH_HANDLE_LENGTH: a grip this close to the handle's centre along x counts as centred. */
const HANDLE_HALF_LENGTH = 0.01;
const CAGING = { objectReachRadius: 0.01, objectRadius: 0.015, padSuccessThreshold: 0.02, xzThreshold: 0.01 } as const;


/**
 * MetaWorld's assembly in-place score: the ring's centre brought into a funnel over the peg (a target
 * height that falls from 0.2 m far away to 0 within 1 cm of the peg's axis, 2 cm once the ring is on
 * it), a tenth for lifting at all; and whether the ring is on the peg (within 2 cm of its axis, below its top).
 */
function ringOnPeg(ring: Vec3, target: Vec3): { inPlace: number; success: boolean } {
  const error = sub(target, ring);
  const radius = Math.hypot(error[0], error[1]);
  const success = radius < 0.02 && error[2] > 0;
  const threshold = success ? 0.02 : 0.01;
  const targetHeight = funnelFloor(radius, threshold, 0.02, 0.2);
  const heightError = targetHeight - ring[2];
  const lifted = ring[2] > 0.02 || radius < threshold;
  const inPlace = 0.1 * (lifted ? 1 : 0) + 0.9 * tol(Math.hypot(error[0], error[1], 3 * heightError), 0, 0.02, 0.4, 'long_tail');
  return { inPlace, success };
}

export const assembly: TaskFamily = {
  name: 'assembly',
  summary: 'Pick the nut up by its handle and put it over the peg.',
  paramNames: ['nut_x', 'nut_y', 'nut_z', 'peg_x', 'peg_y', 'peg_z'],
  randomBox: { low: [0, 0.6, 0.02, -0.1, 0.75, 0.1], high: [0, 0.6, 0.02, 0.1, 0.85, 0.1] },
  reject: (p) => Math.hypot(p[0] - p[3], p[1] - p[4]) < 0.1,
  handInit: [0, 0.6, 0.2],
  goalBox: { low: [-0.1, 0.75, 0.1], high: [0.1, 0.85, 0.1] },
  scene(p) {
    const goal: Vec3 = [p[3], p[4], p[5]];
    return {
      // The ring rests on the table (MetaWorld's is dropped from 0.02 m); the peg's top is the goal.
      bodies: [nut([p[0], p[1], NUT.tubeRadius + 0.0005]), pegPost([goal[0], goal[1], goal[2] - PEG_POST.height])],
      observed: [{ body: 'nut', offset: NUT.handle }],
      sites: { ringCentre: { body: 'nut' } },
      goal,
    };
  },
  successThreshold: 0.02,
  // MetaWorld's obj_init_pos is the ring's centre, where the caging margins start.
  episodeValues: (s) => ({ ringInitX: s.sites.ringCentre[0], ringInitY: s.sites.ringCentre[1], ringInitZ: s.sites.ringCentre[2] }),
  evaluate(s) {
    const handle = s.objects[0], ring = s.sites.ringCentre;
    const ringInit: Vec3 = [s.episode.ringInitX, s.episode.ringInitY, s.episode.ringInitZ];
    const upright = quatScore(s.objectQuats[0], IDEAL_QUAT, 0.4);
    const grab = handleGraspScore(s, handle, ringInit, HANDLE_HALF_LENGTH, { ...CAGING, density: 'medium' });
    const { inPlace, success } = ringOnPeg(ring, s.goal);
    return {
      reward: success ? 10 : (2 * grab + 6 * inPlace) * upright,
      success,
      components: { nearObject: upright, graspSuccess: grab >= 0.5 ? 1 : 0, graspReward: grab, inPlaceReward: inPlace, objToTarget: 0, ringToPegXy: Math.hypot(ring[0] - s.goal[0], ring[1] - s.goal[1]) },
    };
  },
  // Grasp the handle, lift the ring over the peg's top, bring it over the peg and lower it down the
  // peg; carried gently, so the ring does not swing round the grip.
  expert(obs, goal) {
    const q: Quat = [obs[7], obs[8], obs[9], obs[10]];
    const handle: Vec3 = [obs[4], obs[5], obs[6]];
    const ring = add(handle, rotate(q, [-NUT.handle[0], -NUT.handle[1], -NUT.handle[2]]));
    const grip = gripPointOnBar(obs, handle, rotate(q, [0, 1, 0]), NUT.handleHalfLength);
    const view = Float32Array.from(obs);
    view.set(grip, 4);
    const clearZ = goal[2] + NUT.tubeRadius + 0.03;
    const ringToPeg = Math.hypot(ring[0] - goal[0], ring[1] - goal[1]);
    let ringTo: Vec3;
    if (ringToPeg < 0.006 || (ringToPeg < 0.015 && ring[2] < clearZ - 0.01)) ringTo = [goal[0], goal[1], goal[2] - 0.05];
    else if (ring[2] < clearZ - 0.01 && ringToPeg > 0.03) ringTo = [ring[0], ring[1], clearZ + 0.01];
    else ringTo = [goal[0], goal[1], clearZ + 0.01];
    return carryGently(obs, graspAndCarry(view, add(ringTo, sub(grip, ring)), NUT_HANDLE_GRASP));
  },
};
