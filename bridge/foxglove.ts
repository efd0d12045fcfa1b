// The Foxglove WebSocket role: one accepted socket speaking the Foxglove WebSocket protocol (server
// side), so Foxglove / Lichtblick show the live sims: every sim's bodies (/tf + /scene), joints,
// observation, action and reward as json channels with JSON schemas. Read-only: no client publish.
//
// Written against the protocol directly rather than with @foxglove/ws-protocol's FoxgloveServer:
// that class owns a server of many clients and broadcasts, while the gateway hands us one socket it
// has already accepted and authenticated, and we need per-client latest-value-wins backpressure.

import { randomUUID } from 'node:crypto';
import type { RawData, WebSocket } from 'ws';
import { z } from 'zod';
import { type JsonChannelSchema, SCHEMAS, frameToJointStates, posesToFrameTransforms, sceneToSceneUpdate, wallClockNs } from './foxglove-schemas.ts';
import type { LiveSims, SimEvents, SimInfo, StepFrame } from '../protocol/wire.ts';
import type { SceneDescription } from '../protocol/scene.ts';

/** Accept both: the new SDK name and the old one, same wire format. */
export const FOXGLOVE_SUBPROTOCOLS: readonly string[] = ['foxglove.sdk.v1', 'foxglove.websocket.v1'];

export interface FoxgloveOptions {
  /**
   * Above this many bytes queued on the socket, per-step messages are not sent but kept, one per
   * subscription, the latest replacing the older, until the client catches up. Default 1 MiB.
   */
  maxBufferedBytes?: number;
}

export const DEFAULT_MAX_BUFFERED_BYTES = 1024 * 1024;
/** Changes when the gateway restarts, so a client knows its channel ids are stale. */
const SESSION_ID = randomUUID();
const OPEN = 1;
const DRAIN_POLL_MS = 5;
/** Each subscription costs a send per step: a client asking for more is refused. */
const MAX_SUBSCRIPTIONS = 1024;

const enum StatusLevel { Info = 0, Warning = 1, Error = 2 }
const enum BinaryOpcode { MessageData = 1 }
const enum ClientBinaryOpcode { MessageData = 1, ServiceCallRequest = 2 }

type ChannelKind = 'tf' | 'scene' | 'joints' | 'obs' | 'action' | 'reward';
const CHANNEL_KINDS: Record<ChannelKind, JsonChannelSchema> = {
  tf: SCHEMAS.frameTransforms,
  scene: SCHEMAS.sceneUpdate,
  joints: SCHEMAS.jointStates,
  obs: SCHEMAS.observation,
  action: SCHEMAS.action,
  reward: SCHEMAS.reward,
};

/** The topic of one of a sim's channels, e.g. /s3/tf. Body frames are `<sim>/<body>` under a shared `world`. */
export const foxgloveTopic = (sim: string, kind: ChannelKind): string => `/${sim}/${kind}`;

interface Channel { id: number; sim: string; kind: ChannelKind; topic: string }

const subscribeMessage = z.object({
  op: z.literal('subscribe'),
  subscriptions: z.array(z.object({ id: z.number().int().min(0).max(0xffffffff), channelId: z.number().int() })),
});
const unsubscribeMessage = z.object({ op: z.literal('unsubscribe'), subscriptionIds: z.array(z.number().int()) });
const anyMessage = z.object({ op: z.string() });
/** Ops of the protocol this server does not offer (it advertises no capabilities). */
const UNSUPPORTED_OPS = new Set(['advertise', 'unadvertise', 'getParameters', 'setParameters', 'subscribeParameterUpdates', 'unsubscribeParameterUpdates', 'subscribeConnectionGraph', 'unsubscribeConnectionGraph', 'fetchAsset']);

const issueText = (error: z.ZodError): string => error.issues.map((issue) => `${issue.path.join('.') || 'message'}: ${issue.message}`).join('; ');

/** Serves the Foxglove WebSocket protocol on an accepted socket until it closes. */
export function serveFoxglove(socket: WebSocket, sims: LiveSims, options: FoxgloveOptions = {}): void {
  new FoxgloveConnection(socket, sims, options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES).start();
}

