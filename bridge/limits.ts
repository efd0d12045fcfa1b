// Per-connection limits: an inbound rate limit (token bucket), bounded outbound queues
// (latest-value-wins for state streams, must-deliver for replies) and the heartbeat that
// terminates dead peers. Works on a minimal socket interface so tests can drive it directly.

/** The part of a ws WebSocket the limits use. */
export interface Sink {
  readonly bufferedAmount: number;
  readonly readyState: number;
  send(data: Uint8Array | string, callback?: (error?: Error) => void): void;
  close(code?: number, reason?: string): void;
  terminate(): void;
}

const OPEN = 1;

/** Inbound rate limit: `ratePerSecond` sustained, `burst` at once. */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(readonly ratePerSecond: number, readonly burst: number, private readonly now: () => number = () => performance.now()) {
    this.tokens = burst;
    this.last = now();
  }

  take(): boolean {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) / 1000) * this.ratePerSecond);
    this.last = t;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

export interface OutboundOptions {
  /** Must-deliver messages: past this many buffered bytes the client is not reading, so it is disconnected. */
  maxBufferedBytes: number;
  /** Latest-value-wins messages wait while more than this is buffered. */
  highWaterBytes: number;
}

/**
 * One client's outbound traffic. `control` messages (replies, scenes) are never dropped: if the
 * client lets them pile up past maxBufferedBytes it is disconnected with 1008 and a reason.
 * `latest` messages (pose frames) keep only the newest per key while the socket is backed up, so
 * a slow viewer skips frames instead of growing the server's memory.
 */
export class Outbound {
  private readonly pending = new Map<string, Uint8Array | string>();
  private retry: NodeJS.Timeout | undefined;
  private overflowed = false;
  /** Latest-value-wins messages replaced before they were sent. */
  dropped = 0;

  constructor(private readonly sink: Sink, private readonly options: OutboundOptions) {}

  control(data: Uint8Array | string): boolean {
    if (this.sink.readyState !== OPEN || this.overflowed) return false;
    if (this.sink.bufferedAmount + data.length > this.options.maxBufferedBytes) {
      this.overflow(`outbound queue overflow: more than ${this.options.maxBufferedBytes} bytes of replies unread; read your replies`);
      return false;
    }
    this.sink.send(data);
    return true;
  }

  latest(key: string, data: Uint8Array | string): void {
    if (this.sink.readyState !== OPEN || this.overflowed) return;
    if (this.pending.has(key)) this.dropped++;
    // Re-insert so keys flush in the order of their newest message.
    this.pending.delete(key);
    this.pending.set(key, data);
    this.flush();
  }

  /** Forgets a key's unsent message (e.g. a frame of an episode that a new scene replaced). */
  discard(key: string): void {
    this.pending.delete(key);
  }

  get queued(): number {
    return this.pending.size;
  }

  close(): void {
    clearTimeout(this.retry);
    this.retry = undefined;
    this.pending.clear();
  }

  private flush = (): void => {
    this.retry = undefined;
    while (this.pending.size > 0 && this.sink.readyState === OPEN) {
      if (this.sink.bufferedAmount > this.options.highWaterBytes) {
        // ws has no drain event on the WebSocket; poll until the kernel takes the backlog.
        this.retry ??= setTimeout(this.flush, 10);
        return;
      }
      const [key, data] = this.pending.entries().next().value as [string, Uint8Array | string];
      this.pending.delete(key);
      this.sink.send(data);
    }
  };

  private overflow(reason: string): void {
    this.overflowed = true;
    this.close();
    this.sink.close(1008, reason.slice(0, 120));
    // A client that reads nothing will not read the close frame either.
    setTimeout(() => this.sink.terminate(), 1000).unref();
  }
}

/**
 * Pings every `intervalMs`; a socket that has not answered the previous ping is terminated
 * (a dead peer would otherwise hold its sims and buffers until TCP gives up, minutes later).
 */
