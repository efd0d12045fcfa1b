// The viewer role (/viewer): read-only streams of live sims. A subscriber gets the sim's scene
// (cached, so late joiners see it at once), then one pose frame per control step; a slow viewer
// skips frames (latest value wins) but never a scene.

import type { WebSocket } from 'ws';
import { decodeFrame, encodeFrame, ndarray } from '../protocol/ndarray.ts';
import { ViewerRequest, VIEWER_TYPES, parseRequest } from './messages.ts';
import { InboundGuard, Outbound } from './limits.ts';
import type { SimEvents, SimInfo, StepFrame, ViewerServerMessage } from '../protocol/wire.ts';
import type { SceneDescription } from '../protocol/scene.ts';
import type { SimHub } from './sims.ts';

export interface ViewerConfig {
  hub: SimHub;
  maxMessageBytes: number;
  messagesPerSecond: number;
  burst: number;
  maxBufferedBytes: number;
  /** Frames wait while more than this is buffered for the viewer. */
  highWaterBytes?: number;
}

/** Controller messages a viewer might try, answered with a read-only error rather than "unknown type". */
const ACTIONS = ['open', 'reset', 'step', 'step_batch', 'close', 'resume'];
const READ_ONLY = Object.fromEntries(ACTIONS.map((type) => [type, `viewers are read-only: '${type}' is refused; drive sims over the /controller role`]));

// One encoding per frame, however many viewers watch it.
const encodedFrames = new WeakMap<StepFrame, Uint8Array>();
function encodeFrameMessage(frame: StepFrame): Uint8Array {
  let bytes = encodedFrames.get(frame);
  if (!bytes) {
    const message: ViewerServerMessage = {
      type: 'frame', sim: frame.sim, episode: frame.episode, step: frame.step,
      poses: ndarray(frame.poses, [frame.poses.length / 7, 7]), reward: frame.reward, success: frame.success, gripper: frame.gripper,
    };
    bytes = encodeFrame(message);
    encodedFrames.set(frame, bytes);
  }
  return bytes;
}

export function serveViewer(socket: WebSocket, config: ViewerConfig): void {
  const { hub } = config;
  const outbound = new Outbound(socket, { maxBufferedBytes: config.maxBufferedBytes, highWaterBytes: config.highWaterBytes ?? 256 << 10 });
  const guard = new InboundGuard(config, decodeFrame);
  const subscribed = new Set<string>();
  const send = (message: ViewerServerMessage) => outbound.control(encodeFrame(message));
  const sendSims = () => send({ type: 'sims', sims: hub.list() });
  const sendScene = (info: SimInfo, scene: SceneDescription, frame: StepFrame) => {
    // A frame of the previous episode that is still waiting would land after the new scene.
    outbound.discard(info.id);
    send({ type: 'scene', sim: info.id, info, scene });
    outbound.latest(info.id, encodeFrameMessage(frame));
  };

  const listeners: { [E in keyof SimEvents]: SimEvents[E] } = {
    opened: () => sendSims(),
    episode: (info, scene, frame) => {
      sendSims();
      if (subscribed.has(info.id)) sendScene(info, scene, frame);
    },
    frame: (info, frame) => {
      if (subscribed.has(info.id)) outbound.latest(info.id, encodeFrameMessage(frame));
    },
    episodeEnd: () => {},
    closed: (info) => {
      sendSims();
      if (subscribed.delete(info.id)) {
        outbound.discard(info.id);
        send({ type: 'closed', sim: info.id });
      }
    },
  };
  for (const event of Object.keys(listeners) as Array<keyof SimEvents>) hub.on(event, listeners[event] as never);

  sendSims();

  socket.on('message', (data, isBinary) => {
    const inbound = guard.accept(data as Buffer, isBinary);
    if (!inbound.ok) {
      if (guard.excess()) socket.close(1008, 'inbound rate limit exceeded after rate_limited errors');
      else send({ type: 'error', code: inbound.code, message: inbound.message });
      return;
    }
    const parsed = parseRequest(ViewerRequest, VIEWER_TYPES, inbound.value, 'viewer', READ_ONLY);
    if (!parsed.ok) return void send({ type: 'error', ...(typeof parsed.id === 'number' ? { id: parsed.id } : {}), code: parsed.code, message: parsed.message });
    const request = parsed.value;
    if (request.type === 'unsubscribe') {
      subscribed.delete(request.sim);
      outbound.discard(request.sim);
      return;
    }
    if (!hub.has(request.sim)) {
      send({ type: 'error', ...(request.id === undefined ? {} : { id: request.id }), code: 'unknown_sim', message: `no sim '${request.sim}' on this gateway; live sims: ${hub.list().map((s) => s.id).join(', ') || 'none'}` });
      return;
    }
    subscribed.add(request.sim);
    const current = hub.current(request.sim);
    // Before its first reset a sim has no scene; the episode event brings it.
    if (current) sendScene(current.info, current.scene, current.frame);
  });

  socket.on('close', () => {
    outbound.close();
    for (const event of Object.keys(listeners) as Array<keyof SimEvents>) hub.off(event, listeners[event] as never);
  });
}
