// The gateway: one HTTP server with WebSocket roles on the same port. Authenticates at upgrade
// (token, Origin), routes by path (/controller, /viewer, / for the openpi policy role) or by the
// Foxglove subprotocol, and owns the live sims, heartbeat, recorder and server-side drivers.

import { createServer, type IncomingMessage, type Server } from 'node:http';
import { resolve } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { LoadedPolicy } from '../agent/policy.ts';
import { cookieToken, handleHttp } from './http.ts';
import { isLoopback, originAllowed, refuseUpgrade, requestToken, selectProtocol, tokenMatches } from './auth.ts';
import { ROLE_LIMITS, startHeartbeat, type ConnectionLimits } from './limits.ts';
import { ControllerSessions } from './controller.ts';
import { serveViewer } from './viewer-stream.ts';
import { SimHub, expertDriver, type Driver, type OpenSpec, type TaskSchedule } from './sims.ts';
import type { PolicyServerOptions } from './policy-server.ts';
import { Recorder } from './recorder.ts';
import { FOXGLOVE_SUBPROTOCOLS, serveFoxglove } from './foxglove.ts';
import type { SimInfo } from '../protocol/wire.ts';

export interface GatewayOptions {
  /** Default 127.0.0.1. Any other address needs a token. */
  host?: string;
  /** Default 8765; 0 picks a free port. */
  port?: number;
  /** Required on every connection and HTTP route but /healthz when set. */
  token?: string;
  /** Browser origins allowed besides the gateway's own (for the Foxglove role also https://app.foxglove.dev); '*' allows any. */
  allowedOrigins?: string[];
  /** Record every episode of every sim as MCAP files in this folder. */
  recordDir?: string;
  /**
   * A cap (bytes) on the recordings folder (`recordDir`, or `requestedRecordDir` once used): past it
   * the oldest complete files are deleted, never one being written. Default: no cap.
   */
  recordMaxBytes?: number;
  /**
   * Where sims opened with `record: true` are recorded when `recordDir` is not set (default
   * 'recordings'; created at the first such request). With `recordDir` they go there.
   */
  requestedRecordDir?: string;
  /** The built viewer, served from /. */
  viewerDir?: string;
  /** Folders holding run folders for GET /runs (default runs/ and training/). */
  runRoots?: string[];
  /** Served on the root path with the openpi protocol. */
  policy?: LoadedPolicy;
  policyOptions?: PolicyServerOptions;
  /** How long a disconnected controller's sims wait for it to resume (default 30 s). */
  graceMs?: number;
  /** Ping interval; peers that miss a ping are terminated (default 20 s). */
  heartbeatMs?: number;
  maxSims?: number;
  maxSimsPerConnection?: number;
  controllerLimits?: Partial<ConnectionLimits>;
  viewerLimits?: Partial<ConnectionLimits>;
  /** One line per notable event (connections refused, drivers failing). */
  log?: (line: string) => void;
}

export interface Gateway {
  /** ws://host:port (append /controller or /viewer). */
  readonly url: string;
  readonly httpUrl: string;
  readonly port: number;
  readonly sims: SimHub;
  /** The recorder of every sim (`recordDir`), else the one of sims opened with `record: true` once one was; null before. */
  readonly recorder: Recorder | null;
  /** Opens a sim driven on the server (the family's expert by default) at `rateHz` (default 80). */
  drive(spec: Omit<OpenSpec, 'policy'> & { driver?: Driver; rateHz?: number; schedule?: TaskSchedule }): SimInfo;
  /** Closes every socket, stops drivers, closes sims and waits for recordings to be finished. */
  close(): Promise<void>;
}

const FOXGLOVE_ORIGINS = ['https://app.foxglove.dev'];

