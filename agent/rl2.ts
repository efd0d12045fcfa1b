// RL2 (Duan et al. 2016, arXiv:1611.02779) as a meta-algorithm, learned with PPO (ppo.ts). A GRU policy
// (rl2-network.ts) reads the observation, previous action, previous reward and done flag (rl2-inputs.ts);
// its hidden state runs through all episodes of a trial (one task) and is reset between trials, so it
// adapts in its hidden state and `adapt` needs no gradient step. Reads top to bottom: the settings, one
// training iteration (sample a trial per task, GAE over each whole trial, PPO on truncated-BPTT chunks),
// then acting.

import * as tf from '@tensorflow/tfjs';
import type { IterationStats } from './algorithm.ts';
import type { EnvBatch } from './batch-env.ts';
import type { ActionSpace, CriticFeatures, Demonstrator, DemonstratorKind, EnvSpec, PreviousStep, Task, TaskDistribution } from './envs.ts';
import { actionWidth } from './envs.ts';
import { LearnerThreads } from './learner-threads.ts';
import type { LanePolicy, MetaAlgorithm } from './meta.ts';
import { Adam, type TensorJSON, type WeightsState, loadWeightsState, weightsState } from './nn.ts';
import { type MinibatchGradient, PPO_DEFAULTS, type PpoBatch, type PpoConfig, type PpoPolicy, type PpoStats, computeGae, learningRateAt, minibatchGradient, ppoUpdate } from './ppo.ts';
import { type Rng, rngFor, seedFor } from './random.ts';
import { LaneHistory, type Rl2InputConfig } from './rl2-inputs.ts';
import { type Rl2Network, type Rl2NetworkConfig, rl2Network } from './rl2-network.ts';
import { type TrialRecord, newTrialRecord, sharedFloats, trialReplay } from './rl2-record.ts';
import { type TrialStats, runTrials } from './rollout.ts';

/** RL2's settings: the network's (Rl2NetworkConfig), the inputs' (Rl2InputConfig) and the learner's below. */
export interface Rl2Config extends Rl2NetworkConfig, Rl2InputConfig {
  /** Trials (one task each) sampled per iteration. */
  tasksPerIteration: number;
  /** Episodes per training trial; the hidden state spans them. */
  episodesPerTrial: number;
  /** Truncated BPTT length in steps; must divide the trial length. */
  bpttSteps: number;
  /** Rewards are multiplied by this for returns and values (keeps value targets near 1). */
  rewardScale: number;
  /**
   * Added to the reward, for returns and values only, at every step the task's success flag is set
   * (robot tasks). MetaWorld's reach reward is nearly flat around the 5 cm success radius (9.86 of 10
   * at 6 cm), so without a bonus crossing into it is worth almost nothing. The policy's reward input
   * and the reported returns stay the env's own.
   */
  successBonus: number;
  /**
   * Iterations at the start of a run that clone a scripted demonstrator instead of reinforcing the
   * policy's own actions (robot benchmarks: each family's expert, which knows the hidden goal). In them
   * every lane learns the expert's action plus the policy's own action noise; the even lanes take that
   * action, the odd ones the policy's (DAgger). The PPO update runs with every advantage 1 (not
   * standardised) and no log-std gradient: at the sampled policy its gradient is behaviour cloning's,
   * -mean grad log pi(expert action), and the clip bounds each update as it bounds PPO's (unless
   * demonstrationLoss is `likelihood`). The value
   * function learns the demonstrations' returns. 0: none.
   */
  demonstrationIterations: number;
  /**
   * In demonstration iterations, the lanes the policy drives take its mean action instead of a draw:
   * the expert then labels the states the noiseless policy reaches, and the policy cannot lean on its
   * own noise to find things out (for a policy meant to act with its mean).
   */
  demonstrationMeanAction: boolean;
  /**
   * In demonstration iterations, the lanes the demonstrator drives: `half` (the even ones; the others
   * are the policy's, DAgger), or `none` (every lane is the policy's and the demonstrator only labels:
   * the policy's previous-action input is then always its own action, never the demonstrator's).
   */
  demonstrationExpertLanes: DemonstrationExpertLanes;
  /**
   * Who demonstrates: the family's expert, which knows the goal (`expert`), or its searcher, which acts
   * only on what the trial so far tells (`searcher`: ML1 reach; it climbs the reward along one axis at a
   * time, turning when the reward stops rising, and in later episodes goes straight back). Cloning the
   * expert learns the mean of its actions given the history, which never searches; cloning the searcher
   * learns the search. Or a trained learner that adapts to each task as it goes (`teacher`: the
   * checkpoint named by `teacher`).
   */
  demonstrator: DemonstratorKind;
  /**
   * With `demonstrator: teacher`: the checkpoint file or run folder of a tabular Q-learner (qtable-*)
   * trained on the same benchmark. In each demonstration trial it learns the lane's task by Q-learning
   * from its start table on the steps the lane actually takes (the policy's own on DAgger lanes), and
   * labels every step with the action it would draw. null: none.
   */
  teacher: string | null;
  /**
   * The demonstration iterations' policy loss: `clipped`, PPO's clipped surrogate with every advantage 1
   * (each update raises a demonstrated action's likelihood by at most the clip's ratio, then that sample
   * stops pulling), or `likelihood`, behaviour cloning's plain -mean log pi(demonstrated action), which
   * keeps pulling until the policy's mean reaches the demonstrated action.
   */
  demonstrationLoss: DemonstrationLoss;
  ppo: PpoConfig;
}

