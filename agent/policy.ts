// A trained policy loaded for acting one robot at a time (the policy server's view of a checkpoint):
// each PolicySession keeps RL2's memory (hidden state, previous action, reward and done flag) for one
// robot, so the policy adapts online to the task that robot is doing, exactly as in evaluation. A MAML
// checkpoint's session records the robot's first episodes instead and, once it has the adaptation
// episodes, takes the inner policy-gradient step for that robot alone (MamlSession).

import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { isRl2Checkpoint, readCheckpoint } from './checkpoint.ts';
import type { ActionSpace, EnvSpec } from './envs.ts';
import { distributionByName } from './distributions.ts';
import { Maml, type MamlLanes, type MamlSettings } from './maml.ts';
import { Rl2, type Rl2LanePolicy } from './rl2.ts';
import { resolveCheckpointPath } from './run.ts';
import { seedFor } from './random.ts';

export interface SessionOptions {
  /** Act with the Gaussian's mean (the most likely discrete action) instead of sampling. Default false, as in evaluation. */
  deterministic?: boolean;
  /** Names the action-noise stream of the first trial (default 0); later trials use seedFor(seed, 'trial', k). */
  seed?: number;
}

/**
 * One robot's conversation with the policy. Call act() once per control step with the observation the
 * robot sees now and what its previous action earned; reset() when the robot starts a new task (trial).
 */
export interface PolicySession {
  /**
   * The action for `obs`. `reward` is what the previous action earned and `done` says whether the
   * previous action ended its episode (so `obs` is the first of a new episode within the same trial);
   * both are ignored on a trial's first step, where RL2's inputs are zeros. Returns a new array
   * (box: clipped to the action space; discrete: one index).
   */
  act(obs: Float32Array, reward?: number, done?: boolean): Float32Array;
  /** Starts a new trial: hidden state, previous action, reward and done back to zero. */
  reset(options?: SessionOptions): void;
  /** Trials started (1 after creation) and steps taken in the current one. */
  readonly trial: number;
  readonly step: number;
  /** The seed and mode of the current trial. */
  readonly seed: number;
  readonly deterministic: boolean;
  /** The GRU's hidden state (copy), for tests and viewers. */
  hiddenState(): Float32Array;
  /** The critic's value estimate at the last act() (NaN before the first, and for policies without a critic). */
  readonly value: number;
  /** MAML: whether this trial's inner step has been taken (absent for policies that adapt as they act). */
  readonly adapted?: boolean;
  dispose(): void;
}

export interface LoadedPolicy {
  /** e.g. "ml1-reach/best" for a run folder's best checkpoint. */
  readonly name: string;
  readonly benchmark: string;
  /** The benchmark seed it was trained with: its training tasks are that seed's train tasks. */
  readonly seed: number;
  readonly spec: EnvSpec;
  /** The checkpoint file it came from. */
  readonly path: string;
  /** The checkpoint's training iteration and the env steps trained by then. */
  readonly iteration: number;
  readonly envSteps: number;
  /** Episodes per trial it was trained with (its memory spans that many episodes of one task). */
  readonly episodesPerTrial: number;
  /** The algorithm of the checkpoint (rl2, maml). */
  readonly algorithm: string;
  /** MAML: the episodes a session records before it takes the inner step (null: the policy adapts as it acts). */
  readonly adaptationEpisodes: number | null;
  /** The last evaluation's summary stored in the checkpoint (null when it was never evaluated). */
  readonly evaluation: Record<string, unknown> | null;
  session(options?: SessionOptions): PolicySession;
  /** Frees the weights; sessions must be disposed first. */
  dispose(): void;
}

/** Throws this for inputs a caller can fix (wrong observation size, NaN); the message says what was wrong. */
export class PolicyInputError extends Error {
  override name = 'PolicyInputError';
}

/**
 * Loads a checkpoint file or a run folder (its best checkpoint, else its latest) for acting. The tfjs
 * backend is the caller's choice (initBackend) and must be set before.
 */
export function loadPolicy(path: string, options: { name?: string } = {}): LoadedPolicy {
  const file = resolveCheckpointPath(path);
  const checkpoint = readCheckpoint(file);
  if (checkpoint.algorithm === 'maml') return loadMamlPolicy(file, checkpoint, options.name ?? policyName(file));
  if (!isRl2Checkpoint(checkpoint)) throw new Error(`${file} is a ${checkpoint.algorithm} checkpoint; policies are served from rl2 and maml checkpoints`);
  let rl2: Rl2;
  try {
    rl2 = Rl2.fromCheckpoint(checkpoint);
  } catch (error) {
    throw new Error(`${file}: cannot load the weights: ${(error as Error).message}`);
  }
  const spec = checkpoint.spec;
  return servedPolicy({
    name: options.name ?? policyName(file),
    benchmark: checkpoint.benchmark,
    seed: checkpoint.seed,
    spec,
    path: file,
    iteration: checkpoint.iteration,
    envSteps: checkpoint.envSteps,
    episodesPerTrial: checkpoint.config.episodesPerTrial,
    algorithm: 'rl2',
    adaptationEpisodes: null,
    evaluation: checkpoint.evaluation,
  }, (sessionOptions, onDispose) => new Rl2Session(rl2, spec, sessionOptions, onDispose), () => rl2.dispose());
}

