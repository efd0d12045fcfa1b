// Distributed rollouts against real peers: a nats-server process, `metamanip worker` processes (one in a
// network namespace of its own when this machine lets the test make one), and trainers in this process
// or as `metamanip train` processes. Training with 0, 1 and 2 workers gives the same bits; killed,
// frozen and lying workers, and a killed trainer, change no number.

import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chooseBackend } from '../../agent/backend.ts';
import { readCheckpoint } from '../../agent/checkpoint.ts';
import { RunDir } from '../../agent/run.ts';
import type { Rl2SamplerContext } from '../../agent/rollouts.ts';
import { type TrainConfig, train } from '../../agent/trainer.ts';
import { NatsRolloutFarm, type NatsRolloutOptions } from '../../bridge/rollouts-nats.ts';
import { decodeFrame, encodeFrame } from '../../bridge/rollouts-wire.ts';
import { resolveScenario } from '../../scenarios/scenario.ts';
import { type NatsServer, type Peer, makeNetworkNamespace, metamanip, startNatsServer, startWorker } from './nats-peers.ts';

const TOKEN = 'rollout-test-token-1';
const temporary = () => mkdtempSync(join(tmpdir(), 'metamanip-rollouts-'));

/** ML1 reach, 4 trials of one 500-step episode per iteration, a small network with every input option that acting reads. */
const scenario = (name: string, iterations: number) => ({
  name, benchmark: 'ML1:reach', seed: 3, iterations, workers: 0, learnerThreads: 1,
  rl2: {
    tasksPerIteration: 4, episodesPerTrial: 1, hidden: 16, headMlp: [16], bpttSteps: 100,
    normalizeInputs: true, rewardDeltaInput: true, privilegedCritic: true, criticMlp: [16], ppo: { epochs: 1, minibatches: 2 },
  },
  evaluation: { every: 0, tasks: 1 },
  checkpoints: { keepLast: 10 },
});

/** A run's rows without timings, and its newest weights. */
function results(dir: string): { rows: Array<Record<string, unknown>>; params: unknown } {
  const run = new RunDir(dir);
  const timing = /Seconds$|PerSecond$/;
  const rows = run.rows().map((row) => Object.fromEntries(Object.entries(row).filter(([key]) => !timing.test(key))));
  return { rows, params: readCheckpoint(run.latestCheckpoint()!).state.params };
}

async function trainWith(config: TrainConfig, farmOptions: Omit<NatsRolloutOptions, 'credentials'> | null, onFarm?: (farm: NatsRolloutFarm) => void): Promise<{ dir: string; farm: NatsRolloutFarm | null }> {
  const dir = join(temporary(), 'run');
  let farm: NatsRolloutFarm | null = null;
  const sampler = farmOptions && (async (context: Rl2SamplerContext) => {
    farm = await NatsRolloutFarm.start(context, { ...farmOptions, credentials: { token: TOKEN } });
    onFarm?.(farm);
    return farm;
  });
  await train(config, { runDir: dir, quiet: true, backend: 'wasm', ...(sampler ? { sampler } : {}) });
  return { dir, farm };
}

let server: NatsServer;
let namespace: ReturnType<typeof makeNetworkNamespace>;
const workers: Peer[] = [];
/** The reference runs, sampled in this process: 2 and 4 iterations (the learning-rate schedule and the last evaluation depend on the total). */
let local2: ReturnType<typeof results>, local4: ReturnType<typeof results>;

beforeAll(async () => {
  await chooseBackend('wasm');
  namespace = makeNetworkNamespace();
  // With a namespace, the server listens on the veth address (reachable from both sides); else on loopback.
  server = await startNatsServer('name' in namespace ? namespace.hostAddress : '127.0.0.1', { token: TOKEN });
  local2 = results((await trainWith(resolveScenario(scenario('local', 2)), null)).dir);
  local4 = results((await trainWith(resolveScenario(scenario('local', 4)), null)).dir);
}, 180_000);

afterAll(async () => {
  for (const w of workers) w.kill();
  await server?.stop();
  if (namespace && 'remove' in namespace) namespace.remove();
});