/** The lanes the demonstrator drives in demonstration iterations (Rl2Config.demonstrationExpertLanes). */
export type DemonstrationExpertLanes = 'half' | 'none';

/** The demonstration iterations' policy loss (Rl2Config.demonstrationLoss). */
export type DemonstrationLoss = 'clipped' | 'likelihood';

export const RL2_DEFAULTS: Rl2Config = {
  tasksPerIteration: 20,
  episodesPerTrial: 10,
  hidden: 256,
  mlp: [],
  headMlp: [],
  bpttSteps: 250,
  rewardScale: 1,
  successBonus: 0,
  demonstrationIterations: 0,
  demonstrationMeanAction: false,
  demonstrationExpertLanes: 'half',
  demonstrator: 'expert',
  teacher: null,
  demonstrationLoss: 'clipped',
  rewardInputScale: 1,
  initLogStd: -0.5,
  maxLogStd: null,
  gruUpdateBias: 0,
  gruTimescale: 0,
  gruLayerNorm: false,
  separateValueNetwork: false,
  valueTimeInput: false,
  previousObservation: false,
  rewardDeltaInput: false,
  observationActionInput: false,
  normalizeInputs: false,
  privilegedCritic: false,
  criticMlp: [128, 128],
  fastKernels: true,
  ppo: PPO_DEFAULTS,
};

/** Settings whose default changed after runs were saved without them, and the value those runs had. */
const BEFORE_THE_SETTING: Partial<Rl2Config> = { fastKernels: false };

/**
 * Fills settings missing from a saved config (a run or checkpoint written before the setting existed)
 * with the values that reproduce what it did: today's defaults, chosen to keep the old behaviour, except
 * where BEFORE_THE_SETTING says otherwise.
 */
export function withRl2Defaults(config: Partial<Omit<Rl2Config, 'ppo'>> & { ppo?: Partial<PpoConfig> }): Rl2Config {
  return { ...RL2_DEFAULTS, ...BEFORE_THE_SETTING, ...config, ppo: { ...PPO_DEFAULTS, ...(config.ppo ?? {}) } };
}

/** An iteration's numbers (the trainer's IterationStats, whose `metrics` Rl2Learner fills from PPO's). */
export interface Rl2IterationStats extends PpoStats, Omit<IterationStats, 'metrics'> {}

