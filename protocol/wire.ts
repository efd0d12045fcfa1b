// The shapes every part of the gateway and the viewer agree on: what a live sim is, what one step
// of it looks like to a watcher, the viewer and controller roles' messages and the MCAP recording's
// channels. Browser-safe (types and constants only); docs/PROTOCOL.md documents each message with examples.

import type { NdArray } from './ndarray.ts';
import type { SceneDescription } from './scene.ts';

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
  /**
   * Server-driven sims on a task schedule: the current episode's place among the episodes given to
   * this task (one trial: an RL2 policy keeps its memory across them). Absent otherwise.
   */
  trial?: { episode: number; episodes: number };
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
  /** The current episode ended (terminated or truncated), or was abandoned mid-episode ('closed': the sim was closed or reset before the episode's end). */
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

// ---------------------------------------------------------------------------------------------
// Controller role (WebSocket path /controller): an external program opens sims and drives them
// with Gymnasium-shaped reset/step. Requests are validated by bridge/messages.ts; these are the
// replies. Every reply echoes the request's `id` (when it had one) and, except errors, its `type`.

/** Gymnasium Box space as JSON (null bounds are unbounded). */
export interface BoxSpaceJson {
  type: 'Box';
  shape: number[];
  dtype: 'float32';
  low: Array<number | null>;
  high: Array<number | null>;
}

/** Step info: the env's named reward terms plus success, tcp, jointPositions, fingerPositions. */
export type StepInfoJson = Record<string, number | number[]>;

export interface StepReply {
  sim: string;
  /** float32 [obsDim] */
  obs: NdArray;
  reward: number;
  terminated: boolean;
  truncated: boolean;
  info: StepInfoJson;
}

export type ControllerServerMessage =
  /** Sent once right after the handshake (like openpi's metadata map). */
  | { type: 'hello'; protocol: number; role: 'controller'; resumeToken: string; graceMs: number; limits: ControllerLimits }
  /** recordDir: where the sim's episodes are written (absolute), when the request asked for `record: true`. */
  | { type: 'open'; id?: RequestId; sim: string; info: SimInfo; observationSpace: BoxSpaceJson; actionSpace: BoxSpaceJson; recordDir?: string }
  | { type: 'reset'; id?: RequestId; sim: string; obs: NdArray; info: StepInfoJson }
  | ({ type: 'step'; id?: RequestId } & StepReply)
  | { type: 'step_batch'; id?: RequestId; results: StepReply[] }
  | { type: 'close'; id?: RequestId; sim: string }
  | { type: 'list'; id?: RequestId; sims: SimInfo[] }
  /** The session keeps its first token: resumeToken is the one to use after the next disconnect. */
  | { type: 'resume'; id?: RequestId; resumeToken: string; sims: SimInfo[] }
  | { type: 'error'; id?: RequestId; code: ErrorCode; message: string };

export type RequestId = number | string;

export interface ControllerLimits {
  /** Largest frame answered with an error rather than a disconnect (bytes). */
  maxMessageBytes: number;
  /** Frames above this close the connection with code 1009. */
  maxPayloadBytes: number;
  maxSimsPerConnection: number;
  maxBatch: number;
  messagesPerSecond: number;
}

/** Error codes of `{type: 'error'}` replies (all roles). */
export const ERROR_CODES = [
  'bad_frame', // not msgpack, or a text frame where binary was expected
  'too_large', // over maxMessageBytes
  'bad_message', // fails the message schema
  'unknown_type',
  'unknown_sim',
  'not_owner', // the sim belongs to another client or a server driver
  'not_reset', // step before the first reset
  'episode_over', // step after truncation/termination; reset first
  'bad_action', // wrong length, NaN/Inf
  'bad_task', // task index or family/benchmark unknown
  'too_many_sims',
  'out_of_order', // e.g. resume after opening sims
  'bad_resume_token',
  'rate_limited',
  'read_only', // a viewer tried to act
  'sim_failed', // the physics diverged; reset to continue
  'internal', // a bug of the gateway; the message says what failed
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/** Subprotocols: offer PROTOCOL_NAME, plus `${TOKEN_PREFIX}<token>` when the server needs a token. */
export const PROTOCOL_NAME = 'metamanip.v1';
export const TOKEN_PREFIX = 'metamanip.token.';
export const PROTOCOL_VERSION = 1;
