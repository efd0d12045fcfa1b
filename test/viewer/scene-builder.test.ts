// The viewer's scene graph against the simulator's own scene description and poses (no browser),
// plus the pure parts of replay and learning curves.

import { describe, expect, it } from 'vitest';
import * as THREE from 'three';
import { FAMILIES, ManipulationEnv, sampleTasks } from '../../sim/index.ts';
import { PALETTE } from '../../sim/palette.ts';
import type { SceneDescription } from '../../protocol/scene.ts';
import { buildScene, sameGeometry, shapeGeometry } from '../../viewer/src/scene-builder.ts';
import { Timeline } from '../../viewer/src/replay.ts';
import { adaptationCurves, learningCurves } from '../../viewer/src/curves.ts';
import { niceTicks, tickLabels } from '../../viewer/src/ticks.ts';
import { parseRecordingName } from '../../viewer/src/recording-name.ts';
import { recordingName } from '../../bridge/recorder.ts';
import type { SimInfo } from '../../protocol/wire.ts';
import { parseRecordedStep, parseServerMessage } from '../../viewer/src/messages.ts';

const extent = (geometry: THREE.BufferGeometry): THREE.Vector3 => {
  geometry.computeBoundingBox();
  return geometry.boundingBox!.getSize(new THREE.Vector3());
};

