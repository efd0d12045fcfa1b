// The fixtures of the ML45 object-and-tool families (soccer, bin-picking, box-close, peg-unplug-side,
// stick-push, stick-pull, hammer, assembly, disassemble): each starts where its MetaWorld counterpart
// does and its moving parts stay on their joints when the scripted expert works them.

import { describe, expect, it } from 'vitest';
import { ML1, ManipulationEnv, getFamily } from '../../sim/index.ts';
import { BIN, CUBE_HALF, insideBin } from '../../sim/fixtures/bins.ts';
import { NAIL_BLOCK } from '../../sim/fixtures/hammer.ts';

/** Runs the family's expert on its first ML1 train task; calls `each` after every step. */
function runExpert(family: string, steps: number, each: (obs: Float32Array, info: Record<string, unknown>) => void): Float32Array {
  const task = ML1(family, 0).train[0];
  const env = new ManipulationEnv({ task });
  let { obs } = env.reset({ task, seed: 0 });
  const expert = getFamily(family).expert;
  for (let i = 0; i < steps; i++) {
    const result = env.step(expert(obs, env.goalPosition));
    obs = result.obs;
    each(obs, result.info);
  }
  env.close();
  return obs;
}

describe('ML45 object-and-tool fixtures', () => {
  it('bin-picking puts a cube drawn into a bin wall just inside it', () => {
    const reach = BIN.halfSize - BIN.wallThickness - CUBE_HALF - 0.001;
    expect(insideBin([-0.12, 0.7, 0], -0.21, 0.75)).toEqual([-0.12 - reach, 0.75]);
    expect(insideBin([-0.12, 0.7, 0], -0.1, 0.7)).toEqual([-0.1, 0.7]);
  });

  it('box-close: the lid lies flat on the table a quarter turn about z (MetaWorld\'s ideal orientation)', () => {
    const task = ML1('box-close', 0).train[0];
    const env = new ManipulationEnv({ task });
    const { obs, info } = env.reset({ task, seed: 0 });
    expect(obs[6]).toBeCloseTo(0.016, 2);
    expect(info.upright as number).toBeGreaterThan(0.99);
    env.close();
  });

  it('peg-unplug-side: the plug rests level in its socket', () => {
    const task = ML1('peg-unplug-side', 0).train[0];
    const env = new ManipulationEnv({ task });
    const { obs } = env.reset({ task, seed: 0 });
    expect(Math.abs(obs[6] - (task.params[2] + 0.131))).toBeLessThan(0.003);
    expect(obs[7]).toBeGreaterThan(0.999);
    env.close();
  });

  it('hammer: the nail slides in within its travel as the expert drives it, and no further', () => {
    let deepest = 0;
    runExpert('hammer', 300, (_obs, info) => { deepest = Math.max(deepest, info.nailIn as number); });
    expect(deepest).toBeGreaterThan(0.09);
    expect(deepest).toBeLessThan(NAIL_BLOCK.travel + 0.005);
  });

  it('stick-push: the pushed thermos stays on its slides (level, its axis point at 0.132 m)', () => {
    let highest = 0, lowest = 1;
    const last = runExpert('stick-push', 250, (obs) => { highest = Math.max(highest, obs[13]); lowest = Math.min(lowest, obs[13]); });
    expect(last[11]).toBeGreaterThan(0.25);
    expect(highest).toBeLessThan(0.145);
    expect(lowest).toBeGreaterThan(0.125);
  });

  it('disassemble: the nut comes off the peg upright', () => {
    const last = runExpert('disassemble', 350, () => {});
    expect(last[6]).toBeGreaterThan(0.17);
    expect(Math.abs(last[7] - Math.SQRT1_2)).toBeLessThan(0.05);
  });
});
