// What a task family is: a small declarative module (scene, random box, goal rule, success rule,
// reward, scripted expert), and how tasks (frozen parameter vectors) are drawn from it.

import type { TaskScene } from './scene.ts';
import { createRng, hashString } from './rng.ts';
import type { Vec3 } from './vec.ts';

/** Everything a family's reward and success rule may look at after a control step. */
export interface StepState {
  hand: Vec3;
  tcp: Vec3;
  /** TCP after the reset's settling. */
  initTcp: Vec3;
  handInit: Vec3;
  /** Observation entry 3: finger distance / 0.1 in [0, 1]. */
  gripperOpening: number;
  leftPadY: number;
  rightPadY: number;
  /** Positions of the scene's observed points (obs[4:7], obs[11:14]). */
  objects: Vec3[];
  /** The same after the reset's settling. */
  objectsInit: Vec3[];
  /** Positions of the scene's fixture joints (m or rad), by joint name, and after settling. */
  joints: Record<string, number>;
  jointsInit: Record<string, number>;
  goal: Vec3;
  action: ArrayLike<number>;
}

export interface Evaluation {
  reward: number;
  success: boolean;
  /** Named reward terms and distances, reported in `info`. */
  components: Record<string, number>;
}

export type Action = [number, number, number, number];

export interface TaskFamily {
  name: string;
  summary: string;
  /** Names of the task vector entries. */
  paramNames: readonly string[];
  /** Tasks are drawn uniformly from this box. */
  randomBox: { low: readonly number[]; high: readonly number[] };
  /** True when a drawn vector must be drawn again (MetaWorld's rejection rules). */
  reject?: (params: readonly number[]) => boolean;
  handInit: Vec3;
  /** Bounds of the goal, for the observation space. */
  goalBox: { low: Vec3; high: Vec3 };
  /** The task's objects, fixtures, observed points and goal. */
  scene(params: readonly number[]): TaskScene;
  successThreshold: number;
  /** Unit of the threshold: metres (default) or radians (lever angle). */
  successUnit?: 'm' | 'rad';
  evaluate(state: StepState): Evaluation;
  /** Scripted controller: reads the observation (and the goal, which an expert may know). */
  expert(obs: Float32Array, goal: Vec3): Action;
}

/** One frozen parameter vector of a family. */
export interface Task {
  readonly family: string;
  readonly params: readonly number[];
}

/**
 * `count` distinct tasks of `family` drawn with `seed`. A pure function of its arguments; each
 * family has its own stream, so two families with one seed do not share draws.
 */
export function sampleTasks(family: TaskFamily, seed: number, count: number): Task[] {
  const rng = createRng(seed, hashString(family.name));
  const { low, high } = family.randomBox;
  const tasks: Task[] = [];
  const seen = new Set<string>();
  for (let attempts = 0; tasks.length < count; attempts++) {
    if (attempts > count * 1000) throw new Error(`${family.name}: could not draw ${count} distinct tasks; is the random box empty?`);
    const params = low.map((lo, i) => rng.uniform(lo, high[i]));
    if (family.reject?.(params)) continue;
    const key = params.join(',');
    if (seen.has(key)) continue;
    seen.add(key);
    tasks.push(Object.freeze({ family: family.name, params: Object.freeze(params) }));
  }
  return tasks;
}

/**
 * MetaWorld's rule for task vectors that start [first point xyz, second point xyz]: draw again when
 * the two points are closer than `minDistance` in xy (an object must not start on its goal or fixture).
 */
export const rejectCloserInXy = (minDistance: number) => (params: readonly number[]): boolean =>
  Math.hypot(params[3] - params[0], params[4] - params[1]) < minDistance;
