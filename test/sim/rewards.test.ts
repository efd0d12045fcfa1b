import { describe, expect, it } from 'vitest';
import { graspScore, hamacher, liftAndPlaceReward, liftedBy, padCagingScore, rectPrismTolerance, sweepReward, tol } from '../../sim/rewards.ts';
import type { StepState } from '../../sim/family.ts';

describe('tol', () => {
  it('is 1 inside the bounds, bounds included', () => {
    expect(tol(0.03, 0, 0.05, 0.2)).toBe(1);
    expect(tol(0.05, 0, 0.05, 0.2, 'long_tail')).toBe(1);
  });
  it('gives 0.1 one margin outside, for both sigmoids', () => {
    expect(tol(0.25, 0, 0.05, 0.2, 'gaussian')).toBeCloseTo(0.1, 12);
    expect(tol(0.25, 0, 0.05, 0.2, 'long_tail')).toBeCloseTo(0.1, 12);
    expect(tol(-0.2, 0, 0.05, 0.2, 'long_tail')).toBeCloseTo(0.1, 12);
  });
  it('matches hand-computed values at half a margin', () => {
    // d = 0.5: long tail 1 / (1 + 9 * 0.25) = 1 / 3.25; gaussian 0.1^0.25
    expect(tol(0.15, 0, 0.05, 0.2, 'long_tail')).toBeCloseTo(1 / 3.25, 12);
    expect(tol(0.15, 0, 0.05, 0.2, 'gaussian')).toBeCloseTo(Math.pow(0.1, 0.25), 12);
  });
  it('is a step with a zero margin and rejects a negative one', () => {
    expect(tol(0.06, 0, 0.05, 0)).toBe(0);
    expect(() => tol(0.06, 0, 0.05, -1)).toThrow(/margin/);
  });
});

describe('hamacher', () => {
  it('is a soft AND', () => {
    expect(hamacher(0, 0)).toBe(0);
    expect(hamacher(1, 0.37)).toBeCloseTo(0.37, 12);
    expect(hamacher(0.5, 0.5)).toBeCloseTo(1 / 3, 12);
    expect(hamacher(0.2, 0.6)).toBeCloseTo(0.12 / (0.8 - 0.12), 12);
  });
});

describe('graspScore', () => {
  const base = {
    initTcp: [0, 0.6, 0.166] as const, objectInit: [0, 0.65, 0.02] as const,
    tcp: [0, 0.65, 0.02] as const, object: [0, 0.65, 0.02] as const,
  };
  const options = { objectRadius: 0.015, padSuccessThreshold: 0.05, xzThreshold: 0.005 };
  it('is 1 with the pads around the object, the TCP on it and the gripper closing', () => {
    expect(graspScore({ ...base, leftPadY: 0.676, rightPadY: 0.624, gripperCommand: 1 }, options)).toBeCloseTo(1, 12);
  });
  it('is 0 while the gripper opens, even when caged', () => {
    expect(graspScore({ ...base, leftPadY: 0.676, rightPadY: 0.624, gripperCommand: -1 }, options)).toBe(0);
  });
  it('high density averages in the caging score', () => {
    expect(graspScore({ ...base, leftPadY: 0.676, rightPadY: 0.624, gripperCommand: -1 }, { ...options, density: 'high' })).toBeCloseTo(0.5, 12);
  });
  it('is small with the hand far from the object', () => {
    const far = graspScore({ ...base, tcp: [0.2, 0.6, 0.2], leftPadY: 0.65, rightPadY: 0.55, gripperCommand: 1 }, options);
    expect(far).toBeLessThan(0.05);
  });
});

describe('rectPrismTolerance', () => {
  it('scales from 0 at the zero corner to 1 at the one corner inside the box, and is 1 outside', () => {
    expect(rectPrismTolerance([0.5, 0.5, 0.5], [0, 0, 0], [1, 1, 1])).toBeCloseTo(0.125, 15);
    expect(rectPrismTolerance([0.5, 0.5, 0.5], [1, 1, 0], [0, 0, 1])).toBeCloseTo(0.125, 15);
    expect(rectPrismTolerance([0, 0.5, 0.5], [0, 0, 0], [1, 1, 1])).toBe(0);
    expect(rectPrismTolerance([1.1, 0.5, 0.5], [0, 0, 0], [1, 1, 1])).toBe(1);
  });
});

