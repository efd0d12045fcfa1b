// The scripted searchers: they act only on what a trial tells a policy that does not know the goal.
// Reach's (sim/experts.ts climbingSearcher) climbs the reward one axis at a time (keeps its direction
// while the reward rises, turns to the next axis direction when it does not), and in later episodes goes
// straight to where the reward was highest. Push's (puckSweep) reads only the observation: it sweeps
// the goal box with the puck.

import { describe, expect, it } from 'vitest';
import { ML1, getFamily, makeEnv } from '../../sim/index.ts';
import type { SearcherStep } from '../../sim/family.ts';
import { createRng } from '../../sim/rng.ts';

const reach = getFamily('reach');
const benchmark = ML1('reach', 1);

interface EpisodeRecord { actions: number[][]; labels: number[][]; rewards: number[]; firstSuccess: number }

/**
 * One trial of `episodes` episodes on test task `taskIndex`: the searcher labels every step; the lane
 * takes its label, or the label plus noise uniform in ±`noise` (a policy cloning it, off its path).
 */
function trial(taskIndex: number, episodes: number, noise = 0): EpisodeRecord[] {
  const task = benchmark.test[taskIndex];
  const env = makeEnv(benchmark, task);
  const searcher = reach.searcher!(reach.scene(task.params).goal);
  const rng = createRng(taskIndex);
  let previous: SearcherStep | undefined;
  const result = Array.from({ length: episodes }, (_, episode) => {
    let obs = env.reset({ task, seed: episode }).obs;
    const record: EpisodeRecord = { actions: [], labels: [], rewards: [], firstSuccess: -1 };
    for (let t = 0; t < 500; t++) {
      const label = [...searcher(obs, previous)];
      const action = label.map((v, i) => (i < 3 ? Math.max(-1, Math.min(1, v + rng.uniform(-noise, noise))) : v));
      const step = env.step(action);
      obs = step.obs;
      previous = { action, done: t === 499 };
      record.labels.push(label);
      record.actions.push(action);
      record.rewards.push(step.reward);
      if (step.info.success === 1 && record.firstSuccess < 0) record.firstSuccess = t + 1;
    }
    return record;
  });
  env.close();
  return result;
}

/** The axis index and sign an action moves along (all three action axes but one are 0 in a searching label). */
function along(action: readonly number[]): [number, number] {
  const axis = [0, 1, 2].reduce((best, i) => (Math.abs(action[i]) > Math.abs(action[best]) ? i : best), 1);
  return [axis, Math.sign(action[axis])];
}

describe('reach\'s scripted searcher', () => {
  it('keeps its direction while the reward rises and turns to the next axis direction when it does not', () => {
    const [first] = trial(0, 1);
    let kept = 0, turned = 0;
    for (let t = 1; t < first.firstSuccess; t++) {
      const [axis, sign] = along(first.actions[t - 1]);
      const [nextAxis, nextSign] = along(first.labels[t]);
      // The reward the env paid for step t-1 against the one before: that, and the last action, decide.
      const rose = t >= 2 ? first.rewards[t - 1] > first.rewards[t - 2] : true;
      if (rose) {
        expect([nextAxis, nextSign]).toEqual([axis, sign]);
        kept++;
      } else {
        // +x, +y, +z, -x, -y, -z in turn.
        const order = [[0, 1], [1, 1], [2, 1], [0, -1], [1, -1], [2, -1]];
        const at = order.findIndex(([a, s]) => a === axis && s === sign);
        expect([nextAxis, nextSign]).toEqual(order[(at + 1) % 6]);
        turned++;
      }
    }
    expect(kept).toBeGreaterThan(10);
    expect(turned).toBeGreaterThan(1);
    // It starts along +y, where every reach goal lies.
    expect(along(first.labels[0])).toEqual([1, 1]);
  });

  it('finds every goal in the first episode and goes straight back in later ones, in at most half the steps', () => {
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1];
    const firsts: number[] = [], seconds: number[] = [];
    for (const index of [1, 2, 3, 4, 5, 6, 7, 8, 9]) {
      const [first, second, third] = trial(index, 3);
      expect(first.firstSuccess).toBeGreaterThan(0);
      expect(second.firstSuccess).toBeGreaterThan(0);
      expect(second.firstSuccess).toBeLessThan(first.firstSuccess);
      expect(Math.abs(third.firstSuccess - second.firstSuccess)).toBeLessThanOrEqual(2);
      // No search in the second episode: it sets off at full speed towards the goal, not along +y at the search's pace.
      expect(first.labels[0].slice(0, 3)).toEqual([0, 0.7, 0]);
      expect(Math.max(...second.labels[0].slice(0, 3).map(Math.abs))).toBe(1);
      firsts.push(first.firstSuccess);
      seconds.push(second.firstSuccess);
    }
    // The bar for a policy that remembers, on the median over goals.
    expect(median(seconds)).toBeLessThanOrEqual(median(firsts) / 2);
  });

  it('labels a lane that strays from its labels with the way to the goal: noisy lanes still succeed in every episode', () => {
    for (const index of [7, 8, 9, 10]) {
      const episodes = trial(index, 3, 0.8);
      for (const episode of episodes) expect(episode.firstSuccess).toBeGreaterThan(0);
    }
  });
});

describe('push\'s scripted searcher (a sweep of the goal box)', () => {
  const push = getFamily('push');
  const pushBench = ML1('push', 1);

  /** One episode on test task `index` driven by the searcher, its labels plus Gaussian-like noise of ±`noise`. */
  function sweep(index: number, noise: number) {
    const task = pushBench.test[index];
    const env = makeEnv(pushBench, task);
    const searcher = push.searcher!(push.scene(task.params).goal);
    const rng = createRng(100 + index);
    let obs = env.reset({ task, seed: 0 }).obs;
    let success = false;
    for (let t = 0; t < 500; t++) {
      const action = [...searcher(obs)].map((v, i) => (i < 3 ? Math.max(-1, Math.min(1, v + rng.uniform(-noise, noise))) : v));
      const step = env.step(action);
      obs = step.obs;
      success ||= step.info.success === 1;
    }
    env.close();
    return { success, puck: [obs[4], obs[5]] };
  }

  it('is blind to the goal: two goals, the same observation, the same action', () => {
    const [a, b] = [pushBench.test[0], pushBench.test[1]].map((task) => push.searcher!(push.scene(task.params).goal));
    const env = makeEnv(pushBench, pushBench.test[0]);
    let obs = env.reset({ task: pushBench.test[0], seed: 0 }).obs;
    for (let t = 0; t < 120; t++) {
      expect([...b(obs)]).toEqual([...a(obs)]);
      obs = env.step([...a(obs)]).obs;
    }
    env.close();
  });

  it('carries the puck along the goal box\'s mid-line to its far end, passing within 5 cm of most goals, through noise', () => {
    const indices = Array.from({ length: 16 }, (_, i) => i);
    const runs = indices.map((i) => sweep(i, 0.5));
    // The puck ends at the far end of the line: x 0.1, y 0.85 (the box: x -0.1..0.1, y 0.8..0.9).
    for (const { puck } of runs) {
      expect(Math.abs(puck[0] - 0.1)).toBeLessThan(0.03);
      expect(Math.abs(puck[1] - 0.85)).toBeLessThan(0.03);
    }
    expect(runs.filter((r) => r.success).length).toBeGreaterThanOrEqual(14);
  });
});
