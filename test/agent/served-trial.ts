// A robot served by a policy session: 500-step episodes of synthetic 39-number observations, the reward a
// function of the step, the episode boundary reported on each episode's first observation. The actions it
// was answered, in order: what the policy-server tests of MAML checkpoints compare between robots.

import type { PolicySession } from '../../agent/policy.ts';

const observation = (t: number) => Float32Array.from({ length: 39 }, (_, i) => 0.3 * Math.sin(i + t / 50));

export function servedActions(session: PolicySession, reward: (t: number) => number, episodes: number): Float32Array[] {
  const actions: Float32Array[] = [];
  for (let e = 0; e < episodes; e++) for (let t = 0; t < 500; t++) actions.push(session.act(observation(t), reward(t), e > 0 && t === 0));
  return actions;
}
