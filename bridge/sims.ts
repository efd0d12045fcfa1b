// The gateway's live sims: opens, resets, steps and closes simulated robots for every role, and
// publishes what happens (SimEvents) to viewers, Foxglove clients and the recorder. Also runs
// server-side drivers (a scripted expert or, later, a checkpoint) in real time.

import { EventEmitter } from 'node:events';
import { MT1, parseBenchmark, benchmarkTask, makeEnv, TIMING, FAMILIES, didYouMean, type Benchmark, type Env, type Split, type StepInfo } from '../sim/index.ts';
import type { Vec3 } from '../sim/vec.ts';
import type { ErrorCode, LiveSims, SimEvents, SimInfo, StepFrame } from '../protocol/wire.ts';
import type { SceneDescription } from '../protocol/scene.ts';

/** A failure with a wire error code; its message names what was wrong and what was expected. */
export class SimError extends Error {
  override name = 'SimError';
  constructor(readonly code: ErrorCode, message: string) {
    super(message);
  }
}

/** What a sim runs: a benchmark, parsed once where the request entered (simBenchmark). */
export interface SimBenchmark {
  benchmark: Benchmark;
  /** True when opened by a family alone (its MT1 tasks): SimInfo.benchmark is then null. */
  byFamily: boolean;
}

export interface OpenSpec extends SimBenchmark {
  split?: Split;
  task?: number;
  /** What drives it ("controller", "expert", a checkpoint's name). */
  policy: string;
}

const MAX_SEED = 2 ** 31 - 1;

/**
 * Parses what a request (wire, YAML, CLI) names a sim's tasks by: a family alone (its MT1 tasks,
 * goal visible) or a benchmark name such as "ML1:reach" or "ML10", and the benchmark seed (default
 * 0). Throws SimError('bad_task') naming what was wrong and what exists.
 */
export function simBenchmark(names: { family?: string; benchmark?: string; seed?: number }): SimBenchmark {
  const seed = names.seed ?? 0;
  if (!Number.isSafeInteger(seed) || seed < 0 || seed > MAX_SEED) throw new SimError('bad_task', `seed must be an integer in [0, ${MAX_SEED}], got ${seed}`);
  if ((names.family === undefined) === (names.benchmark === undefined)) throw new SimError('bad_task', 'give exactly one of family (e.g. "reach") and benchmark (e.g. "ML1:reach")');
  if (names.family !== undefined && !FAMILIES.has(names.family)) {
    throw new SimError('bad_task', `unknown family '${names.family}'${didYouMean(names.family, FAMILIES.keys())}; expected one of: ${[...FAMILIES.keys()].join(', ')}`);
  }
  if (names.benchmark !== undefined && FAMILIES.has(names.benchmark)) {
    throw new SimError('bad_task', `'${names.benchmark}' is a family, not a benchmark: give family "${names.benchmark}" (its MT1 tasks) or benchmark "ML1:${names.benchmark}"`);
  }
  try {
    return names.family !== undefined ? { benchmark: MT1(names.family, seed), byFamily: true } : { benchmark: parseBenchmark(names.benchmark!, seed), byFamily: false };
  } catch (error) {
    throw new SimError('bad_task', (error as Error).message);
  }
}

/** benchmarkTask with the wire's error code. */
function taskOf(benchmark: Benchmark, split: Split, index: number) {
  try {
    return benchmarkTask(benchmark, split, index);
  } catch (error) {
    throw new SimError('bad_task', (error as Error).message);
  }
}

/** Drives a sim on the server: one action per observation, told when an episode starts. */
export interface Driver {
  /** Shown as SimInfo.policy. */
  name: string;
  /** Called after every reset, before the first act of the episode. */
  reset?(context: DriverContext): void;
  act(obs: Float32Array, context: DriverContext): ArrayLike<number>;
}