describe('rollout workers over NATS', () => {
  it('trains bit-identically with 0, 1 and 2 remote workers (one in its own network namespace when one can be made)', async () => {
    if ('reason' in namespace) console.warn(`no network namespace (${namespace.reason}): both workers on loopback`);
    workers.push(await startWorker('w1', server.url, { token: TOKEN }));
    const two = 'name' in namespace ? { netns: namespace.name } : {};
    const config = resolveScenario(scenario('remote', 2));
    const one = await trainWith(config, { url: server.url, lanesPerJob: 1 });
    workers.push(await startWorker('w2', server.url, { token: TOKEN, ...two }));
    const both = await trainWith(config, { url: server.url, lanesPerJob: 1 });
    // Losses, returns, success, evaluation and weights after 2 iterations: the same bits.
    expect(local2.rows).toHaveLength(2);
    expect(Number.isFinite(local2.rows[1].policyLoss as number)).toBe(true);
    for (const run of [one, both]) {
      const got = results(run.dir);
      expect(got.rows).toEqual(local2.rows);
      expect(got.params).toEqual(local2.params);
    }
    expect(one.farm!.stats.workers).toBe(1);
    expect(both.farm!.stats.workers).toBe(2);
    expect(both.farm!.stats.jobs).toBe(8);
    // The namespaced worker reached the server over the veth link, not loopback.
    if ('name' in namespace) expect(workers[1].output).toMatch(/answered job/);
  }, 300_000);

  it('loses and duplicates nothing when workers are killed, frozen past their deadline, or answer with old weights', async () => {
    while (workers.length < 2) workers.push(await startWorker(`w${workers.length + 1}`, server.url, { token: TOKEN }));
    const config = resolveScenario(scenario('faults', 4));
    const nc = await connect({ servers: server.url, token: TOKEN });
    // A lying peer: it keeps iteration 0's first answer and replays it, relabelled, as an answer to a job of a later iteration.
    const captured: Uint8Array[] = [];
    let first = '';
    const spy = nc.subscribe('metamanip.run.faults.results', {
      callback: (_e, m) => {
        const { header } = decodeFrame(m.data);
        const sending = `${String(header.job)}#${String(header.attempt)}#${String(header.worker)}`;
        if (!first) first = sending;
        if (sending === first) captured.push(m.data.slice());
      },
    });
    let farm: NatsRolloutFarm | null = null;
    let kills = 0, frozen: Peer | null = null, replayed = false;
    const events: Promise<void>[] = [];
    const watch = (worker: Peer) => {
      worker.onLine((line) => {
        const taken = /taking job (\d+)-([0-9a-f]+)\/(\d+)\+1 /.exec(line);
        if (!taken || !farm) return;
        const iteration = Number(taken[1]);
        if (iteration === 0 && kills < 3) {
          // Killed mid-job, replaced by a fresh worker.
          const kill = ++kills;
          events.push((async () => {
            await new Promise((r) => setTimeout(r, 50));
            worker.kill('SIGKILL');
            const next = await startWorker(`w-after-kill-${kill}`, server.url, { token: TOKEN });
            workers.push(next);
            watch(next);
          })());
        } else if (iteration === 1 && frozen === null) {
          // Frozen past its deadline: the job goes to another worker; thawed an iteration later, its answer is a late duplicate.
          frozen = worker;
          worker.kill('SIGSTOP');
          events.push((async () => {
            while (farm!.stats.iterations < 2) await new Promise((r) => setTimeout(r, 50));
            worker.kill('SIGCONT');
          })());
        } else if (iteration === 2 && !replayed && captured.length > 0) {
          replayed = true;
          const job = `${taken[1]}-${taken[2]}/${taken[3]}+1`;
          for (const part of captured) {
            const { header, arrays } = decodeFrame(part);
            nc.publish('metamanip.run.faults.results', encodeFrame({ ...header, job, worker: 'liar' }, [['bytes', arrays.get('bytes')!]]));
          }
        }
      });
    };
    for (const w of workers) watch(w);
    const run = await trainWith(config, { url: server.url, lanesPerJob: 1, deadlineSeconds: 4, acceptSeconds: 2 }, (f) => { farm = f; });
    await Promise.all(events);
    spy.unsubscribe();
    await nc.close();
    const stats = run.farm!.stats;
    expect(kills).toBe(3);
    // Each kill or freeze that lands mid-job sends the job again; under load a kill can land after the
    // worker already answered (its "taking job" line arrives late), so not every one of the 4 does.
    expect(stats.redispatched).toBeGreaterThanOrEqual(1);
    expect(stats.refusedStale).toBe(1);
    // A late duplicate only follows a re-dispatch (whether the frozen worker's answer arrives late
    // depends on when the machine delivers its "taking job" line; bench/rollouts.ts --kills 20 counts
    // kills mid-job on a quiet machine).
    expect(stats.lateDuplicates).toBeLessThanOrEqual(stats.redispatched);
    expect(stats.jobs).toBe(16);
    expect(stats.lanes).toBe(16);
    // Nothing lost, nothing counted twice: the run is the local run, number for number.
    const got = results(run.dir);
    expect(got.rows).toEqual(local4.rows);
    expect(got.params).toEqual(local4.params);
  }, 400_000);

  it('a killed trainer resumes from its checkpoint and the same workers carry on', async () => {
    while (workers.filter((w) => w.alive).length < 2) workers.push(await startWorker(`w${workers.length + 1}`, server.url, { token: TOKEN }));
    const serving = workers.filter((w) => w.alive);
    const dir = join(temporary(), 'run');
    const file = join(temporary(), 'restart.json');
    writeFileSync(file, JSON.stringify({ kind: 'train', ...scenario('restart', 4), rollouts: { nats: server.url, lanesPerJob: 1 } }));
    const args = ['train', file, '--run-dir', dir, '--backend', 'wasm'];
    const first = metamanip('trainer', args, { env: { METAMANIP_NATS_TOKEN: TOKEN } });
    // Killed once iteration 1 is checkpointed, while iteration 2's jobs are out.
    while (!existsSync(join(dir, 'checkpoints', 'iter-000001.json'))) {
      if (!first.alive) throw new Error(`the trainer ended early:\n${first.output}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    first.kill('SIGKILL');
    await first.exited;
    const second = metamanip('trainer', [...args, '--resume'], { env: { METAMANIP_NATS_TOKEN: TOKEN } });
    const { code } = await second.exited;
    expect(code, second.output).toBe(0);
    expect(second.output).toMatch(/resuming at iteration 2/);
    const got = results(dir);
    expect(got.rows).toEqual(local4.rows);
    expect(got.params).toEqual(local4.params);
    // The workers that served the first trainer served the second, without a restart.
    for (const w of serving) expect(w.alive).toBe(true);
    expect(serving.some((w) => /taking job 3-/.test(w.output))).toBe(true);
  }, 300_000);

  it('refuses workers without credentials or with wrong ones, with errors that say so', async () => {
    const none = metamanip('no-credentials', ['worker', '--nats', server.url], { env: { METAMANIP_NATS_TOKEN: '', METAMANIP_NATS_USER: '', METAMANIP_NATS_PASSWORD: '' } });
    expect((await none.exited).code).toBe(2);
    expect(none.output).toMatch(/NATS credentials are required: give --token TOKEN \(or METAMANIP_NATS_TOKEN\), or --user USER --password PASSWORD/);
    const wrong = metamanip('wrong-token', ['worker', '--nats', server.url, '--token', 'not-the-token']);
    expect((await wrong.exited).code).toBe(1);
    expect(wrong.output).toMatch(new RegExp(`the NATS server at ${server.url.replace(/\./g, '\\.')} refused the token \\(Authorization Violation\\)`));
    // The server with users: the right password connects, a wrong one is refused.
    const users = await startNatsServer('127.0.0.1', { user: 'rollouts', password: 'right-password' });
    try {
      const right = metamanip('user', ['worker', '--nats', users.url, '--user', 'rollouts', '--password', 'right-password']);
      await right.waitFor(/connected to nats:/, 90_000);
      right.kill('SIGTERM');
      expect((await right.exited).code).toBe(0);
      const bad = metamanip('bad-password', ['worker', '--nats', users.url, '--user', 'rollouts', '--password', 'wrong']);
      expect((await bad.exited).code).toBe(1);
      expect(bad.output).toMatch(/refused user "rollouts" and its password/);
      // A trainer without credentials does not start (and makes no run folder).
      const dir = join(temporary(), 'run');
      const trainer = metamanip('trainer', ['train', 'scenarios/ml1-reach.yaml', '--run-dir', dir, '--nats', users.url], { env: { METAMANIP_NATS_TOKEN: '', METAMANIP_NATS_USER: '', METAMANIP_NATS_PASSWORD: '' } });
      expect((await trainer.exited).code).toBe(2);
      expect(trainer.output).toMatch(/NATS credentials are required/);
      expect(existsSync(dir)).toBe(false);
    } finally {
      await users.stop();
    }
  }, 180_000);
});
