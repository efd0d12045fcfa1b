// The shapes every part of the gateway and the viewer agree on: what a live sim is, what one step
// of it looks like to a watcher, the viewer role's messages and the MCAP recording's channels.
// Browser-safe (types and constants only); docs/PROTOCOL.md documents each message with examples.

import type { SceneDescription } from '../sim/scene.ts';
import type { NdArray } from './ndarray.ts';

export type { SceneDescription };

/** A live simulated environment on the gateway. */
export interface SimInfo {
  /** Gateway-unique id, e.g. "s3". */
  id: string;
  family: string;
  /** e.g. "ML1:reach"; null when opened by family alone. */
  benchmark: string | null;
  split: 'train' | 'test';
  /** Task index within the split. */
  task: number;
  seed: number;
  /** What drives it: "controller", "expert", or a checkpoint's name. */
  policy: string;
  /** Episodes started so far (the current one is episode - 1, counting from 0); 0 before the first reset. */
  episode: number;
  /** Steps taken in the current episode. */
  step: number;
}

/** One control step as a watcher sees it (and as recordings store it). */
export interface StepFrame {
  sim: string;
  episode: number;
  /** 0 right after reset, then 1, 2, ... */
  step: number;
  /** 7 numbers per body (x, y, z, qx, qy, qz, qw) in the scene description's body order. */
  poses: Float32Array;
  reward: number;
  success: 0 | 1;
  /** Finger opening (m), the distance between the two fingers' travel. */
  gripper: number;
  obs: Float32Array;
  /** The action that led here (absent at reset). */
  action?: Float32Array;
  jointPositions: number[];
}

/** Events of the gateway's live sims, for viewers, Foxglove clients and the recorder. */
export interface SimEvents {
  /** A sim was opened (no scene yet). */
  opened: (info: SimInfo) => void;
  /** A new episode started: the scene (it changes with the task) and the reset frame (step 0). */
  episode: (info: SimInfo, scene: SceneDescription, frame: StepFrame) => void;
  /** A step was taken. */
  frame: (info: SimInfo, frame: StepFrame) => void;
  /** The current episode ended (terminated or truncated) or the sim was closed mid-episode. */
  episodeEnd: (info: SimInfo, reason: 'terminated' | 'truncated' | 'closed') => void;
  closed: (info: SimInfo) => void;
}

/** The gateway's live sims as watchers see them (implemented by bridge/sims.ts). */
export interface LiveSims {
  on<E extends keyof SimEvents>(event: E, listener: SimEvents[E]): unknown;
  off<E extends keyof SimEvents>(event: E, listener: SimEvents[E]): unknown;
  list(): SimInfo[];
  /** The current episode's scene and latest frame; null for an unknown sim or before its first reset. */
  current(sim: string): { info: SimInfo; scene: SceneDescription; frame: StepFrame } | null;
}

// ---------------------------------------------------------------------------------------------
// Viewer role (WebSocket path /viewer). Read-only: a viewer never acts on a sim.

export type ViewerClientMessage =
  | { type: 'subscribe'; id?: number; sim: string }
  | { type: 'unsubscribe'; id?: number; sim: string };

export type ViewerServerMessage =
  /** Sent on connect and whenever a sim opens, closes or starts an episode. */
  | { type: 'sims'; sims: SimInfo[] }
  /** Sent on subscribe (cached, so late joiners get it) and at every new episode. */
  | { type: 'scene'; sim: string; info: SimInfo; scene: SceneDescription }
  /** Latest-value-wins: a slow viewer skips frames, never the scene. poses: float32 [bodies, 7]. */
  | { type: 'frame'; sim: string; episode: number; step: number; poses: NdArray; reward: number; success: 0 | 1; gripper: number }
  | { type: 'closed'; sim: string }
  | { type: 'error'; id?: number; code: string; message: string };

// ---------------------------------------------------------------------------------------------
// Recordings: one MCAP file per episode, json-encoded channels.

export const RECORDING_CHANNELS = {
  /** One message at the episode's start: RecordedEpisode. */
  episode: '/metamanip/episode',
  /** One message per step including the reset (step 0): RecordedStep. */
  step: '/metamanip/step',
  /** Foxglove-schema channels so the file opens in Foxglove. */
  transforms: '/tf',
  scene: '/scene',
  joints: '/joints',
} as const;

export interface RecordedEpisode {
  info: SimInfo;
  scene: SceneDescription;
}

export interface RecordedStep {
  episode: number;
  step: number;
  poses: number[];
  reward: number;
  success: 0 | 1;
  gripper: number;
  obs: number[];
  action: number[] | null;
  jointPositions: number[];
}
