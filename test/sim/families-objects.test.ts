// The object-and-fixture families (peg-insert-side, sweep, sweep-into, basketball, shelf-place):
// success rules on constructed states, layouts, rejection rules, and their experts on a sample.

import { describe, expect, it } from 'vitest';
import { HideGoal, ManipulationEnv, sampleTasks, type Env } from '../../sim/index.ts';
import type { StepState, Task, TaskFamily } from '../../sim/family.ts';
import type { Vec3 } from '../../sim/vec.ts';
import { sweep } from '../../sim/families/sweep.ts';
import { sweepInto } from '../../sim/families/sweep-into.ts';
import { shelfPlace } from '../../sim/families/shelf-place.ts';
import { basketball } from '../../sim/families/basketball.ts';
import { pegInsertSide } from '../../sim/families/peg-insert-side.ts';
import { TABLE_HOLE, tableWithHole } from '../../sim/fixtures/table-with-hole.ts';
import { HOOP } from '../../sim/fixtures/hoop.ts';
import { PEG, PEG_BOX } from '../../sim/fixtures/peg-box.ts';
import { SHELF } from '../../sim/fixtures/shelf.ts';

const FAMILIES: TaskFamily[] = [pegInsertSide, sweep, sweepInto, basketball, shelfPlace];

/** A state with the hand at rest, the gripper open and the observed points where the test puts them. */
function state(goal: Vec3, objects: Vec3[], overrides: Partial<StepState> = {}): StepState {
  return {
    hand: [0, 0.6, 0.2], tcp: [0, 0.6, 0.166], initTcp: [0, 0.6, 0.166], handInit: [0, 0.6, 0.2],
    gripperOpening: 1, leftPad: [0, 0.65, 0.166], rightPad: [0, 0.55, 0.166], initLeftPad: [0, 0.65, 0.166], initRightPad: [0, 0.55, 0.166], objects, objectsInit: objects.map((): Vec3 => [0, 0.65, 0.02]),
    objectQuats: [], sites: {}, joints: {}, jointsInit: {}, goal, action: [0, 0, 0, -1], touchingMainObject: false, episode: {}, ...overrides,
  };
}
const plus = (p: Vec3, d: Vec3): Vec3 => [p[0] + d[0], p[1] + d[1], p[2] + d[2]];
/** The peg box's sites (its collision-box corners) in the world, for the box under `goal`. */
function pegSites(goal: Vec3): Record<string, Vec3> {
  const box = plus(goal, [-PEG_BOX.goalOffset[0], -PEG_BOX.goalOffset[1], -PEG_BOX.goalOffset[2]]);
  const { sites = {} } = pegInsertSide.scene([0, 0.55, 0.02, ...box]);
  return Object.fromEntries(Object.entries(sites).map(([name, site]) => [name, plus(box, site.offset ?? [0, 0, 0])]));
}