class FoxgloveConnection {
  #nextChannelId = 1;
  readonly #channels = new Map<number, Channel>();
  readonly #channelsBySim = new Map<string, Map<ChannelKind, Channel>>();
  /** Subscription id -> channel id. */
  readonly #subscriptions = new Map<number, number>();
  /** The latest message per subscription held back while the socket is backed up. */
  readonly #held = new Map<number, { timeNs: bigint; payload: Uint8Array }>();
  readonly #scenes = new Map<string, SceneDescription>();
  #drainTimer: NodeJS.Timeout | null = null;
  #closed = false;
  readonly #listeners: { [E in keyof SimEvents]: SimEvents[E] };

  constructor(private readonly socket: WebSocket, private readonly sims: LiveSims, private readonly maxBufferedBytes: number) {
    // A listener must never throw into the hub: that would break the sim stepping for everyone.
    const guard = <A extends unknown[]>(handler: (...args: A) => void) => (...args: A): void => {
      try {
        handler(...args);
      } catch (error) {
        this.#status(StatusLevel.Error, `internal error: ${(error as Error).message}`);
      }
    };
    this.#listeners = {
      opened: guard((info: SimInfo) => this.#advertise([info.id])),
      episode: guard((info: SimInfo, scene: SceneDescription, frame: StepFrame) => this.#onEpisode(info, scene, frame)),
      frame: guard((info: SimInfo, frame: StepFrame) => this.#onFrame(info.id, frame)),
      episodeEnd: () => undefined,
      closed: guard((info: SimInfo) => this.#unadvertise(info.id)),
    };
  }

  start(): void {
    if (this.socket.readyState !== OPEN) return;
    for (const event of Object.keys(this.#listeners) as Array<keyof SimEvents>) this.sims.on(event, this.#listeners[event] as never);
    this.socket.on('message', (data: RawData, isBinary: boolean) => {
      try {
        this.#onClientMessage(data, isBinary);
      } catch (error) {
        this.#status(StatusLevel.Error, `internal error handling a client message: ${(error as Error).message}`);
      }
    });
    this.socket.once('close', () => this.#stop());
    this.socket.on('error', () => this.#stop());
    this.#sendText({
      op: 'serverInfo',
      name: 'metamanip',
      capabilities: [],
      supportedEncodings: ['json'],
      metadata: { topics: '/<sim>/tf, /<sim>/scene, /<sim>/joints, /<sim>/obs, /<sim>/action, /<sim>/reward', frames: 'world, <sim>/<body>' },
      sessionId: SESSION_ID,
    });
    this.#advertise(this.sims.list().map((info) => info.id));
  }

  #stop(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const event of Object.keys(this.#listeners) as Array<keyof SimEvents>) this.sims.off(event, this.#listeners[event] as never);
    if (this.#drainTimer) clearTimeout(this.#drainTimer);
    this.#held.clear();
  }

  // ---- channels ------------------------------------------------------------------------------

  #advertise(simIds: string[]): void {
    const added: Channel[] = [];
    for (const sim of simIds) {
      if (this.#channelsBySim.has(sim)) continue;
      const kinds = new Map<ChannelKind, Channel>();
      for (const kind of Object.keys(CHANNEL_KINDS) as ChannelKind[]) {
        const channel: Channel = { id: this.#nextChannelId++, sim, kind, topic: foxgloveTopic(sim, kind) };
        kinds.set(kind, channel);
        this.#channels.set(channel.id, channel);
        added.push(channel);
      }
      this.#channelsBySim.set(sim, kinds);
    }
    if (added.length === 0) return;
    this.#sendText({
      op: 'advertise',
      channels: added.map((channel) => {
        const schema = CHANNEL_KINDS[channel.kind];
        return { id: channel.id, topic: channel.topic, encoding: 'json', schemaName: schema.name, schema: schema.data, schemaEncoding: schema.encoding };
      }),
    });
  }

  #unadvertise(sim: string): void {
    const kinds = this.#channelsBySim.get(sim);
    this.#scenes.delete(sim);
    if (!kinds) return;
    this.#channelsBySim.delete(sim);
    const ids = [...kinds.values()].map((channel) => channel.id);
    for (const id of ids) this.#channels.delete(id);
    for (const [subscription, channelId] of this.#subscriptions) {
      if (ids.includes(channelId)) {
        this.#subscriptions.delete(subscription);
        this.#held.delete(subscription);
      }
    }
    this.#sendText({ op: 'unadvertise', channelIds: ids });
  }

  // ---- sim events ----------------------------------------------------------------------------

  #onEpisode(info: SimInfo, scene: SceneDescription, frame: StepFrame): void {
    this.#advertise([info.id]);
    this.#scenes.set(info.id, scene);
    const timeNs = wallClockNs();
    this.#publish(info.id, 'scene', timeNs, () => sceneToSceneUpdate(scene, timeNs, `${info.id}/`));
    this.#onFrame(info.id, frame, timeNs);
  }

  #onFrame(sim: string, frame: StepFrame, timeNs = wallClockNs()): void {
    if (!this.#channelsBySim.has(sim)) this.#advertise([sim]);
    for (const kind of ['tf', 'joints', 'obs', 'action', 'reward'] as const) this.#publishFrame(sim, kind, frame, timeNs);
  }

  #sceneOf(sim: string): SceneDescription | null {
    const cached = this.#scenes.get(sim);
    if (cached) return cached;
    const current = this.sims.current(sim);
    if (current) this.#scenes.set(sim, current.scene);
    return current?.scene ?? null;
  }

  /** The message of one per-step channel for a frame; null when there is none (no action at a reset, no scene yet). */
  #frameMessage(sim: string, kind: Exclude<ChannelKind, 'scene'>, frame: StepFrame, timeNs: bigint): unknown {
    const header = { episode: frame.episode, step: frame.step };
    switch (kind) {
      case 'tf': {
        const scene = this.#sceneOf(sim);
        return scene ? posesToFrameTransforms(scene, frame.poses, timeNs, `${sim}/`) : null;
      }
      case 'joints': return frameToJointStates(frame, timeNs);
      case 'obs': return { ...header, obs: Array.from(frame.obs) };
      case 'action': return frame.action ? { ...header, action: Array.from(frame.action) } : null;
      case 'reward': return { ...header, reward: frame.reward, success: frame.success };
    }
  }