/** RL2 as a meta-algorithm plus its PPO learner; one instance per run. */
export class Rl2 implements MetaAlgorithm {
  readonly name = 'rl2';
  readonly net: Rl2Network;
  readonly optimizer: Adam;
  readonly adaptUsesEpisodes = false;
  /** Threads that compute parts of each minibatch's gradient (startLearnerThreads); null: all in this thread. */
  private learner: LearnerThreads | null = null;

  constructor(readonly spec: EnvSpec, readonly config: Rl2Config, readonly seed: number) {
    const trialSteps = config.episodesPerTrial * spec.episodeSteps;
    if (trialSteps % config.bpttSteps !== 0) throw new Error(`rl2: bpttSteps (${config.bpttSteps}) must divide the trial length (${config.episodesPerTrial} episodes x ${spec.episodeSteps} steps = ${trialSteps})`);
    this.net = rl2Network(spec, config, seed);
    this.optimizer = new Adam(this.net.params, {
      learningRate: config.ppo.learningRate, beta1: 0.9, beta2: 0.999, epsilon: config.ppo.adamEpsilon, maxGradNorm: config.ppo.maxGradNorm,
      weightDecay: config.ppo.weightDecay, clipGroup: this.net.clipGroup,
    });
  }

  /**
   * Computes each minibatch's gradient in `threads` parts from now on: part 0 in this thread, the others
   * in threads - 1 worker threads (learner-threads.ts). 1 (the default) learns in this thread alone.
   * The same number of threads gives the same bits; a different number adds the parts' gradients in a
   * different order, so its results differ in the last bits (and then diverge as training goes on).
   */
  async startLearnerThreads(threads: number, options: { allInThisThread?: boolean } = {}): Promise<void> {
    if (this.learner) throw new Error('rl2: learner threads already started');
    if (threads === 1) return;
    const { config, spec, seed } = this;
    const sequences = config.tasksPerIteration * (config.episodesPerTrial * spec.episodeSteps) / config.bpttSteps;
    this.learner = await LearnerThreads.start({
      threads, params: this.net.params, network: { spec, config, seed }, ppo: config.ppo, maxSequences: sequences, ...options,
    });
  }

  explorationPolicy(lanes: number, options: { seed: number; deterministic?: boolean }): Rl2LanePolicy {
    const rngs = Array.from({ length: lanes }, (_, i) => rngFor(options.seed, 'actions', i));
    return new Rl2LanePolicy(this.net, lanes, rngs, { deterministic: options.deterministic });
  }

  /** RL2 has adapted in its hidden state while it explored: the adapted policy is the same policy, state kept. */
  adapt(policy: LanePolicy): LanePolicy { return policy; }

  /**
   * One training iteration: sample a trial on each of this iteration's tasks, then a PPO update on the
   * trials (GAE over each whole trial, no bootstrapping across its end).
   */
  iterate(envs: EnvBatch, distribution: TaskDistribution, iteration: number, totalIterations: number): Rl2IterationStats {
    const started = performance.now();
    const sample = this.sampleTrials(envs, distribution, iteration);
    return this.learn(sample, iteration, totalIterations, (performance.now() - started) / 1000);
  }

