// RL2 taught by a trained tabular learner (rl2.demonstrator: teacher): the Q-learner of a qtable-*
// checkpoint learns each demonstration trial's MDP from the steps the lane really takes and labels every
// step with the action it would draw; RL2 clones those labels. The shipped Reptile checkpoint teaches.

import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { chooseBackend } from '../../agent/backend.ts';
import { LocalEnvBatch } from '../../agent/batch-env.ts';
import { QLearningLanes } from '../../agent/qtable.ts';
import { rngFor } from '../../agent/random.ts';
import { RL2_DEFAULTS, Rl2, type Rl2Config } from '../../agent/rl2.ts';
import { tabularMdpDistribution } from '../../agent/tabular.ts';
import { withTeacher } from '../../agent/teacher.ts';
import { resolveScenario } from '../../scenarios/scenario.ts';
import { expectResumedAcrossDemonstrations } from './killed-run.ts';

beforeAll(async () => { await chooseBackend('wasm'); });

const TEACHER = 'checkpoints/qtable-reptile-mdp-n10.json';
const mdps = tabularMdpDistribution({ episodes: 10, seed: 4 });
const taught = withTeacher(mdps, { demonstrator: 'teacher', teacher: TEACHER });
const small: Rl2Config = {
  ...RL2_DEFAULTS, hidden: 16, headMlp: [16], tasksPerIteration: 40, episodesPerTrial: 10, bpttSteps: 100,
  rewardScale: 0.1, demonstrationIterations: 50, demonstrator: 'teacher', teacher: TEACHER, demonstrationLoss: 'likelihood',
  ppo: { ...RL2_DEFAULTS.ppo, epochs: 8, minibatches: 4, learningRate: 3e-3, entropyCoef: 0 },
};
const mean = (xs: ArrayLike<number>) => Array.from(xs).reduce((sum, v) => sum + v, 0) / xs.length;
const lanesOf = (xs: number[], parity: number) => xs.filter((_, i) => i % 2 === parity);

