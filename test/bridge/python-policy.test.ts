// A real Python peer (websockets + msgpack + numpy, openpi's msgpack_numpy conventions) against the policy
// server. The Python side has no simulator: this test steps ML1 reach and hands the client each
// observation over stdin; the client asks the server and writes the action back on stdout.

import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chooseBackend } from '../../agent/backend.ts';
import { distributionByName } from '../../agent/distributions.ts';
import { type LoadedPolicy, loadPolicy } from '../../agent/policy.ts';
import { type PolicyListener, listenPolicy } from '../../bridge/policy-server.ts';

// Debian's interpreter owns python3-websockets/msgpack/numpy; another python3 may come first on PATH.
const PYTHON = '/usr/bin/python3';
const CLIENT = 'test/bridge/policy_client.py';
// The real peer must be there (.ci/run installs it): a missing one fails the suite instead of skipping it.
const probe = spawnSync(PYTHON, ['-c', 'import websockets, msgpack, numpy'], { encoding: 'utf8' });
if (probe.status !== 0) throw new Error(`${PYTHON} lacks websockets, msgpack or numpy (apt-get install python3-websockets python3-msgpack python3-numpy): ${probe.stderr ?? probe.error}`);

let policy: LoadedPolicy;
let server: PolicyListener;

beforeAll(async () => {
  await chooseBackend('wasm');
  policy = loadPolicy('training/ml1-reach/checkpoints/best.json');
  server = await listenPolicy(policy, { seed: 4 });
});

afterAll(async () => {
  await server?.close();
  policy?.dispose();
});

/** The Python client as a line-oriented JSON peer. */
class PythonClient {
  readonly child: ChildProcessWithoutNullStreams;
  private readonly lines: AsyncIterator<string>;
  private stderr = '';
  readonly exited: Promise<number | null>;

  constructor(mode: string, url = server.url) {
    this.child = spawn(PYTHON, [CLIENT, mode, url], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stderr.on('data', (chunk: Buffer) => { this.stderr += chunk.toString(); });
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => resolve(code)));
    this.lines = createInterface({ input: this.child.stdout })[Symbol.asyncIterator]();
  }

  async read(): Promise<Record<string, unknown>> {
    const next = await this.lines.next();
    if (next.done) throw new Error(`the Python client ended early (exit ${await this.exited}):\n${this.stderr}`);
    return JSON.parse(next.value) as Record<string, unknown>;
  }

  send(message: unknown): void { this.child.stdin.write(JSON.stringify(message) + '\n'); }

  async finish(): Promise<void> {
    const code = await this.exited;
    if (code !== 0) throw new Error(`the Python client failed (exit ${code}):\n${this.stderr}`);
  }
}

