// Policy server benchmark (not a test): one robot-like client asking for actions on loopback, one request at
// a time, against a baseline in the same run: a ws server echoing the same observation frames. Prints a
// table, writes JSON (default bench/results/policy.json). The servers run in a child process, as a real
// server would, so client and server do not share a thread.
// Run: npx tsx bench/policy.ts [--checkpoint FILE|RUN] [--requests N] [--warmup N] [--backend B] [--out FILE] [--json]

import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import WebSocket, { WebSocketServer } from 'ws';
import { describeBackend, initBackend } from '../agent/backend.ts';
import { loadPolicy } from '../agent/policy.ts';
import { rngFor } from '../agent/random.ts';
import { decodeFrame, encodeFrame, ndarray } from '../protocol/ndarray.ts';
import { listenPolicy } from '../bridge/policy-server.ts';

const DEFAULT_CHECKPOINT = 'training/ml1-reach/checkpoints/best.json';

interface Row {
  name: string;
  requests: number;
  roundTripsPerSec: number;
  meanRoundTripMs: number;
  p50RoundTripMs: number;
  p99RoundTripMs: number;
  /** server_timing.infer_ms (the policy's act, as the server measures it); null for the echo. */
  p50InferMs: number | null;
  p99InferMs: number | null;
}

const quantile = (xs: number[], q: number) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
};

// ---------------------------------------------------------------------------------------------
// Server side (child process): the policy server and the echo baseline, on ephemeral loopback ports.

async function serve(checkpoint: string, backend: string | undefined): Promise<void> {
  const choice = await initBackend(backend);
  const policy = loadPolicy(checkpoint);
  const listener = await listenPolicy(policy, { seed: 0 });
  // The baseline: the same ws settings, replying to each frame with its own bytes.
  const echo = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  echo.on('connection', (socket) => socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary })));
  await new Promise<void>((resolve) => echo.once('listening', () => resolve()));
  const echoPort = (echo.address() as { port: number }).port;
  process.stdout.write(JSON.stringify({ policy: listener.url, echo: `ws://127.0.0.1:${echoPort}/`, backend: describeBackend(choice), name: policy.name }) + '\n');
  // The parent closes our stdin when it is done.
  process.stdin.resume();
  process.stdin.on('end', () => process.exit(0));
}

// ---------------------------------------------------------------------------------------------
// Client side

/** Observation frames as a robot would send them: 39 float32 values, the previous reward, a flag. */
function observationFrames(count: number): Uint8Array[] {
  const rng = rngFor(0, 'bench-policy');
  return Array.from({ length: count }, (_, k) => encodeFrame({
    'observation/state': ndarray(Float32Array.from({ length: 39 }, () => rng.uniform(-0.5, 0.5))),
    reward: rng.uniform(0, 10),
    episode_start: k % 500 === 0 && k > 0,
  }));
}