export interface DriverContext {
  info: SimInfo;
  /** The task's goal: scripted experts may know it even when the observation hides it. */
  goal: Vec3;
  /** The scripted expert of the current task's family. */
  expert: Env['family']['expert'];
  /** What the previous action earned (0 at an episode's first step): recurrent policies take it as input. */
  reward: number;
  /** Episodes already run on the current task by this driver (0 in the first episode of a task: a new trial). */
  taskEpisode: number;
}

/** Which tasks a driven sim goes through: `episodesPerTask` episodes on each, in order, then round again. */
export interface TaskSchedule {
  tasks: readonly number[];
  episodesPerTask: number;
}

/** The scripted expert of the current task's family (sim/families) as a driver. */
export const expertDriver = (): Driver => ({
  name: 'expert',
  act: (obs, { expert, goal }) => expert(obs, goal),
});

interface LiveSim {
  info: SimInfo;
  env: Env;
  benchmark: Benchmark;
  /** Scenes by split and task index: a scene is a function of the task alone. */
  scenes: Map<string, SceneDescription>;
  inEpisode: boolean;
  /** What the latest frame needs besides poses, which are read from the env when asked for. */
  last: { obs: Float32Array; reward: number; info: StepInfo; action?: Float32Array } | null;
  poses: Float64Array | null;
  stopDriver?: () => void;
}

export class SimHub extends EventEmitter implements LiveSims {
  private readonly sims = new Map<string, LiveSim>();
  private nextId = 1;

  constructor(readonly options: { maxSims?: number; onListenerError?: (error: Error, event: keyof SimEvents) => void } = {}) {
    super();
    // Every viewer and Foxglove client listens; Node's leak warning at 10 listeners does not apply.
    this.setMaxListeners(0);
  }

  override on<E extends keyof SimEvents>(event: E, listener: SimEvents[E]): this {
    return super.on(event, listener as (...args: unknown[]) => void);
  }

  override off<E extends keyof SimEvents>(event: E, listener: SimEvents[E]): this {
    return super.off(event, listener as (...args: unknown[]) => void);
  }

  /**
   * Calls every listener even when one throws: a failing watcher (viewer, recorder) must not turn
   * a step that happened into an error for the controller that asked for it.
   */
  override emit<E extends keyof SimEvents>(event: E, ...args: Parameters<SimEvents[E]>): boolean {
    const listeners = this.listeners(event) as Array<(...a: unknown[]) => void>;
    for (const listener of listeners) {
      try {
        listener(...args);
      } catch (error) {
        this.options.onListenerError?.(error as Error, event);
      }
    }
    return listeners.length > 0;
  }

  get size(): number {
    return this.sims.size;
  }

  list(): SimInfo[] {
    return [...this.sims.values()].map((s) => ({ ...s.info }));
  }

  info(id: string): SimInfo {
    return { ...this.get(id).info };
  }

  has(id: string): boolean {
    return this.sims.has(id);
  }

  spaces(id: string) {
    const { env } = this.get(id);
    return { observationSpace: env.observationSpace, actionSpace: env.actionSpace };
  }

  /** Opens a sim on a task (no episode yet: reset it). Throws SimError('bad_task') naming the problem. */
  open(spec: OpenSpec): SimInfo {
    const max = this.options.maxSims ?? 1024;
    if (this.sims.size >= max) throw new SimError('too_many_sims', `the gateway already runs ${this.sims.size} sims (its limit); close some first`);
    const { benchmark } = spec;
    const split = spec.split ?? 'train';
    const index = spec.task ?? 0;
    const task = taskOf(benchmark, split, index);
    const id = `s${this.nextId++}`;
    const info: SimInfo = { id, family: task.family, benchmark: spec.byFamily ? null : benchmark.name, split, task: index, seed: benchmark.seed, policy: spec.policy, episode: 0, step: 0 };
    this.sims.set(id, { info, env: makeEnv(benchmark, task), benchmark, scenes: new Map(), inEpisode: false, last: null, poses: null });
    this.emit('opened', { ...info });
    return { ...info };
  }