/** A loaded policy that counts its open sessions and frees its learner (`release`) only once they are disposed. */
function servedPolicy(
  fields: Omit<LoadedPolicy, 'session' | 'dispose'>,
  newSession: (options: SessionOptions, onDispose: () => void) => PolicySession,
  release: () => void,
): LoadedPolicy {
  let open = 0;
  return {
    ...fields,
    session(sessionOptions = {}) {
      open++;
      return newSession(sessionOptions, () => { open--; });
    },
    dispose() {
      if (open > 0) throw new Error(`${fields.name}: ${open} session(s) still open; dispose them first`);
      release();
    },
  };
}

/**
 * A MAML checkpoint for acting: sessions adapt after the benchmark protocol's adaptation episodes (10 in
 * MetaWorld's), as the evaluator does; a trial is those plus the evaluation episodes.
 */
function loadMamlPolicy(file: string, checkpoint: ReturnType<typeof readCheckpoint>, name: string): LoadedPolicy {
  const protocol = distributionByName(checkpoint.benchmark, { seed: checkpoint.seed }).protocol;
  const maml = new Maml(checkpoint.spec, checkpoint.config as MamlSettings, checkpoint.seed);
  try {
    maml.load({ params: checkpoint.state.params });
  } catch (error) {
    maml.dispose();
    throw new Error(`${file}: cannot load the weights: ${(error as Error).message}`);
  }
  return servedPolicy({
    name,
    benchmark: checkpoint.benchmark,
    seed: checkpoint.seed,
    spec: checkpoint.spec,
    path: file,
    iteration: checkpoint.iteration,
    envSteps: checkpoint.envSteps,
    episodesPerTrial: protocol.adaptationEpisodes + protocol.evaluationEpisodes,
    algorithm: 'maml',
    adaptationEpisodes: protocol.adaptationEpisodes,
    evaluation: checkpoint.evaluation,
  }, (sessionOptions, onDispose) => new MamlSession(maml, checkpoint.spec, protocol.adaptationEpisodes, sessionOptions, onDispose), () => maml.dispose());
}

/** "run/best" for <run>/checkpoints/best.json (a run folder holds config.json), else the file's name without .json. */
function policyName(file: string): string {
  const stem = basename(file).replace(/\.json$/, '');
  const folder = dirname(file);
  const inRun = basename(folder) === 'checkpoints' && existsSync(join(dirname(folder), 'config.json'));
  return inRun ? `${basename(dirname(folder))}/${stem}` : stem;
}

/**
 * What every algorithm's session keeps for its robot: the trial's seed and mode, trial and step counters,
 * the checks on what the robot sends, and disposal. Subclasses hold the algorithm's lanes.
 */
abstract class TrialSession implements PolicySession {
  protected trials = 1;
  protected steps = 0;
  protected current: { seed: number; deterministic: boolean };
  private disposed = false;
  /** What the last action earned, as the lane policies' observe() takes it (one lane). */
  protected readonly rewards = new Float64Array(1);
  protected readonly dones = new Uint8Array(1);

  constructor(protected readonly spec: EnvSpec, private readonly base: SessionOptions, private readonly onDispose: () => void) {
    this.current = { seed: base.seed ?? 0, deterministic: base.deterministic ?? false };
  }

  get trial(): number { return this.trials; }
  get step(): number { return this.steps; }
  get seed(): number { return this.current.seed; }
  get deterministic(): boolean { return this.current.deterministic; }
  abstract get value(): number;
  abstract act(obs: Float32Array, reward?: number, done?: boolean): Float32Array;
  abstract hiddenState(): Float32Array;
  /** Fresh lanes for a new trial with this seed and mode. */
  protected abstract startTrial(options: { seed: number; deterministic: boolean }): void;
  /** Frees the lanes (once, at dispose). */
  protected release(): void {}

