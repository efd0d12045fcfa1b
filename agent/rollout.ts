// Running lanes of tasks in lock-step with a lane policy: trials of several episodes per task, the
// unit both training (RL2 samples trials) and evaluation (adaptation, then evaluation episodes) use.

import type { EnvBatch } from './batch-env.ts';
import type { Task } from './envs.ts';
import type { EpisodeRecord, LanePolicy } from './meta.ts';
import { seedFor } from './random.ts';

export interface TrialStats {
  /** Sum of rewards over each lane's trial. */
  trialReturns: number[];
  /** [lane][episode] returns and success flags (set at any step). */
  episodeReturns: number[][];
  episodeSuccess: boolean[][];
  /** [lane][episode] steps taken until the success flag was first set (1 = at the first step), or -1. */
  episodeStepsToSuccess: number[][];
}

/**
 * Runs one trial of `episodes` episodes per lane (task) with `policy`, lanes in lock-step. Episode e of
 * lane i uses the env seed seedFor(seed, 'episode', e) + i.
 */
export function runTrials(envs: EnvBatch, policy: LanePolicy, tasks: readonly Task[], episodes: number, seed: number, onEpisode?: (episode: number) => void): TrialStats & { episodes: EpisodeRecord[][] } {
  const lanes = tasks.length;
  if (lanes !== envs.size) throw new Error(`runTrials: ${lanes} tasks for ${envs.size} lanes`);
  const stats: TrialStats & { episodes: EpisodeRecord[][] } = {
    trialReturns: new Array(lanes).fill(0),
    episodeReturns: Array.from({ length: lanes }, () => []),
    episodeSuccess: Array.from({ length: lanes }, () => []),
    episodeStepsToSuccess: Array.from({ length: lanes }, () => []),
    episodes: Array.from({ length: lanes }, () => []),
  };
  for (let e = 0; e < episodes; e++) {
    let obs = envs.reset(seedFor(seed, 'episode', e), e === 0 ? tasks : undefined);
    const returns = new Array(lanes).fill(0), success = new Array(lanes).fill(false), stepsToSuccess = new Array(lanes).fill(-1);
    for (let s = 0; s < envs.spec.episodeSteps; s++) {
      const actions = policy.act(obs);
      const step = envs.step(actions);
      policy.observe(step.rewards, step.dones, step.success);
      for (let i = 0; i < lanes; i++) {
        returns[i] += step.rewards[i];
        if (step.success[i] && !success[i]) {
          success[i] = true;
          stepsToSuccess[i] = s + 1;
        }
      }
      obs = step.obs;
    }
    for (let i = 0; i < lanes; i++) {
      stats.trialReturns[i] += returns[i];
      stats.episodeReturns[i].push(returns[i]);
      stats.episodeSuccess[i].push(success[i]);
      stats.episodeStepsToSuccess[i].push(stepsToSuccess[i]);
      stats.episodes[i].push({ return: returns[i], success: success[i], steps: envs.spec.episodeSteps });
    }
    onEpisode?.(e);
  }
  return stats;
}
