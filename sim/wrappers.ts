// Gymnasium-style observation wrappers: what a benchmark changes in the raw observation (the goal
// hidden in ML benchmarks, the family one-hot of MT10), each describing the space it produces.

import type { Env, ResetOptions, ResetResult, StepResult } from './env.ts';
import type { SceneDescription } from '../protocol/scene.ts';
import { type BoxSpace, box } from './spaces.ts';

/** Goal entries of the raw observation. */
const GOAL = { start: 36, end: 39 } as const;

/** An env whose observations (and observation space) are a function of the wrapped env's. */
export abstract class ObservationWrapper implements Env {
  abstract readonly observationSpace: BoxSpace;
  constructor(protected readonly env: Env) {}

  /** The wrapped observation; may write into `obs` (a fresh array of the wrapped env's). */
  protected abstract observation(obs: Float32Array): Float32Array;

  get actionSpace() { return this.env.actionSpace; }
  get family() { return this.env.family; }
  get currentTask() { return this.env.currentTask; }
  get elapsedSteps() { return this.env.elapsedSteps; }
  get goalPosition() { return this.env.goalPosition; }

  reset(options?: ResetOptions): ResetResult {
    const result = this.env.reset(options);
    return { ...result, obs: this.observation(result.obs) };
  }

  step(action: ArrayLike<number>): StepResult {
    const result = this.env.step(action);
    return { ...result, obs: this.observation(result.obs) };
  }

  sampleAction() { return this.env.sampleAction(); }
  describeScene(): SceneDescription { return this.env.describeScene(); }
  bodyPoses(out?: Float64Array) { return this.env.bodyPoses(out); }
  close() { this.env.close(); }
}

/** Zeros the goal (obs[36:39]): MetaWorld's ML benchmarks hide it, so the policy must find the task. */
export class HideGoal extends ObservationWrapper {
  readonly observationSpace: BoxSpace;

  constructor(env: Env) {
    super(env);
    const { low, high } = env.observationSpace;
    this.observationSpace = box(
      low.map((v, i) => (i >= GOAL.start && i < GOAL.end ? 0 : v ?? -Infinity)),
      high.map((v, i) => (i >= GOAL.start && i < GOAL.end ? 0 : v ?? Infinity)),
    );
  }

  protected observation(obs: Float32Array): Float32Array {
    obs.fill(0, GOAL.start, GOAL.end);
    return obs;
  }
}

/** Appends a one-hot id of the current task's family among `families` (MT10: 39 + 10 = 49 entries). */
export class FamilyOneHot extends ObservationWrapper {
  readonly observationSpace: BoxSpace;
  private readonly families: readonly string[];

  constructor(env: Env, families: readonly string[]) {
    super(env);
    if (families.length === 0) throw new RangeError('FamilyOneHot needs at least one family');
    this.families = families;
    const { low, high } = env.observationSpace;
    this.observationSpace = box(
      [...low.map((v) => v ?? -Infinity), ...families.map(() => 0)],
      [...high.map((v) => v ?? Infinity), ...families.map(() => 1)],
    );
  }

  /** Refuses a task whose family has no slot before the wrapped env sees it. */
  override reset(options?: ResetOptions): ResetResult {
    if (options?.task !== undefined) this.indexOf(options.task.family);
    return super.reset(options);
  }

  protected observation(obs: Float32Array): Float32Array {
    const out = new Float32Array(this.observationSpace.shape[0]);
    out.set(obs);
    out[obs.length + this.indexOf(this.env.currentTask.family)] = 1;
    return out;
  }

  private indexOf(family: string): number {
    const index = this.families.indexOf(family);
    if (index < 0) throw new Error(`no one-hot slot for family '${family}'; this env's slots are: ${this.families.join(', ')}`);
    return index;
  }
}