  /**
   * Checks what the robot sent; past a trial's first step, puts what the previous action earned into
   * `rewards` and `dones` and returns true (the lanes observe it before they act again: the evaluator's order).
   */
  protected received(obs: Float32Array, reward: number, done: boolean): boolean {
    this.alive();
    checkObservation(obs, this.spec.obsSize);
    if (!Number.isFinite(reward)) throw new PolicyInputError(`reward is ${reward}; expected a finite number`);
    if (this.steps === 0) return false;
    this.rewards[0] = reward;
    this.dones[0] = done ? 1 : 0;
    return true;
  }

  reset(options: SessionOptions = {}): void {
    this.alive();
    const seed = options.seed ?? seedFor(this.base.seed ?? 0, 'trial', this.trials);
    this.current = { seed, deterministic: options.deterministic ?? this.base.deterministic ?? false };
    this.startTrial(this.current);
    this.trials++;
    this.steps = 0;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.release();
    this.onDispose();
  }

  protected alive(): void {
    if (this.disposed) throw new Error('this policy session was disposed');
  }
}

/**
 * A session is RL2's own lanes=1 exploration policy (the one the evaluator runs per test task), so a
 * robot served here gets the same actions as an evaluated lane given the same inputs and seed.
 */
class Rl2Session extends TrialSession {
  private lane: Rl2LanePolicy;

  constructor(private readonly rl2: Rl2, spec: EnvSpec, base: SessionOptions, onDispose: () => void) {
    super(spec, base, onDispose);
    this.lane = rl2.explorationPolicy(1, this.current);
  }

  get value(): number { return this.steps === 0 ? Number.NaN : this.lane.lastValues[0]; }

  act(obs: Float32Array, reward = 0, done = false): Float32Array {
    if (this.received(obs, reward, done)) this.lane.observe(this.rewards, this.dones);
    // act() returns a buffer it may reuse next step: hand out a copy.
    const action = this.lane.act(obs).slice();
    this.steps++;
    return action;
  }

  protected startTrial(options: { seed: number; deterministic: boolean }): void {
    this.lane.dispose();
    this.lane = this.rl2.explorationPolicy(1, options);
  }

  hiddenState(): Float32Array { this.alive(); return this.lane.hiddenState().slice(); }

  protected override release(): void { this.lane.dispose(); }
}

/**
 * A robot's MAML trial: MAML's lanes=1 exploration policy (the evaluator's, per test task) records the
 * robot's steps; when the robot reports the end of its `adaptationEpisodes`-th episode (done, or
 * episode_start with the next observation), the session takes the inner step on them for this robot
 * alone and acts with the adapted policy for the rest of the trial. reset() starts a new trial from the
 * meta-trained policy.
 */
class MamlSession extends TrialSession {
  private lane: MamlLanes;
  private adaptedLane: MamlLanes | null = null;
  private episodes = 0;

  constructor(private readonly maml: Maml, spec: EnvSpec, private readonly adaptationEpisodes: number, base: SessionOptions, onDispose: () => void) {
    super(spec, base, onDispose);
    this.lane = maml.explorationPolicy(1, this.current);
  }

  get value(): number { return Number.NaN; }
  get adapted(): boolean { return this.adaptedLane !== null; }

  act(obs: Float32Array, reward = 0, done = false): Float32Array {
    if (this.received(obs, reward, done)) {
      (this.adaptedLane ?? this.lane).observe(this.rewards, this.dones);
      if (done) this.episodes++;
      // The adaptation episodes are in: the inner step, on this robot's own steps.
      if (!this.adaptedLane && this.episodes === this.adaptationEpisodes) this.adaptedLane = this.maml.adapt(this.lane, []);
    }
    const action = (this.adaptedLane ?? this.lane).act(obs).slice();
    this.steps++;
    return action;
  }

  protected startTrial(options: { seed: number; deterministic: boolean }): void {
    this.lane = this.maml.explorationPolicy(1, options);
    this.adaptedLane = null;
    this.episodes = 0;
  }

  /** MAML keeps no hidden state (its memory is the recorded steps, then the adapted weights). */
  hiddenState(): Float32Array { this.alive(); return new Float32Array(0); }
}

function checkObservation(obs: Float32Array, size: number): void {
  if (obs.length !== size) throw new PolicyInputError(`the observation has ${obs.length} values; the policy reads ${size}`);
  for (let i = 0; i < obs.length; i++) {
    if (!Number.isFinite(obs[i])) throw new PolicyInputError(`observation[${i}] is ${obs[i]}; every value must be a finite number`);
  }
}

/** The action space as a short phrase for messages ("4 floats in [-1, 1]", "one of 5 actions"). */
export function describeActionSpace(space: ActionSpace): string {
  return space.kind === 'box' ? `${space.size} floats in [${space.low}, ${space.high}]` : `one of ${space.n} actions`;
}

