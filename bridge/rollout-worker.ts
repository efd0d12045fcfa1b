// A rollout worker (`metamanip worker --nats URL`): joins the queue group of the jobs subject whenever it
// is idle, takes one job at a time (a group of lanes of one training iteration), fetches that iteration's
// weights by version from the trainer (once per version), samples the lanes on its own envs with the
// trainer's network settings, tasks and random streams (agent/rl2.ts sampleTrialLanes), and publishes the
// record. Leaving the queue group while busy is what spreads the jobs by speed: only idle workers are
// offered one. The trainer's side is bridge/rollouts-nats.ts; docs/DISTRIBUTED.md describes both.

import { hostname } from 'node:os';
import { type BackendName, describeBackend, initBackend } from '../agent/backend.ts';
import { type EnvBatch, createEnvBatch } from '../agent/batch-env.ts';
import { distributionByName } from '../agent/distributions.ts';
import type { TaskDistribution } from '../agent/envs.ts';
import { type Rl2Config, sampleTrialLanes } from '../agent/rl2.ts';
import { type Rl2Network, rl2Network } from '../agent/rl2-network.ts';
import { type NetworkWeights, RECORD_ARRAYS, type Rl2RunDescriptor, loadNetworkWeights } from '../agent/rollouts.ts';
import { gitCommit } from '../agent/run.ts';
import { withTeacher } from '../agent/teacher.ts';
import type { Msg } from '@nats-io/transport-node';
import { type NatsConnection, type NatsCredentials, connectNats } from './nats.ts';
import { DEFAULT_SUBJECT } from './rollouts-nats.ts';
import { WireError, decodeFrame, encodeFrame, jsonBytes, parseJson, splitParts } from './rollouts-wire.ts';

export interface RolloutWorkerOptions {
  url: string;
  credentials: NatsCredentials;
  /** Subject prefix shared with the trainers (default "metamanip"). */
  subject?: string;
  /** Worker threads stepping robot sims (0: this thread). */
  threads?: number;
  /** How the worker names itself to the trainers (default host:pid). */
  name?: string;
  log?: (line: string) => void;
  /** Stop after this many jobs (default: until stopped). */
  maxJobs?: number;
  /** Stops the worker after the job in hand. */
  signal?: AbortSignal;
  /** Called once connected (tests and the CLI wait for it). */
  onReady?: () => void;
}

export interface RolloutWorkerSummary { jobs: number; failed: number; weightsFetched: number; weightsBytes: number; resultBytes: number }

/** A job as the trainer sends it (bridge/rollouts-nats.ts). */
interface JobMessage { run: string; version: string; iteration: number; job: string; attempt: number; first: number; count: number; weights: string; results: string }

/** Errors after which this worker cannot be of use (e.g. it cannot run the trainer's backend): it stops. */
class FatalWorkerError extends Error { override name = 'FatalWorkerError'; }

