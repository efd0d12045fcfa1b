// A stand-in for the gateway's live sims hub (bridge/sims.ts) in the recorder and Foxglove tests:
// real ManipulationEnvs driven by their family's scripted expert, emitting the LiveSims events.

import { EventEmitter } from 'node:events';
import { ManipulationEnv, getFamily } from '../../sim/index.ts';
import type { LiveSims, SimEvents, SimInfo, StepFrame } from '../../protocol/wire.ts';
import type { SceneDescription } from '../../protocol/scene.ts';

interface FakeSim {
  info: SimInfo;
  env: ManipulationEnv;
  scene: SceneDescription | null;
  frame: StepFrame | null;
  obs: Float32Array | null;
}

export class FakeLiveSims extends EventEmitter implements LiveSims {
  readonly sims = new Map<string, FakeSim>();
  /** Every frame emitted, in order, as sent (tests compare recordings against these). */
  readonly sent: StepFrame[] = [];
  #next = 1;

  override on<E extends keyof SimEvents>(event: E, listener: SimEvents[E]): this {
    return super.on(event, listener as (...args: unknown[]) => void);
  }

  override off<E extends keyof SimEvents>(event: E, listener: SimEvents[E]): this {
    return super.off(event, listener as (...args: unknown[]) => void);
  }

  list(): SimInfo[] {
    return [...this.sims.values()].map((sim) => ({ ...sim.info }));
  }

  current(id: string): { info: SimInfo; scene: SceneDescription; frame: StepFrame } | null {
    const sim = this.sims.get(id);
    if (!sim || !sim.scene || !sim.frame) return null;
    return { info: { ...sim.info }, scene: sim.scene, frame: sim.frame };
  }

  open(family = 'reach', seed = 0): string {
    const id = `s${this.#next++}`;
    const info: SimInfo = { id, family, benchmark: `ML1:${family}`, split: 'train', task: 0, seed, policy: 'expert', episode: 0, step: 0 };
    this.sims.set(id, { info, env: new ManipulationEnv({ family }), scene: null, frame: null, obs: null });
    this.emit('opened', { ...info });
    return id;
  }

  reset(id: string): StepFrame {
    const sim = this.#sim(id);
    const { obs, info } = sim.env.reset({ seed: sim.info.seed + sim.info.episode });
    sim.info.episode += 1;
    sim.info.step = 0;
    sim.scene = sim.env.describeScene();
    sim.obs = obs;
    const frame = this.#frame(sim, obs, 0, info.success, info.jointPositions, info.fingerPositions);
    this.emit('episode', { ...sim.info }, sim.scene, frame);
    return frame;
  }

  /** One expert step; ends the episode (episodeEnd) when the env says so. */
  step(id: string): StepFrame {
    const sim = this.#sim(id);
    const action = Float32Array.from(getFamily(sim.info.family).expert(sim.obs!, sim.env.goalPosition));
    const result = sim.env.step(action);
    sim.info.step += 1;
    sim.obs = result.obs;
    const frame = this.#frame(sim, result.obs, result.reward, result.info.success, result.info.jointPositions, result.info.fingerPositions, action);
    this.emit('frame', { ...sim.info }, frame);
    if (result.terminated || result.truncated) this.emit('episodeEnd', { ...sim.info }, result.terminated ? 'terminated' : 'truncated');
    return frame;
  }

  endEpisode(id: string, reason: 'terminated' | 'truncated' | 'closed' = 'terminated'): void {
    this.emit('episodeEnd', { ...this.#sim(id).info }, reason);
  }

  close(id: string): void {
    const sim = this.#sim(id);
    this.sims.delete(id);
    sim.env.close();
    this.emit('closed', { ...sim.info });
  }

  #sim(id: string): FakeSim {
    const sim = this.sims.get(id);
    if (!sim) throw new Error(`no sim ${id}`);
    return sim;
  }

  #frame(sim: FakeSim, obs: Float32Array, reward: number, success: 0 | 1, jointPositions: number[], fingers: [number, number], action?: Float32Array): StepFrame {
    const frame: StepFrame = {
      sim: sim.info.id,
      episode: sim.info.episode - 1,
      step: sim.info.step,
      poses: Float32Array.from(sim.env.bodyPoses()),
      reward,
      success,
      gripper: fingers[0] + fingers[1],
      obs: Float32Array.from(obs),
      action,
      jointPositions: [...jointPositions],
    };
    sim.frame = frame;
    this.sent.push(frame);
    return frame;
  }
}
