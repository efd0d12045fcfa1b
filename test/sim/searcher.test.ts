// Reach's scripted searcher (sim/experts.ts sweepSearcher): it acts only on what a trial tells a
// policy that does not know the goal: it sweeps along y, x and z where the reward peaks at the goal's
// coordinate, then goes there, and remembers it across the episodes of a trial.

import { describe, expect, it } from 'vitest';
import { SWEEP_PATH, moveHandTowards } from '../../sim/experts.ts';
import { ML1, getFamily, makeEnv } from '../../sim/index.ts';

const reach = getFamily('reach');
const benchmark = ML1('reach', 1);

/** One trial of `episodes` episodes of the searcher on a task: per episode its actions, hand positions and steps to success. */
function trial(taskIndex: number, episodes: number) {
  const task = benchmark.test[taskIndex];
  const env = makeEnv(benchmark, task);
  const searcher = reach.searcher!(reach.scene(task.params).goal);
  const result = Array.from({ length: episodes }, (_, episode) => {
    let obs = env.reset({ task, seed: episode }).obs;
    const actions: number[][] = [], hands: number[][] = [];
    let firstSuccess = -1;
    for (let t = 0; t < 500; t++) {
      const action = searcher(obs);
      actions.push([...action]);
      hands.push([obs[0], obs[1], obs[2]]);
      const step = env.step(action);
      obs = step.obs;
      if (step.info.success === 1 && firstSuccess < 0) firstSuccess = t + 1;
    }
    return { actions, hands, firstSuccess };
  });
  env.close();
  return result;
}

describe('reach\'s scripted searcher', () => {
  it('sweeps the same path whatever the goal, then succeeds on every goal', () => {
    const trials = [0, 1, 2, 3, 4, 5].map((i) => trial(i, 1)[0]);
    // The sweeps: identical actions on every task (the goal cannot be told before they end), then the
    // actions part ways.
    const sweepSteps = trials[0].actions.findIndex((a, t) => trials.some((other) => other.actions[t].some((v, k) => v !== a[k])));
    const { hands } = trials[0];
    // By then the hand has passed within 2 cm of every point of the path (it turns each corner a little
    // early), each sweep along its own axis only.
    for (const { to, axis } of SWEEP_PATH) {
      const visit = hands.findIndex((h) => h.every((v, i) => Math.abs(v - to[i]) < 0.02));
      expect(visit).toBeGreaterThan(0);
      expect(visit).toBeLessThanOrEqual(sweepSteps);
      if (axis === undefined) continue;
      const leg = trials[0].actions.slice(visit - 15, visit);
      for (const a of leg) for (const i of [0, 1, 2]) expect(Math.abs(a[i])).toBeCloseTo(i === axis ? 1 : 0, 4);
    }
    for (const { firstSuccess } of trials) expect(firstSuccess).toBeGreaterThan(sweepSteps);
  });

  it('remembers the goal across the episodes of a trial: later episodes go straight there, faster', () => {
    for (const index of [6, 7, 8]) {
      const [first, second, third] = trial(index, 3);
      expect(first.firstSuccess).toBeGreaterThan(0);
      // At most half the first episode's steps to success (the bar for a policy that remembers).
      expect(second.firstSuccess).toBeLessThanOrEqual(first.firstSuccess / 2);
      expect(third.firstSuccess).toBe(second.firstSuccess);
      // No sweep in the second episode: its first action already heads for the goal, not for the path's start.
      expect(second.actions[0]).not.toEqual(first.actions[0]);
    }
  });

  it('labels a hand that runs off its sweep lines with the peak of that hand\'s own sweeps', () => {
    // A clone of the searcher drives its own lanes a centimetre or two off the path: there the labels
    // must still lead to the goal, from the reward it saw along its own (parallel) sweeps.
    const offset = 0.015;
    for (const index of [9, 10, 11, 12]) {
      const task = benchmark.test[index];
      const env = makeEnv(benchmark, task);
      const searcher = reach.searcher!(reach.scene(task.params).goal);
      let obs = env.reset({ task, seed: 0 }).obs;
      let success = false;
      let leg = 0;
      for (let t = 0; t < 500; t++) {
        const label = searcher(obs);
        let action: number[] = label;
        if (leg < SWEEP_PATH.length) {
          // The path shifted across each sweep by 1.5 cm.
          const { to, axis } = SWEEP_PATH[leg];
          const waypoint = to.map((v, i) => (i === axis ? v : v + offset)) as [number, number, number];
          if (waypoint.every((v, i) => Math.abs(obs[i] - v) < 0.003)) leg++;
          action = moveHandTowards(obs, waypoint, -1);
        }
        const step = env.step(action);
        obs = step.obs;
        success ||= step.info.success === 1 && leg === SWEEP_PATH.length;
      }
      env.close();
      expect(success).toBe(true);
    }
  });

  it('ends a sweep where a clone turned back from it: the labels lead to the goal, not back down the sweep', () => {
    // A clone that turns for the goal 5 cm before the end of the last sweep (down z) and rises.
    let checked = 0;
    for (const task of benchmark.test.slice(0, 12)) {
      const goal = reach.scene(task.params).goal;
      if (goal[2] < 0.15) continue;
      const env = makeEnv(benchmark, task);
      const searcher = reach.searcher!(goal);
      let obs = env.reset({ task, seed: 0 }).obs;
      let phase: 'sweeping' | 'rising' | 'following' = 'sweeping';
      let turnedAt = 0, success = false;
      const last = SWEEP_PATH[SWEEP_PATH.length - 1].to;
      for (let t = 0; t < 500; t++) {
        const label = searcher(obs);
        let action: number[] = label;
        if (phase === 'sweeping' && Math.abs(obs[0] - last[0]) < 0.01 && obs[2] < last[2] + 0.065) { phase = 'rising'; turnedAt = obs[2]; }
        if (phase === 'rising') {
          if (obs[2] >= turnedAt + 0.025) {
            phase = 'following';
            // Told to go on up to the goal, which is above: not down to the sweep's end.
            expect(label[2]).toBeGreaterThan(0);
          } else action = [0, 0, 1, -1];
        }
        const step = env.step(action);
        obs = step.obs;
        success ||= phase === 'following' && step.info.success === 1;
      }
      env.close();
      expect(phase).toBe('following');
      expect(success).toBe(true);
      checked++;
    }
    expect(checked).toBeGreaterThanOrEqual(3);
  });
});
