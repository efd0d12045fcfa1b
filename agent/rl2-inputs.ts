// What RL2's network reads at each step: the policy's input row (Duan et al. 2016: the tuple of
// observation, previous action, previous reward and done flag, plus optional extras), a privileged
// critic's extra input and a separate value network's extra input, each an InputLayout, a list of features that both sizes the row and writes it.
// Acting writes the rows; learning replays the recorded rows through the same network.

import type { ActionSpace, CriticFeatures, EnvSpec, Task } from './envs.ts';

/** The settings that choose RL2's inputs (part of Rl2Config). */
export interface Rl2InputConfig {
  /** The previous reward (and its change) is multiplied by this in the input. */
  rewardInputScale: number;
  /**
   * Also feed the previous observation, so the previous (observation, action, reward) arrive together.
   * The GRU could remember it itself; handing it over makes credit assignment in tabular MDPs easier.
   */
  previousObservation: boolean;
  /**
   * Also feed the change of reward since the previous step (x rewardInputScale; 0 at an episode's
   * first two steps). Following a dense reward uphill needs it, and the GRU would have to learn the
   * subtraction itself at a precision that a reward input of 1-10 hides (MetaWorld's reach changes
   * its reward by about 0.1 per centimetre).
   */
  rewardDeltaInput: boolean;
  /**
   * Also feed the outer product of the previous observation and the previous action's one-hot
   * (discrete actions only), plain and times the previous reward (x rewardInputScale). In a tabular
   * MDP that is the (state, action) pair just tried and its reward in that pair's own inputs, so the
   * GRU can store what each pair earned without first learning to multiply its inputs.
   */
  observationActionInput: boolean;
  /**
   * An asymmetric actor-critic: the value function also reads the task's critic features
   * (TaskDistribution.critic: e.g. the goal's position, an MDP's optimal values) and where the step is in
   * its episode and trial. Knowing the task, it tells the policy's lucky steps from its good ones; the
   * policy never sees the features, so acting and evaluation are unchanged.
   */
  privilegedCritic: boolean;
  /**
   * The value network (separateValueNetwork only) also reads the step's place in the trial, trial step /
   * trial length (0 at the first step, (length - 1) / length at the last): with a discount over a fixed
   * 100-step trial the value depends on how much of the trial is left, which the policy's inputs do not
   * say. The policy never reads it.
   */
  valueTimeInput: boolean;
}

// ---------------------------------------------------------------------------------------------
// A lane's history: what the features read

/** What training knows of a lane's task, for a privileged critic (absent outside training). */
export interface PrivilegedTask { features: CriticFeatures; task: Task; trialSteps: number }

/**
 * What one lane (one task) has seen in its trial up to the step it acts on. At the trial's first step
 * nothing came before: no previous observation, and a zero action, reward and done flag.
 */
export class LaneHistory {
  /** The observation acted on now (set before the lane's rows are written). */
  obs: Float32Array = new Float32Array(0);
  /** The observation of the previous step within the trial; null at its first step. */
  previousObs: Float32Array | null = null;
  /** The previous action as the network reads it: one-hot (discrete), or as the env got it (box, clipped). */
  readonly previousAction: Float32Array;
  /** What the previous action earned, in float32 like the rest of the input. */
  previousReward = 0;
  /** The reward before that within the same episode; NaN when there is none. */
  rewardBefore = Number.NaN;
  /** 1 when the previous step ended an episode. */
  previousDone = 0;
  /** Steps taken in the trial before the one acted on now. */
  trialStep = 0;

  constructor(private readonly space: ActionSpace, readonly privileged: PrivilegedTask | null = null) {
    this.previousAction = new Float32Array(space.kind === 'discrete' ? space.n : space.size);
  }

  /** After the lane's rows are written: its observation becomes the previous one (a copy: envs may reuse their buffers). */
  acted(): void {
    (this.previousObs ??= new Float32Array(this.obs.length)).set(this.obs);
  }

  /** What the action the env got (`envAction`, actionWidth numbers) earned; ends the step. */
  observed(envAction: Float32Array, reward: number, done: boolean): void {
    // The trial's first reward has none before it, and a done step's is the last of its episode.
    this.rewardBefore = this.trialStep === 0 || this.previousDone ? Number.NaN : this.previousReward;
    this.previousReward = Math.fround(reward);
    this.previousDone = done ? 1 : 0;
    if (this.space.kind === 'discrete') {
      this.previousAction.fill(0);
      this.previousAction[envAction[0]] = 1;
    } else {
      this.previousAction.set(envAction);
    }
    this.trialStep++;
  }
}

// ---------------------------------------------------------------------------------------------
// Features and layouts

/** A part of an input row. */
export interface InputFeature {
  readonly size: number;
  /** Writes the lane's values into `out` (exactly `size` long), all of it: rows are reused. */
  write(out: Float32Array, lane: LaneHistory): void;
}

/** An input row: its features in order. The order is part of a trained network (its first layer reads it). */
export class InputLayout {
  readonly size: number;