export async function startGateway(options: GatewayOptions = {}): Promise<Gateway> {
  const host = options.host ?? '127.0.0.1';
  const token = options.token || undefined;
  if (!isLoopback(host) && token === undefined) {
    throw new Error(`binding ${host} exposes the gateway beyond this machine and requires a token (--token, or the token option)`);
  }
  const log = options.log ?? (() => {});
  const controllerLimits = { ...ROLE_LIMITS.controller, ...options.controllerLimits };
  const viewerLimits = { ...ROLE_LIMITS.viewer, ...options.viewerLimits };
  const hub = new SimHub({ maxSims: options.maxSims, onListenerError: (error, event) => log(`a watcher of '${event}' failed: ${error.message}`) });
  // Loaded only with a policy: it pulls in TensorFlow.js, which the other roles do not need.
  const policyServer = options.policy ? await import('./policy-server.ts') : null;
  const foxgloveProtocols = FOXGLOVE_SUBPROTOCOLS;

  const onRecordingError = (error: Error, file: string) => log(`recording ${file} stopped: ${error.message}`);
  const recording = { onError: onRecordingError, maxBytes: options.recordMaxBytes, log };
  let recorder = options.recordDir ? new Recorder({ dir: options.recordDir, ...recording }) : null;
  recorder?.attach(hub);
  // Sims whose controller asked for recording (`open` with `record: true`), when not every sim is recorded.
  const requested = new Set<string>();
  hub.on('closed', (info) => requested.delete(info.id));
  const recordSim = (sim: string): string => {
    if (recorder === null) {
      recorder = new Recorder({ dir: options.requestedRecordDir ?? 'recordings', shouldRecord: (info) => requested.has(info.id), ...recording });
      recorder.attach(hub);
    }
    if (!options.recordDir) requested.add(sim);
    return resolve(recorder.dir);
  };

  const controllers = new ControllerSessions({
    hub, graceMs: options.graceMs ?? 30_000, maxSimsPerConnection: options.maxSimsPerConnection ?? 64, ...controllerLimits, recordSim,
  });

  const handleProtocols = (protocols: Set<string>) => selectProtocol(protocols, foxgloveProtocols);
  const wsServer = (maxPayload: number) => new WebSocketServer({ noServer: true, maxPayload, perMessageDeflate: false, handleProtocols });
  const roles = {
    controller: wsServer(controllerLimits.maxPayloadBytes),
    viewer: wsServer(viewerLimits.maxPayloadBytes),
    policy: wsServer(ROLE_LIMITS.policy.maxPayloadBytes),
    foxglove: wsServer(ROLE_LIMITS.foxglove.maxPayloadBytes),
  };
  roles.controller.on('connection', (socket) => controllers.serve(socket));
  roles.viewer.on('connection', (socket) => serveViewer(socket, { hub, ...viewerLimits }));
  roles.policy.on('connection', (socket) => {
    if (options.policy && policyServer) return policyServer.servePolicy(socket, options.policy, options.policyOptions);
    // openpi clients treat a text frame as the error; 1011 as openpi's server closes on errors.
    socket.send('no policy loaded; start serve with --policy <checkpoint>');
    socket.close(1011, 'no policy loaded');
  });
  roles.foxglove.on('connection', (socket) => serveFoxglove(socket, hub));
  for (const [name, role] of Object.entries(roles)) {
    role.on('wsClientError', () => {});
    // ws reports protocol violations (e.g. a frame over maxPayload) as an 'error' on the socket
    // before closing it (1009, 1002...); unhandled, that event would take the process down.
    role.on('connection', (socket: WebSocket) => socket.on('error', (error) => log(`${name} connection: ${error.message}`)));
  }

  const server: Server = createServer((request, response) => {
    void handleHttp(request, response, {
      token, recordDir: recorder?.dir, runRoots: options.runRoots, viewerDir: options.viewerDir,
      health: () => ({ sims: hub.size }),
    });
  });
  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => {});
    const refuse = (status: number, message: string) => {
      log(`refused ${request.url ?? ''} from ${request.socket.remoteAddress}: ${status} ${message}`);
      refuseUpgrade(socket, status, message);
    };
    let url: URL;
    try {
      url = new URL(request.url ?? '/', 'http://gateway');
    } catch {
      return refuse(400, 'malformed request URL');
    }
    if (token !== undefined && !tokenMatches(requestToken(request, url) ?? cookieToken(request), token)) {
      return refuse(401, 'this gateway needs a token: offer the subprotocol metamanip.token.<token> or add ?token=<token>');
    }
    const offered = new Set((request.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim()));
    const isFoxglove = foxgloveProtocols.some((p) => offered.has(p));
    const allowed = [...(options.allowedOrigins ?? []), ...(isFoxglove ? FOXGLOVE_ORIGINS : [])];
    if (!originAllowed(request, allowed)) return refuse(403, `origin ${request.headers.origin} is not allowed; start serve with --allow-origin ${request.headers.origin}`);
    let role: WebSocketServer;
    if (isFoxglove) role = roles.foxglove;
    else if (url.pathname === '/controller') role = roles.controller;
    else if (url.pathname === '/viewer') role = roles.viewer;
    else if (url.pathname === '/') role = roles.policy;
    else return refuse(404, `no WebSocket role at ${url.pathname}; use /controller, /viewer or / (policy)`);
    role.handleUpgrade(request, socket, head, (ws) => role.emit('connection', ws, request));
  });

  const stopHeartbeat = startHeartbeat(function* () {
    for (const role of Object.values(roles)) yield* role.clients;
  }, options.heartbeatMs ?? 20_000);

  await new Promise<void>((resolvePromise, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8765, host, () => {
      server.off('error', reject);
      resolvePromise();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const hostInUrl = host.includes(':') ? `[${host}]` : host;

  let closing: Promise<void> | null = null;
  return {
    url: `ws://${hostInUrl}:${port}`,
    httpUrl: `http://${hostInUrl}:${port}`,
    port,
    sims: hub,
    get recorder() {
      return recorder;
    },
    drive({ driver = expertDriver(), rateHz, schedule, ...spec }) {
      const info = hub.open({ ...spec, task: schedule?.tasks[0] ?? spec.task, policy: driver.name });
      try {
        hub.drive(info.id, driver, { rateHz, schedule, onError: (error, sim) => log(`sim ${sim.id} (${driver.name}): ${error.message}; starting a new episode`) });
      } catch (error) {
        hub.close(info.id);
        throw error;
      }
      return hub.info(info.id);
    },
    close() {
      closing ??= (async () => {
        stopHeartbeat();
        for (const role of Object.values(roles)) {
          for (const client of role.clients) client.close(1001, 'gateway shutting down');
        }
        controllers.closeAll();
        hub.closeAll();
        await recorder?.close();
        await new Promise<void>((resolvePromise) => {
          for (const role of Object.values(roles)) role.close();
          server.close(() => resolvePromise());
          // Sockets that do not answer the close handshake.
          setTimeout(() => {
            for (const role of Object.values(roles)) for (const client of role.clients) client.terminate();
            server.closeAllConnections();
          }, 500).unref();
        });
      })();
      return closing;
    },
  };
}