describe('RL2 taught by a Q-learner', () => {
  it('Q-learning updates the entry of the action a lane took instead of the one it chose', () => {
    const q0 = new Float32Array(10 * 5).fill(1);
    const lanes = new QLearningLanes(1, 10, 5, q0, { stepSize: 0.5, exploration: 0, temperature: 0, discount: 1 }, [rngFor(1, 'a')]);
    const state0 = Float32Array.from({ length: 10 }, (_, s) => (s === 0 ? 1 : 0));
    const chose = lanes.act(state0)[0];
    const took = (chose + 1) % 5;
    lanes.tookInstead([took]);
    lanes.observe([5], [1]);
    expect(lanes.tables[0][took]).toBe(3);
    expect(lanes.tables[0][chose]).toBe(1);
    expect(() => lanes.tookInstead([5])).toThrow(/took action 5; expected an integer in \[0, 4\]/);
  });

  it('the teacher learns from the steps it is told of: an action that paid far more than any other becomes its choice', () => {
    const task = mdps.trainTasks(0, 1)[0];
    const state0 = Float32Array.from({ length: 10 }, (_, s) => (s === 0 ? 1 : 0));
    let picked = 0;
    for (let seed = 0; seed < 40; seed++) {
      const teacher = taught.demonstrator!(task, 'teacher', seed);
      const chose = teacher(state0)[0];
      const took = (chose + 1 + (seed % 4)) % 5;
      // The lane took another action in state 0 and it ended the episode with a reward of 20 (rewards are ~N(1, 1.4)).
      if (teacher(state0, { action: [took], reward: 20, done: true })[0] === took) picked++;
    }
    expect(picked).toBeGreaterThanOrEqual(36);
  });

  it('drives the even lanes at the teacher\'s level, records the labels\' log-probabilities, and the policy learns to give them', () => {
    const rl2 = new Rl2(mdps.spec, small, 1);
    const envs = new LocalEnvBatch(taught, small.tasksPerIteration);
    const first = rl2.sampleTrials(envs, taught, 0);
    // The teacher's lanes (Q-learning from the meta-learned start: ~157 per trial) against the untrained policy's (~100).
    expect(mean(lanesOf(first.trials.trialReturns, 0))).toBeGreaterThan(140);
    expect(mean(lanesOf(first.trials.trialReturns, 1))).toBeLessThan(115);
    // One epoch, one minibatch from the sampling policy: PPO's KL estimate is 0 only if the recorded
    // log-probabilities are those of the labels under that policy.
    const probe = new Rl2(mdps.spec, { ...small, ppo: { ...small.ppo, epochs: 1, minibatches: 1 } }, 1);
    const stats = probe.learn(probe.sampleTrials(envs, taught, 0), 0, 10, 0);
    expect(Math.abs(stats.approxKl)).toBeLessThan(1e-4);
    expect(stats.policyLoss).toBeCloseTo(-mean(first.record.logProbs), 3);
    probe.dispose();
    rl2.learn(first, 0, 50, 0);
    for (let iteration = 1; iteration < 15; iteration++) rl2.iterate(envs, taught, iteration, 50);
    const later = rl2.sampleTrials(envs, taught, 15);
    // The labels became likelier: from uniform (log 5 = 1.61 nats) by 0.14 nats here in 15 iterations.
    expect(mean(later.record.logProbs)).toBeGreaterThan(mean(first.record.logProbs) + 0.08);
    rl2.dispose();
  }, 120_000);

  it('resumes a killed run, across the end of its demonstrations, with the numbers of a run that was never stopped', async () => {
    await expectResumedAcrossDemonstrations('tabular-mdp:n10', { demonstrator: 'teacher', teacher: join(process.cwd(), TEACHER), tasksPerIteration: 4, hidden: 8, ppo: { epochs: 1, minibatches: 2 } });
  }, 240_000);

  it('is refused with what is missing or wrong', () => {
    expect(() => resolveScenario({ benchmark: 'tabular-mdp:n10', iterations: 1, rl2: { demonstrationIterations: 5, demonstrator: 'teacher' } })).toThrow(/rl2\.teacher.*needs the teacher's checkpoint/);
    expect(() => resolveScenario({ benchmark: 'tabular-mdp:n10', iterations: 1, rl2: { demonstrationIterations: 5, teacher: TEACHER } })).toThrow(/rl2\.demonstrator.*set demonstrator: teacher/);
    expect(() => resolveScenario({ benchmark: 'ML1:reach', iterations: 1, rl2: { demonstrationIterations: 5, demonstrator: 'teacher', teacher: TEACHER } })).toThrow(/rl2\.demonstrator.*needs tabular tasks.*ML1:reach/);
    expect(() => resolveScenario({ benchmark: 'tabular-mdp:n10', iterations: 1, rl2: { demonstrationIterations: 5 } })).toThrow(/rl2\.demonstrationIterations.*demonstrator: teacher/);
    expect(resolveScenario({ benchmark: 'tabular-mdp:n10', iterations: 1, rl2: { demonstrationIterations: 5, demonstrator: 'teacher', teacher: TEACHER } }).rl2).toMatchObject({ demonstrator: 'teacher', teacher: TEACHER });
    // The checkpoint itself is read when the run starts.
    expect(() => withTeacher(mdps, { demonstrator: 'teacher', teacher: 'checkpoints/tabular-mdp-n10.json' })).toThrow(/teacher: .*tabular-mdp-n10\.json is a rl2 checkpoint; a teacher is a tabular Q-learner/);
    expect(() => withTeacher(mdps, { demonstrator: 'teacher', teacher: 'checkpoints/nothing.json' })).toThrow(/teacher: no such checkpoint/);
    expect(() => withTeacher(tabularMdpDistribution({ episodes: 10, states: 5 }), { demonstrator: 'teacher', teacher: TEACHER })).toThrow(/trained on tabular-mdp:n10, whose spaces differ from tabular-mdp:s5a5n10's/);
  });
});
