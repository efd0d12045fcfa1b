// A fixed rollout used by the determinism tests, in the main thread and in a worker thread alike.

import { ML1, makeEnv } from '../../sim/index.ts';
import { createRng } from '../../sim/rng.ts';

export interface RolloutSpec { family: string; benchmarkSeed: number; taskIndex: number; episodeSeed: number; actionSeed: number; steps: number }
export interface RolloutRecord { observations: Float32Array; rewards: Float64Array; joints: Float64Array }

export function rollout(spec: RolloutSpec): RolloutRecord {
  const benchmark = ML1(spec.family, spec.benchmarkSeed);
  const env = makeEnv(benchmark, benchmark.train[spec.taskIndex]);
  const rng = createRng(spec.actionSeed);
  const observations = new Float32Array((spec.steps + 1) * 39);
  const rewards = new Float64Array(spec.steps);
  const joints = new Float64Array(spec.steps * 7);
  observations.set(env.reset({ seed: spec.episodeSeed }).obs, 0);
  for (let t = 0; t < spec.steps; t++) {
    // Sweep low over the table so the arm and fingers keep touching the puck.
    const action = [rng.uniform(-1, 1), rng.uniform(-1, 1), rng.uniform(-1, 0.2), rng.uniform(-1, 1)];
    const result = env.step(action);
    observations.set(result.obs, (t + 1) * 39);
    rewards[t] = result.reward;
    joints.set(result.info.jointPositions, t * 7);
  }
  env.close();
  return { observations, rewards, joints };
}
