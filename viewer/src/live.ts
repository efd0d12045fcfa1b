// The viewer's WebSocket client: binary msgpack frames on /viewer, automatic reconnection with
// backoff, and the subscription restored after a reconnect. Read-only: it never acts on a sim.

import { decodeFrame, encodeFrame } from '../../protocol/ndarray.ts';
import { PROTOCOL_NAME, TOKEN_PREFIX, type SimInfo, type StepFrame, type ViewerClientMessage } from '../../protocol/wire.ts';
import type { SceneDescription } from '../../protocol/scene.ts';
import { parseServerMessage } from './messages.ts';

/** What a viewer frame carries of a step (protocol.ts StepFrame without obs, action and joints). */
export type LiveFrame = Pick<StepFrame, 'sim' | 'episode' | 'step' | 'poses' | 'reward' | 'success' | 'gripper'>;

export type ConnectionState =
  | { kind: 'connecting'; attempt: number }
  | { kind: 'open' }
  | { kind: 'lost'; retryInMs: number; attempt: number; reason: string };

export interface LiveHandlers {
  sims(sims: SimInfo[]): void;
  scene(sim: string, info: SimInfo, scene: SceneDescription): void;
  frame(frame: LiveFrame): void;
  closed(sim: string): void;
  error(code: string, message: string): void;
  state(state: ConnectionState): void;
}

export interface LiveOptions {
  /** The /viewer URL (it carries the token as a query parameter too). */
  url: string;
  /** Offered as a `metamanip.token.<token>` subprotocol entry as well, for gateways that read it there. */
  token?: string | null;
  /** First retry delay; doubles per failed attempt up to maxRetryMs. */
  retryMs?: number;
  maxRetryMs?: number;
}

/** Browsers cannot set headers on a WebSocket: the token rides in a subprotocol entry (when it is a valid token) and the query. */
function subprotocols(token: string | null): string[] {
  const offered = [PROTOCOL_NAME];
  if (token && /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(token)) offered.push(TOKEN_PREFIX + token);
  return offered;
}

export class LiveConnection {
  private socket: WebSocket | null = null;
  private subscribed: string | null = null;
  private attempt = 0;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private stopped = false;
  private readonly retryMs: number;
  private readonly maxRetryMs: number;

  constructor(private readonly options: LiveOptions, private readonly on: LiveHandlers) {
    this.retryMs = options.retryMs ?? 500;
    this.maxRetryMs = options.maxRetryMs ?? 5000;
    this.connect();
  }

  /** The sim being watched, kept across reconnects; null for none. */
  get sim(): string | null { return this.subscribed; }

  get isOpen(): boolean { return this.socket?.readyState === WebSocket.OPEN; }

  subscribe(sim: string | null): void {
    if (this.subscribed === sim) return;
    if (this.subscribed !== null) this.send({ type: 'unsubscribe', sim: this.subscribed });
    this.subscribed = sim;
    if (sim !== null) this.send({ type: 'subscribe', sim });
  }

  close(): void {
    this.stopped = true;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.socket?.close(1000, 'viewer closed');
  }

  private send(message: ViewerClientMessage): void {
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(encodeFrame(message));
  }

  private connect(): void {
    this.attempt++;
    this.on.state({ kind: 'connecting', attempt: this.attempt });
    const socket = new WebSocket(this.options.url, subprotocols(this.options.token ?? null));
    socket.binaryType = 'arraybuffer';
    this.socket = socket;
    socket.onopen = () => {
      this.attempt = 0;
      this.on.state({ kind: 'open' });
      if (this.subscribed !== null) this.send({ type: 'subscribe', sim: this.subscribed });
    };
    socket.onmessage = (event: MessageEvent) => this.receive(event.data);
    socket.onclose = (event: CloseEvent) => {
      if (this.socket !== socket) return;
      this.socket = null;
      if (this.stopped) return;
      const delay = Math.min(this.maxRetryMs, this.retryMs * 2 ** Math.max(0, this.attempt - 1));
      // Browsers hide why a handshake failed (refused, unreachable, no token): all read as 1006.
      const reason = event.reason || (event.code === 1006 ? 'the gateway is unreachable or refused the connection' : `closed with code ${event.code}`);
      this.on.state({ kind: 'lost', retryInMs: delay, attempt: this.attempt, reason });
      this.retryTimer = setTimeout(() => { this.retryTimer = null; this.connect(); }, delay);
    };
  }

  private receive(data: unknown): void {
    // The protocol is binary msgpack; a text frame is how openpi-style servers report an error.
    if (typeof data === 'string') { this.on.error('text-frame', data); return; }
    let message;
    try {
      message = parseServerMessage(decodeFrame(new Uint8Array(data as ArrayBuffer)));
    } catch (error) {
      this.on.error('bad-message', (error as Error).message);
      return;
    }
    switch (message.type) {
      case 'sims': this.on.sims(message.sims); break;
      case 'scene': if (message.sim === this.subscribed) this.on.scene(message.sim, message.info, message.scene); break;
      case 'frame': {
        if (message.sim !== this.subscribed) break;
        const poses = message.poses.data instanceof Float32Array ? message.poses.data : Float32Array.from(message.poses.data as ArrayLike<number>);
        this.on.frame({ sim: message.sim, episode: message.episode, step: message.step, poses, reward: message.reward, success: message.success, gripper: message.gripper });
        break;
      }
      case 'closed': this.on.closed(message.sim); break;
      case 'error': this.on.error(message.code, message.message); break;
    }
  }
}
