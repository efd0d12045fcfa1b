// peg-insert-side: pick the peg up and push its head into the hole in the side of a box.

import { type TaskFamily, rejectCloserInXy } from '../family.ts';
import { hamacher, liftAndPlaceReward, liftedBy, objectGraspScore, rectPrismTolerance, tol } from '../rewards.ts';
import { type GraspProfile, graspAndCarry } from '../experts.ts';
import { type Quat, type Vec3, add, distance, rotate, scale, sub, weightedDistance } from '../vec.ts';
import { TCP_BELOW_HAND } from '../gripper.ts';
import { PEG, PEG_BOX, PEG_OBJECT, pegBox } from '../fixtures/peg-box.ts';
import { placeObject } from '../scene.ts';

const TARGET_RADIUS = 0.07;
/** MetaWorld weighs the head's y and z error twice: the peg must line up with the hole, not just get near it. */
const WEIGHT: Vec3 = [1, 2, 2];

/** Behind the head, the middle of the part of the peg that is inside the box once the head is at the goal. */
const INSIDE_MIDDLE = 0.025;

/** The expert holds the peg by its grip band (0.036 m across): 0.048 m between finger centres. */
const PEG_GRASP: GraspProfile = { closedOpening: 0.48, closingBelow: 0.7, restHeight: PEG.halfExtents[2] };

/**
 * MetaWorld's "collision boxes": two slabs of air just in front of the box's face, below and above
 * the mouth, where the in-place score is scaled down (to 0 against the face) so that pressing the
 * head against the wood instead of into the hole pays less. Each is given by two corners, sites on
 * the box (relative to its base): `zero` scores 0, `one` scores 1; 1 everywhere outside.
 */
const FACE_SLAB_SITES = {
  belowMouthZero: [0.11, 0.1, 0.01],
  belowMouthOne: [0.15, -0.1, 0.096],
  aboveMouthZero: [0.11, 0.1, 0.16],
  aboveMouthOne: [0.17, -0.1, 0.19],
} as const satisfies Record<string, Vec3>;