describe('scene builder', () => {
  it('mirrors every body of a real scene by name, with one mesh per part', () => {
    const env = new ManipulationEnv({ family: 'drawer-open' });
    env.reset({ seed: 1 });
    const description = env.describeScene();
    const built = buildScene(description);
    expect([...built.bodies.keys()]).toEqual(description.bodies.map((b) => b.name));
    for (const body of description.bodies) expect(built.bodies.get(body.name)!.children).toHaveLength(body.parts.length);
    expect(built.bodies.has('table') && built.bodies.has('hand') && built.bodies.has('leftFinger')).toBe(true);
    expect(built.goal.position.toArray()).toEqual([...description.goal]);
    env.close();
    built.dispose();
  });

  it('builds every family\'s scene, every part a mesh with its colour', () => {
    for (const family of FAMILIES.keys()) {
      const env = new ManipulationEnv({ family });
      const description = env.describeScene();
      const built = buildScene(description);
      const meshes: THREE.Mesh[] = [];
      built.root.traverse((o) => { if (o instanceof THREE.Mesh && o !== built.goal) meshes.push(o); });
      const parts = description.bodies.flatMap((b) => b.parts);
      expect(meshes, family).toHaveLength(parts.length);
      meshes.forEach((mesh, i) => expect((mesh.material as THREE.MeshStandardMaterial).color.getHexString(), family).toBe(new THREE.Color(parts[i].colour).getHexString()));
      built.dispose();
      env.close();
    }
  });

  it("colours every fixture's moving part (a joint's child) and its handle so that they stand out", () => {
    for (const family of FAMILIES.values()) {
      const scene = family.scene(sampleTasks(family, 0, 1)[0].params);
      for (const joint of scene.joints ?? []) {
        const child = scene.bodies.find((b) => b.name === joint.child)!;
        // A carriage between two stacked slides (a parent of the next joint) is hidden machinery: the part a person sees is the last in the chain.
        if ((scene.joints ?? []).some((next) => next.parent === child.name)) continue;
        const colours = child.parts.map((p) => p.colour);
        expect(colours.some((c) => c === PALETTE.moving || c === PALETTE.handle), `${family.name}: ${child.name} (${colours.join(', ')})`).toBe(true);
      }
    }
  });

  it('poses bodies from (x, y, z, qx, qy, qz, qw) frames in description order', () => {
    const env = new ManipulationEnv({ family: 'reach' });
    env.reset({ seed: 0 });
    for (let i = 0; i < 20; i++) env.step([0.5, 0.3, 0.2, 1]);
    const description = env.describeScene();
    const poses = env.bodyPoses();
    const built = buildScene(description);
    expect([...built.bodies.values()].every((b) => !b.visible)).toBe(true);
    built.applyPoses(Float32Array.from(poses));
    description.bodies.forEach((body, i) => {
      const group = built.bodies.get(body.name)!;
      expect(group.visible).toBe(true);
      expect(group.position.x).toBeCloseTo(poses[i * 7], 5);
      expect(group.position.z).toBeCloseTo(poses[i * 7 + 2], 5);
      expect(group.quaternion.w).toBeCloseTo(poses[i * 7 + 6], 5);
      expect(group.quaternion.x).toBeCloseTo(poses[i * 7 + 3], 5);
    });
    env.close();
  });

  it('runs cylinders along local Z and capsules along local Y, as sim/scene.ts builds them in Rapier', () => {
    const cylinder = extent(shapeGeometry({ kind: 'cylinder', halfHeight: 0.4, radius: 0.09 }));
    expect(cylinder.z).toBeCloseTo(0.8, 6);
    expect(cylinder.x).toBeCloseTo(0.18, 2);
    const capsule = extent(shapeGeometry({ kind: 'capsule', halfHeight: 0.1, radius: 0.05 }));
    expect(capsule.y).toBeCloseTo(0.3, 6);
    expect(capsule.z).toBeCloseTo(0.1, 2);
    const box = extent(shapeGeometry({ kind: 'box', halfExtents: [0.7, 0.5, 0.05] }));
    expect(box.toArray()).toEqual([1.4, 1, 0.1].map((v) => expect.closeTo(v, 6)));
  });

  it('applies part offsets with the (w, x, y, z) quaternion order of sim/vec.ts', () => {
    const s = Math.SQRT1_2;
    const description: SceneDescription = {
      bodies: [{ name: 'rod', type: 'dynamic', parts: [{ shape: { kind: 'cylinder', halfHeight: 0.5, radius: 0.01 }, offset: { position: [0.1, 0, 0], rotation: [s, 0, s, 0] }, colour: '#ffffff', visualOnly: false }] }],
      goal: [0, 0, 0],
    };
    const built = buildScene(description);
    built.applyPoses([0, 0, 0, 0, 0, 0, 1]);
    built.root.updateMatrixWorld(true);
    // A Z-axis cylinder turned 90 degrees about Y lies along X.
    const box = new THREE.Box3().setFromObject(built.root.getObjectByName('rod')!);
    expect(box.max.x - box.min.x).toBeCloseTo(1, 3);
    expect(box.max.z - box.min.z).toBeLessThan(0.05);
    expect((box.max.x + box.min.x) / 2).toBeCloseTo(0.1, 3);
  });

  it('keeps the graph across episodes when only the goal moves', () => {
    const env = new ManipulationEnv({ family: 'reach' });
    env.reset({ seed: 0 });
    const a = env.describeScene();
    expect(sameGeometry(a, { ...a, goal: [0.1, 0.7, 0.2] })).toBe(true);
    expect(sameGeometry(a, { ...a, bodies: a.bodies.slice(1) })).toBe(false);
    env.close();
  });
});

