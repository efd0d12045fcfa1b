// RL2's demonstration iterations (rl2.demonstrationIterations): trials acted by the family's scripted
// expert plus the policy's own noise, learned by behaviour cloning through the PPO update, and refused
// where a benchmark has no expert.

import { beforeAll, describe, expect, it } from 'vitest';
import { chooseBackend } from '../../agent/backend.ts';
import { LocalEnvBatch } from '../../agent/batch-env.ts';
import { RL2_DEFAULTS, Rl2, type Rl2Config } from '../../agent/rl2.ts';
import { seedFor } from '../../agent/random.ts';
import { robotDistribution } from '../../agent/robot-tasks.ts';
import { runTrials } from '../../agent/rollout.ts';
import { resolveScenario } from '../../scenarios/scenario.ts';
import { ML1 } from '../../sim/index.ts';
import { expectResumedAcrossDemonstrations } from './killed-run.ts';

beforeAll(async () => { await chooseBackend('wasm'); });

const pickPlace = robotDistribution(ML1('pick-place', 1));
const small: Rl2Config = {
  ...RL2_DEFAULTS, hidden: 16, headMlp: [16], tasksPerIteration: 4, episodesPerTrial: 1, bpttSteps: 100,
  rewardScale: 0.01, normalizeInputs: true, initLogStd: -1, demonstrationIterations: 10,
  ppo: { ...RL2_DEFAULTS.ppo, epochs: 4, minibatches: 2, learningRate: 3e-3, entropyCoef: 0 },
};

const mean = (x: Float32Array) => x.reduce((sum, v) => sum + v, 0) / x.length;

/** Iteration 0's tasks and episode seeds acted by `rl2`'s mean action alone, no demonstrator: returns per lane. */
function meanActionReturns(rl2: Rl2, lanes: number): number[][] {
  const tasks = pickPlace.trainTasks(0, lanes);
  const policy = rl2.explorationPolicy(tasks.length, { seed: 99, deterministic: true });
  const acted = runTrials(new LocalEnvBatch(pickPlace, tasks.length), policy, tasks, 1, seedFor(1, 'train', 0));
  policy.dispose();
  return acted.episodeReturns;
}