  #publishFrame(sim: string, kind: Exclude<ChannelKind, 'scene'>, frame: StepFrame, timeNs: bigint): void {
    this.#publish(sim, kind, timeNs, () => this.#frameMessage(sim, kind, frame, timeNs));
  }

  /** Sends a channel's message to its subscribers; builds it only when someone listens. */
  #publish(sim: string, kind: ChannelKind, timeNs: bigint, build: () => unknown, only?: number): void {
    const channel = this.#channelsBySim.get(sim)?.get(kind);
    if (!channel) return;
    const subscriptions = only !== undefined ? [only] : [...this.#subscriptions].filter(([, channelId]) => channelId === channel.id).map(([id]) => id);
    if (subscriptions.length === 0) return;
    const message = build();
    if (message === null) return;
    const payload = Buffer.from(JSON.stringify(message));
    for (const subscription of subscriptions) this.#sendData(subscription, timeNs, payload);
  }

  // ---- client messages -----------------------------------------------------------------------

  #onClientMessage(data: RawData, isBinary: boolean): void {
    if (isBinary) {
      const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
      const op = bytes.length > 0 ? bytes[0] : -1;
      if (op === ClientBinaryOpcode.MessageData) this.#status(StatusLevel.Error, 'client publish is not supported: this server is read-only (no clientPublish capability)');
      else if (op === ClientBinaryOpcode.ServiceCallRequest) this.#status(StatusLevel.Error, 'service calls are not supported: this server offers no services');
      else this.#status(StatusLevel.Error, `unknown binary opcode ${op}`);
      return;
    }
    const text = Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data as ArrayBuffer).toString('utf8');
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      this.#status(StatusLevel.Error, `a client message is not valid JSON: ${JSON.stringify(text.slice(0, 80))}`);
      return;
    }
    const base = anyMessage.safeParse(json);
    if (!base.success) {
      this.#status(StatusLevel.Error, 'a client message must be a JSON object with a string "op"');
      return;
    }
    const { op } = base.data;
    if (op === 'subscribe') {
      const parsed = subscribeMessage.safeParse(json);
      if (!parsed.success) return this.#status(StatusLevel.Error, `bad subscribe message: ${issueText(parsed.error)}`);
      for (const { id, channelId } of parsed.data.subscriptions) this.#subscribe(id, channelId);
    } else if (op === 'unsubscribe') {
      const parsed = unsubscribeMessage.safeParse(json);
      if (!parsed.success) return this.#status(StatusLevel.Error, `bad unsubscribe message: ${issueText(parsed.error)}`);
      for (const id of parsed.data.subscriptionIds) {
        if (!this.#subscriptions.delete(id)) this.#status(StatusLevel.Warning, `unsubscribe: no subscription ${id}`);
        this.#held.delete(id);
      }
    } else if (UNSUPPORTED_OPS.has(op)) {
      this.#status(StatusLevel.Error, `op '${op}' is not supported: this server is read-only and advertises no capabilities`);
    } else {
      this.#status(StatusLevel.Error, `unknown op '${op.slice(0, 40)}'`);
    }
  }

  #subscribe(id: number, channelId: number): void {
    if (this.#subscriptions.has(id)) return this.#status(StatusLevel.Error, `subscription id ${id} is already in use; subscription to channel ${channelId} ignored`);
    const channel = this.#channels.get(channelId);
    if (!channel) return this.#status(StatusLevel.Error, `channel ${channelId} is not advertised; subscription ${id} ignored`);
    if (this.#subscriptions.size >= MAX_SUBSCRIPTIONS) return this.#status(StatusLevel.Error, `at most ${MAX_SUBSCRIPTIONS} subscriptions per connection; subscription ${id} ignored`);
    this.#subscriptions.set(id, channelId);
    // A late joiner gets the current state at once: the scene to draw, the latest step's values.
    const current = this.sims.current(channel.sim);
    if (!current) return;
    const timeNs = wallClockNs();
    if (channel.kind === 'scene') {
      this.#scenes.set(channel.sim, current.scene);
      this.#publish(channel.sim, 'scene', timeNs, () => sceneToSceneUpdate(current.scene, timeNs, `${channel.sim}/`), id);
    } else {
      const kind = channel.kind;
      this.#publish(channel.sim, kind, timeNs, () => this.#frameMessage(channel.sim, kind, current.frame, timeNs), id);
    }
  }

  // ---- sending -------------------------------------------------------------------------------

  #backedUp(): boolean {
    return this.socket.bufferedAmount > this.maxBufferedBytes;
  }

  #sendText(message: object): void {
    if (this.#closed || this.socket.readyState !== OPEN) return;
    this.socket.send(JSON.stringify(message));
  }

  /** Status messages are advice: dropped, not queued, when the client is not reading. */
  #status(level: StatusLevel, message: string): void {
    if (this.#backedUp()) return;
    this.#sendText({ op: 'status', level, message });
  }

  #sendData(subscription: number, timeNs: bigint, payload: Uint8Array): void {
    if (this.#closed || this.socket.readyState !== OPEN) return;
    if (this.#backedUp()) {
      // Latest value wins: the newer message replaces any held one of this subscription.
      this.#held.set(subscription, { timeNs, payload });
      this.#scheduleDrain();
      return;
    }
    this.#held.delete(subscription);
    this.socket.send(messageData(subscription, timeNs, payload), { binary: true });
  }

  #scheduleDrain(): void {
    if (this.#drainTimer !== null) return;
    this.#drainTimer = setTimeout(() => {
      this.#drainTimer = null;
      if (this.#closed || this.socket.readyState !== OPEN) return;
      if (this.#backedUp()) return this.#scheduleDrain();
      const held = [...this.#held];
      this.#held.clear();
      for (const [subscription, { timeNs, payload }] of held) {
        if (this.#subscriptions.has(subscription)) this.#sendData(subscription, timeNs, payload);
      }
    }, DRAIN_POLL_MS);
  }
}

/** Server MessageData: opcode 0x01, u32 subscription id, u64 timestamp (ns), payload; little-endian. */
function messageData(subscription: number, timeNs: bigint, payload: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(1 + 4 + 8 + payload.byteLength);
  frame.writeUInt8(BinaryOpcode.MessageData, 0);
  frame.writeUInt32LE(subscription, 1);
  frame.writeBigUInt64LE(timeNs, 5);
  frame.set(payload, 13);
  return frame;
}
