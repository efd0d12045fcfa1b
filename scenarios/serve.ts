// `metamanip serve`: starts the gateway (controller, viewer, policy and Foxglove roles, HTTP
// routes), optionally with sims driven on the server and episodes recorded, until SIGINT/SIGTERM.

import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LoadedPolicy } from '../agent/policy.ts';
import { startGateway, type Gateway, type GatewayOptions } from '../bridge/server.ts';
import { expertDriver, simBenchmark, type Driver, type OpenSpec } from '../bridge/sims.ts';
import { BENCHMARK_NAMES, FAMILIES, concreteBenchmarkNames, didYouMean } from '../sim/index.ts';

export interface ServeOptions {
  host?: string;
  port?: number;
  token?: string;
  recordDir?: string;
  /** Cap on the recordings folder in MB (MiB): the oldest complete files are deleted past it. */
  recordMaxMb?: number;
  /** Server-driven sims, in the --sim syntax (parseSimSpec). */
  sims?: string[];
  /** Control rate of server-driven sims (Hz, default 80: real time). */
  rateHz?: number;
  /** Benchmark seed of server-driven sims (default 0). */
  seed?: number;
  /** Checkpoint file or run folder served on the policy role (and able to drive --sim ...@policy). */
  policy?: string;
  backend?: string;
  allowedOrigins?: string[];
  /** Skip building the viewer (default: build it when viewer/build.ts is present). */
  noViewer?: boolean;
  log?: (line: string) => void;
}

export interface SimSpec {
  open: Omit<OpenSpec, 'policy'>;
  driver: 'expert' | 'policy';
}

/**
 * Parses a --sim value: `<family>[/<split>/<task>]` (MT1 tasks of the family, goal visible) or
 * `<benchmark>[/<split>/<task>]` (ML1:reach, MT1:push, MT10, ML10, MT50, ML45), optionally ending in
 * `@expert` (default) or `@policy`. Examples: reach, reach/test/3, ML1:reach/test/3@policy, MT10/train/120.
 */
export function parseSimSpec(text: string, seed = 0): SimSpec {
  const usage = `expected <family>[/<split>/<task>] or <benchmark>[/<split>/<task>], optionally @expert or @policy (e.g. reach, ML1:reach/test/3), got '${text}'`;
  const [target, driver = 'expert', ...extraAt] = text.split('@');
  if (extraAt.length || (driver !== 'expert' && driver !== 'policy')) throw new Error(`--sim: unknown driver '@${driver}'${didYouMean(driver, ['expert', 'policy'])}; ${usage}`);
  const [name, split, task, ...extra] = target.split('/');
  if (!name || extra.length || (split !== undefined && task === undefined)) throw new Error(`--sim: ${usage}`);
  if (split !== undefined && split !== 'train' && split !== 'test') throw new Error(`--sim: split must be train or test, got '${split}' in '${text}'`);
  const taskIndex = task === undefined ? 0 : Number(task);
  if (!Number.isInteger(taskIndex) || taskIndex < 0) throw new Error(`--sim: task must be a non-negative integer, got '${task}' in '${text}'`);
  // A family's name stands for its MT1 tasks; anything else must be a benchmark name.
  let source;
  try {
    source = simBenchmark(FAMILIES.has(name) ? { family: name, seed } : { benchmark: name, seed });
  } catch (error) {
    // Neither a family nor a benchmark: the closest of both kinds of name ('reech' is most likely 'reach').
    const families = [...FAMILIES.keys()];
    if (!name.includes(':') && /unknown benchmark/.test((error as Error).message)) {
      throw new Error(`--sim: unknown family or benchmark '${name}'${didYouMean(name, [...families, ...concreteBenchmarkNames()])}; families: ${families.join(', ')}; benchmarks: ${BENCHMARK_NAMES.join(', ')} (in '${text}')`);
    }
    throw new Error(`--sim: ${(error as Error).message} (in '${text}')`);
  }
  return { open: { ...source, split: (split ?? 'train') as 'train' | 'test', task: taskIndex }, driver };
}

