import { describe, expect, it } from 'vitest';
import { ManipulationEnv, ML1 } from '../../sim/index.ts';
import { graspAndCarry } from '../../sim/experts.ts';

describe('grasping', () => {
  it('closes on the puck, lifts it 0.3 m, carries it 400 steps without slipping, and drops it when opened', () => {
    const task = ML1('pick-place', 0).train[0];
    const env = new ManipulationEnv({ family: 'pick-place', task });
    let { obs } = env.reset();
    const tableZ = obs[6];
    // Grasp and lift to 0.32 m with the shared expert routine.
    for (let t = 0; t < 150 && obs[6] < tableZ + 0.3; t++) obs = env.step(graspAndCarry(obs, [obs[4], obs[5], 0.34])).obs;
    expect(obs[6] - tableZ).toBeGreaterThanOrEqual(0.3 - 1e-3);
    // Carry along a loop for 400 control steps.
    // Offset of the puck from the TCP: fixed by the grasp, then it must not drift.
    const offsetFromTcp = (o: Float32Array, tcp: number[]) => [o[4] - tcp[0], o[5] - tcp[1], o[6] - tcp[2]];
    const held = offsetFromTcp(obs, env.step([0, 0, 0, 1]).info.tcp);
    let worstSlip = 0, worstOffset = 0, settled = held, drift = 0;
    for (let t = 0; t < 400; t++) {
      const phase = (2 * Math.PI * t) / 400;
      const target = [0.15 * Math.sin(phase), 0.7 + 0.1 * Math.sin(2 * phase), 0.3 + 0.05 * Math.cos(phase)];
      const result = env.step([(target[0] - obs[0]) / 0.01, (target[1] - obs[1]) / 0.01, (target[2] - obs[2]) / 0.01, 1]);
      obs = result.obs;
      const offset = offsetFromTcp(obs, result.info.tcp);
      worstSlip = Math.max(worstSlip, Math.hypot(offset[0] - held[0], offset[1] - held[1], offset[2] - held[2]));
      worstOffset = Math.max(worstOffset, Math.hypot(...offset));
      // After the first 50 steps (the swing when the carry starts), the grasp must not creep.
      if (t === 50) settled = offset;
      if (t > 50) drift = Math.max(drift, Math.hypot(offset[0] - settled[0], offset[1] - settled[1], offset[2] - settled[2]));
    }
    expect(worstSlip).toBeLessThan(0.012);
    expect(drift).toBeLessThan(0.001);
    // Still between the pads (puck radius 0.02 m).
    expect(worstOffset).toBeLessThan(0.015);
    expect(obs[6]).toBeGreaterThan(0.2);
    // Only friction holds it: open the gripper and it falls back to the table.
    for (let t = 0; t < 40; t++) obs = env.step([0, 0, 0, -1]).obs;
    expect(obs[6]).toBeLessThan(0.05);
  });
});
