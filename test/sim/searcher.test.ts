// Reach's scripted searcher (sim/experts.ts distanceSearcher): it acts only on what a trial tells a
// policy that does not know the goal, probes until the rewards seen fix the goal, then goes there, and
// remembers it across the episodes of a trial.

import { describe, expect, it } from 'vitest';
import { PROBE_SPREAD } from '../../sim/experts.ts';
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
  it('probes the same way whatever the goal until the points it visited fix it, then succeeds on every goal', () => {
    const trials = [0, 1, 2, 3, 4, 5].map((i) => trial(i, 1)[0]);
    // The probe: identical actions on every task (the goal cannot be told from the probe's start), three
    // legs of at least PROBE_SPREAD at one unit of action a step, then the actions part ways.
    const probeSteps = trials[0].actions.findIndex((a, t) => trials.some((other) => other.actions[t].some((v, k) => v !== a[k])));
    expect(probeSteps).toBeGreaterThanOrEqual(3 * PROBE_SPREAD / 0.01);
    expect(probeSteps).toBeLessThan(30);
    for (const { actions } of trials) expect(actions.slice(0, probeSteps).every((a) => Math.hypot(a[0], a[1], a[2]) > 0.999)).toBe(true);
    // The probe's end points span three dimensions: the hand moved PROBE_SPREAD along y, x and z.
    const { hands } = trials[0];
    const moved = [1, 0, 2].map((axis) => hands[probeSteps][axis] - hands[0][axis]);
    for (const d of moved) expect(d).toBeGreaterThan(PROBE_SPREAD * 0.9);
    for (const { firstSuccess } of trials) expect(firstSuccess).toBeGreaterThan(probeSteps);
  });

  it('remembers the goal across the episodes of a trial: later episodes go straight there, faster', () => {
    for (const index of [6, 7, 8]) {
      const [first, second, third] = trial(index, 3);
      expect(first.firstSuccess).toBeGreaterThan(0);
      expect(second.firstSuccess).toBeLessThan(first.firstSuccess - 5);
      expect(third.firstSuccess).toBe(second.firstSuccess);
      // No probe in the second episode: its first action already heads for the goal, not along +y alone.
      expect(second.actions[0]).not.toEqual(first.actions[0]);
    }
  });
});
