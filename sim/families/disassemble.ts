// disassemble: lift the nut by its handle up off the peg it sits on.

import type { TaskFamily } from '../family.ts';
import { handleGraspScore, quatScore, tol } from '../rewards.ts';
import { carryGently, graspAndCarry, gripPointOnBar } from '../experts.ts';
import { type Quat, type Vec3, add, distance, rotate } from '../vec.ts';
import { NUT, NUT_HANDLE_GRASP, PEG_POST, nut, pegPost } from '../fixtures/nut-peg.ts';

/** MetaWorld's upright nut, a quarter turn about z (0.707 for sqrt(1/2)). */
const IDEAL_QUAT: Quat = [0.707, 0, 0, 0.707];
/** Half of MetaWorld's WRENCH_HANDLE_LENGTH: a grip this close to the handle's centre along x counts as centred. */
const HANDLE_HALF_LENGTH = 0.01;
/** The goal: 0.15 m over the nut's drawn position; the in-place score aims the ring 0.1 m higher still. */
const LIFT = 0.15;
const AIM_ABOVE_GOAL: Vec3 = [0, 0, 0.1];
/** The peg's foot, relative to the nut's drawn position (MetaWorld's peg centre is 0.03 m over it). */
const PEG_FOOT = 0.03 - PEG_POST.height / 2;


export const disassemble: TaskFamily = {
  name: 'disassemble',
  summary: 'Lift the nut by its handle off the peg.',
  paramNames: ['nut_x', 'nut_y', 'nut_z', 'goal_x', 'goal_y', 'goal_z'],
  // MetaWorld draws a goal too (only to reject tasks with it); the goal is 0.15 m over the nut.
  randomBox: { low: [0, 0.6, 0.025, -0.1, 0.6, 0.1699], high: [0.1, 0.75, 0.02501, 0.1, 0.75, 0.1701] },
  reject: (p) => Math.hypot(p[0] - p[3], p[1] - p[4]) < 0.1,
  handInit: [0, 0.4, 0.2],
  goalBox: { low: [0, 0.6, 0.025 + LIFT], high: [0.1, 0.75, 0.02501 + LIFT] },
  scene(p) {
    return {
      // The ring rests on the table round the peg (MetaWorld's is dropped from 0.025 m).
      bodies: [nut([p[0], p[1], NUT.tubeRadius + 0.0005]), pegPost([p[0], p[1], p[2] + PEG_FOOT])],
      observed: [{ body: 'nut', offset: NUT.handle }],
      sites: { ringCentre: { body: 'nut' } },
      goal: [p[0], p[1], p[2] + LIFT],
    };
  },
  successThreshold: 0,
  // MetaWorld's obj_init_pos is the ring's centre, where the caging margins start.
  episodeValues: (s) => ({ ringInitX: s.sites.ringCentre[0], ringInitY: s.sites.ringCentre[1], ringInitZ: s.sites.ringCentre[2] }),
  evaluate(s) {
    const handle = s.objects[0], ring = s.sites.ringCentre;
    const ringInit: Vec3 = [s.episode.ringInitX, s.episode.ringInitY, s.episode.ringInitZ];
    const upright = quatScore(s.objectQuats[0], IDEAL_QUAT, 0.4);
    const grab = handleGraspScore(s, handle, ringInit, HANDLE_HALF_LENGTH, { objectReachRadius: 0.01, objectRadius: 0.015, padSuccessThreshold: 0.02, xzThreshold: 0.01, density: 'high' });
    // A tenth for lifting the ring at all, the rest for bringing it 0.1 m over the goal.
    const inPlace = 0.1 * (ring[2] > 0.02 ? 1 : 0) + 0.9 * tol(distance(add(s.goal, AIM_ABOVE_GOAL), ring), 0, 0.02, 0.2, 'long_tail');
    // Success: the handle above the goal's height (the ring is then well clear of the peg's top).
    const success = handle[2] > s.goal[2];
    return {
      reward: success ? 10 : (2 * grab + 6 * inPlace) * upright,
      success,
      components: { nearObject: upright, graspSuccess: grab >= 0.5 ? 1 : 0, graspReward: grab, inPlaceReward: inPlace, objToTarget: 0, handleAboveGoal: handle[2] - s.goal[2] },
    };
  },
  // Grasp the handle and lift the nut straight up, gently, 3 cm past the goal's height; then hold still.
  expert(obs, goal) {
    if (obs[6] > goal[2] + 0.01 && obs[3] < NUT_HANDLE_GRASP.closingBelow) return [0, 0, 0, 1];
    const q: Quat = [obs[7], obs[8], obs[9], obs[10]];
    const grip = gripPointOnBar(obs, [obs[4], obs[5], obs[6]], rotate(q, [0, 1, 0]), NUT.handleHalfLength);
    const view = Float32Array.from(obs);
    view.set(grip, 4);
    return carryGently(obs, graspAndCarry(view, [grip[0], grip[1], goal[2] + 0.03], NUT_HANDLE_GRASP));
  },
};