describe('viewer messages and replay timeline', () => {
  it('rejects a malformed gateway message with a readable reason', () => {
    expect(() => parseServerMessage({ type: 'sims', sims: [{ id: 's1' }] })).toThrow(/sims\.0\.family/);
    expect(() => parseRecordedStep({ episode: 0 })).toThrow(/recorded step is malformed/);
  });

  it('plays at the recorded rate and speed, stops at the end, steps and seeks within bounds', () => {
    const timeline = new Timeline(100, 0.0125);
    timeline.play();
    expect(timeline.advance(0.05)).toBe(true);
    expect(timeline.frame).toBe(4);
    timeline.speed = 2;
    timeline.advance(0.05);
    expect(timeline.frame).toBe(12);
    for (let i = 0; i < 100; i++) timeline.advance(0.1);
    expect(timeline.frame).toBe(99);
    expect(timeline.playing).toBe(false);
    timeline.stepBy(-1);
    expect(timeline.frame).toBe(98);
    timeline.seek(1e6);
    expect(timeline.frame).toBe(99);
    timeline.seek(-3);
    expect(timeline.frame).toBe(0);
  });

  it('reads learning curves from metrics rows, with evaluations as sparse series', () => {
    const rows = [
      { iteration: 0, envSteps: 100, meanTrialReturn: 5, evalBeforeReturn: null, evalAfterReturn: null, evalBeforeSuccess: null, evalAfterSuccess: null },
      { iteration: 1, envSteps: 200, meanTrialReturn: 7, evalBeforeReturn: 1, evalAfterReturn: 2, evalBeforeSuccess: 0.1, evalAfterSuccess: 0.3 },
    ];
    const curves = learningCurves(rows);
    expect(curves.x).toEqual([100, 200]);
    expect(curves.xLabel).toBe('env steps');
    expect(curves.evaluations).toBe(1);
    expect(curves.episodeReturns.find((s) => s.label === 'eval after')!.values).toEqual([null, 2]);
    expect(curves.success.map((s) => s.label)).toEqual(['eval before', 'eval after']);
  });

  it("draws the adaptation curve of the first, a middle and the latest evaluation, success by episode where tasks have it", () => {
    const line = (envSteps: number, success: number[]) => ({
      iteration: envSteps / 100, envSteps,
      byEpisode: success.map((rate, i) => ({ episode: i + 1, phase: i < 2 ? 'adaptation' : 'evaluation', meanReturn: 10 * rate, successRate: rate, medianStepsToSuccess: null })),
    });
    const evaluations = [line(1e6, [0.1, 0.2, 0.2]), line(2e6, [0.3, 0.5, 0.6]), line(3e6, [0.4, 0.6, 0.7]), line(4e6, [0.5, 0.9, 0.95])];
    const curves = adaptationCurves(evaluations, true);
    expect(curves.x).toEqual([1, 2, 3]);
    expect(curves.adaptationEpisodes).toBe(2);
    expect(curves.series.map((s) => s.label)).toEqual(['@1M steps', '@2M steps', '@4M steps']);
    expect(curves.series[2].values).toEqual([0.5, 0.9, 0.95]);
    const returns = adaptationCurves(evaluations.slice(0, 1), false);
    expect(returns.measure).toBe('return');
    expect(returns.series.map((s) => s.values)).toEqual([[1, 2, 2]]);
    expect(adaptationCurves([], true).series).toEqual([]);
  });

  it('puts round ticks on the axes, labelled with no more digits than the step needs', () => {
    const steps = niceTicks(0, 2e6, 5);
    expect(steps.ticks).toEqual([0, 5e5, 1e6, 1.5e6, 2e6]);
    expect(tickLabels(steps.ticks, steps.step)).toEqual(['0', '0.5M', '1.0M', '1.5M', '2.0M']);
    const success = niceTicks(-0.02, 1.02, 5);
    expect(tickLabels(success.ticks, success.step)).toEqual(['0', '0.25', '0.50', '0.75', '1.00']);
    const returns = niceTicks(3.2, 17.9, 4);
    expect(tickLabels(returns.ticks, returns.step)).toEqual(['5', '10', '15']);
    expect(tickLabels(niceTicks(0, 12345, 5).ticks, 2500)).toEqual(['0', '2.5k', '5.0k', '7.5k', '10.0k']);
    expect(niceTicks(Number.NaN, 1).ticks).toEqual([]);
  });

  it("reads what a recording's file name says (as the gateway's recorder names files)", () => {
    const info = { id: 's12', family: 'door-open', episode: 8 } as SimInfo;
    const name = recordingName(info, new Date(Date.UTC(2026, 10, 22, 6, 15, 1, 123)), 2);
    expect(name).toBe('20261122T061501.123Z-s12-door-open-ep7-2.mcap');
    expect(parseRecordingName(name)).toEqual({ time: '2026-11-22 06:15:01', sim: 's12', family: 'door-open', episode: 7 });
    expect(parseRecordingName('my-episode.mcap')).toBeNull();
  });
});