  /**
   * The learning half of an iteration: a PPO update on this iteration's trials, however they were
   * sampled (here by sampleTrials, or in lane groups by rollout workers: agent/rollouts.ts).
   */
  learn(sample: Rl2Sample, iteration: number, totalIterations: number, samplingSeconds: number): Rl2IterationStats {
    const { config } = this;
    const { record, trials } = sample;
    const sampled = performance.now();

    const { advantages, returns } = trialAdvantages(record, config);
    const demonstration = iteration < config.demonstrationIterations;
    if (demonstration) advantages.fill(1);
    const batch: PpoBatch = { sequences: record.lanes * (record.steps / record.chunkSteps), length: record.chunkSteps, oldLogProb: record.logProbs, advantages, returns };
    const policy = trialReplay(this.net, record);
    const { learner } = this;
    const shared = { ppo: batch, record };
    const ppoConfig = demonstration ? { ...config.ppo, normalizeAdvantages: false } : config.ppo;
    const computed: MinibatchGradient = learner ? (minibatch) => learner.gradient(policy, shared, minibatch) : (minibatch) => minibatchGradient(policy, batch, minibatch, ppoConfig);
    // Cloning keeps the action noise as it is: fitted by likelihood, the standard deviation would grow to
    // cover the distance between the policy's mean and the expert's actions, and the demonstrations with it.
    const gradient = demonstration ? withoutGradientOf('logStd', computed) : computed;
    const learningRate = learningRateAt(config.ppo, iteration, totalIterations);
    const cloning = demonstration && config.demonstrationLoss === 'likelihood';
    const ppo = ppoUpdate(policy, this.optimizer, batch, ppoConfig, rngFor(this.seed, 'minibatches', iteration), learningRate, gradient, cloning);
    // After the update, so that the update saw the statistics its trials were sampled with.
    this.net.updateInputStats(record.inputs, record.lanes * record.steps);
    const learned = performance.now();

    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const E = config.episodesPerTrial;
    return {
      ...ppo,
      envSteps: record.lanes * record.steps,
      meanTrialReturn: mean(trials.trialReturns),
      firstEpisodeReturn: mean(trials.episodeReturns.map((r) => r[0])),
      lastEpisodeReturn: mean(trials.episodeReturns.map((r) => r[E - 1])),
      firstEpisodeSuccess: mean(trials.episodeSuccess.map((s) => (s[0] ? 1 : 0))),
      lastEpisodeSuccess: mean(trials.episodeSuccess.map((s) => (s[E - 1] ? 1 : 0))),
      samplingSeconds,
      learningSeconds: (learned - sampled) / 1000,
    };
  }

  /** A trial on each training task of `iteration`, acted by the current policy and recorded for learning. */
  sampleTrials(envs: EnvBatch, distribution: TaskDistribution, iteration: number): Rl2Sample {
    return sampleTrialLanes(this.net, this.config, this.seed, distribution, envs, iteration, { first: 0, count: this.config.tasksPerIteration });
  }

  /** Everything needed to continue training bit-exactly: weights and optimiser state. */
  state(): WeightsState {
    return weightsState(this.net.params, this.optimizer);
  }

  /** A learner with a checkpoint's settings and weights, to act with (its optimiser starts fresh); disposed again if the weights do not fit. */
  static fromCheckpoint(checkpoint: { spec: EnvSpec; config: Rl2Config; seed: number; state: { params: Record<string, TensorJSON> } }): Rl2 {
    const rl2 = new Rl2(checkpoint.spec, checkpoint.config, checkpoint.seed);
    try {
      rl2.load({ params: checkpoint.state.params });
    } catch (error) {
      rl2.dispose();
      throw error;
    }
    return rl2;
  }

  load(state: WeightsState): void {
    loadWeightsState(this.net.params, this.optimizer, state);
  }

  dispose(): void {
    void this.learner?.close();
    this.learner = null;
    this.optimizer.dispose();
    this.net.dispose();
  }
}

/** The trials of one iteration, or of a group of its lanes: the record learning reads and the returns reported. */
export interface Rl2Sample { record: TrialRecord; trials: TrialStats }

/**
 * Lanes first .. first + count - 1 of iteration `iteration`'s training trials, acted by `net` on `envs`
 * (count lanes): the same tasks, action-noise streams (seed, 'actions', iteration, lane) and episode
 * seeds (lane i: seedFor(seed, 'episode', e) + i, as runTrials gives lane i of the whole batch) as
 * when all lanes run together, so a rollout worker sampling a group of lanes records what this process
 * would have recorded for them (each lane's network rows are computed alone: a batched step does not
 * mix lanes).
 */
