import { describe, expect, it } from 'vitest';
import { ARM, forwardKinematics, inverseKinematics } from '../../sim/arm.ts';
import { HAND_TARGET_HIGH, HAND_TARGET_LOW } from '../../sim/env.ts';
import { rotate } from '../../sim/vec.ts';

function* workspaceGrid(n = 6) {
  for (let i = 0; i <= n; i++) for (let j = 0; j <= n; j++) for (let k = 0; k <= n; k++) {
    yield [0, 1, 2].map((a, idx) => HAND_TARGET_LOW[a] + ((HAND_TARGET_HIGH[a] - HAND_TARGET_LOW[a]) * [i, j, k][idx]) / n) as [number, number, number];
  }
}

describe('arm kinematics', () => {
  it('reaches every point of the workspace exactly, gripper pointing down, fingers along y', () => {
    const q = new Float64Array(7);
    for (const target of workspaceGrid()) {
      expect(inverseKinematics(target, q)).toBe(true);
      const { hand } = forwardKinematics(q);
      for (let a = 0; a < 3; a++) expect(Math.abs(hand.position[a] - target[a])).toBeLessThan(1e-9);
      const down = rotate(hand.rotation, [0, 0, -1]), fingerAxis = rotate(hand.rotation, [0, 1, 0]);
      expect(down[2]).toBeCloseTo(-1, 9);
      expect(fingerAxis[1]).toBeCloseTo(1, 9);
    }
  });

  it('keeps every joint inside its limit and every link above the table', () => {
    const q = new Float64Array(7);
    for (const target of workspaceGrid()) {
      inverseKinematics(target, q);
      q.forEach((angle, j) => {
        expect(angle).toBeGreaterThanOrEqual(ARM.jointLimits[j][0]);
        expect(angle).toBeLessThanOrEqual(ARM.jointLimits[j][1]);
      });
      const poses = forwardKinematics(q);
      // Elbow (end of the upper arm) stays well above the table top.
      const elbow = rotate(poses.upperArm.rotation, [0, ARM.upperArm, 0]);
      expect(poses.upperArm.position[2] + elbow[2]).toBeGreaterThan(0.1);
    }
  });

  it('poses every link from the seven angles: changing a roll joint moves the hand', () => {
    const q = new Float64Array(7);
    inverseKinematics([0.1, 0.7, 0.2], q);
    const before = forwardKinematics(q).hand.position;
    q[2] = 0.3;
    const after = forwardKinematics(q).hand.position;
    expect(Math.hypot(after[0] - before[0], after[1] - before[1], after[2] - before[2])).toBeGreaterThan(0.05);
  });

  it('reports an unreachable target and stretches towards it', () => {
    const q = new Float64Array(7);
    expect(inverseKinematics([0, 2.0, 0.2], q)).toBe(false);
    const hand = forwardKinematics(q).hand.position;
    expect(hand[1]).toBeGreaterThan(1.0);
  });
});