/**
 * A checkpoint as a server-side driver. RL2 keeps its memory through a trial: the episodes on one
 * task, `trial_episodes` of them as it was trained (or the schedule's episodes per task), and starts
 * a new trial (memory cleared) with each new task.
 */
export function policyDriver(policy: LoadedPolicy): Driver {
  // Sampled actions, as in training and the meta-test protocol: RL2 explores by sampling (the
  // shipped ML1-reach policy probes with its action noise: 96-99 % of test goals sampling, 10 % acting with its mean).
  const session = policy.session({ deterministic: false, seed: 0 });
  const trialEpisodes = Math.max(1, policy.episodesPerTrial);
  let started = false;
  const trialEpisode = (taskEpisode: number) => taskEpisode % trialEpisodes;
  return {
    name: policy.name,
    reset({ taskEpisode }) {
      if (started && trialEpisode(taskEpisode) === 0) session.reset();
      started = true;
    },
    act: (obs, { info, reward, taskEpisode }) => session.act(obs, reward, info.step === 0 && trialEpisode(taskEpisode) !== 0),
  };
}

/**
 * Whether a sim's tasks are ones the policy trained on: the same benchmark, and the sim's split
 * drawn with the seed of the policy's training tasks (ML1(s).test is drawn with s + 1, so a policy
 * trained with seed 1 has test tasks at seed 1 and trained on seed 0's test tasks).
 */
export function trainedOnSimTasks(policy: LoadedPolicy, sim: { benchmark: string | null; split: 'train' | 'test'; seed: number }): boolean {
  return sim.benchmark === policy.benchmark && (sim.split === 'test' ? sim.seed + 1 : sim.seed) === policy.seed;
}

export const trainedOnWarning = (policy: LoadedPolicy, id: string) =>
  `note: sim ${id} runs tasks ${policy.name} trained on; for held-out tasks use the test split with the seed it was trained with (${policy.seed})`;

/** Builds the viewer when its build script is there; null (and a log line) when it cannot. */
export async function viewerDir(log: (line: string) => void): Promise<string | undefined> {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
  const script = join(root, 'viewer', 'build.ts');
  if (!existsSync(script)) return undefined;
  try {
    const { buildViewer } = (await import(script)) as { buildViewer(): Promise<string> };
    return await buildViewer();
  } catch (error) {
    log(`viewer not built (${(error as Error).message}); / will say so`);
    return undefined;
  }
}

/** Starts the gateway and the server-driven sims; the caller closes it. */
export async function serveCommand(options: ServeOptions): Promise<Gateway> {
  const log = options.log ?? ((line: string) => console.error(line));
  const specs = (options.sims ?? []).map((s) => parseSimSpec(s, options.seed ?? 0));
  if (!options.policy && specs.some((s) => s.driver === 'policy')) throw new Error('--sim ...@policy needs --policy <checkpoint>');
  const policy = options.policy === undefined ? undefined : (await loadPolicies([options.policy], options.backend, log)).get(options.policy)!;
  if (policy) log(`policy ${policy.name} (${policy.benchmark}) loaded for the policy role (path /)`);
  const gateway = await startGatewayExplained({
    host: options.host, port: options.port, token: options.token, recordDir: options.recordDir, recordMaxBytes: megabytes(options.recordMaxMb),
    allowedOrigins: options.allowedOrigins, viewerDir: options.noViewer ? undefined : await viewerDir(log), policy, log,
  }, 'pick another with --port P (--port 0 picks a free one)');
  if (options.recordDir) log(recordingLine(options.recordDir, options.recordMaxMb));
  try {
    for (const spec of specs) {
      const driver = spec.driver === 'policy' ? policyDriver(policy!) : expertDriver();
      const info = gateway.drive({ ...spec.open, driver, rateHz: options.rateHz });
      if (spec.driver === 'policy' && trainedOnSimTasks(policy!, info)) log(trainedOnWarning(policy!, info.id));
      log(`sim ${info.id}: ${info.benchmark ?? info.family} ${info.split} task ${info.task}, driven by ${info.policy} at ${options.rateHz ?? 80} Hz`);
    }
  } catch (error) {
    await gateway.close();
    throw error;
  }
  return gateway;
}