export function sampleTrialLanes(
  net: Rl2Network, config: Rl2Config, seed: number, distribution: TaskDistribution, envs: EnvBatch, iteration: number,
  lanes: { first: number; count: number },
): Rl2Sample {
  const { first, count } = lanes;
  if (!(Number.isInteger(first) && Number.isInteger(count) && first >= 0 && count >= 1 && first + count <= config.tasksPerIteration)) {
    throw new Error(`rl2: lanes ${first} to ${first + count - 1} are not within the ${config.tasksPerIteration} lanes of an iteration`);
  }
  if (envs.size !== count) throw new Error(`rl2: ${count} lanes to sample on an env batch of ${envs.size}`);
  const steps = config.episodesPerTrial * distribution.spec.episodeSteps;
  const record = newTrialRecord(net, count, steps, config.bpttSteps);
  const tasks = distribution.trainTasks(iteration, config.tasksPerIteration).slice(first, first + count);
  const rngs = Array.from({ length: count }, (_, i) => rngFor(seed, 'actions', iteration, first + i));
  if (net.criticInputs && !distribution.critic) throw new Error(`rl2: privilegedCritic needs critic features, which ${distribution.name} does not have`);
  const critic = net.criticInputs ? { features: distribution.critic!, tasks, trialSteps: steps } : undefined;
  let demonstrations: Demonstrations | undefined;
  if (iteration < config.demonstrationIterations) {
    if (!distribution.demonstrator) throw new Error(`rl2: demonstrationIterations needs a demonstrator, which ${distribution.name} does not have (a scripted one, or a teacher: agent/teacher.ts withTeacher)`);
    // The iteration's even lanes are driven by the expert, the odd ones by the policy (DAgger: the
    // expert labels the states the policy itself reaches, where cloning alone would drift).
    demonstrations = { experts: tasks.map((task, i) => distribution.demonstrator!(task, config.demonstrator, seedFor(seed, 'demonstrator', iteration, first + i))), drives: tasks.map((_, i) => config.demonstrationExpertLanes === 'half' && (first + i) % 2 === 0), meanAction: config.demonstrationMeanAction };
  }
  const policy = new Rl2LanePolicy(net, count, rngs, { record, critic, demonstrations });
  // Lane i of the group is lane first + i of the iteration: its episodes get that lane's seeds.
  const shifted: EnvBatch = first === 0 ? envs : {
    size: envs.size, workers: envs.workers, spec: envs.spec,
    reset: (episodeSeed, episodeTasks) => envs.reset(episodeSeed + first, episodeTasks),
    step: (actions) => envs.step(actions),
    close: () => envs.close(),
  };
  try {
    const trials = runTrials(shifted, policy, tasks, config.episodesPerTrial, seedFor(seed, 'train', iteration));
    return { record, trials: { trialReturns: trials.trialReturns, episodeReturns: trials.episodeReturns, episodeSuccess: trials.episodeSuccess, episodeStepsToSuccess: trials.episodeStepsToSuccess } };
  } finally {
    policy.dispose();
  }
}

/** A minibatch gradient with parameter `name`'s left out (the optimiser then leaves that parameter as it is). */
function withoutGradientOf(name: string, gradient: MinibatchGradient): MinibatchGradient {
  return (minibatch) => {
    const result = gradient(minibatch);
    result.grads.get(name)?.dispose();
    result.grads.delete(name);
    return result;
  };
}

/** The rewards returns and values are computed from: (env reward + success bonus) x reward scale. */
export function learningRewards(record: Pick<TrialRecord, 'rewards' | 'success'>, config: Pick<Rl2Config, 'successBonus' | 'rewardScale'>): Float32Array {
  return record.rewards.map((r, at) => (r + config.successBonus * record.success[at]) * config.rewardScale);
}

/**
 * GAE over each lane's whole trial: the hidden state makes a trial one trajectory, so there is no cut at
 * episode ends, and nothing to bootstrap from after its last step.
 */
function trialAdvantages(record: TrialRecord, config: Pick<Rl2Config, 'successBonus' | 'rewardScale' | 'ppo'>): { advantages: Float32Array; returns: Float32Array } {
  const { lanes, steps } = record;
  const advantages = sharedFloats(lanes * steps), returns = sharedFloats(lanes * steps);
  const ends = new Uint8Array(steps);
  ends[steps - 1] = 1;
  const rewards = learningRewards(record, config);
  for (let i = 0; i < lanes; i++) {
    const span = [i * steps, (i + 1) * steps] as const;
    const gae = computeGae(rewards.subarray(...span), record.values.subarray(...span), ends, 0, config.ppo.gamma, config.ppo.lambda);
    advantages.set(gae.advantages, span[0]);
    returns.set(gae.returns, span[0]);
  }
  return { advantages, returns };
}