export function startHeartbeat(sockets: () => Iterable<HeartbeatSocket>, intervalMs: number): () => void {
  const alive = new WeakSet<HeartbeatSocket>();
  const watched = new WeakSet<HeartbeatSocket>();
  const timer = setInterval(() => {
    for (const socket of sockets()) {
      if (!watched.has(socket)) {
        watched.add(socket);
        socket.on('pong', () => alive.add(socket));
      } else if (!alive.has(socket)) {
        socket.terminate();
        continue;
      }
      alive.delete(socket);
      try {
        socket.ping();
      } catch {
        // Closing already; the next round terminates it.
      }
    }
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}

export interface HeartbeatSocket {
  ping(): void;
  terminate(): void;
  on(event: 'pong', listener: () => void): unknown;
}

/** Limits of a connection of the controller or viewer role (bytes, messages). */
export interface ConnectionLimits {
  /** Frames above this close the connection (1009): ws stops reading them. */
  maxPayloadBytes: number;
  /** Frames above this (and below maxPayloadBytes) get a too_large error and are dropped. */
  maxMessageBytes: number;
  messagesPerSecond: number;
  burst: number;
  /** Unread must-deliver bytes before the client is disconnected. */
  maxBufferedBytes: number;
}

/** Default limits per role; the gateway's options override them. */
export const ROLE_LIMITS: { controller: ConnectionLimits; viewer: ConnectionLimits; policy: { maxPayloadBytes: number }; foxglove: { maxPayloadBytes: number } } = {
  controller: { maxPayloadBytes: 1 << 20, maxMessageBytes: 64 << 10, messagesPerSecond: 20_000, burst: 20_000, maxBufferedBytes: 16 << 20 },
  viewer: { maxPayloadBytes: 4 << 10, maxMessageBytes: 1 << 10, messagesPerSecond: 50, burst: 100, maxBufferedBytes: 8 << 20 },
  policy: { maxPayloadBytes: 16 << 20 },
  foxglove: { maxPayloadBytes: 64 << 10 },
};

export type Inbound = { ok: true; value: unknown } | { ok: false; code: 'bad_frame' | 'too_large' | 'rate_limited'; message: string };

/**
 * The checks every inbound frame passes before it is decoded: binary, size, rate. `excess()` turns
 * true once a client keeps flooding after being told (more refusals in a second than its burst):
 * the connection is then closed instead of answering every refused frame.
 */
export class InboundGuard {
  private readonly bucket: TokenBucket;
  private refusals = 0;
  private windowStart = performance.now();

  constructor(private readonly limits: { maxMessageBytes: number; messagesPerSecond: number; burst: number }, private readonly decode: (frame: Uint8Array) => unknown) {
    this.bucket = new TokenBucket(limits.messagesPerSecond, limits.burst);
  }

  accept(data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean): Inbound {
    if (!this.bucket.take()) {
      this.countRefusal();
      return { ok: false, code: 'rate_limited', message: `more than ${this.limits.messagesPerSecond} messages/s (burst ${this.limits.burst}); this one was dropped, slow down` };
    }
    const frame = Array.isArray(data) ? Buffer.concat(data) : data instanceof ArrayBuffer ? new Uint8Array(data) : data;
    if (!isBinary) return { ok: false, code: 'bad_frame', message: 'text frames are not accepted; send binary msgpack frames (see docs/PROTOCOL.md)' };
    if (frame.byteLength > this.limits.maxMessageBytes) return { ok: false, code: 'too_large', message: `the frame has ${frame.byteLength} bytes; the limit is ${this.limits.maxMessageBytes}` };
    try {
      return { ok: true, value: this.decode(frame) };
    } catch (error) {
      return { ok: false, code: 'bad_frame', message: (error as Error).message };
    }
  }

  excess(): boolean {
    return this.refusals > this.limits.burst;
  }

  private countRefusal(): void {
    const now = performance.now();
    if (now - this.windowStart > 1000) {
      this.windowStart = now;
      this.refusals = 0;
    }
    this.refusals++;
  }
}
