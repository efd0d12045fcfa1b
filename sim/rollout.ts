// Rolling out the scripted expert of a family over benchmark tasks (MetaWorld's success rule: an
// episode succeeds if the success flag was 1 at any step).

import type { Benchmark } from './benchmarks.ts';
import { makeEnv } from './benchmarks.ts';
import type { Task } from './family.ts';

export interface EpisodeSummary {
  taskIndex: number;
  family: string;
  success: boolean;
  /** First step at which the success flag was set, or -1. */
  firstSuccessStep: number;
  return: number;
  steps: number;
}

export interface ExpertReport {
  benchmark: string;
  split: 'train' | 'test';
  episodes: EpisodeSummary[];
  successRate: number;
  meanReturn: number;
  stepsPerSecond: number;
}

export function runExpert(
  benchmark: Benchmark,
  split: 'train' | 'test',
  options: { tasks?: number; episodeSeed?: number; onEpisode?: (done: number, total: number, episode: EpisodeSummary) => void } = {},
): ExpertReport {
  const tasks: readonly Task[] = benchmark[split].slice(0, options.tasks ?? benchmark[split].length);
  if (tasks.length === 0) throw new Error(`${benchmark.name} has no ${split} tasks`);
  const episodes: EpisodeSummary[] = [];
  let steps = 0;
  const started = performance.now();
  // One env for every task: it rebuilds its world when a task of another family comes.
  const env = makeEnv(benchmark, tasks[0]);
  try {
    tasks.forEach((task, taskIndex) => {
      let { obs } = env.reset({ task, seed: options.episodeSeed ?? 0 });
      const expert = env.family.expert;
      const goal = env.goalPosition;
      const episode: EpisodeSummary = { taskIndex, family: task.family, success: false, firstSuccessStep: -1, return: 0, steps: 0 };
      for (let done = false; !done;) {
        const result = env.step(expert(obs, goal));
        obs = result.obs;
        episode.return += result.reward;
        if (result.info.success && !episode.success) { episode.success = true; episode.firstSuccessStep = episode.steps; }
        episode.steps++;
        done = result.terminated || result.truncated;
      }
      steps += episode.steps;
      episodes.push(episode);
      options.onEpisode?.(episodes.length, tasks.length, episode);
    });
  } finally {
    env.close();
  }
  const seconds = (performance.now() - started) / 1000;
  return {
    benchmark: benchmark.name,
    split,
    episodes,
    successRate: episodes.filter((e) => e.success).length / episodes.length,
    meanReturn: episodes.reduce((s, e) => s + e.return, 0) / episodes.length,
    stepsPerSecond: steps / seconds,
  };
}