async function drive(name: string, url: string, frames: Uint8Array[], requests: number, warmup: number, expectMetadata: boolean): Promise<Row> {
  const socket = new WebSocket(url, { perMessageDeflate: false });
  const replies: Buffer[] = [];
  let wake: (() => void) | null = null;
  socket.on('message', (data: Buffer, isBinary: boolean) => {
    if (!isBinary) throw new Error(`${name}: server error: ${data.toString()}`);
    replies.push(data);
    wake?.();
  });
  await new Promise<void>((resolve, reject) => { socket.once('open', () => resolve()); socket.once('error', reject); });
  const reply = async (): Promise<Buffer> => {
    while (replies.length === 0) await new Promise<void>((resolve) => { wake = resolve; });
    wake = null;
    return replies.shift()!;
  };
  if (expectMetadata) await reply();
  const roundTrips: number[] = [], infer: number[] = [];
  let started = 0;
  for (let i = 0; i < warmup + requests; i++) {
    if (i === warmup) started = performance.now();
    const sent = performance.now();
    socket.send(frames[i % frames.length]);
    const data = await reply();
    if (i < warmup) continue;
    roundTrips.push(performance.now() - sent);
    if (expectMetadata) infer.push(((decodeFrame(data) as { server_timing: { infer_ms: number } }).server_timing).infer_ms);
  }
  const seconds = (performance.now() - started) / 1000;
  socket.close();
  return {
    name, requests,
    roundTripsPerSec: requests / seconds,
    meanRoundTripMs: roundTrips.reduce((a, b) => a + b, 0) / roundTrips.length,
    p50RoundTripMs: quantile(roundTrips, 0.5),
    p99RoundTripMs: quantile(roundTrips, 0.99),
    p50InferMs: infer.length ? quantile(infer, 0.5) : null,
    p99InferMs: infer.length ? quantile(infer, 0.99) : null,
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      checkpoint: { type: 'string', default: DEFAULT_CHECKPOINT },
      requests: { type: 'string', default: '3000' },
      warmup: { type: 'string', default: '300' },
      backend: { type: 'string' },
      out: { type: 'string', default: 'bench/results/policy.json' },
      json: { type: 'boolean', default: false },
      serve: { type: 'boolean', default: false },
    },
  });
  if (values.serve) return serve(values.checkpoint!, values.backend);
  const requests = Number(values.requests), warmup = Number(values.warmup);
  if (!(Number.isSafeInteger(requests) && requests > 0 && Number.isSafeInteger(warmup) && warmup >= 0)) throw new Error('--requests and --warmup must be non-negative integers');

  const self = fileURLToPath(import.meta.url);
  const args = ['--import', 'tsx', self, '--serve', '--checkpoint', values.checkpoint!, ...(values.backend ? ['--backend', values.backend] : [])];
  const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  try {
    const first = await createInterface({ input: child.stdout })[Symbol.asyncIterator]().next();
    if (first.done) throw new Error('the server process ended before it listened');
    const server = JSON.parse(first.value) as { policy: string; echo: string; backend: string; name: string };
    const frames = observationFrames(1000);
    const echo = await drive('ws echo of the same frames (baseline)', server.echo, frames, requests, warmup, false);
    const policy = await drive(`policy server (${server.name})`, server.policy, frames, requests, warmup, true);
    const result = {
      name: 'policy',
      date: new Date().toISOString(),
      node: process.version,
      cpus: `${cpus().length} x ${cpus()[0]?.model ?? 'unknown'}`,
      backend: server.backend,
      checkpoint: values.checkpoint,
      frameBytes: frames[0].byteLength,
      setup: 'one client, one request at a time, loopback; servers in a child process',
      rows: [echo, policy],
      /** Policy round trips per second as a fraction of the echo's: what serving a policy costs over bare ws. */
      ratioToEcho: policy.roundTripsPerSec / echo.roundTripsPerSec,
    };
    mkdirSync(dirname(values.out!), { recursive: true });
    writeFileSync(values.out!, JSON.stringify(result, null, 2) + '\n');
    if (values.json) {
      console.log(JSON.stringify(result, null, 2));
    } else {
      const ms = (x: number | null) => (x === null ? '-' : x.toFixed(3));
      console.log(`${result.setup}; ${result.frameBytes}-byte observation frames; ${server.backend}`);
      console.log('');
      console.log(`${'server'.padEnd(52)} ${'round trips/s'.padStart(13)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'infer p50'.padStart(10)} ${'infer p99'.padStart(10)}`);
      for (const r of result.rows) {
        console.log(`${r.name.padEnd(52)} ${r.roundTripsPerSec.toFixed(0).padStart(13)} ${ms(r.p50RoundTripMs).padStart(8)} ${ms(r.p99RoundTripMs).padStart(8)} ${ms(r.p50InferMs).padStart(10)} ${ms(r.p99InferMs).padStart(10)}`);
      }
      console.log('');
      console.log(`policy server / echo: ${result.ratioToEcho.toFixed(3)} of the round trips per second; wrote ${values.out}`);
    }
  } finally {
    child.stdin.end();
  }
}

await main();