describe('success rules on constructed states', () => {
  it('sweep: puck within 0.05 m of a goal at x = 0.5, level with the puck; reward 10 there', () => {
    const goal = sweep.scene([0.05, 0.63, 0.02]).goal;
    expect(goal).toEqual([0.5, 0.63, 0.01]);
    const ok = sweep.evaluate(state(goal, [plus(goal, [-0.049, 0, 0])]));
    expect(ok).toMatchObject({ success: true, reward: 10 });
    expect(sweep.evaluate(state(goal, [plus(goal, [-0.051, 0, 0])])).success).toBe(false);
    expect(sweep.evaluate(state(goal, [[0.05, 0.63, 0.02]])).reward).toBeLessThan(10);
  });

  it('sweep-into: puck within 0.05 m of the hole in xy, at any height (over it or fallen in)', () => {
    const goal: Vec3 = [0, 0.84, 0.02];
    expect(sweepInto.evaluate(state(goal, [[0.049, 0.84, 0.02]])).success).toBe(true);
    expect(sweepInto.evaluate(state(goal, [[0.03, 0.87, -0.08]]))).toMatchObject({ success: true, reward: 10 });
    expect(sweepInto.evaluate(state(goal, [[0.051, 0.84, 0.02]])).success).toBe(false);
  });

  it('shelf-place: puck within 0.07 m of the goal; reward 10 only inside 0.05 m; nothing for a puck under the board', () => {
    const goal: Vec3 = [0.02, 0.85, 0.3];
    const near = shelfPlace.evaluate(state(goal, [plus(goal, [0, 0, -0.069])]));
    expect(near.success).toBe(true);
    expect(near.reward).toBeLessThan(10);
    expect(shelfPlace.evaluate(state(goal, [plus(goal, [0, 0, -0.04])])).reward).toBe(10);
    expect(shelfPlace.evaluate(state(goal, [plus(goal, [0.071, 0, 0])])).success).toBe(false);
    // Pushed in under the board, behind the goal: MetaWorld takes the in-place credit away.
    expect(shelfPlace.evaluate(state(goal, [[0.02, 0.87, 0.1]])).components.inPlaceReward).toBe(0);
  });

  it('basketball: ball within 0.08 m of a point 5 cm over the ring, height error counted twice', () => {
    const goal: Vec3 = [0.03, 0.79, 0.25];
    const target = plus(goal, [0, 0, 0.05]);
    expect(basketball.evaluate(state(goal, [target]))).toMatchObject({ success: true, reward: 10 });
    expect(basketball.evaluate(state(goal, [plus(target, [0.079, 0, 0])])).success).toBe(true);
    expect(basketball.evaluate(state(goal, [plus(target, [0.081, 0, 0])])).success).toBe(false);
    expect(basketball.evaluate(state(goal, [plus(target, [0, 0, 0.039])])).success).toBe(true);
    expect(basketball.evaluate(state(goal, [plus(target, [0, 0, -0.041])])).success).toBe(false);
    // Resting in the ring is 5 cm low: weighted 0.1 m, not a success.
    expect(basketball.evaluate(state(goal, [goal])).success).toBe(false);
  });

  it('peg-insert-side: peg head within 0.07 m of the goal, y and z errors counted twice', () => {
    const goal: Vec3 = [-0.27, 0.55, 0.13];
    const grip: Vec3 = [0, 0.55, 0.14];
    const at = (head: Vec3) => pegInsertSide.evaluate(state(goal, [grip, head], { sites: pegSites(goal) }));
    expect(at(goal)).toMatchObject({ success: true, reward: 10 });
    expect(at(plus(goal, [0.069, 0, 0])).success).toBe(true);
    expect(at(plus(goal, [0.071, 0, 0])).success).toBe(false);
    expect(at(plus(goal, [0, 0.034, 0])).success).toBe(true);
    expect(at(plus(goal, [0, 0.036, 0])).success).toBe(false);
    expect(at(plus(goal, [0, 0, -0.036])).success).toBe(false);
  });

  it('peg-insert-side pays less for the head pressed against the face below the hole than for the head at the mouth', () => {
    const goal: Vec3 = [-0.27, 0.55, 0.13];
    const box = plus(goal, [-PEG_BOX.goalOffset[0], -PEG_BOX.goalOffset[1], -PEG_BOX.goalOffset[2]]);
    const held = { tcp: [0, 0.55, 0.14] as Vec3, gripperOpening: 0.48, sites: pegSites(goal) };
    const lifted: Vec3 = [0, 0.55, 0.14];
    const againstFace = pegInsertSide.evaluate(state(goal, [lifted, plus(box, [0.112, 0, 0.05])], held));
    const atMouth = pegInsertSide.evaluate(state(goal, [lifted, plus(box, [0.112, 0, 0.13])], held));
    expect(againstFace.components.inPlaceReward).toBeLessThan(0.2 * atMouth.components.inPlaceReward);
  });
});

