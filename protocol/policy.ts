// The policy server's wire conventions (openpi's websocket policy protocol): the metadata frame a
// client reads first, the observation keys it may send, and the close code of a failed connection.
// Browser-safe (types and constants only); docs/POLICY_SERVER.md documents the maps with examples.

/**
 * What a remote client learns about the policy before its first request (the policy server's metadata
 * frame). Keys are snake_case because the readers are mostly Python robot stacks (openpi clients).
 */
export interface PolicyMetadata {
  server: 'metamanip';
  /** The wire conventions: openpi's websocket policy server, one action per request. */
  protocol: 'openpi-websocket';
  policy: string;
  /** rl2: adapts in its memory as it acts; maml: records the first adaptation_episodes, then takes a gradient step. */
  algorithm: 'rl2' | 'maml';
  /** The task distribution the policy was trained on, e.g. "ML1:reach". */
  benchmark: string;
  /** The training iteration of the checkpoint and the env steps trained by then. */
  iteration: number;
  trained_steps: number;
  obs_size: number;
  /** Observation map keys read for the observation, in order of preference. */
  observation_keys: string[];
  action_space:
    | { kind: 'box'; shape: [number]; low: number; high: number; dtype: 'float32' }
    | { kind: 'discrete'; n: number; dtype: 'int32' };
  /** Actions per reply (openpi's action chunk length) and numbers per action. */
  action_horizon: 1;
  action_dim: number;
  /** Steps per episode the policy was trained on (MetaWorld: 500), and episodes per trial. */
  episode_steps: number;
  trial_episodes: number;
  /** True: the policy remembers the connection's past steps; send `reset` to start a new trial. */
  recurrent: true;
  /**
   * MAML: the episodes of a trial the server records before it takes the inner step for the connection
   * (each reply then says `adapted`); null for RL2, which adapts as it acts.
   */
  adaptation_episodes: number | null;
  has_success: boolean;
  /** The last evaluation's summary stored in the checkpoint (null when it was never evaluated). */
  evaluation: Record<string, unknown> | null;
}

/** The observation map keys a client may use for the state vector (first present wins). */
export const OBSERVATION_KEYS = ['observation/state', 'observation', 'state', 'obs'] as const;

/** RFC 6455 1011: the server hit a condition that kept it from answering (openpi uses it for every error). */
export const POLICY_ERROR_CLOSE_CODE = 1011;