  /**
   * Starts an episode, optionally on another task of the sim's benchmark (an index of `split`,
   * default the sim's split; any family of the benchmark). A refused reset leaves the sim as it was.
   */
  reset(id: string, options: { seed?: number; task?: number; split?: Split } = {}) {
    const sim = this.get(id);
    const split = options.split ?? sim.info.split;
    const index = options.task ?? (split === sim.info.split ? sim.info.task : 0);
    const task = taskOf(sim.benchmark, split, index);
    if (sim.inEpisode) this.emit('episodeEnd', { ...sim.info }, 'closed');
    const result = sim.env.reset({ seed: options.seed, task });
    Object.assign(sim.info, { split, task: index, family: task.family });
    // Another family may have another number of bodies: the pose buffer is sized anew.
    sim.poses = null;
    sim.info.episode++;
    sim.info.step = 0;
    sim.inEpisode = true;
    sim.last = { obs: result.obs, reward: 0, info: result.info };
    if (this.listenerCount('episode') > 0) this.emit('episode', { ...sim.info }, this.scene(sim), this.frame(sim));
    return result;
  }

  /**
   * One control step. Refuses (SimError, env unchanged) a step outside an episode or a bad action;
   * the env's own checkAction runs before it touches any state.
   */
  step(id: string, action: ArrayLike<number>) {
    const sim = this.get(id);
    this.checkStep(sim);
    let result;
    try {
      result = sim.env.step(action);
    } catch (error) {
      // checkAction's errors are TypeError/RangeError; anything else means the physics failed.
      if (error instanceof TypeError || error instanceof RangeError) throw new SimError('bad_action', (error as Error).message);
      sim.inEpisode = false;
      throw new SimError('sim_failed', (error as Error).message);
    }
    sim.info.step++;
    sim.last = { obs: result.obs, reward: result.reward, info: result.info, action: Float32Array.from(action) };
    const ended = result.terminated || result.truncated;
    if (this.listenerCount('frame') > 0) this.emit('frame', { ...sim.info }, this.frame(sim));
    if (ended) {
      sim.inEpisode = false;
      this.emit('episodeEnd', { ...sim.info }, result.terminated ? 'terminated' : 'truncated');
    }
    return result;
  }

  /** Throws the SimError a step of this sim would get now (so a batch can be checked before any sim moves). */
  checkStep(simOrId: string | LiveSim): void {
    const sim = typeof simOrId === 'string' ? this.get(simOrId) : simOrId;
    if (sim.info.episode === 0) throw new SimError('not_reset', `sim ${sim.info.id} has no episode yet; send reset before step`);
    if (!sim.inEpisode) throw new SimError('episode_over', `sim ${sim.info.id}'s episode ${sim.info.episode - 1} is over (step ${sim.info.step}); send reset to start the next one`);
  }

  close(id: string): void {
    const sim = this.get(id);
    sim.stopDriver?.();
    this.sims.delete(id);
    if (sim.inEpisode) this.emit('episodeEnd', { ...sim.info }, 'closed');
    sim.env.close();
    this.emit('closed', { ...sim.info });
  }

  closeAll(): void {
    for (const id of [...this.sims.keys()]) this.close(id);
  }

  current(id: string): { info: SimInfo; scene: SceneDescription; frame: StepFrame } | null {
    const sim = this.sims.get(id);
    if (!sim || sim.last === null) return null;
    return { info: { ...sim.info }, scene: this.scene(sim), frame: this.frame(sim) };
  }