// ---------------------------------------------------------------------------------------------
// Acting: one lane per task, hidden state and history kept across episodes until the policy is dropped

/** Where a lane policy learns each lane's task while it samples training trials (for a privileged critic). */
export interface CriticSource { features: CriticFeatures; tasks: readonly Task[]; trialSteps: number }

/**
 * Demonstration trials: each lane's expert, whose action plus the policy's noise is what the lane learns
 * (recorded with its log-probability), and whether that action is also the one taken (`drives`) or the
 * lane takes the policy's own draw (or its mean action).
 */
export interface Demonstrations { experts: readonly Demonstrator[]; drives: readonly boolean[]; /** Lanes the policy drives take its mean action. */ meanAction?: boolean }

/**
 * RL2 acting in `lanes` tasks at once, one batched network step per env step: each lane keeps its
 * hidden state and history (previous action, reward, done flag) across episode ends, and a new trial
 * is a new policy. With a record, it also keeps what learning needs.
 */
export class Rl2LanePolicy implements LanePolicy {
  private h: tf.Tensor2D;
  private readonly history: LaneHistory[];
  private readonly input: Float32Array;
  private readonly criticInput: Float32Array;
  private readonly valueInput: Float32Array;
  /** The actions drawn, and what the env got (box actions clipped; the same buffer for discrete ones). */
  private readonly actions: Float32Array;
  private envActions: Float32Array;
  private readonly logProbs: Float32Array;
  private readonly values: Float32Array;
  /** Each lane's previous step, as its demonstrator is told it (demonstration trials only). */
  private readonly previous: Array<PreviousStep | undefined>;
  private t = 0;

  constructor(
    private readonly net: Rl2Network,
    readonly lanes: number,
    private readonly rngs: readonly Rng[],
    private readonly options: { deterministic?: boolean; record?: TrialRecord; critic?: CriticSource; demonstrations?: Demonstrations } = {},
  ) {
    const { critic } = options;
    this.h = tf.zeros([lanes, net.stateSize]);
    this.history = Array.from({ length: lanes }, (_, i) => new LaneHistory(net.action, critic ? { features: critic.features, task: critic.tasks[i], trialSteps: critic.trialSteps } : null));
    this.input = new Float32Array(lanes * net.inputs.size);
    this.criticInput = new Float32Array(lanes * (net.criticInputs?.size ?? 0));
    this.valueInput = new Float32Array(lanes * (net.valueInputs?.size ?? 0));
    this.actions = new Float32Array(lanes * actionWidth(net.action));
    this.envActions = this.actions;
    this.logProbs = new Float32Array(lanes);
    this.values = new Float32Array(lanes);
    this.previous = new Array(lanes).fill(undefined);
  }

