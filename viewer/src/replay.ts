// Replays: reads an episode's MCAP recording (bytes from the gateway or a dropped file) into
// frames, and a timeline that plays, pauses, scrubs and steps through them at the recorded rate.

import { McapIndexedReader, McapStreamReader, TempBuffer, type McapTypes } from '@mcap/core';
import { decompress as zstdDecompress } from 'fzstd';
import { RECORDING_CHANNELS, type RecordedEpisode, type RecordedStep } from '../../protocol/wire.ts';
import { parseRecordedEpisode, parseRecordedStep } from './messages.ts';

export interface Recording {
  episode: RecordedEpisode;
  steps: RecordedStep[];
  /** Seconds between recorded steps (median of the log times; 80 Hz when they say nothing). */
  stepSeconds: number;
  /** How the file was read: with its index, or record by record (a file cut off before its summary). */
  readMode: 'indexed' | 'stream';
}

const DEFAULT_STEP_SECONDS = 1 / 80;
const textDecoder = new TextDecoder();

type Message = McapTypes.TypedMcapRecords['Message'];
type Channel = McapTypes.TypedMcapRecords['Channel'];

// The gateway writes zstd chunks. In the browser a pure-JS decoder (fzstd) reads them: the wasm
// codecs of @mcap/support expect Node's Buffer and a served .wasm file.
const decompressHandlers: McapTypes.DecompressHandlers = {
  zstd: (buffer, decompressedSize) => zstdDecompress(buffer, new Uint8Array(Number(decompressedSize))),
};

/** Reads a recording; throws an Error a person understands when it is not one of ours. */
export async function readRecording(bytes: Uint8Array): Promise<Recording> {
  let read: { channels: ReadonlyMap<number, Channel>; messages: Message[] };
  let readMode: Recording['readMode'] = 'indexed';
  try {
    read = await readIndexed(bytes);
  } catch {
    // No usable summary (a recording cut off by a crash keeps its complete chunks): read it in order.
    readMode = 'stream';
    read = readStream(bytes);
  }
  const topicOf = (m: Message) => read.channels.get(m.channelId)?.topic;
  const decodeJson = (m: Message): unknown => {
    const channel = read.channels.get(m.channelId);
    if (channel && channel.messageEncoding !== 'json') throw new Error(`channel ${channel.topic} is ${channel.messageEncoding}, expected json`);
    return JSON.parse(textDecoder.decode(m.data));
  };
  const episodeMessage = read.messages.find((m) => topicOf(m) === RECORDING_CHANNELS.episode);
  if (!episodeMessage) throw new Error(`not a metamanip recording: it has no ${RECORDING_CHANNELS.episode} channel message`);
  const episode = parseRecordedEpisode(decodeJson(episodeMessage));
  const stepMessages = read.messages.filter((m) => topicOf(m) === RECORDING_CHANNELS.step);
  const steps = stepMessages.map((m) => parseRecordedStep(decodeJson(m)));
  if (steps.length === 0) throw new Error('the recording has no steps');
  const order = steps.map((_, i) => i).sort((a, b) => steps[a].step - steps[b].step);
  const sortedSteps = order.map((i) => steps[i]);
  const bodies = episode.scene.bodies.length;
  const bad = sortedSteps.find((s) => s.poses.length !== bodies * 7);
  if (bad) throw new Error(`step ${bad.step} has ${bad.poses.length} pose numbers; the scene's ${bodies} bodies need ${bodies * 7}`);
  return { episode, steps: sortedSteps, stepSeconds: stepSeconds(order.map((i) => stepMessages[i].logTime)), readMode };
}

async function readIndexed(bytes: Uint8Array) {
  const reader = await McapIndexedReader.Initialize({ readable: new TempBuffer(bytes), decompressHandlers });
  const messages: Message[] = [];
  for await (const message of reader.readMessages({ topics: [RECORDING_CHANNELS.episode, RECORDING_CHANNELS.step] })) messages.push(message);
  return { channels: reader.channelsById, messages };
}

function readStream(bytes: Uint8Array) {
  const reader = new McapStreamReader({ validateCrcs: false, noMagicPrefix: false, decompressHandlers });
  reader.append(bytes);
  const channels = new Map<number, Channel>();
  const messages: Message[] = [];
  try {
    for (let record; (record = reader.nextRecord());) {
      if (record.type === 'Channel') channels.set(record.id, record);
      else if (record.type === 'Message') messages.push(record);
    }
  } catch (error) {
    // A damaged tail: keep the complete records before it.
    if (messages.length === 0) throw error;
  }
  if (channels.size === 0) throw new Error('not an MCAP file (no channels could be read)');
  return { channels, messages };
}

function stepSeconds(logTimes: bigint[]): number {
  const deltas: number[] = [];
  for (let i = 1; i < logTimes.length; i++) {
    const d = Number(logTimes[i] - logTimes[i - 1]) / 1e9;
    if (d > 0 && d < 10) deltas.push(d);
  }
  if (deltas.length === 0) return DEFAULT_STEP_SECONDS;
  deltas.sort((a, b) => a - b);
  return deltas[Math.floor(deltas.length / 2)];
}

/** Playback state over a recording's frames; advance() is called once per animation frame. */
export class Timeline {
  frame = 0;
  playing = false;
  speed = 1;
  private carry = 0;

  constructor(readonly length: number, readonly stepSeconds: number) {}

  get last(): number { return this.length - 1; }

  play(): void {
    if (this.frame >= this.last) this.frame = 0;
    this.playing = true;
    this.carry = 0;
  }

  pause(): void { this.playing = false; }

  toggle(): void { if (this.playing) this.pause(); else this.play(); }

  seek(frame: number): void {
    this.frame = Math.max(0, Math.min(this.last, Math.round(frame)));
    this.carry = 0;
  }

  /** One frame forward or back; pauses playback. */
  stepBy(delta: number): void {
    this.pause();
    this.seek(this.frame + delta);
  }

  /** Advances playback by elapsed wall seconds; returns whether the frame changed. Stops at the end. */
  advance(seconds: number): boolean {
    if (!this.playing) return false;
    // A long stall (hidden tab) should not jump far: cap at a quarter second.
    this.carry += Math.min(seconds, 0.25) * this.speed;
    const steps = Math.floor(this.carry / this.stepSeconds);
    if (steps === 0) return false;
    this.carry -= steps * this.stepSeconds;
    const before = this.frame;
    this.frame = Math.min(this.last, this.frame + steps);
    if (this.frame >= this.last) this.playing = false;
    return this.frame !== before;
  }
}