  constructor(readonly features: readonly InputFeature[]) {
    this.size = features.reduce((n, f) => n + f.size, 0);
  }

  write(row: Float32Array, lane: LaneHistory): void {
    let at = 0;
    for (const feature of this.features) {
      feature.write(row.subarray(at, at + feature.size), lane);
      at += feature.size;
    }
  }
}

/**
 * The policy's input: observation, [previous observation,] previous action, previous reward x scale,
 * [reward change x scale,] done flag, [previous observation x action one-hot, the same x reward].
 */
export function policyInputs(spec: EnvSpec, config: Rl2InputConfig): InputLayout {
  const scale = config.rewardInputScale;
  return new InputLayout([
    observation(spec.obsSize),
    ...(config.previousObservation ? [previousObservation(spec.obsSize)] : []),
    previousAction(spec.action),
    previousReward(scale),
    ...(config.rewardDeltaInput ? [rewardChange(scale)] : []),
    doneFlag,
    ...(config.observationActionInput ? [observationAction(spec, scale)] : []),
  ]);
}

/**
 * A privileged critic's extra input (null without one): the task's critic features, then the step's
 * place in its episode and in its trial (0..1). Outside training no task is known: the features and the
 * trial place are zeros there (the value is not used then).
 */
export function criticInputs(spec: EnvSpec, config: Pick<Rl2InputConfig, 'privilegedCritic'>): InputLayout | null {
  if (!config.privilegedCritic) return null;
  if (spec.criticFeatures === undefined) throw new Error('rl2: privilegedCritic needs a task distribution with critic features (robot benchmarks, bandits and tabular MDPs have them)');
  return new InputLayout([taskFeatures(spec.criticFeatures, spec.episodeSteps), episodePlace(spec.episodeSteps), trialPlace]);
}

/**
 * What the separate value network reads after the policy's input row (null: nothing more): the place in
 * the trial (valueTimeInput), counted in the training trial's length. Written while acting like every
 * input, recorded, and replayed by learning.
 */
export function valueInputs(spec: EnvSpec, config: Pick<Rl2InputConfig, 'valueTimeInput'> & { episodesPerTrial: number }): InputLayout | null {
  if (!config.valueTimeInput) return null;
  return new InputLayout([trialTime(config.episodesPerTrial * spec.episodeSteps)]);
}

const observation = (size: number): InputFeature => ({ size, write: (out, lane) => out.set(lane.obs) });

const previousObservation = (size: number): InputFeature => ({
  size,
  write(out, lane) {
    if (lane.previousObs) out.set(lane.previousObs);
    else out.fill(0);
  },
});

const previousAction = (space: ActionSpace): InputFeature => ({
  size: space.kind === 'discrete' ? space.n : space.size,
  write: (out, lane) => out.set(lane.previousAction),
});

const previousReward = (scale: number): InputFeature => ({ size: 1, write: (out, lane) => { out[0] = lane.previousReward * scale; } });

const rewardChange = (scale: number): InputFeature => ({
  size: 1,
  write: (out, lane) => { out[0] = Number.isNaN(lane.rewardBefore) || lane.previousDone ? 0 : (lane.previousReward - lane.rewardBefore) * scale; },
});

const doneFlag: InputFeature = { size: 1, write: (out, lane) => { out[0] = lane.previousDone; } };

function observationAction(spec: EnvSpec, scale: number): InputFeature {
  if (spec.action.kind !== 'discrete') throw new Error('rl2: observationActionInput needs discrete actions (the action enters as a one-hot)');
  const states = spec.obsSize, actions = spec.action.n;
  return {
    size: 2 * states * actions,
    write(out, lane) {
      out.fill(0);
      if (!lane.previousObs) return;
      const reward = lane.previousReward * scale;
      for (let o = 0; o < states; o++) {
        const x = lane.previousObs[o];
        if (x === 0) continue;
        for (let a = 0; a < actions; a++) {
          const y = lane.previousAction[a];
          out[o * actions + a] = x * y;
          out[states * actions + o * actions + a] = x * y * reward;
        }
      }
    },
  };
}

function taskFeatures(size: number, episodeSteps: number): InputFeature {
  return {
    size,
    write(out, lane) {
      out.fill(0);
      const known = lane.privileged;
      if (known) known.features.write(known.task, lane.obs, lane.trialStep % episodeSteps, out);
    },
  };
}

const episodePlace = (episodeSteps: number): InputFeature => ({ size: 1, write: (out, lane) => { out[0] = (lane.trialStep % episodeSteps) / episodeSteps; } });

const trialPlace: InputFeature = { size: 1, write: (out, lane) => { out[0] = lane.privileged ? lane.trialStep / lane.privileged.trialSteps : 0; } };

/** The step's place in its trial, 0..1, from the training trial length (evaluation trials may run longer). */
const trialTime = (trialSteps: number): InputFeature => ({ size: 1, write: (out, lane) => { out[0] = lane.trialStep / trialSteps; } });