  act(obs: Float32Array): Float32Array {
    const { net, lanes, input, criticInput, valueInput, options: { record } } = this;
    const obsSize = obs.length / lanes, I = net.inputs.size, C = net.criticInputs?.size ?? 0, V = net.valueInputs?.size ?? 0;
    for (let i = 0; i < lanes; i++) {
      const lane = this.history[i];
      lane.obs = obs.subarray(i * obsSize, (i + 1) * obsSize);
      net.inputs.write(input.subarray(i * I, (i + 1) * I), lane);
      net.criticInputs?.write(criticInput.subarray(i * C, (i + 1) * C), lane);
      net.valueInputs?.write(valueInput.subarray(i * V, (i + 1) * V), lane);
      lane.acted();
    }
    if (record && this.t % record.chunkSteps === 0) {
      const chunk = this.t / record.chunkSteps, chunks = record.steps / record.chunkSteps;
      const h = this.h.dataSync();
      const S = net.stateSize;
      for (let i = 0; i < lanes; i++) record.chunkStarts.set(h.subarray(i * S, (i + 1) * S), (i * chunks + chunk) * S);
    }
    const out = net.step(input, this.h, net.criticInputs ? criticInput : null, net.valueInputs ? valueInput : null);
    this.h.dispose();
    this.h = out.h;
    const head = out.head.dataSync() as Float32Array;
    this.values.set(out.value.dataSync());
    out.head.dispose();
    out.value.dispose();
    net.sampleActions(head, this.rngs, this.options.deterministic ?? false, this.actions, this.logProbs);
    // What the lanes take: the drawn actions, or in a demonstration trial the expert's where it drives.
    let taken = this.actions;
    const { demonstrations } = this.options;
    if (demonstrations) {
      const width = actionWidth(net.action), centers = new Float32Array(lanes * width);
      const drawn = demonstrations.meanAction ? head.slice(0, lanes * width) : this.actions.slice();
      for (let i = 0; i < lanes; i++) centers.set(demonstrations.experts[i](obs.subarray(i * obsSize, (i + 1) * obsSize), this.previous[i]), i * width);
      // this.actions (what is recorded and learned) become the expert's, moved by the same noise.
      net.centerActions(head, centers, this.actions, this.logProbs);
      taken = this.actions.slice();
      for (let i = 0; i < lanes; i++) if (!demonstrations.drives[i]) taken.set(drawn.subarray(i * width, (i + 1) * width), i * width);
    }
    if (record) {
      const T = record.steps, width = actionWidth(net.action);
      for (let i = 0; i < lanes; i++) {
        const at = i * T + this.t;
        record.inputs.set(input.subarray(i * I, (i + 1) * I), at * I);
        record.actions.set(this.actions.subarray(i * width, (i + 1) * width), at * width);
        record.logProbs[at] = this.logProbs[i];
        record.values[at] = this.values[i];
        if (C > 0) record.critic.set(criticInput.subarray(i * C, (i + 1) * C), at * C);
        if (V > 0) record.valueInputs.set(valueInput.subarray(i * V, (i + 1) * V), at * V);
      }
    }
    this.envActions = envActions(taken, net.action);
    return this.envActions;
  }

  observe(rewards: ArrayLike<number>, dones: ArrayLike<number>, success?: ArrayLike<number>): void {
    const width = actionWidth(this.net.action);
    for (let i = 0; i < this.lanes; i++) this.history[i].observed(this.envActions.subarray(i * width, (i + 1) * width), rewards[i], Boolean(dones[i]));
    if (this.options.demonstrations) {
      for (let i = 0; i < this.lanes; i++) this.previous[i] = { action: this.envActions.slice(i * width, (i + 1) * width), reward: rewards[i], done: Boolean(dones[i]) };
    }
    const record = this.options.record;
    if (record) {
      for (let i = 0; i < this.lanes; i++) {
        record.rewards[i * record.steps + this.t] = rewards[i];
        record.success[i * record.steps + this.t] = success?.[i] ? 1 : 0;
      }
    }
    this.t++;
  }

  /** The lanes' hidden states (lanes x net.stateSize: the policy GRU's, then a separate value network's), for tests and viewers. */
  hiddenState(): Float32Array { return this.h.dataSync() as Float32Array; }

  /** The critic's value estimate of each lane at the last act(). */
  get lastValues(): Float32Array { return this.values; }

  dispose(): void { this.h.dispose(); }
}

const clamp = (x: number, lo: number, hi: number) => (x < lo ? lo : x > hi ? hi : x);

/** The env sees box actions clipped to the space (the policy's log-probability is of the unclipped draw). */
function envActions(actions: Float32Array, space: ActionSpace): Float32Array {
  if (space.kind === 'discrete') return actions;
  const out = new Float32Array(actions.length);
  for (let i = 0; i < actions.length; i++) out[i] = clamp(actions[i], space.low, space.high);
  return out;
}