  /**
   * Drives a sim on the server in real time: reset, then one step every 1/rateHz s, looping
   * episodes until the sim closes. The schedule is drift-corrected (step k is due at start + k
   * periods); after a stall of more than a few periods it restarts from now instead of bursting.
   */
  drive(id: string, driver: Driver, options: { rateHz?: number; schedule?: TaskSchedule; onError?: (error: Error, info: SimInfo) => void } = {}): () => void {
    const sim = this.get(id);
    if (sim.stopDriver) throw new SimError('not_owner', `sim ${id} already has a driver`);
    const rateHz = options.rateHz ?? 1 / TIMING.controlDt;
    if (!(Number.isFinite(rateHz) && rateHz > 0)) throw new RangeError(`rateHz must be a positive number of steps per second, got ${rateHz}`);
    const schedule = options.schedule;
    if (schedule) {
      if (!(Number.isInteger(schedule.episodesPerTask) && schedule.episodesPerTask >= 1)) throw new RangeError(`episodesPerTask must be an integer >= 1, got ${schedule.episodesPerTask}`);
      const count = sim.benchmark[sim.info.split].length;
      const bad = schedule.tasks.find((t) => !(Number.isInteger(t) && t >= 0 && t < count));
      if (schedule.tasks.length === 0 || bad !== undefined) throw new SimError('bad_task', `the schedule's tasks must be indices in [0, ${count - 1}] of ${sim.benchmark.name} ${sim.info.split}, got [${schedule.tasks.join(', ')}]`);
    }
    const periodMs = 1000 / rateHz;
    let episodes = 0;
    const episodesPerTask = schedule?.episodesPerTask ?? Infinity;
    const context = (): DriverContext => ({ info: { ...sim.info }, goal: sim.env.goalPosition, expert: sim.env.family.expert, reward: sim.last?.reward ?? 0, taskEpisode: (episodes - 1) % episodesPerTask });
    const nextEpisode = () => {
      const task = schedule ? schedule.tasks[Math.floor(episodes / episodesPerTask) % schedule.tasks.length] : undefined;
      if (schedule) sim.info.trial = { episode: (episodes % episodesPerTask) + 1, episodes: episodesPerTask };
      episodes++;
      return this.reset(id, { task }).obs;
    };
    let obs = nextEpisode();
    driver.reset?.(context());
    let start = performance.now();
    let k = 0;
    let timer: NodeJS.Timeout | undefined;
    let stopped = false;
    const tick = () => {
      if (stopped) return;
      try {
        if (!sim.inEpisode) {
          obs = nextEpisode();
          driver.reset?.(context());
        } else {
          obs = this.step(id, driver.act(obs, context())).obs;
        }
      } catch (error) {
        // A failing driver or diverged physics: start a new episode rather than stop the stream.
        options.onError?.(error as Error, { ...sim.info });
        sim.inEpisode = false;
      }
      k++;
      let delay = start + k * periodMs - performance.now();
      if (delay < -4 * periodMs) {
        start = performance.now();
        k = 0;
        delay = 0;
      }
      timer = setTimeout(tick, Math.max(0, delay));
    };
    timer = setTimeout(tick, periodMs);
    sim.stopDriver = () => {
      stopped = true;
      clearTimeout(timer);
      sim.stopDriver = undefined;
    };
    return sim.stopDriver;
  }

  private get(id: string): LiveSim {
    const sim = this.sims.get(id);
    if (!sim) throw new SimError('unknown_sim', `no sim '${id}' on this gateway (open one first; live sims: ${[...this.sims.keys()].join(', ') || 'none'})`);
    return sim;
  }

  private scene(sim: LiveSim): SceneDescription {
    const key = `${sim.info.split}/${sim.info.task}`;
    let scene = sim.scenes.get(key);
    if (!scene) {
      scene = sim.env.describeScene();
      sim.scenes.set(key, scene);
    }
    return scene;
  }

  private frame(sim: LiveSim): StepFrame {
    const last = sim.last!;
    sim.poses = sim.env.bodyPoses(sim.poses ?? undefined);
    const fingers = last.info.fingerPositions;
    return {
      sim: sim.info.id,
      episode: sim.info.episode - 1,
      step: sim.info.step,
      poses: Float32Array.from(sim.poses),
      reward: last.reward,
      success: last.info.success,
      gripper: fingers[0] + fingers[1],
      obs: last.obs,
      action: last.action,
      jointPositions: last.info.jointPositions,
    };
  }
}
