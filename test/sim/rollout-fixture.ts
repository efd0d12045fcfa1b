// A fixed rollout used by the determinism tests, in the main thread and in a worker thread alike.

import { ML1, getFamily, makeEnv } from '../../sim/index.ts';
import { createRng } from '../../sim/rng.ts';

export interface RolloutSpec { family: string; benchmarkSeed: number; taskIndex: number; episodeSeed: number; actionSeed: number; steps: number }
export interface RolloutRecord { observations: Float32Array; rewards: Float64Array; joints: Float64Array }

export function rollout(spec: RolloutSpec): RolloutRecord {
  const benchmark = ML1(spec.family, spec.benchmarkSeed);
  const env = makeEnv(benchmark, benchmark.train[spec.taskIndex]);
  const expert = getFamily(spec.family).expert;
  const rng = createRng(spec.actionSeed);
  const observations = new Float32Array((spec.steps + 1) * 39);
  const rewards = new Float64Array(spec.steps);
  const joints = new Float64Array(spec.steps * 7);
  let obs = env.reset({ seed: spec.episodeSeed }).obs;
  observations.set(obs, 0);
  for (let t = 0; t < spec.steps; t++) {
    // The expert plus seeded noise: the fingers keep touching the object, so contacts are exercised.
    const action = expert(obs, env.goalPosition).map((a) => a + rng.uniform(-0.5, 0.5));
    const result = env.step(action);
    obs = result.obs;
    observations.set(result.obs, (t + 1) * 39);
    rewards[t] = result.reward;
    joints.set(result.info.jointPositions, t * 7);
  }
  env.close();
  return { observations, rewards, joints };
}
