// The controller role (/controller): an external program opens sims and drives them with
// Gymnasium-shaped reset/step over msgpack. Sessions outlive their connection for a grace period
// so a client that reconnects with its resume token keeps its sims mid-episode.

import { randomBytes } from 'node:crypto';
import type { WebSocket } from 'ws';
import { decodeFrame, encodeFrame, ndarray } from '../protocol/ndarray.ts';
import { ControllerRequest, CONTROLLER_TYPES, MAX_BATCH, actionValues, batchActions, fastStep, parseRequest } from './messages.ts';
import { InboundGuard, Outbound } from './limits.ts';
import { PROTOCOL_VERSION, type ControllerLimits, type ControllerServerMessage, type ErrorCode, type RequestId, type StepReply } from '../protocol/wire.ts';
import { SimError, simBenchmark, type SimHub } from './sims.ts';
import { checkAction, type StepResult } from '../sim/index.ts';

export interface ControllerConfig {
  hub: SimHub;
  /** How long a disconnected client's sims wait for it to resume (ms). */
  graceMs: number;
  maxSimsPerConnection: number;
  maxMessageBytes: number;
  maxPayloadBytes: number;
  messagesPerSecond: number;
  burst: number;
  maxBufferedBytes: number;
  /** Records a sim's episodes on request (`open` with `record: true`); returns the folder they go to. */
  recordSim?: (sim: string) => string;
}

interface Session {
  token: string;
  sims: Set<string>;
  socket: WebSocket | null;
  graceTimer?: NodeJS.Timeout;
}

/** Controller sessions by resume token; one per gateway. */
export class ControllerSessions {
  private readonly sessions = new Map<string, Session>();

  constructor(readonly config: ControllerConfig) {}

  /** Serves one controller connection until it closes. */
  serve(socket: WebSocket): void {
    const { config } = this;
    let session = this.create(socket);
    const outbound = new Outbound(socket, { maxBufferedBytes: config.maxBufferedBytes, highWaterBytes: config.maxBufferedBytes });
    const guard = new InboundGuard(config, decodeFrame);
    const send = (message: ControllerServerMessage) => outbound.control(encodeFrame(message));
    const fail = (code: ErrorCode, message: string, id?: RequestId) => send(id === undefined ? { type: 'error', code, message } : { type: 'error', id, code, message });

    const limits: ControllerLimits = {
      maxMessageBytes: config.maxMessageBytes, maxPayloadBytes: config.maxPayloadBytes,
      maxSimsPerConnection: config.maxSimsPerConnection, maxBatch: MAX_BATCH, messagesPerSecond: config.messagesPerSecond,
    };
    send({ type: 'hello', protocol: PROTOCOL_VERSION, role: 'controller', resumeToken: session.token, graceMs: config.graceMs, limits });

    socket.on('message', (data, isBinary) => {
      // Taken over by a resume on another connection: this one is closing and may no longer act.
      if (session.socket !== socket) return;
      const inbound = guard.accept(data as Buffer, isBinary);
      if (!inbound.ok) {
        if (guard.excess()) socket.close(1008, 'inbound rate limit exceeded after rate_limited errors');
        else fail(inbound.code, inbound.message);
        return;
      }
      // Steps, the bulk of the traffic, skip zod when they are well-formed (the same rules).
      let request = fastStep(inbound.value) as ControllerRequest | null;
      if (request === null) {
        const parsed = parseRequest(ControllerRequest, CONTROLLER_TYPES, inbound.value, 'controller');
        if (!parsed.ok) return void fail(parsed.code, parsed.message, parsed.id);
        request = parsed.value;
      }
      try {
        if (request.type === 'resume') {
          session = this.resume(session, request.token, socket);
          send({ type: 'resume', id: request.id, resumeToken: session.token, sims: [...session.sims].map((id) => config.hub.info(id)) });
        } else {
          send(this.handle(session, request));
        }
      } catch (error) {
        if (error instanceof SimError) fail(error.code, error.message, request.id);
        else fail('internal', `internal error: ${(error as Error).message}`, request.id);
      }
    });
    socket.on('close', () => {
      outbound.close();
      this.detach(session, socket);
    });
  }

  /** Closes every session's sims now (gateway shutdown). */
  closeAll(): void {
    for (const session of this.sessions.values()) {
      clearTimeout(session.graceTimer);
      this.release(session);
    }
  }

