// The meta-learning interface the evaluator and the trainer speak: an exploration policy for new tasks and
// adapt(policy, episodes) -> the adapted policy (RL2 adapts in its hidden state; MAML takes a policy-gradient
// step on the episodes its exploration policy recorded, agent/maml.ts; Q-learning learns as it explores).

/** A policy acting in `lanes` tasks at once, one lane per task, in lock-step. It may keep memory per lane. */
export interface LanePolicy {
  readonly lanes: number;
  /** One action per lane from the lanes' observations (lanes x obsSize); returns lanes x actionWidth. */
  act(obs: Float32Array): Float32Array;
  /**
   * What the last actions earned; dones[i] = 1 when lane i's episode ended with that step, success[i] = 1
   * when the task's success flag was set at it (robot tasks; absent where unknown).
   */
  observe(rewards: ArrayLike<number>, dones: ArrayLike<number>, success?: ArrayLike<number>): void;
  dispose(): void;
}

/** An episode as the adaptation step sees it. */
export interface EpisodeRecord { return: number; success: boolean; steps: number }

export interface MetaAlgorithm {
  readonly name: string;
  /** True when adapt() reads the adaptation episodes (then the evaluator records them). */
  readonly adaptUsesEpisodes: boolean;
  /** A fresh policy for `lanes` new tasks. `seed` names its action-noise streams. */
  explorationPolicy(lanes: number, options: { seed: number; deterministic?: boolean }): LanePolicy;
  /** The policy to evaluate after the adaptation episodes of each lane ([lane][episode]). */
  adapt(policy: LanePolicy, episodes: EpisodeRecord[][]): LanePolicy | Promise<LanePolicy>;
}
