// The trainer's side of distributed rollouts over NATS: each iteration it publishes the current weights
// once (served by version to the workers that ask), cuts the iteration's lanes into jobs, hands each job to
// an idle worker of the queue group, re-dispatches a job whose worker misses its deadline, and puts the
// answers together in lane order; late duplicates and answers computed with other weights are not used.
// The workers are bridge/rollout-worker.ts (`metamanip worker`); docs/DISTRIBUTED.md describes the
// subjects, the fault handling and the arithmetic of scale.
//
// Subjects (prefix P, default "metamanip"; run R = the run's name as a subject token):
//   P.jobs                 request: a job ({version, iteration, first, count, ...}); a worker of queue
//                          group P.workers replies {accepted, worker} and later publishes its answer
//   P.run.R.weights        request {version, part}: a part of that version's weights frame
//   P.run.R.results        the workers' answers, in parts of at most the server's max_payload

import type { Subscription } from '@nats-io/transport-node';
import type { Rl2Sample } from '../agent/rl2.ts';
import { type LaneGroup, type Rl2RunDescriptor, type Rl2Sampler, type Rl2SamplerContext, assembleSample, laneGroups, networkWeights, recordOf, RECORD_ARRAYS, runDescriptor } from '../agent/rollouts.ts';
import type { TrialStats } from '../agent/rollout.ts';
import { type NatsConnection, type NatsCredentials, connectNats, isNoResponders, isTimeout, subjectToken } from './nats.ts';
import { PartAssembler, WireError, contentHash, decodeFrame, encodeFrame, jsonBytes, parseJson, splitParts } from './rollouts-wire.ts';

export const DEFAULT_SUBJECT = 'metamanip';

export interface NatsRolloutOptions {
  /** nats://HOST:PORT (or several, comma-separated). */
  url: string;
  credentials: NatsCredentials;
  /** Subject prefix shared with the workers (default "metamanip"). */
  subject?: string;
  /** Lanes per job (default: a quarter of an iteration's lanes, rounded up). */
  lanesPerJob?: number;
  /**
   * Seconds a worker has for a job before it is sent to another worker. Default: 120 s until the first
   * answer, then 4x the slowest answer so far (at least 20 s).
   */
  deadlineSeconds?: number;
  /** Seconds to wait for a worker to accept a job it was sent (default 5). */
  acceptSeconds?: number;
}

/** What the farm did, summed over the run (this process). */
export interface RolloutStats {
  iterations: number;
  /** Jobs whose answer was used (one per lane group per iteration). */
  jobs: number;
  /** Jobs taken by a worker, re-dispatches included. */
  dispatched: number;
  /** Jobs sent again because their worker missed the deadline, or said it could not run them. */
  redispatched: number;
  /** Answers for a job already answered (ignored). */
  lateDuplicates: number;
  /** Answers computed with weights other than the iteration's (refused). */
  refusedStale: number;
  /** Answers that did not fit their job, or could not be decoded (refused). */
  refusedInvalid: number;
  /** Jobs a worker reported it could not run. */
  workerErrors: number;
  /** Sends no worker accepted in time (the job stayed pending). */
  acceptTimeouts: number;
  /** Lanes assembled into iterations. */
  lanes: number;
  /** Distinct workers whose answers were used. */
  workers: number;
  /** Bytes of the answers used (whole frames), and of one weights update (its frame). */
  resultBytes: number;
  weightsBytes: number;
  /** Bytes of weights served to workers (every part of every request). */
  weightsServedBytes: number;
  /**
   * Trainer time (s): encoding each iteration's weights and jobs; sending a job until a worker accepted it
   * (a round trip; sends nobody took are not counted); decoding answers; assembling the iteration.
   */
  encodeSeconds: number;
  publishSeconds: number;
  decodeSeconds: number;
  assembleSeconds: number;
}

interface Job {
  id: string;
  group: LaneGroup;
  /** Sends a worker accepted. */
  attempts: number;
  state: 'pending' | 'running' | 'done';
  acceptedAt: number;
  deadline: number;
  worker: string;
  sample: Rl2Sample | null;
}