export const pegInsertSide: TaskFamily = {
  name: 'peg-insert-side',
  summary: 'Pick the peg up and insert it sideways into the hole in the box.',
  paramNames: ['peg_x', 'peg_y', 'peg_z', 'box_x', 'box_y', 'box_z'],
  randomBox: { low: [0, 0.5, 0.02, -0.35, 0.4, 0], high: [0.2, 0.7, 0.02, -0.25, 0.7, 0] },
  reject: rejectCloserInXy(0.1),
  handInit: [0, 0.6, 0.2],
  goalBox: {
    low: [-0.35 + PEG_BOX.goalOffset[0], 0.4 + PEG_BOX.goalOffset[1], PEG_BOX.goalOffset[2]],
    high: [-0.25 + PEG_BOX.goalOffset[0], 0.7 + PEG_BOX.goalOffset[1], PEG_BOX.goalOffset[2]],
  },
  scene(p) {
    const box: Vec3 = [p[3], p[4], p[5]];
    return {
      bodies: [placeObject(PEG_OBJECT, [p[0], p[1], p[2]]), pegBox(box)],
      // obs[4:7] is where the gripper holds the peg (MetaWorld's); obs[11:14] its head, which
      // MetaWorld leaves out (zeros) but the success rule needs. It adds nothing a policy could not
      // already work out from obs[4:11]: the head is a fixed point of the peg's pose.
      observed: [{ body: PEG_OBJECT.name, offset: PEG.grasp }, { body: PEG_OBJECT.name, offset: PEG.head }],
      sites: Object.fromEntries(Object.entries(FACE_SLAB_SITES).map(([name, offset]) => [name, { body: 'pegBox', offset }])),
      goal: [box[0] + PEG_BOX.goalOffset[0], box[1] + PEG_BOX.goalOffset[1], box[2] + PEG_BOX.goalOffset[2]],
    };
  },
  successThreshold: TARGET_RADIUS,
  evaluate(s) {
    const grip = s.objects[0], head = s.objects[1], headInit = s.objectsInit[1];
    const headToGoal = weightedDistance(head, s.goal, WEIGHT);
    const inPlaceFree = tol(headToGoal, 0, TARGET_RADIUS, weightedDistance(headInit, s.goal, WEIGHT), 'long_tail');
    const { belowMouthZero, belowMouthOne, aboveMouthZero, aboveMouthOne } = s.sites;
    const faceSlabs = hamacher(rectPrismTolerance(head, aboveMouthZero, aboveMouthOne), rectPrismTolerance(head, belowMouthZero, belowMouthOne));
    const inPlace = hamacher(inPlaceFree, faceSlabs);
    const tcpToObject = distance(grip, s.tcp);
    // A lifted peg counts as fully grasped (MetaWorld's wide 8 cm TCP bound lets a peg held off-centre count).
    const lifted = tcpToObject < 0.08 && liftedBy(s, 0.01);
    const grasp = lifted ? 1 : objectGraspScore(s, { objectReachRadius: 0.01, objectRadius: 0.0075, padSuccessThreshold: 0.03, xzThreshold: 0.005, density: 'high' });
    const success = headToGoal <= TARGET_RADIUS;
    return {
      reward: liftAndPlaceReward({ grasp, inPlace, lifted, atGoal: success }),
      success,
      components: {
        nearObject: tcpToObject <= 0.03 ? 1 : 0,
        graspSuccess: tcpToObject < 0.02 && liftedBy(s, 0.01) ? 1 : 0,
        graspReward: grasp, inPlaceReward: inPlace, objToTarget: headToGoal, tcpToObject,
      },
    };
  },
  // Grasp the peg by its grip band (at its centre of mass, so it hangs level), bring its head level
  // with the hole 6 cm out from the box's face, then slide it in slowly. Two corrections: the
  // force-limited fingers let the peg settle up to ~9 mm off-centre between them, so the hand aims
  // the band rather than the TCP; and a peg turned a few degrees about z has to enter off-centre to
  // clear the tunnel's sides, so the expert centres the middle of the part that will be inside.
  expert(obs, goal) {
    const q: Quat = [obs[7], obs[8], obs[9], obs[10]];
    const band = sub([obs[4], obs[5], obs[6]], rotate(q, PEG.grasp));
    const head: Vec3 = [obs[11], obs[12], obs[13]];
    const axis = rotate(q, [-1, 0, 0]);
    const insideMiddle = add(head, scale(axis, -INSIDE_MIDDLE));
    const mouthX = goal[0] - PEG_BOX.goalOffset[0] + PEG_BOX.halfSize;
    const lined = Math.abs(insideMiddle[1] - goal[1]) < 0.008 && Math.abs(head[2] - goal[2]) < 0.008;
    // Line up with the tip 4 cm out from the face: closer, sideways moves come within Rapier's 2 cm
    // contact prediction distance of the face, and the predicted contacts stall the peg at the mouth.
    // Once the head is on its way in, keep going: the tunnel's sides guide it from there.
    const inserting = (lined && head[0] < mouthX + 0.08) || head[0] < mouthX + 0.05;
    const headTarget: Vec3 = inserting ? [goal[0] - 0.02, goal[1], goal[2]] : [mouthX + 0.06, goal[1], goal[2]];
    let bandTarget: Vec3 = [headTarget[0] - PEG.head[0], band[1] + headTarget[1] - insideMiddle[1], headTarget[2] - PEG.head[2]];
    const tcp: Vec3 = [obs[0], obs[1], obs[2] - TCP_BELOW_HAND];
    const offCentre = sub(band, tcp);
    if (obs[3] < PEG_GRASP.closingBelow && Math.hypot(...offCentre) < 0.02) bandTarget = sub(bandTarget, offCentre);
    const view = Float32Array.from(obs);
    view.set(band, 4);
    const action = graspAndCarry(view, bandTarget, PEG_GRASP);
    // Slide in slowly: a fast peg that grazes the tunnel's wall sticks there and slips in the grasp.
    if (inserting) for (let i = 0; i < 3; i++) action[i] *= 0.3;
    return action;
  },
};
