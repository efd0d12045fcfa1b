// What a task family is: a small declarative module (scene, random box, goal rule, success rule,
// reward, scripted expert), and how tasks (frozen parameter vectors) are drawn from it.

import type { TaskScene } from './scene.ts';
import { createRng, hashString } from './rng.ts';
import type { Quat, Vec3 } from './vec.ts';

/**
 * Everything a family's reward and success rule may look at after a control step: MetaWorld's reward
 * inputs under our names (docs/FAMILIES.md maps each one to MetaWorld's).
 */
export interface StepState {
  /** Hand position (obs[0:3], full precision): the rewards that read obs[:3] read this. */
  hand: Vec3;
  /** Midpoint between the finger pads (MetaWorld's tcp_center). */
  tcp: Vec3;
  /** TCP after the reset's settling (init_tcp). */
  initTcp: Vec3;
  /** The family's hand start (hand_init_pos). */
  handInit: Vec3;
  /** Observation entry 3: finger distance / 0.1 in [0, 1] (full precision). */
  gripperOpening: number;
  /** Pad centres of the two fingers; the left pad is the one on the +y side. */
  leftPad: Vec3;
  rightPad: Vec3;
  /**
   * MetaWorld's init_left_pad / init_right_pad (read by pick-place, sweep and sweep-into). MetaWorld
   * keeps live views of the pad positions there, so at run time they are the current pads, and the
   * env fills them so; they are inputs of their own so a reward can be checked on states where they
   * differ.
   */
  initLeftPad: Vec3;
  initRightPad: Vec3;
  /** Positions of the scene's observed points (obs[4:7], obs[11:14]). */
  objects: Vec3[];
  /** Quaternions (w, x, y, z) of the observed points' bodies (obs[7:11], obs[14:18]): box-close, assembly, disassemble and hammer read them. */
  objectQuats: Quat[];
  /**
   * The same after the reset's settling: MetaWorld's obj_init_pos for a free object, its
   * peg_head_pos_init, window_handle_pos_init or _lever_pos_init for the others.
   */
  objectsInit: Vec3[];
  /** Named points of the scene (its `sites`, e.g. the peg box's collision-box corners), where they are now. */
  sites: Readonly<Record<string, Vec3>>;
  /** Positions of the scene's fixture joints (m or rad), by joint name, and after settling. */
  joints: Record<string, number>;
  jointsInit: Record<string, number>;
  goal: Vec3;
  action: ArrayLike<number>;
  /**
   * Both pads press on the scene's main object (the body of its first observed point) with a
   * positive contact force: MetaWorld's touching_main_object.
   */
  touchingMainObject: boolean;
  /** Values the family fixed at reset (its `episodeValues`), by name. */
  episode: Readonly<Record<string, number>>;
}

/**
 * MetaWorld's info fields (evaluate_state), which every family reports under these names: the same
 * quantities, quirks included (reach's nearObject is a distance; lever-pull's objToTarget is a
 * hand-to-lever distance; door-open's is 0).
 */
export interface MetaWorldInfo {
  nearObject: number;
  /** 0 or 1. */
  graspSuccess: number;
  graspReward: number;
  inPlaceReward: number;
  objToTarget: number;
}

export interface Evaluation {
  reward: number;
  success: boolean;
  /** MetaWorld's info fields and any further named terms and distances, reported in `info`. */
  components: MetaWorldInfo & Record<string, number>;
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
  /**
   * Where the scene raises a surface under the hand (hand-insert's and pick-out-of-hole's table top
   * with a hole): the lowest hand target at (x, y) with the fingers reaching `fingerReach` out from the
   * hand in y. The env keeps the hand target above it and, while the hand is below a surface's level,
   * does not move it sideways into that surface, so the fingers rest on it rather than sink in.
   */
  handFloor?: (x: number, y: number, fingerReach: number) => number;
  /** Bounds of the goal, for the observation space. */
  goalBox: { low: Vec3; high: Vec3 };
  /** The task's objects, fixtures, observed points and goal. */
  scene(params: readonly number[]): TaskScene;
  successThreshold: number;
  /** Unit of the threshold: metres (default) or radians (lever angle). */
  successUnit?: 'm' | 'rad';
  evaluate(state: StepState): Evaluation;
  /**
   * Values a reward needs that MetaWorld fixes at reset (e.g. the button's travel to its goal),
   * computed once from the settled state; they reach `evaluate` as `state.episode`.
   */
  episodeValues?(initial: StepState): Record<string, number>;
  /** Scripted controller: reads the observation (and the goal, which an expert may know). */
  expert(obs: Float32Array, goal: Vec3): Action;
  /**
   * A scripted searcher: a new one per trial, acting only on what the trial so far tells a policy that
   * does not know the goal: its observations and, as `previous`, the trial's last step. Reach's climbs
   * the reward (sim/experts.ts, climbingSearcher); push's sweeps the goal box with the puck, reading
   * neither (puckSweep).
   */
  searcher?(goal: Vec3): (obs: Float32Array, previous?: SearcherStep) => Action;
  /**
   * True where the searcher acts on the trial's past (its previous steps and rewards) as well as the
   * observation: then only a policy with memory (RL2) can copy it, not MAML's feed-forward one.
   */
  searcherReadsTrial?: boolean;
}

/** The step before, as a searcher is told it: the action the trial took and whether it ended an episode. */
export interface SearcherStep { action: ArrayLike<number>; done: boolean }

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