/** Runs a worker until stopped (signal), closed, or maxJobs jobs are done. */
export async function runRolloutWorker(options: RolloutWorkerOptions): Promise<RolloutWorkerSummary> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const threads = options.threads ?? 0;
  if (!Number.isInteger(threads) || threads < 0) throw new Error(`worker: threads must be a whole number >= 0, got ${threads}`);
  const prefix = options.subject ?? DEFAULT_SUBJECT;
  const name = options.name ?? `${hostname()}:${process.pid}`;
  const nc = await connectNats(options.url, options.credentials, `metamanip worker ${name}`);
  const worker = new Worker(nc, name, threads, log);
  const summary: RolloutWorkerSummary = { jobs: 0, failed: 0, weightsFetched: 0, weightsBytes: 0, resultBytes: 0 };
  const stop = () => { worker.stopping = true; worker.subscription?.unsubscribe(); };
  options.signal?.addEventListener('abort', stop);
  log(`worker ${name}: connected to ${options.url}, taking jobs from ${prefix}.jobs (queue group ${prefix}.workers), sims ${threads > 0 ? `in ${threads} thread${threads > 1 ? 's' : ''}` : 'in the main thread'}`);
  options.onReady?.();
  try {
    while (!worker.stopping && !nc.isClosed() && (options.maxJobs === undefined || summary.jobs + summary.failed < options.maxJobs)) {
      // Subscribed only while idle, for one message: the queue group offers jobs to idle workers only.
      const sub = nc.subscribe(`${prefix}.jobs`, { queue: `${prefix}.workers`, max: 1 });
      worker.subscription = sub;
      let taken: Msg | null = null;
      for await (const msg of sub) taken = msg;
      worker.subscription = null;
      if (!taken) break;
      let job: JobMessage;
      try {
        job = checkJob(parseJson(taken.data, 'job'));
      } catch (error) {
        taken.respond(jsonBytes({ accepted: false, worker: name, error: (error as Error).message }));
        summary.failed++;
        continue;
      }
      taken.respond(jsonBytes({ accepted: true, worker: name }));
      log(`worker ${name}: taking job ${job.job} (iteration ${job.iteration}, lanes ${job.first}-${job.first + job.count - 1}, attempt ${job.attempt})`);
      try {
        const started = performance.now();
        const bytes = await worker.run(job, summary);
        summary.jobs++;
        summary.resultBytes += bytes;
        log(`worker ${name}: answered job ${job.job} in ${((performance.now() - started) / 1000).toFixed(2)} s (${bytes} bytes)`);
      } catch (error) {
        summary.failed++;
        log(`worker ${name}: job ${job.job} failed: ${(error as Error).message}`);
        nc.publish(job.results, encodeFrame({ job: job.job, attempt: job.attempt, worker: name, error: (error as Error).message }));
        if (error instanceof FatalWorkerError) throw error;
      }
    }
  } finally {
    options.signal?.removeEventListener('abort', stop);
    await worker.close();
    // Drained (what was published goes out) unless the server is gone: then draining would wait for it.
    if (!nc.isClosed()) {
      await Promise.race([nc.drain().catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
      if (!nc.isClosed()) await nc.close().catch(() => undefined);
    }
  }
  return summary;
}

function checkJob(m: Record<string, unknown>): JobMessage {
  const strings = ['run', 'version', 'job', 'weights', 'results'] as const, ints = ['iteration', 'attempt', 'first', 'count'] as const;
  for (const k of strings) if (typeof m[k] !== 'string' || m[k] === '') throw new WireError(`job: ${k} must be a non-empty string, got ${JSON.stringify(m[k])}`);
  for (const k of ints) if (!Number.isInteger(m[k]) || (m[k] as number) < 0) throw new WireError(`job: ${k} must be a whole number >= 0, got ${JSON.stringify(m[k])}`);
  if ((m.count as number) < 1) throw new WireError('job: count must be >= 1');
  return m as unknown as JobMessage;
}

/** What a worker keeps between jobs: the backend, the latest weights, the network and env batches of the run it last served. */
class Worker {
  stopping = false;
  subscription: { unsubscribe(): void } | null = null;
  private backend: BackendName | null = null;
  private weights: { version: string; descriptor: Rl2RunDescriptor; params: NetworkWeights[] } | null = null;
  private model: { key: string; distribution: TaskDistribution; net: Rl2Network; loaded: string } | null = null;
  private readonly envs = new Map<number, EnvBatch>();
  private commit: string | null | undefined;
  private warnedCommit: string | null | undefined;

  constructor(private readonly nc: NatsConnection, private readonly name: string, private readonly threads: number, private readonly log: (line: string) => void) {}

  /** Samples a job's lanes and publishes the answer; returns its size in bytes. */
  async run(job: JobMessage, summary: RolloutWorkerSummary): Promise<number> {
    const started = performance.now();
    if (this.weights?.version !== job.version) {
      this.weights = await this.fetchWeights(job, summary);
    }
    const { descriptor, params } = this.weights;
    await this.ensureBackend(descriptor.backend);
    if (descriptor.commit !== this.warnedCommit && descriptor.commit !== (this.commit ??= gitCommit()?.commit ?? null)) {
      this.warnedCommit = descriptor.commit;
      this.log(`worker ${this.name}: warning: the trainer runs metamanip commit ${descriptor.commit ?? '(unknown)'}, this worker ${this.commit ?? '(unknown)'}; different code may compute different numbers`);
    }
    const model = this.ensureModel(descriptor);
    if (model.loaded !== job.version) {
      loadNetworkWeights(model.net, params);
      model.loaded = job.version;
    }
    const envs = await this.ensureEnvs(model.distribution, job.count);
    const sampleStarted = performance.now();
    const { record, trials } = sampleTrialLanes(model.net, descriptor.config, descriptor.seed, model.distribution, envs, job.iteration, { first: job.first, count: job.count });
    const seconds = (performance.now() - sampleStarted) / 1000;
    const frame = encodeFrame(
      { job: job.job, version: job.version, iteration: job.iteration, first: job.first, count: job.count, steps: record.steps, chunkSteps: record.chunkSteps, trials, worker: this.name, seconds, totalSeconds: (performance.now() - started) / 1000 },
      RECORD_ARRAYS.map((name) => [name, record[name]] as const),
    );
    const partBytes = Math.max(4096, (this.nc.info?.max_payload ?? 1024 * 1024) - 1024);
    const parts = splitParts(frame, partBytes);
    parts.forEach((bytes, part) => this.nc.publish(job.results, encodeFrame({ job: job.job, attempt: job.attempt, version: job.version, worker: this.name, part, parts: parts.length }, [['bytes', bytes]])));
    await this.nc.flush();
    return frame.length;
  }

  private async fetchWeights(job: JobMessage, summary: RolloutWorkerSummary): Promise<{ version: string; descriptor: Rl2RunDescriptor; params: NetworkWeights[] }> {
    const chunks: Uint8Array[] = [];
    let parts = 1;
    for (let part = 0; part < parts; part++) {
      let reply;
      try {
        reply = await this.nc.request(job.weights, jsonBytes({ version: job.version, part }), { timeout: 10_000 });
      } catch (error) {
        throw new Error(`cannot fetch weights ${job.version} from ${job.weights}: ${(error as Error).message}`);
      }
      const { header, arrays } = decodeFrame(reply.data, 'weights part');
      if (typeof header.error === 'string') throw new Error(`the trainer did not serve weights ${job.version}: ${header.error}`);
      const bytes = arrays.get('bytes');
      if (!(bytes instanceof Uint8Array) || header.version !== job.version || header.part !== part || !Number.isInteger(header.parts)) throw new WireError(`weights part ${part} of ${job.version}: malformed reply`);
      parts = header.parts as number;
      chunks.push(bytes);
    }
    const whole = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
    let at = 0;
    for (const c of chunks) { whole.set(c, at); at += c.length; }
    const { header, arrays } = decodeFrame(whole, `weights ${job.version}`);
    if (header.version !== job.version) throw new WireError(`weights ${job.version}: the frame says ${String(header.version)}`);
    const descriptor = header.descriptor as Rl2RunDescriptor;
    const shapes = header.params as Array<{ name: string; shape: number[] }>;
    if (!descriptor || typeof descriptor.benchmark !== 'string' || !Array.isArray(shapes)) throw new WireError(`weights ${job.version}: no run descriptor or parameter list`);
    const params = shapes.map(({ name, shape }) => {
      const data = arrays.get(name);
      if (!(data instanceof Float32Array)) throw new WireError(`weights ${job.version}: parameter ${name} is missing or not float32`);
      return { name, shape, data };
    });
    summary.weightsFetched++;
    summary.weightsBytes += whole.length;
    return { version: job.version, descriptor, params };
  }

  /** The trainer's backend: another one rounds differently, so this worker's answers would not be the trainer's numbers. */
  private async ensureBackend(wanted: BackendName): Promise<void> {
    if (this.backend === null) {
      const choice = await initBackend(wanted);
      this.backend = choice.backend;
      this.log(`worker ${this.name}: ${describeBackend(choice)}`);
    }
    if (this.backend !== wanted) {
      throw new FatalWorkerError(`the trainer samples with backend ${wanted}, this worker runs ${this.backend} (it could not load ${wanted}); its numbers would differ, so it stops`);
    }
  }

  private ensureModel(descriptor: Rl2RunDescriptor): NonNullable<Worker['model']> {
    const key = JSON.stringify({ benchmark: descriptor.benchmark, seed: descriptor.seed, config: descriptor.config });
    if (this.model?.key === key) return this.model;
    this.dropModel();
    const distribution = withTeacher(distributionByName(descriptor.benchmark, { seed: descriptor.seed }), descriptor.config as Rl2Config);
    if (JSON.stringify(distribution.spec) !== JSON.stringify(descriptor.spec)) {
      throw new Error(`${descriptor.benchmark} here has env spec ${JSON.stringify(distribution.spec)}, the trainer's is ${JSON.stringify(descriptor.spec)} (different metamanip versions?)`);
    }
    const net = rl2Network(distribution.spec, descriptor.config as Rl2Config, descriptor.seed);
    this.model = { key, distribution, net, loaded: '' };
    return this.model;
  }

  private async ensureEnvs(distribution: TaskDistribution, count: number): Promise<EnvBatch> {
    let envs = this.envs.get(count);
    if (!envs) {
      envs = await createEnvBatch(distribution, count, { workers: distribution.benchmark ? this.threads : 0 });
      this.envs.set(count, envs);
    }
    return envs;
  }

  private dropModel(): void {
    for (const envs of this.envs.values()) void envs.close();
    this.envs.clear();
    this.model?.net.dispose();
    this.model = null;
  }

  async close(): Promise<void> {
    const closing = [...this.envs.values()].map((e) => e.close());
    this.envs.clear();
    await Promise.all(closing);
    this.model?.net.dispose();
    this.model = null;
  }
}