describe('padCagingScore (pick-place, sweep, sweep-into)', () => {
  const object = [0, 0.65, 0.02] as const;
  // Pads are their own initial pads, as MetaWorld's live views make them at run time.
  const at = (leftY: number, rightY: number, tcp: readonly [number, number, number], gripper: number) => ({
    leftPad: [0, leftY, tcp[2]], rightPad: [0, rightY, tcp[2]], initLeftPad: [0, leftY, tcp[2]], initRightPad: [0, rightY, tcp[2]],
    tcp, initTcp: [0, 0.6, 0.166], objectsInit: [object], action: [0, 0, 0, gripper],
  }) as unknown as StepState;
  const pickPlace = { objectRadius: 0.015, padSuccessMargin: 0.05, xzSuccessMargin: 0.005 };
  it('is never 0 far from the object: each pad on its own side pays 0.1 from its long tail', () => {
    const far = padCagingScore(at(0.75, 0.65, [0.2, 0.7, 0.2], -1), object, pickPlace);
    expect(far).toBeGreaterThan(0);
    expect(far).toBeLessThan(0.05);
  });
  it('pick-place: pads round the object, TCP on it, gripper closing: 1; opening: half (the caging alone)', () => {
    expect(padCagingScore(at(0.676, 0.624, [0, 0.65, 0.02], 1), object, pickPlace)).toBeCloseTo(1, 12);
    expect(padCagingScore(at(0.676, 0.624, [0, 0.65, 0.02], -1), object, pickPlace)).toBeCloseTo(0.5, 12);
  });
  it('sweep: pads inside the grip band count as gripping whatever the gripper command', () => {
    const sweep = { objectRadius: 0.02, padSuccessMargin: 0.05, xzSuccessMargin: 0.005, gripSuccessMargin: 0.03 };
    expect(padCagingScore(at(0.676, 0.624, [0, 0.65, 0.02], -1), object, sweep)).toBeCloseTo(1, 12);
    // Pads caging but wider than the grip band: caging alone, half.
    expect(padCagingScore(at(0.69, 0.61, [0, 0.65, 0.02], -1), object, sweep)).toBeLessThan(0.6);
  });
});

describe('shared reward tails', () => {
  it('lift and place: grasp AND in place, plus 1 + 5 x in-place once lifted, 10 at the goal', () => {
    expect(liftAndPlaceReward({ grasp: 0.5, inPlace: 0.5, lifted: false, atGoal: false })).toBeCloseTo(1 / 3, 12);
    expect(liftAndPlaceReward({ grasp: 1, inPlace: 0.4, lifted: true, atGoal: false })).toBeCloseTo(0.4 + 1 + 2, 12);
    expect(liftAndPlaceReward({ grasp: 1, inPlace: 0.4, lifted: true, atGoal: true })).toBe(10);
  });
  it('lift and place: a separate in-place score (shelf-place) changes only the lifted bonus', () => {
    expect(liftAndPlaceReward({ grasp: 1, inPlace: 0.4, liftedInPlace: 0, lifted: true, atGoal: false })).toBeCloseTo(0.4 + 1, 12);
    expect(liftAndPlaceReward({ grasp: 1, inPlace: 0.4, liftedInPlace: 0, lifted: false, atGoal: false })).toBeCloseTo(0.4, 12);
  });
  it('sweep: 2 x grasp + 6 x (grasp AND in place), 10 at the goal', () => {
    expect(sweepReward(0.5, 0.5, false)).toBeCloseTo(1 + 2, 12);
    expect(sweepReward(0, 1, false)).toBe(0);
    expect(sweepReward(0, 0, true)).toBe(10);
  });
  it('lifted: the object more than the rise above its start, and the fingers held apart', () => {
    const at = (z: number, gripperOpening: number) => ({ objects: [[0, 0.6, z]], objectsInit: [[0, 0.6, 0.02]], gripperOpening }) as unknown as StepState;
    expect(liftedBy(at(0.031, 0.5), 0.01)).toBe(true);
    expect(liftedBy(at(0.029, 0.5), 0.01)).toBe(false);
    expect(liftedBy(at(0.1, 0), 0.01)).toBe(false);
  });
});
