import { describe, expect, it } from 'vitest';
import { FAMILIES, ML1, MT1, getFamily, sampleTasks, taskTable } from '../../sim/index.ts';
import type { StepState } from '../../sim/family.ts';
import type { Vec3 } from '../../sim/vec.ts';

const goal: Vec3 = [0.05, 0.85, 0.2];
function state(overrides: Partial<StepState>): StepState {
  return {
    hand: [0, 0.6, 0.2], tcp: [0, 0.6, 0.166], initTcp: [0, 0.6, 0.166], handInit: [0, 0.6, 0.2],
    gripperOpening: 1, leftPad: [0, 0.65, 0.166], rightPad: [0, 0.55, 0.166], initLeftPad: [0, 0.65, 0.166], initRightPad: [0, 0.55, 0.166], objects: [[0, 0.65, 0.02]], objectsInit: [[0, 0.65, 0.02]],
    objectQuats: [], sites: {}, joints: {}, jointsInit: {}, goal, action: [0, 0, 0, -1], touchingMainObject: false, episode: {}, ...overrides,
  };
}
const offset = (p: Vec3, d: number): Vec3 => [p[0] + d, p[1], p[2]];

describe('success rules on constructed states', () => {
  it('reach: TCP within 0.05 m of the goal', () => {
    const reach = getFamily('reach');
    expect(reach.evaluate(state({ tcp: offset(goal, 0.049) })).success).toBe(true);
    expect(reach.evaluate(state({ tcp: offset(goal, 0.051) })).success).toBe(false);
    expect(reach.evaluate(state({ tcp: goal })).reward).toBeCloseTo(10, 12);
  });

  it('push: puck within 0.05 m of the goal, reward 10 on success', () => {
    const push = getFamily('push');
    const ok = push.evaluate(state({ objects: [offset(goal, 0.049)] }));
    expect(ok.success).toBe(true);
    expect(ok.reward).toBe(10);
    expect(push.evaluate(state({ objects: [offset(goal, 0.051)] })).success).toBe(false);
  });

  it('pick-place: puck within 0.07 m of the goal; reward 10 only inside 0.05 m', () => {
    const pickPlace = getFamily('pick-place');
    const near = pickPlace.evaluate(state({ objects: [offset(goal, 0.069)] }));
    expect(near.success).toBe(true);
    expect(near.reward).toBeLessThan(10);
    expect(pickPlace.evaluate(state({ objects: [offset(goal, 0.071)] })).success).toBe(false);
    expect(pickPlace.evaluate(state({ objects: [offset(goal, 0.04)] })).reward).toBe(10);
  });

  it('pick-place rewards holding the lifted puck more than touching it on the table', () => {
    const pickPlace = getFamily('pick-place');
    const held = { tcp: [0, 0.65, 0.06] as Vec3, objects: [[0, 0.65, 0.06]] as Vec3[], gripperOpening: 0.55, leftPad: [0, 0.676, 0.06] as Vec3, rightPad: [0, 0.624, 0.06] as Vec3, initLeftPad: [0, 0.676, 0.06] as Vec3, initRightPad: [0, 0.624, 0.06] as Vec3, action: [0, 0, 0, 1] };
    const onTable = { ...held, tcp: [0, 0.65, 0.02] as Vec3, objects: [[0, 0.65, 0.02]] as Vec3[] };
    expect(pickPlace.evaluate(state(held)).reward).toBeGreaterThan(pickPlace.evaluate(state(onTable)).reward + 1);
  });
});

describe('tasks and benchmarks', () => {
  for (const family of FAMILIES.values()) {
    it(`${family.name}: 50 distinct tasks inside the random box, rejection rule respected, scene inside the workspace`, () => {
      const tasks = sampleTasks(family, 0, 50);
      expect(new Set(tasks.map((t) => t.params.join(','))).size).toBe(50);
      for (const task of tasks) {
        task.params.forEach((v, i) => {
          expect(v).toBeGreaterThanOrEqual(family.randomBox.low[i]);
          expect(v).toBeLessThanOrEqual(family.randomBox.high[i]);
        });
        expect(family.reject?.(task.params) ?? false).toBe(false);
        const { bodies, goal } = family.scene(task.params);
        for (const p of [...bodies.map((b) => b.pose.position), goal]) {
          expect(Math.abs(p[0])).toBeLessThanOrEqual(0.5);
          expect(p[1]).toBeGreaterThanOrEqual(0.4);
          expect(p[1]).toBeLessThanOrEqual(1.0);
        }
        expect(Object.isFrozen(task) && Object.isFrozen(task.params)).toBe(true);
      }
    });
  }

  it('puck families reject tasks whose puck and goal are closer than 0.15 m in xy', () => {
    const reach = getFamily('reach');
    expect(reach.reject?.([0, 0.65, 0.02, 0.1, 0.75, 0.2])).toBe(true);
    expect(reach.reject?.([0, 0.6, 0.02, 0.1, 0.8, 0.2])).toBe(false);
  });

  it('draws the same tasks for the same seed and different ones for another seed or family', () => {
    const a = ML1('reach', 7), b = ML1('reach', 7);
    expect(taskTable(a)).toEqual(taskTable(b));
    expect(a.train[0].params).not.toEqual(ML1('reach', 8).train[0].params);
    // Test tasks are the train tasks of seed + 1.
    expect(a.test).toEqual(ML1('reach', 8).train);
    expect(ML1('push', 7).train[0].params.slice(0, 2)).not.toEqual(a.train[0].params.slice(0, 2));
  });

  it('MT1 and ML1 share tasks and differ only in goal visibility', () => {
    const mt = MT1('push', 2), ml = ML1('push', 2);
    expect(mt.train).toEqual(ml.train);
    expect(mt.goalVisible).toBe(true);
    expect(ml.goalVisible).toBe(false);
    expect(mt.train).toHaveLength(50);
    expect(mt.test).toHaveLength(50);
  });

  it('rejects bad seeds and unknown families with a clear message', () => {
    expect(() => ML1('reach', -1)).toThrow(/seed must be a non-negative integer/);
    expect(() => ML1('reach', 1.5)).toThrow(/seed/);
    expect(() => MT1('fly', 0)).toThrow(/unknown task family 'fly'; expected one of: reach, push, pick-place/);
  });
});