interface Round {
  iteration: number;
  version: string;
  jobs: Map<string, Job>;
  remaining: number;
}

/** Room left in each message for the part's own header. */
const PART_HEADER_BYTES = 1024;

export class NatsRolloutFarm implements Rl2Sampler {
  readonly description: string;
  readonly stats: RolloutStats = {
    iterations: 0, jobs: 0, dispatched: 0, redispatched: 0, lateDuplicates: 0, refusedStale: 0, refusedInvalid: 0, workerErrors: 0,
    acceptTimeouts: 0, lanes: 0, workers: 0, resultBytes: 0, weightsBytes: 0, weightsServedBytes: 0,
    encodeSeconds: 0, publishSeconds: 0, decodeSeconds: 0, assembleSeconds: 0,
  };
  private readonly descriptor: Rl2RunDescriptor;
  private readonly prefix: string;
  private readonly runSubject: string;
  private readonly lanesPerJob: number;
  private readonly partBytes: number;
  private readonly assembler = new PartAssembler();
  private readonly workersSeen = new Set<string>();
  /** Job ids answered in recent iterations, so that their late answers count as duplicates. */
  private readonly answered = new Set<string>();
  private readonly answeredOrder: string[] = [];
  private weights: { version: string; parts: Uint8Array[] } | null = null;
  private round: Round | null = null;
  private wakeUp: (() => void) | null = null;
  private slowestAnswer = 0;
  private readonly subscriptions: Subscription[] = [];
  private closed = false;

  private constructor(private readonly nc: NatsConnection, private readonly context: Rl2SamplerContext, private readonly options: NatsRolloutOptions) {
    this.descriptor = runDescriptor(context);
    this.prefix = options.subject ?? DEFAULT_SUBJECT;
    this.runSubject = `${this.prefix}.run.${subjectToken(context.name)}`;
    const lanes = context.rl2.config.tasksPerIteration;
    this.lanesPerJob = Math.min(lanes, options.lanesPerJob ?? Math.ceil(lanes / 4));
    this.partBytes = Math.max(4096, (nc.info?.max_payload ?? 1024 * 1024) - PART_HEADER_BYTES);
    const jobs = laneGroups(lanes, this.lanesPerJob).length;
    this.description = `rollout workers over NATS at ${options.url} (subject ${this.prefix}.jobs, ${jobs} job${jobs > 1 ? 's' : ''} of ${this.lanesPerJob} lane${this.lanesPerJob > 1 ? 's' : ''} per iteration)`;
  }

  /** Connects, and serves weights and takes answers for the run in `context` until close(). */
  static async start(context: Rl2SamplerContext, options: NatsRolloutOptions): Promise<NatsRolloutFarm> {
    const validate = (value: number | undefined, name: string, min: number) => {
      if (value !== undefined && !(Number.isFinite(value) && value >= min)) throw new Error(`rollouts: ${name} must be a number >= ${min}, got ${value}`);
    };
    validate(options.lanesPerJob, 'lanesPerJob', 1);
    if (options.lanesPerJob !== undefined && !Number.isInteger(options.lanesPerJob)) throw new Error(`rollouts: lanesPerJob must be a whole number, got ${options.lanesPerJob}`);
    validate(options.deadlineSeconds, 'deadlineSeconds', 0.1);
    validate(options.acceptSeconds, 'acceptSeconds', 0.1);
    const nc = await connectNats(options.url, options.credentials, `metamanip trainer ${context.name}`);
    const farm = new NatsRolloutFarm(nc, context, options);
    farm.subscriptions.push(
      nc.subscribe(`${farm.runSubject}.weights`, { callback: (error, msg) => { if (!error) farm.serveWeights(msg.data, (bytes) => msg.respond(bytes)); } }),
      nc.subscribe(`${farm.runSubject}.results`, { callback: (error, msg) => { if (!error) farm.receive(msg.data); } }),
    );
    await nc.flush();
    return farm;
  }