  private handle(session: Session, request: Exclude<ControllerRequest, { type: 'resume' }>): ControllerServerMessage {
    const { hub } = this.config;
    const id = request.id;
    switch (request.type) {
      case 'open': {
        if (session.sims.size >= this.config.maxSimsPerConnection) {
          throw new SimError('too_many_sims', `this connection already has ${session.sims.size} sims (the limit per connection); close one first`);
        }
        const info = hub.open({ ...simBenchmark(request), split: request.split, task: request.task, policy: 'controller' });
        session.sims.add(info.id);
        if (request.record !== true) return { type: 'open', id, sim: info.id, info, ...hub.spaces(info.id) };
        if (this.config.recordSim === undefined) {
          session.sims.delete(info.id);
          hub.close(info.id);
          throw new SimError('internal', 'this gateway cannot record (no recorder configured); open without record');
        }
        return { type: 'open', id, sim: info.id, info, ...hub.spaces(info.id), recordDir: this.config.recordSim(info.id) };
      }
      case 'reset': {
        this.own(session, request.sim);
        const { obs, info } = hub.reset(request.sim, { seed: request.seed, task: request.task, split: request.split });
        return { type: 'reset', id, sim: request.sim, obs: ndarray(obs), info };
      }
      case 'step': {
        this.own(session, request.sim);
        return { type: 'step', id, ...stepReply(request.sim, hub.step(request.sim, actionValues(request.action))) };
      }
      case 'step_batch': {
        const actions = (() => {
          try {
            return batchActions(request.actions, request.sims.length);
          } catch (error) {
            throw new SimError('bad_action', (error as Error).message);
          }
        })();
        // All-or-nothing: every sim and action is checked before any sim moves.
        const seen = new Set<string>();
        request.sims.forEach((sim, i) => {
          if (seen.has(sim)) throw new SimError('bad_message', `sims[${i}]: sim ${sim} appears twice in the batch`);
          seen.add(sim);
          this.own(session, sim);
          hub.checkStep(sim);
          try {
            checkAction(actions[i]);
          } catch (error) {
            throw new SimError('bad_action', `actions[${i}] (sim ${sim}): ${(error as Error).message}`);
          }
        });
        return { type: 'step_batch', id, results: request.sims.map((sim, i) => stepReply(sim, hub.step(sim, actions[i]))) };
      }
      case 'close': {
        this.own(session, request.sim);
        hub.close(request.sim);
        session.sims.delete(request.sim);
        return { type: 'close', id, sim: request.sim };
      }
      case 'list':
        return { type: 'list', id, sims: hub.list() };
    }
  }

  private own(session: Session, sim: string): void {
    if (session.sims.has(sim)) return;
    if (this.config.hub.has(sim)) {
      const owner = this.config.hub.info(sim).policy;
      throw new SimError('not_owner', `sim ${sim} is driven by ${owner === 'controller' ? 'another controller' : `the server (${owner})`}; a controller acts only on sims it opened`);
    }
    throw new SimError('unknown_sim', `no sim '${sim}' on this connection; open one first (your sims: ${[...session.sims].join(', ') || 'none'})`);
  }

  private create(socket: WebSocket): Session {
    const session: Session = { token: randomBytes(18).toString('base64url'), sims: new Set(), socket };
    this.sessions.set(session.token, session);
    return session;
  }

  private resume(current: Session, token: string, socket: WebSocket): Session {
    if (token === current.token) return current;
    if (current.sims.size > 0) throw new SimError('out_of_order', 'resume must be the first request of a connection, before it opens any sim');
    const previous = this.sessions.get(token);
    if (!previous) throw new SimError('bad_resume_token', `unknown or expired resume token; a disconnected client's sims are closed ${this.config.graceMs} ms after it leaves`);
    clearTimeout(previous.graceTimer);
    previous.graceTimer = undefined;
    const old = previous.socket;
    previous.socket = socket;
    // The old connection may still look open (a half-dead link); this client now owns the sims.
    if (old && old !== socket) old.close(4001, 'session resumed by another connection');
    this.sessions.delete(current.token);
    return previous;
  }

  private detach(session: Session, socket: WebSocket): void {
    if (session.socket !== socket) return;
    session.socket = null;
    if (session.sims.size === 0) {
      this.sessions.delete(session.token);
      return;
    }
    session.graceTimer = setTimeout(() => this.release(session), this.config.graceMs);
    session.graceTimer.unref();
  }

  private release(session: Session): void {
    this.sessions.delete(session.token);
    for (const sim of session.sims) if (this.config.hub.has(sim)) this.config.hub.close(sim);
    session.sims.clear();
  }
}

function stepReply(sim: string, result: StepResult): StepReply {
  return { sim, obs: ndarray(result.obs), reward: result.reward, terminated: result.terminated, truncated: result.truncated, info: result.info };
}