describe('policy server with a Python websockets + msgpack_numpy client', () => {
  it('runs a full 500-step ML1 reach episode, then a second trial, with the same actions as a local session', async () => {
    const client = new PythonClient('episode');
    const { metadata } = (await client.read()) as { metadata: Record<string, unknown> };
    expect(metadata).toMatchObject({ server: 'metamanip', benchmark: 'ML1:reach', obs_size: 39, action_dim: 4, action_horizon: 1, seed: 4 });

    const reach = distributionByName('ML1:reach', { seed: 1 });
    const env = reach.makeEnv();
    const reference = policy.session({ seed: 4 });
    const runEpisode = async (trial: number, seed: number) => {
      let obs = env.reset({ task: reach.testTasks(2)[trial - 1], seed });
      let reward = 0, episodeReturn = 0;
      for (let t = 0; t < 500; t++) {
        client.send({ obs: Array.from(obs), reward, episode_start: false });
        const reply = (await client.read()) as { actions: number[]; step: number; trial: number; infer_ms: number };
        expect(reply.step).toBe(t);
        expect(reply.trial).toBe(trial);
        const action = Float32Array.from(reply.actions);
        // float32 -> JSON -> float32 is exact: the Python client got bit-for-bit what a local session computes.
        expect(Array.from(action)).toEqual(Array.from(reference.act(obs, Math.fround(reward), false)));
        const step = env.step(action);
        episodeReturn += step.reward;
        obs = step.obs;
        reward = step.reward;
      }
      return episodeReturn;
    };
    expect(await runEpisode(1, 21)).toBeGreaterThan(0);
    client.send({ reset: true, seed: 8 });
    expect(await client.read()).toEqual({ reset: true, trial: 2, seed: 8 });
    reference.reset({ seed: 8 });
    expect(await runEpisode(2, 22)).toBeGreaterThan(0);
    client.send({ end: true });
    expect(await client.read()).toEqual({ done: true, steps: 1000 });
    await client.finish();
    reference.dispose(); env.close();
  }, 120_000);

  it('gets float32 (1, 4) actions for synthetic observations and reads every error as a text frame + close 1011', async () => {
    const client = new PythonClient('synthetic');
    const summary = (await client.read()) as { ok: boolean; steps: number; errors: Record<string, string> };
    await client.finish();
    expect(summary.ok).toBe(true);
    expect(summary.errors.short).toMatch(/'observation\/state' has shape \[38\] \(38 values\); the policy reads 39 values/);
    expect(summary.errors.nan).toMatch(/'observation\/state'\[0\] is NaN/);
    expect(summary.errors.missing).toMatch(/no observation/);
    expect(summary.errors.text).toMatch(/expected a binary msgpack frame/);
    expect(summary.errors.garbage).toMatch(/not valid msgpack/);
  }, 60_000);
});

describe('a MAML policy served to the Python client', () => {
  it('records the adaptation episodes, takes the inner step for this connection after the tenth, then acts adapted: the actions of a local session, bit for bit', async () => {
    const maml = loadPolicy('checkpoints/maml-ml1-reach.json');
    const mamlServer = await listenPolicy(maml, { seed: 6 });
    try {
      const client = new PythonClient('episode', mamlServer.url);
      const { metadata } = (await client.read()) as { metadata: Record<string, unknown> };
      expect(metadata).toMatchObject({ algorithm: 'maml', benchmark: 'ML1:reach', adaptation_episodes: 10, trial_episodes: 13, recurrent: true, seed: 6 });
      const reach = distributionByName('ML1:reach', { seed: 1 });
      const env = reach.makeEnv();
      const task = reach.testTasks(1)[0];
      const reference = maml.session({ seed: 6 });
      const returns: number[] = [];
      let reward = 0;
      for (let episode = 0; episode < 13; episode++) {
        let obs = env.reset({ task, seed: 100 + episode });
        let episodeReturn = 0;
        for (let t = 0; t < 500; t++) {
          const start = episode > 0 && t === 0;
          client.send({ obs: Array.from(obs), reward, episode_start: start });
          const reply = (await client.read()) as { actions: number[]; step: number; adapted: boolean };
          // The inner step comes with the first observation after the tenth episode ended.
          expect(reply.adapted).toBe(episode >= 10);
          const action = Float32Array.from(reply.actions);
          expect(Array.from(action)).toEqual(Array.from(reference.act(obs, Math.fround(reward), start)));
          const step = env.step(action);
          episodeReturn += step.reward;
          obs = step.obs;
          reward = step.reward;
        }
        returns.push(episodeReturn);
      }
      client.send({ end: true });
      expect(await client.read()).toEqual({ done: true, steps: 13 * 500 });
      await client.finish();
      // What the step bought on this held-out goal: the evaluation episodes against the adaptation episodes.
      const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
      expect(mean(returns.slice(10))).toBeGreaterThan(mean(returns.slice(0, 10)) * 1.3);
      reference.dispose(); env.close();
    } finally {
      await mamlServer.close();
      maml.dispose();
    }
  }, 240_000);
});