describe('RL2 demonstration iterations', () => {
  it('acts with the expert plus the policy\'s noise in half the lanes, records that action\'s log-probability, and clones the expert', () => {
    const rl2 = new Rl2(pickPlace.spec, small, 1);
    const envs = new LocalEnvBatch(pickPlace, small.tasksPerIteration);
    const first = rl2.sampleTrials(envs, pickPlace, 0);
    // The even lanes are driven by the expert (which knows the goal) and do the task through the noise;
    // the odd ones take the untrained policy's own actions (the expert's are only learned) and do not.
    const successes = (s: typeof first) => s.trials.episodeSuccess.map((e) => e[0]);
    expect(successes(first)).toEqual([true, false, true, false]);
    // One epoch, one minibatch: the update starts at the policy that sampled, so PPO's KL estimate is 0
    // only if the recorded log-probabilities are those of the actions taken (the expert's, moved).
    const probe = new Rl2(pickPlace.spec, { ...small, ppo: { ...small.ppo, epochs: 1, minibatches: 1 } }, 1);
    const stats = probe.learn(probe.sampleTrials(envs, pickPlace, 0), 0, 10, 0);
    expect(Math.abs(stats.approxKl)).toBeLessThan(1e-4);
    // Every advantage is 1: the policy loss at the sampled policy is -1 before any clipping.
    expect(stats.policyLoss).toBeCloseTo(-1, 4);
    probe.dispose();
    const logStd = Array.from(rl2.net.logStd!.dataSync());
    rl2.learn(first, 0, 10, 0);
    for (let iteration = 1; iteration < small.demonstrationIterations - 1; iteration++) rl2.iterate(envs, pickPlace, iteration, 10);
    // Cloning: the expert's (noisy) actions became likelier, by several nats; the noise stayed as it was.
    const later = rl2.sampleTrials(envs, pickPlace, small.demonstrationIterations - 1);
    expect(mean(later.record.logProbs)).toBeGreaterThan(mean(first.record.logProbs) + 2);
    expect(Array.from(rl2.net.logStd!.dataSync())).toEqual(logStd);
    // After the demonstrations, trials are the policy's own again: it no longer succeeds by the expert's hand.
    const own = rl2.sampleTrials(envs, pickPlace, small.demonstrationIterations);
    expect(successes(own).filter(Boolean).length).toBeLessThan(2);
    rl2.dispose();
  });

  it('with demonstrationMeanAction, the lanes the policy drives take its mean action', () => {
    const config = { ...small, demonstrationMeanAction: true };
    const rl2 = new Rl2(pickPlace.spec, config, 1);
    const envs = new LocalEnvBatch(pickPlace, config.tasksPerIteration);
    const sampled = rl2.sampleTrials(envs, pickPlace, 0);
    // The same tasks and episode seeds acted by the policy's mean alone: the odd lanes match it exactly.
    const acted = meanActionReturns(rl2, config.tasksPerIteration);
    for (const lane of [1, 3]) expect(sampled.trials.episodeReturns[lane]).toEqual(acted[lane]);
    expect(sampled.trials.episodeReturns[0]).not.toEqual(acted[0]);
    rl2.dispose();
  });

  it('with demonstrationExpertLanes none, every lane is the policy\'s and the demonstrator only labels', () => {
    const config: Rl2Config = { ...small, demonstrationMeanAction: true, demonstrationExpertLanes: 'none' };
    const rl2 = new Rl2(pickPlace.spec, config, 1);
    const envs = new LocalEnvBatch(pickPlace, config.tasksPerIteration);
    const sampled = rl2.sampleTrials(envs, pickPlace, 0);
    expect(sampled.trials.episodeReturns).toEqual(meanActionReturns(rl2, config.tasksPerIteration));
    // What is learned is still the expert's action: under the untrained policy it is unlikely, so the
    // recorded log-probabilities are not those of the mean actions taken.
    const own = new Rl2(pickPlace.spec, { ...config, demonstrationIterations: 0 }, 1);
    expect(mean(sampled.record.logProbs)).toBeLessThan(mean(own.sampleTrials(envs, pickPlace, 0).record.logProbs));
    own.dispose();
    rl2.dispose();
  });

  it('with demonstrationLoss likelihood, learns by plain behaviour cloning, in learner threads as in this one', async () => {
    const config: Rl2Config = { ...small, demonstrationLoss: 'likelihood' };
    const envs = new LocalEnvBatch(pickPlace, config.tasksPerIteration);
    // At the sampled policy the loss is -mean log pi(recorded action) (the clipped loss there is -1).
    const probe = new Rl2(pickPlace.spec, { ...config, ppo: { ...config.ppo, epochs: 1, minibatches: 1 } }, 1);
    const sample = probe.sampleTrials(envs, pickPlace, 0);
    expect(probe.learn(sample, 0, 10, 0).policyLoss).toBeCloseTo(-mean(sample.record.logProbs), 3);
    probe.dispose();
    // Two learner threads read the choice from shared memory: the same bits as the parts computed here,
    // and not those of the clipped loss.
    const weights = async (settings: Rl2Config, allInThisThread: boolean) => {
      const rl2 = new Rl2(pickPlace.spec, settings, 1);
      try {
        await rl2.startLearnerThreads(2, { allInThisThread });
        for (let iteration = 0; iteration < 2; iteration++) rl2.iterate(envs, pickPlace, iteration, 10);
        return [...rl2.net.params.vars].map(([name, v]) => [name, Buffer.from((v.dataSync() as Float32Array).buffer).toString('base64')]);
      } finally {
        rl2.dispose();
      }
    };
    const threads = await weights(config, false);
    expect(threads).toEqual(await weights(config, true));
    expect(threads).not.toEqual(await weights(small, false));
  }, 120_000);

  it('has reach\'s searcher act on what each lane did: through the policy\'s noise it finds every goal in every episode', () => {
    // The searcher keeps or turns the direction of the lane's last action (as taken, noise and all):
    // told nothing of it, it would run along +y for ever and find no goal.
    const reach = robotDistribution(ML1('reach', 1));
    const config: Rl2Config = { ...small, demonstrator: 'searcher', demonstrationMeanAction: true, tasksPerIteration: 6, episodesPerTrial: 2 };
    const rl2 = new Rl2(reach.spec, config, 1);
    const { trials } = rl2.sampleTrials(new LocalEnvBatch(reach, config.tasksPerIteration), reach, 0);
    expect(trials.episodeSuccess.filter((_, lane) => lane % 2 === 0)).toEqual([[true, true], [true, true], [true, true]]);
    expect(trials.episodeSuccess.filter((_, lane) => lane % 2 === 1).flat().filter(Boolean).length).toBeLessThan(3);
    rl2.dispose();
  });

  it('resumes a killed run, across the end of its demonstrations, with the numbers of a run that was never stopped', async () => {
    await expectResumedAcrossDemonstrations('ML1:pick-place', { tasksPerIteration: 2, episodesPerTrial: 1, bpttSteps: 100, hidden: 8, normalizeInputs: true, ppo: { epochs: 1, minibatches: 2 } });
  }, 240_000);

  it('is refused, by name, on a benchmark without scripted experts', () => {
    expect(() => resolveScenario({ benchmark: 'tabular-mdp:n10', iterations: 1, rl2: { demonstrationIterations: 5 } })).toThrow(/rl2\.demonstrationIterations.*tabular-mdp:n10 has no scripted experts/);
    expect(() => resolveScenario({ benchmark: 'ML1:reach', iterations: 1, rl2: { demonstrationIterations: -1 } })).toThrow(/rl2\.demonstrationIterations/);
    expect(resolveScenario({ benchmark: 'ML1:reach', iterations: 1, rl2: { demonstrationIterations: 5 } }).rl2).toMatchObject({ demonstrationIterations: 5, demonstrator: 'expert' });
    // Searchers exist for reach and push only.
    expect(() => resolveScenario({ benchmark: 'ML1:pick-place', iterations: 1, rl2: { demonstrationIterations: 5, demonstrator: 'searcher' } })).toThrow(/rl2\.demonstrator.*ML1:pick-place has a family without a scripted searcher \(pick-place; families with one: reach, push\)/);
    expect(() => resolveScenario({ benchmark: 'ML1:reach', iterations: 1, rl2: { demonstrator: 'oracle' } })).toThrow(/rl2\.demonstrator/);
    expect(resolveScenario({ benchmark: 'ML1:reach', iterations: 1, rl2: { demonstrationIterations: 5, demonstrator: 'searcher' } }).rl2).toMatchObject({ demonstrator: 'searcher' });
  });
});
