// A gateway client for tests: a real `ws` socket exchanging msgpack frames, with a queue of the
// decoded messages it received. Text frames (the policy role's errors) arrive as { type: 'text' }.

import WebSocket from 'ws';
import { decodeFrame, encodeFrame } from '../../protocol/ndarray.ts';

export type Message = Record<string, unknown> & { type: string };

export class WsPeer {
  private readonly inbox: Message[] = [];
  private readonly waiters: Array<(m: Message) => void> = [];
  private nextId = 1;
  readonly closed: Promise<{ code: number; reason: string }>;

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data, isBinary) => {
      const message = isBinary ? (decodeFrame(data as Buffer) as Message) : { type: 'text', text: String(data) };
      const waiter = this.waiters.shift();
      if (waiter) waiter(message);
      else this.inbox.push(message);
    });
    this.closed = new Promise((resolve) => socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  static async connect(url: string, options: WebSocket.ClientOptions = {}): Promise<WsPeer> {
    const socket = new WebSocket(url, options);
    const peer = new WsPeer(socket);
    await new Promise((resolve, reject) => { socket.once('open', resolve); socket.once('error', reject); });
    return peer;
  }

  /** The next message, in order of arrival. */
  next(): Promise<Message> {
    const queued = this.inbox.shift();
    return queued ? Promise.resolve(queued) : new Promise((resolve) => this.waiters.push(resolve));
  }

  /** The next message of a type, skipping others (sims lists arrive whenever sims change). */
  async nextOf(type: string): Promise<Message> {
    for (;;) {
      const message = await this.next();
      if (message.type === type) return message;
    }
  }

  send(message: unknown): void {
    this.socket.send(encodeFrame(message));
  }

  sendRaw(data: Uint8Array | string): void {
    this.socket.send(data);
  }

  /** Sends a message with a fresh request id and waits for the reply carrying it. */
  async request(message: Record<string, unknown>): Promise<Message> {
    const id = this.nextId++;
    this.send({ ...message, id });
    for (;;) {
      const reply = await this.next();
      if (reply.id === id) return reply;
    }
  }

  close(): void {
    this.socket.close();
  }
}