  /** The subject workers take jobs from, and the one this run's answers arrive on. */
  get subjects(): { jobs: string; results: string; weights: string } {
    return { jobs: `${this.prefix}.jobs`, results: `${this.runSubject}.results`, weights: `${this.runSubject}.weights` };
  }

  async sample(iteration: number): Promise<Rl2Sample> {
    if (this.closed) throw new Error('rollouts: the farm is closed');
    const { rl2 } = this.context;
    const encodeStarted = performance.now();
    const version = this.publishWeights(iteration);
    const groups = laneGroups(rl2.config.tasksPerIteration, this.lanesPerJob);
    const round: Round = { iteration, version, jobs: new Map(), remaining: groups.length };
    for (const group of groups) {
      const id = `${version}/${group.first}+${group.count}`;
      round.jobs.set(id, { id, group, attempts: 0, state: 'pending', acceptedAt: 0, deadline: 0, worker: '', sample: null });
    }
    this.round = round;
    this.stats.encodeSeconds += (performance.now() - encodeStarted) / 1000;
    try {
      await this.dispatch(round);
    } finally {
      this.round = null;
    }
    const assembleStarted = performance.now();
    const parts = [...round.jobs.values()].map((job) => ({ group: job.group, sample: job.sample! }));
    const sample = assembleSample(rl2.net, rl2.config, this.context.distribution.spec, parts);
    this.stats.assembleSeconds += (performance.now() - assembleStarted) / 1000;
    this.stats.iterations++;
    this.stats.lanes += rl2.config.tasksPerIteration;
    return sample;
  }

  /** Sends pending jobs to idle workers until every job of the round is answered. */
  private async dispatch(round: Round): Promise<void> {
    let backoff = 10, waitingSince = performance.now(), lastNotice = 0;
    while (round.remaining > 0) {
      if (this.closed) throw new Error('rollouts: the farm was closed while an iteration was sampled');
      const now = performance.now();
      for (const job of round.jobs.values()) {
        if (job.state === 'running' && now > job.deadline) {
          job.state = 'pending';
          this.stats.redispatched++;
          this.context.log(`rollouts: job ${job.id} (lanes ${job.group.first}-${job.group.first + job.group.count - 1}) missed its ${((job.deadline - job.acceptedAt) / 1000).toFixed(1)} s deadline on worker ${job.worker}; sending it again`);
        }
      }
      const job = [...round.jobs.values()].find((j) => j.state === 'pending');
      if (!job) {
        const next = Math.min(...[...round.jobs.values()].filter((j) => j.state === 'running').map((j) => j.deadline));
        await this.sleep(Math.max(1, Math.min(1000, next - now)));
        continue;
      }
      const sent = performance.now();
      try {
        const message = jsonBytes({
          run: this.runSubject, version: round.version, iteration: round.iteration, job: job.id, attempt: job.attempts + 1,
          first: job.group.first, count: job.group.count, weights: this.subjects.weights, results: this.subjects.results,
        });
        const reply = await this.nc.request(this.subjects.jobs, message, { timeout: 1000 * (this.options.acceptSeconds ?? 5) });
        this.stats.publishSeconds += (performance.now() - sent) / 1000;
        const ack = parseJson(reply.data, 'job acceptance');
        if (ack.accepted !== true) {
          this.stats.workerErrors++;
          this.context.log(`rollouts: worker ${String(ack.worker ?? '?')} declined job ${job.id}: ${String(ack.error ?? 'no reason given')}`);
          continue;
        }
        backoff = 10;
        waitingSince = performance.now();
        this.stats.dispatched++;
        if (job.state !== 'pending') continue; // answered (by an earlier attempt) while this send was in flight
        job.attempts++;
        job.state = 'running';
        job.worker = String(ack.worker ?? '?');
        job.acceptedAt = performance.now();
        job.deadline = job.acceptedAt + this.deadlineMs();
      } catch (error) {
        if (isNoResponders(error)) {
          // Every worker is busy (a busy worker leaves the queue group) or none is connected: said when
          // nothing of this iteration has been running for 30 s.
          const running = [...round.jobs.values()].filter((j) => j.state === 'running').length;
          if (running > 0) waitingSince = performance.now();
          if (performance.now() - waitingSince > 30_000 && performance.now() - lastNotice > 30_000) {
            lastNotice = performance.now();
            this.context.log(`rollouts: no worker has taken a job on ${this.subjects.jobs} for ${((performance.now() - waitingSince) / 1000).toFixed(0)} s (${round.remaining} of ${round.jobs.size} jobs of iteration ${round.iteration} waiting); start one with: metamanip worker --nats ${this.options.url}`);
          }
          await this.sleep(backoff);
          backoff = Math.min(250, backoff * 2);
        } else if (isTimeout(error)) {
          this.stats.acceptTimeouts++;
        } else if (error instanceof WireError) {
          this.stats.workerErrors++;
          this.context.log(`rollouts: a worker answered job ${job.id} with ${error.message}`);
        } else {
          throw error;
        }
      }
    }
  }

