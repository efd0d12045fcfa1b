import { describe, expect, it } from 'vitest';
import { LocalEnvBatch } from '../../agent/batch-env.ts';
import { distributionByName } from '../../agent/distributions.ts';
import { banditDistribution, tabularMdpDistribution } from '../../agent/tabular.ts';

describe('task distributions', () => {
  it('parses benchmark names and rejects unknown ones with the accepted forms', () => {
    expect(distributionByName('bandit:k5n10').spec).toMatchObject({ obsSize: 1, action: { kind: 'discrete', n: 5 }, episodeSteps: 1 });
    expect(distributionByName('bandit:k5n10').protocol).toEqual({ adaptationEpisodes: 10, evaluationEpisodes: 0 });
    expect(distributionByName('tabular-mdp:n10').spec).toMatchObject({ obsSize: 10, action: { kind: 'discrete', n: 5 }, episodeSteps: 10, hasSuccess: false });
    const reach = distributionByName('ML1:reach', { seed: 2 });
    expect(reach.spec).toMatchObject({ obsSize: 39, action: { kind: 'box', size: 4 }, episodeSteps: 500, hasSuccess: true });
    expect(reach.protocol).toEqual({ adaptationEpisodes: 10, evaluationEpisodes: 3 });
    expect(reach.testTaskCount).toBe(50);
    const ml10 = distributionByName('ML10', { seed: 1 });
    expect(ml10.testTaskCount).toBe(250);
    // The first test tasks cover the five held-out families in turn.
    expect(ml10.testTasks(10).map((t) => t.family)).toEqual(['drawer-open', 'door-close', 'shelf-place', 'sweep-into', 'lever-pull', 'drawer-open', 'door-close', 'shelf-place', 'sweep-into', 'lever-pull']);
    expect(new Set(ml10.trainTasks(0, 50).map((t) => t.family)).size).toBe(10);
    // MT10: sizes read off the benchmark (49-D with the one-hot); no test split, so evaluation uses its training tasks.
    const mt10 = distributionByName('MT10');
    expect(mt10.spec).toMatchObject({ obsSize: 49, action: { kind: 'box', size: 4, low: -1, high: 1 }, episodeSteps: 500 });
    expect(mt10.testTaskCount).toBe(500);
    expect(mt10.testTasks(10).map((t) => t.family)).toEqual(mt10.benchmark!.trainFamilies);
    // One robot env goes from family to family.
    const env = ml10.makeEnv();
    const [push, lever] = [ml10.trainTasks(0, 50).find((t) => t.family === 'push')!, ml10.testTasks(5)[4]];
    expect(env.reset({ task: push, seed: 0 })).toHaveLength(39);
    expect(env.step([0, 0, 0, 0]).done).toBe(false);
    expect(Array.from(env.reset({ task: lever, seed: 0 }).subarray(36, 39))).toEqual([0, 0, 0]);
    env.close();
    expect(() => distributionByName('bandits:5')).toThrow(/unknown benchmark 'bandits:5'; expected one of: MT1:<family>, ML1:<family>, MT10, ML10, MT50, ML45, bandit:k<arms>n<pulls>, tabular-mdp:n<episodes>/);
  });

  it('draws tasks as a pure function of (seed, iteration), test tasks apart from training tasks', () => {
    const a = tabularMdpDistribution({ episodes: 10, seed: 4 }), b = tabularMdpDistribution({ episodes: 10, seed: 4 });
    expect(a.trainTasks(7, 3)).toEqual(b.trainTasks(7, 3));
    expect(a.trainTasks(7, 1)).not.toEqual(a.trainTasks(8, 1));
    expect(a.testTasks(2)).toEqual(b.testTasks(2));
    expect(a.testTasks(1)).not.toEqual(a.trainTasks(0, 1));
    const task = a.testTasks(1)[0];
    expect(task.params).toHaveLength(10 * 5 + 10 * 5 * 10);
    // Every transition row is a distribution.
    for (let sa = 0; sa < 50; sa++) {
      const row = task.params.slice(50 + 10 * sa, 60 + 10 * sa);
      expect(row.reduce((x, y) => x + y, 0)).toBeCloseTo(1, 9);
      expect(Math.min(...row)).toBeGreaterThanOrEqual(0);
    }
    // ML1 deals its 50 training tasks out, reshuffled per iteration.
    const reach = distributionByName('ML1:reach');
    expect(new Set(reach.trainTasks(0, 50)).size).toBe(50);
    expect(reach.trainTasks(0, 5)).not.toEqual(reach.trainTasks(1, 5));
  });

  it('scores like the RL2 paper\'s random baselines under a uniformly random policy', () => {
    // Bandits: 0.5 per pull; MDPs: mean reward 1 per step, 10 steps x 10 episodes.
    const random = (name: string, tasks: number) => {
      const d = distributionByName(name);
      const envs = new LocalEnvBatch(d, tasks);
      const taskList = d.testTasks(tasks);
      let seed = 1, total = 0, draw = 12345;
      const episodes = d.protocol.adaptationEpisodes;
      for (let e = 0; e < episodes; e++) {
        envs.reset(seed++ * 1000, e === 0 ? taskList : undefined);
        for (let s = 0; s < d.spec.episodeSteps; s++) {
          const actions = new Float32Array(tasks).map(() => { draw = (draw * 1103515245 + 12345) % 2147483648; return Math.floor((draw / 2147483648) * 5); });
          const step = envs.step(actions);
          for (let i = 0; i < tasks; i++) total += step.rewards[i];
          if (s === d.spec.episodeSteps - 1) expect(Array.from(step.dones).every((x) => x === 1)).toBe(true);
        }
      }
      return total / tasks;
    };
    expect(random('bandit:k5n10', 2000)).toBeCloseTo(5, 0);
    expect(Math.abs(random('tabular-mdp:n10', 1000) - 100)).toBeLessThan(3);
  });

  it('gives the same rewards for the same episode seed, and a bandit arm pays at its rate', () => {
    const d = banditDistribution({ arms: 2, pulls: 10 });
    const env = d.makeEnv();
    const task = { family: 'bandit', params: [0.2, 0.9] };
    let paid = 0;
    for (let e = 0; e < 4000; e++) {
      env.reset({ task, seed: e });
      paid += env.step([1]).reward;
    }
    expect(paid / 4000).toBeCloseTo(0.9, 1);
    const pulls = (seed: number) => { env.reset({ task, seed }); return env.step([0]).reward; };
    expect([3, 4, 5].map(pulls)).toEqual([3, 4, 5].map(pulls));
    expect(() => env.step([2])).toThrow(/action must be \[index\] with index an integer in 0\.\.1, got \[2\]/);
  });

  it('keeps a robot lane on its task across episodes when a reset names no task', () => {
    const d = distributionByName('ML1:reach', { seed: 1 });
    const envs = new LocalEnvBatch(d, 1);
    const [task] = d.trainTasks(0, 1);
    const episode = (seed: number, withTask: boolean) => {
      envs.reset(seed, withTask ? [task] : undefined);
      let total = 0;
      for (let s = 0; s < 20; s++) total += envs.step(Float32Array.of(0.3, 0.5, -0.2, 0)).rewards[0];
      return total;
    };
    expect(episode(1, true)).toBe(episode(2, false));
  });
});
