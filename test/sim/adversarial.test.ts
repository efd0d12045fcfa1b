// Adversarial actions: the hand pushed at full speed along each axis (gripper closed, then open) for
// a whole episode, into whatever fixture, joint limit, wall or table lies that way. Every family's
// observations and rewards must stay finite: a limit pushed past by the (infinitely strong) arm
// may give, but nothing may blow up.

import { describe, expect, it } from 'vitest';
import { FAMILIES, ML1, TIMING, makeEnv } from '../../sim/index.ts';

const DIRECTIONS: Array<[number, number, number]> = [[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1]];

describe('adversarial actions', () => {
  for (const family of FAMILIES.keys()) {
    it(`${family}: full force along each axis for a whole episode stays finite`, () => {
      const benchmark = ML1(family, 0);
      const env = makeEnv(benchmark);
      const problems: string[] = [];
      DIRECTIONS.forEach(([x, y, z], d) => {
        const gripper = d % 2 === 0 ? 1 : -1;
        env.reset({ task: benchmark.train[d], seed: d });
        for (let step = 0; step < TIMING.maxEpisodeSteps; step++) {
          const { obs, reward } = env.step([x, y, z, gripper]);
          if (!Number.isFinite(reward) || !obs.every(Number.isFinite)) {
            problems.push(`direction [${x}, ${y}, ${z}], gripper ${gripper}: not finite at step ${step + 1}`);
            break;
          }
        }
      });
      env.close();
      expect(problems).toEqual([]);
    }, 120_000);
  }
});