/**
 * startGateway, with the address errors a person can fix said in words: a port in use (or not allowed)
 * names the option that picks another (`hint`), an address not on this machine names --host.
 */
export async function startGatewayExplained(options: GatewayOptions, hint: string): Promise<Gateway> {
  try {
    return await startGateway(options);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const host = options.host ?? '127.0.0.1', port = options.port ?? 8765;
    if (code === 'EADDRINUSE') throw new Error(`port ${port} on ${host} is already in use (another gateway, or another program); ${hint}`);
    if (code === 'EACCES') throw new Error(`not allowed to listen on port ${port} on ${host} (ports below 1024 need privileges); ${hint}`);
    if (code === 'EADDRNOTAVAIL') throw new Error(`${host} is not an address of this machine; bind one of its addresses with --host (127.0.0.1 for this machine only, 0.0.0.0 for every interface)`);
    throw error;
  }
}

/** MB (MiB, as `du -m` counts) to bytes; undefined stays undefined (no cap). */
export const megabytes = (mb: number | undefined): number | undefined => (mb === undefined ? undefined : Math.round(mb * 1024 * 1024));

/** The line a recording gateway starts with: where episodes go, how large they are, and the cap (or that there is none). */
export function recordingLine(dir: string, maxMb: number | undefined): string {
  const where = `recording every episode to ${dir.replace(/\/+$/, '')}/ (zstd-compressed MCAP, about 0.4 MB an episode, 230 MB an hour per real-time sim)`;
  return maxMb === undefined
    ? `${where}; no size cap: set --record-max-mb (gateway.recordMaxMb) to keep only the newest`
    : `${where}; keeping at most ${maxMb} MB: past it the oldest recordings are deleted (--record-max-mb, gateway.recordMaxMb)`;
}

/** Runs until SIGINT/SIGTERM, then closes cleanly (recordings finished). Resolves with the exit code. */
export async function serveUntilStopped(options: ServeOptions): Promise<number> {
  const gateway = await serveCommand(options);
  const tokenHint = options.token ? ' (token required)' : '';
  console.log(`metamanip gateway on ${gateway.httpUrl}${tokenHint}: controller ${gateway.url}/controller, viewer ${gateway.httpUrl}/, policy ${gateway.url}/, Foxglove ${gateway.url}`);
  return serveUntilStop(gateway, undefined, (line) => console.error(line));
}

/**
 * Checkpoints loaded once each (the backend chosen first and logged), by the path they were given as.
 * Loaded on demand: the agent pulls in TensorFlow.js, which a gateway without policies never needs.
 */
export async function loadPolicies(paths: readonly string[], backend: string | undefined, log: (line: string) => void): Promise<Map<string, LoadedPolicy>> {
  const policies = new Map<string, LoadedPolicy>();
  if (paths.length === 0) return policies;
  const { initBackend, describeBackend } = await import('../agent/backend.ts');
  const { loadPolicy } = await import('../agent/policy.ts');
  log(`backend: ${describeBackend(await initBackend(backend))}`);
  for (const path of paths) if (!policies.has(path)) policies.set(path, loadPolicy(path));
  return policies;
}

/** Serves until SIGINT/SIGTERM (or `durationS` seconds), then closes cleanly: recordings finished. */
export async function serveUntilStop(gateway: Gateway, durationS: number | undefined, log: (line: string) => void): Promise<number> {
  await waitForStop(durationS);
  log('stopping: closing connections and recordings');
  await gateway.close();
  log('stopped');
  return 0;
}

/** Resolves at SIGINT/SIGTERM, or after `durationS` seconds when given. */
export function waitForStop(durationS?: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = durationS === undefined ? undefined : setTimeout(stop, durationS * 1000);
    function stop() {
      clearTimeout(timer);
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    }
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