describe('layouts and rejection rules', () => {
  for (const family of FAMILIES) {
    it(`${family.name}: 50 distinct tasks in the random box, none rejected, objects and goal inside the workspace`, () => {
      const tasks = sampleTasks(family, 0, 50);
      expect(new Set(tasks.map((t) => t.params.join(','))).size).toBe(50);
      for (const task of tasks) {
        task.params.forEach((v, i) => {
          expect(v).toBeGreaterThanOrEqual(family.randomBox.low[i]);
          expect(v).toBeLessThanOrEqual(family.randomBox.high[i]);
        });
        expect(family.reject?.(task.params) ?? false).toBe(false);
        const scene = family.scene(task.params);
        for (const p of [...scene.bodies.map((b) => b.pose.position), scene.goal]) {
          expect(Math.abs(p[0])).toBeLessThanOrEqual(0.5);
          expect(p[1]).toBeGreaterThanOrEqual(0.4);
          expect(p[1]).toBeLessThanOrEqual(1.0);
        }
        scene.goal.forEach((v, i) => {
          expect(v).toBeGreaterThanOrEqual(family.goalBox.low[i]);
          expect(v).toBeLessThanOrEqual(family.goalBox.high[i]);
        });
      }
    });
  }

  it('places fixtures at MetaWorld goal offsets', () => {
    const peg = pegInsertSide.scene([0.1, 0.6, 0.02, -0.3, 0.5, 0]);
    expect(peg.goal).toEqual([-0.27, 0.5, 0.13]);
    expect(peg.bodies.find((b) => b.name === 'pegBox')?.pose.position).toEqual([-0.3, 0.5, 0]);
    expect(peg.observed).toEqual([{ body: 'peg', offset: PEG.grasp }, { body: 'peg', offset: PEG.head }]);
    const hoop = basketball.scene([0, 0.65, 0.03, 0.05, 0.88, 0]);
    expect(hoop.goal.map((v) => Number(v.toFixed(6)))).toEqual([0.05, 0.88 + HOOP.ringOffset[1], 0.25]);
    const shelf = shelfPlace.scene([0, 0.55, 0.02, -0.05, 0.85, 0.3]);
    expect(shelf.goal).toEqual([-0.05, 0.85, 0.3]);
    expect(shelf.bodies.find((b) => b.name === 'shelf')?.pose.position.map((v) => Number(v.toFixed(6)))).toEqual([-0.05, 0.85, 0]);
    expect(SHELF.goalOffset[2] - SHELF.boardTop).toBeCloseTo(0.05, 12);
  });

  it('sweep-into cuts its hole at the goal, into a table of a few plain boxes, with the puck starting on solid table', () => {
    for (const task of sampleTasks(sweepInto, 1, 50)) {
      const scene = sweepInto.scene(task.params);
      const table = scene.table!;
      expect(table.name).toBe('table');
      expect(table.parts.filter((p) => !p.visualOnly).every((p) => p.shape.kind === 'box')).toBe(true);
      expect(table.parts.filter((p) => !p.visualOnly)).toHaveLength(5);
      expect(task.params[1] + 0.02).toBeLessThan(scene.goal[1] - TABLE_HOLE.halfSize);
    }
    expect(() => tableWithHole([0.69, 0.6])).toThrow(/does not fit/);
  });

  it('applies MetaWorld rejection rules', () => {
    expect(pegInsertSide.reject?.([-0.2, 0.55, 0.02, -0.25, 0.6, 0])).toBe(true);
    expect(pegInsertSide.reject?.([0, 0.55, 0.02, -0.25, 0.6, 0])).toBe(false);
    expect(sweepInto.reject?.([0, 0.7, 0.02, 0, 0.84, 0.02])).toBe(true);
    expect(basketball.reject?.([0.05, 0.7, 0.03, 0, 0.84, 0])).toBe(true);
    expect(basketball.reject?.([0, 0.6, 0.03, 0, 0.85, 0])).toBe(false);
    expect(shelfPlace.reject?.([0, 0.6, 0.02, 0, 0.69, 0.3])).toBe(true);
    expect(shelfPlace.reject?.([0, 0.6, 0.02, 0, 0.8, 0.3])).toBe(false);
    expect(sweep.reject).toBeUndefined();
  });
});

/** Runs the expert on a task (goal hidden from the observation, as in ML1) until success or 500 steps. */
function expertEpisode(env: Env, family: TaskFamily, task: Task) {
  let { obs } = env.reset({ task, seed: 0 });
  for (let step = 0; step < 500; step++) {
    const result = env.step(family.expert(obs, env.goalPosition));
    obs = result.obs;
    if (result.info.success) return { success: true, obs };
  }
  return { success: false, obs };
}

describe('scripted experts', () => {
  // The full 50 + 50 ML1 tasks are measured outside the test suite (see the families' report);
  // here three tasks of each split.
  for (const family of FAMILIES) {
    it(`${family.name}: succeeds on a sample of train and test tasks`, () => {
      for (const seed of [0, 1]) {
        const tasks = sampleTasks(family, seed, 3);
        const env = new HideGoal(new ManipulationEnv({ family, task: tasks[0] }));
        for (const task of tasks) expect(expertEpisode(env, family, task).success).toBe(true);
        env.close();
      }
    });
  }

  it('sweep-into: the puck really drops into the hole', () => {
    const task = sampleTasks(sweepInto, 0, 1)[0];
    const env = new HideGoal(new ManipulationEnv({ family: sweepInto, task }));
    let { obs } = env.reset({ seed: 0 });
    for (let step = 0; step < 150; step++) obs = env.step(sweepInto.expert(obs, env.goalPosition)).obs;
    expect(obs[6]).toBeLessThan(-0.05);
    env.close();
  });
});