  private deadlineMs(): number {
    if (this.options.deadlineSeconds !== undefined) return 1000 * this.options.deadlineSeconds;
    return this.slowestAnswer === 0 ? 120_000 : Math.max(20_000, 4 * this.slowestAnswer);
  }

  /** Waits `ms`, or less when an answer arrives. */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => { this.wakeUp = null; resolve(); }, ms);
      this.wakeUp = () => { clearTimeout(timer); this.wakeUp = null; resolve(); };
    });
  }

  /** Encodes the learner's weights as this iteration's version (served until the next one); returns the version. */
  private publishWeights(iteration: number): string {
    const weights = networkWeights(this.context.rl2.net);
    const descriptorText = JSON.stringify(this.descriptor);
    const version = `${iteration}-${contentHash(descriptorText, ...weights.map((w) => new Uint8Array(w.data.buffer, w.data.byteOffset, w.data.byteLength)))}`;
    const frame = encodeFrame(
      { version, iteration, descriptor: this.descriptor, params: weights.map((w) => ({ name: w.name, shape: w.shape })) },
      weights.map((w) => [w.name, w.data] as const),
    );
    this.weights = { version, parts: splitParts(frame, this.partBytes) };
    this.stats.weightsBytes = frame.length;
    return version;
  }

  private serveWeights(data: Uint8Array, respond: (bytes: Uint8Array) => void): void {
    let request: Record<string, unknown>;
    try {
      request = parseJson(data, 'weights request');
    } catch (error) {
      respond(encodeFrame({ error: (error as Error).message }));
      return;
    }
    const { weights } = this;
    const part = request.part ?? 0;
    if (!weights || request.version !== weights.version) {
      respond(encodeFrame({ error: `weights ${String(request.version)} are not served (current: ${weights?.version ?? 'none yet'})` }));
      return;
    }
    if (typeof part !== 'number' || !Number.isInteger(part) || part < 0 || part >= weights.parts.length) {
      respond(encodeFrame({ error: `weights ${weights.version} have parts 0 to ${weights.parts.length - 1}, asked for ${JSON.stringify(part)}` }));
      return;
    }
    const reply = encodeFrame({ version: weights.version, part, parts: weights.parts.length }, [['bytes', weights.parts[part]]]);
    this.stats.weightsServedBytes += weights.parts[part].length;
    respond(reply);
  }

  /** A part of an answer (or a worker's report that it could not run a job). */
  private receive(data: Uint8Array): void {
    try {
      const { header, arrays } = decodeFrame(data, 'answer part');
      const jobId = String(header.job), worker = String(header.worker), attempt = Number(header.attempt);
      if (typeof header.error === 'string') {
        this.stats.workerErrors++;
        this.context.log(`rollouts: worker ${worker} could not run job ${jobId}: ${header.error}`);
        const job = this.round?.jobs.get(jobId);
        if (job && job.state === 'running' && job.worker === worker) {
          job.state = 'pending';
          this.stats.redispatched++;
          this.wakeUp?.();
        }
        return;
      }
      const bytes = arrays.get('bytes');
      if (!(bytes instanceof Uint8Array)) throw new WireError('answer part without its bytes');
      const whole = this.assembler.add(`${jobId}#${attempt}#${worker}`, Number(header.part), Number(header.parts), bytes);
      if (whole) this.answer(jobId, worker, whole);
    } catch (error) {
      this.stats.refusedInvalid++;
      this.context.log(`rollouts: refused an answer: ${(error as Error).message}`);
    }
    // Parts of answers whose sender died mid-way are dropped after a while.
    if (this.assembler.size > 0) this.assembler.dropOlderThan(Date.now() - Math.max(600_000, 2 * this.deadlineMs()));
  }

  private answer(jobId: string, worker: string, bytes: Uint8Array): void {
    const decodeStarted = performance.now();
    const { header, arrays } = decodeFrame(bytes, `answer to ${jobId}`);
    // A job's id begins with the weights version it is to be computed with.
    const jobVersion = jobId.slice(0, jobId.indexOf('/'));
    if (header.version !== jobVersion) {
      this.stats.refusedStale++;
      this.context.log(`rollouts: refused ${worker}'s answer to ${jobId}: computed with weights ${String(header.version)}, the job's are ${jobVersion}`);
      return;
    }
    if (header.job !== jobId) throw new WireError(`the parts of an answer to ${jobId} hold an answer to ${String(header.job)}`);
    const round = this.round;
    const job = round?.jobs.get(jobId);
    if (this.answered.has(jobId) || job?.state === 'done') {
      this.stats.lateDuplicates++;
      return;
    }
    if (!round || !job) {
      // An honest answer to a job of no iteration being sampled (an earlier one, or a restarted trainer's): its weights are not the current ones.
      this.stats.refusedStale++;
      this.context.log(`rollouts: refused ${worker}'s answer to ${jobId}: not computed with the current weights (${round?.version ?? 'none being sampled'})`);
      return;
    }
    const { first, count } = job.group;
    const steps = this.context.rl2.config.episodesPerTrial * this.context.distribution.spec.episodeSteps;
    if (header.first !== first || header.count !== count || header.steps !== steps || header.chunkSteps !== this.context.rl2.config.bpttSteps) {
      throw new WireError(`answer to ${jobId} is for lanes ${String(header.first)}+${String(header.count)} x ${String(header.steps)} steps, expected ${first}+${count} x ${steps}`);
    }
    const missing = RECORD_ARRAYS.filter((name) => !arrays.has(name));
    if (missing.length) throw new WireError(`answer to ${jobId} lacks ${missing.join(', ')}`);
    const record = recordOf(Object.fromEntries(RECORD_ARRAYS.map((name) => [name, arrays.get(name)!])) as Parameters<typeof recordOf>[0], { lanes: count, steps, chunkSteps: this.context.rl2.config.bpttSteps });
    const trials = header.trials as TrialStats;
    if (!trials || !Array.isArray(trials.trialReturns)) throw new WireError(`answer to ${jobId} has no trial statistics`);
    job.sample = { record, trials };
    job.state = 'done';
    round.remaining--;
    this.answered.add(jobId);
    this.answeredOrder.push(jobId);
    if (this.answeredOrder.length > 10_000) this.answered.delete(this.answeredOrder.shift()!);
    this.stats.jobs++;
    this.stats.resultBytes += bytes.length;
    this.stats.decodeSeconds += (performance.now() - decodeStarted) / 1000;
    if (job.acceptedAt > 0) this.slowestAnswer = Math.max(this.slowestAnswer, performance.now() - job.acceptedAt);
    this.workersSeen.add(worker);
    this.stats.workers = this.workersSeen.size;
    this.wakeUp?.();
  }

  /** One line of what the farm did, for the end of a run. */
  summary(): string {
    const s = this.stats;
    return `rollouts: ${s.jobs} jobs of ${s.lanes} lanes from ${s.workers} worker${s.workers === 1 ? '' : 's'}; ${s.redispatched} re-dispatched, ${s.lateDuplicates} late duplicates ignored, ${s.refusedStale} refused as stale, ${s.refusedInvalid} refused as invalid`;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.wakeUp?.();
    for (const sub of this.subscriptions) sub.unsubscribe();
    await this.nc.close();
  }
}
