// The one environment interface the agent sees: a task distribution (robot benchmark, Bernoulli bandits,
// random tabular MDPs) that hands out tasks and builds envs. The distributions themselves live in
// robot-tasks.ts and tabular.ts; distributions.ts turns a name into one.

import type { Benchmark, Task } from '../sim/index.ts';

export type { Task } from '../sim/index.ts';

export type ActionSpace =
  | { kind: 'discrete'; n: number }
  | { kind: 'box'; size: number; low: number; high: number };

export interface EnvSpec {
  obsSize: number;
  action: ActionSpace;
  /** Every episode of these tasks lasts exactly this many steps (MetaWorld truncates at 500; a bandit pull is 1). */
  episodeSteps: number;
  /** True when episodes report MetaWorld's success flag. */
  hasSuccess: boolean;
  /** Size of the distribution's critic features (TaskDistribution.critic); absent when it has none. */
  criticFeatures?: number;
}

/** Numbers an action takes in a flat buffer: one index for a discrete space, `size` reals for a box. */
export const actionWidth = (space: ActionSpace): number => (space.kind === 'discrete' ? 1 : space.size);

export interface MetaStep { obs: Float32Array; reward: number; done: boolean; success: boolean }

/** One environment, Gymnasium-shaped; `done` is true on the last step of an episode. */
export interface MetaEnv {
  readonly spec: EnvSpec;
  reset(options: { task?: Task; seed: number }): Float32Array;
  step(action: ArrayLike<number>): MetaStep;
  close(): void;
}

/** How tasks are evaluated: MetaWorld's 10 adaptation + 3 evaluation episodes, or an RL2 trial of n episodes. */
export interface Protocol { adaptationEpisodes: number; evaluationEpisodes: number }

/**
 * What a privileged critic may know of a task that the policy must find out: the task's parameters and
 * quantities derived from them. Only the value function reads them during training (an asymmetric
 * actor-critic); the policy, evaluation and serving never do.
 */
export interface CriticFeatures {
  readonly size: number;
  /** Writes the features of `task` at this step into out[0..size): `obs` is the lane's observation, `step` the index within the episode. */
  write(task: Task, obs: Float32Array, step: number, out: Float32Array): void;
}

export interface TaskDistribution {
  /** Canonical name, e.g. "ML1:reach", "bandit:k5n10", "tabular-mdp:n10". */
  readonly name: string;
  /** Seed of the task lists (train tasks per iteration, test tasks). */
  readonly seed: number;
  readonly spec: EnvSpec;
  readonly protocol: Protocol;
  /** `count` training tasks for one training iteration: a pure function of (seed, iteration). */
  trainTasks(iteration: number, count: number): Task[];
  /** The first `count` held-out test tasks (never used for training, nor to pick a checkpoint). */
  testTasks(count: number): Task[];
  /** How many test tasks there are (Infinity for freshly sampled distributions). */
  readonly testTaskCount: number;
  /** Where the test tasks come from, in words (split, seed), for reports. */
  readonly testTaskSource: string;
  /**
   * The first `count` validation tasks, apart from the test tasks: what training evaluates on and
   * picks its best checkpoint by (robot benchmarks: their training tasks, i.e. meta-train success;
   * sampled distributions: a fresh draw of their own).
   */
  validationTasks(count: number): Task[];
  readonly validationTaskCount: number;
  /** Task features for a privileged critic (spec.criticFeatures numbers). */
  readonly critic?: CriticFeatures;
  /** The simulator benchmark behind a robot distribution (its envs may then run in worker threads). */
  readonly benchmark?: Benchmark;
  makeEnv(): MetaEnv;
  /**
   * A scripted demonstrator for `task`, one per trial: the family's expert (robot benchmarks; it knows
   * the task's goal), or its searcher (`searcher`: acts only on what the trial so far tells a policy; the
   * families in `searchers`), or a trained learner (`teacher`: where a run's distribution carries one,
   * agent/teacher.ts). `seed` names a stochastic demonstrator's random stream. Absent where there is
   * none (bandits, tabular MDPs, unless given a teacher).
   */
  demonstrator?(task: Task, kind?: DemonstratorKind, seed?: number): Demonstrator;
  /** True when every family of the distribution has a searcher (ML1:reach). */
  readonly searchers?: boolean;
}

export type DemonstratorKind = 'expert' | 'searcher' | 'teacher';

/**
 * A demonstrator of one task: the action it takes on an observation (called once per step of a trial),
 * told what the trial's previous step was (the action the lane took, which may not be the one it
 * demonstrated, what it earned, and whether it ended an episode); absent at the trial's first step.
 * Scripted experts and searchers read the observation alone; a learner (Q-learning) needs the rest.
 */
export type Demonstrator = (obs: Float32Array, previous?: PreviousStep) => ArrayLike<number>;

/** A trial's previous step, as a demonstrator is told it. */
export interface PreviousStep { action: ArrayLike<number>; reward: number; done: boolean }
