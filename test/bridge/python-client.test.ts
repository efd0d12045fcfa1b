// The copyable Python client (clients/python/metamanip_client.py) against a real gateway, run by
// Debian's python3 (websockets 10.4): a Gymnasium-style env, the vector env over step_batch with
// NEXT_STEP autoreset, ML10 family switches through reset options, and the policy role through
// run_trial. Every episode is replayed here on a local env (and the trial on a local policy session):
// the Python side got bit for bit what the simulator and the policy compute.
// With METAMANIP_PY_WEBSOCKETS=<folder holding a newer websockets package> the same check also runs
// against that release (how the client was checked against websockets 17).

import { spawn, spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chooseBackend } from '../../agent/backend.ts';
import { type LoadedPolicy, loadPolicy } from '../../agent/policy.ts';
import { startGateway, type Gateway } from '../../bridge/index.ts';
import { MT1, benchmarkTask, makeEnv, parseBenchmark } from '../../sim/index.ts';

const PYTHON = '/usr/bin/python3';
const CHECK = 'test/bridge/python_client_check.py';
const TOKEN = 'py-client-token';
const HEARTBEAT_MS = 500;
// The real peer must be there (.ci/run installs it): a missing one fails the suite instead of skipping it.
const probe = spawnSync(PYTHON, ['-c', 'import websockets, msgpack, numpy'], { encoding: 'utf8' });
if (probe.status !== 0) throw new Error(`${PYTHON} lacks websockets, msgpack or numpy (apt-get install python3-websockets python3-msgpack python3-numpy): ${probe.stderr ?? probe.error}`);

interface Report {
  websockets: string;
  single: {
    spaces: { obs: [number[], string]; action: [number[], string, number[], number[]]; sample_in_bounds: boolean };
    steps: number; return: number; success: boolean; terminated: boolean; truncated: boolean;
    first_obs: number[]; last_obs: number[]; actions: number[][];
    errors: { after_end: string; nan: [string, string]; bad_task: [string, string]; bad_option: string };
    sim_info: { task: number; family: string }; again_first_obs: number[];
  };
  families: Array<{ family: string; split: string; task: number; obs_shape: number[] }>;
  vector: {
    autoreset_mode: string; obs_shape: number[]; obs_dtype: string; single_action_shape: number[]; action_shape: number[];
    reset_obs: number[][]; info_keys: string[]; actions: number[][]; rewards: number[][]; truncated: boolean[][]; terminated: boolean[][];
    obs0: number[][]; success_mask: boolean[];
  };
  policy: {
    metadata: Record<string, unknown>; results: Array<{ return: number; success: boolean; steps: number }>;
    last: { trial: number; step: number }; actions: number[][]; errors: { short: string };
  };
  wrong_token: string;
}

function runCheck(url: string, pythonPath?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const env = { ...process.env, ...(pythonPath ? { PYTHONPATH: pythonPath } : {}) };
    const child = spawn(PYTHON, [CHECK, url, TOKEN, String(HEARTBEAT_MS / 1000)], { stdio: ['ignore', 'pipe', 'pipe'], env });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

let gateway: Gateway;
let policy: LoadedPolicy;

beforeAll(async () => {
  await chooseBackend('wasm');
  policy = loadPolicy('checkpoints/ml1-reach.json');
  gateway = await startGateway({ port: 0, token: TOKEN, policy, heartbeatMs: HEARTBEAT_MS });
});

afterAll(async () => {
  await gateway?.close();
  policy?.dispose();
});

function checkSingle(single: Report['single']): void {
  expect(single.spaces).toEqual({ obs: [[39], 'float32'], action: [[4], 'float32', [-1, -1, -1, -1], [1, 1, 1, 1]], sample_in_bounds: true });
  expect(single.steps).toBe(500);
  expect(single).toMatchObject({ success: true, terminated: false, truncated: true });
  const benchmark = MT1('reach', 5);
  const env = makeEnv(benchmark, benchmark.test[4]);
  expect(Array.from(env.reset({ seed: 0 }).obs)).toEqual(single.first_obs);
  let total = 0;
  let last: Float32Array = new Float32Array();
  for (const action of single.actions) {
    const step = env.step(action);
    total += step.reward;
    last = step.obs;
  }
  expect(Array.from(last)).toEqual(single.last_obs);
  expect(total).toBeCloseTo(single.return, 6);
  env.close();
  expect(single.errors.after_end).toBe('episode_over');
  expect(single.errors.nan[0]).toBe('bad_action');
  expect(single.errors.nan[1]).toContain('finite');
  expect(single.errors.bad_task[0]).toBe('bad_task');
  expect(single.errors.bad_option).toContain("unknown reset option 'tsak'");
  // reset(options={"task": 1}) moved the sim; a later plain reset stays on that task.
  expect(single.sim_info).toMatchObject({ task: 1, family: 'reach' });
  const other = makeEnv(benchmark, benchmark.test[1]);
  expect(Array.from(other.reset({ seed: 0 }).obs)).toEqual(single.again_first_obs);
  other.close();
}

function checkFamilies(families: Report['families']): void {
  const ml10 = parseBenchmark('ML10', 0);
  const expected = [['train', 0], ['train', 60], ['test', 0]] as const;
  expect(families).toEqual(expected.map(([split, task]) => ({ family: benchmarkTask(ml10, split, task).family, split, task, obs_shape: [39] })));
  expect(new Set(families.map((f) => f.family)).size).toBe(3);
}

function checkVector(vector: Report['vector']): void {
  expect(vector).toMatchObject({ autoreset_mode: 'NextStep', obs_shape: [3, 39], obs_dtype: 'float32', single_action_shape: [4], action_shape: [3, 4] });
  expect(vector.info_keys).toEqual(expect.arrayContaining(['success', '_success', 'tcp', '_tcp']));
  expect(vector.success_mask).toEqual([true, true, true]);
  const benchmark = MT1('reach', 0);
  // Sub-env i was reset with seed 10 + i on its own task.
  vector.reset_obs.forEach((obs, i) => {
    const env = makeEnv(benchmark, benchmark.train[i]);
    expect(Array.from(env.reset({ seed: 10 + i }).obs)).toEqual(obs);
    env.close();
  });
  // Steps 0..499 end the episodes (truncated at 500); step 500 resets instead (reward 0, no flags); step 501 steps again.
  expect(vector.truncated[499]).toEqual([true, true, true]);
  expect(vector.truncated.slice(0, 499).flat().some(Boolean)).toBe(false);
  expect(vector.terminated.flat().some(Boolean)).toBe(false);
  expect(vector.rewards[500]).toEqual([0, 0, 0]);
  expect(vector.truncated[500]).toEqual([false, false, false]);
  expect(vector.rewards[501].every((r) => r > 0)).toBe(true);
  const env = makeEnv(benchmark, benchmark.train[0]);
  env.reset({ seed: 10 });
  let obs: Float32Array = new Float32Array();
  for (let t = 0; t < 500; t++) obs = env.step(vector.actions[t]).obs;
  expect(Array.from(obs)).toEqual(vector.obs0[1]);
  expect(Array.from(env.reset({ task: benchmark.train[0] }).obs)).toEqual(vector.obs0[2]);
  expect(Array.from(env.step(vector.actions[501]).obs)).toEqual(vector.obs0[3]);
  env.close();
}

function checkPolicyTrial(trial: Report['policy']): void {
  expect(trial.metadata).toEqual({ server: 'metamanip', benchmark: 'ML1:reach', obs_size: 39, action_dim: 4, episode_steps: 500 });
  expect(trial.results.map((r) => r.steps)).toEqual([500, 500]);
  expect(trial.last).toEqual({ trial: 2, step: 999 });
  expect(trial.errors.short).toMatch(/'observation\/state' has shape \[38\] \(38 values\); the policy reads 39 values/);
  // The same trial here: the gateway's env and a local policy session fed what run_trial should send
  // (the previous reward with each observation, episode_start on the second episode's first one).
  const benchmark = parseBenchmark('ML1:reach', 1);
  const env = makeEnv(benchmark, benchmark.test[0]);
  const session = policy.session({ seed: 0 });
  session.reset({ seed: 7 });
  let reward = 0, episodeStart = false, i = 0;
  for (let episode = 0; episode < 2; episode++) {
    let obs = env.reset({ seed: 21 + episode }).obs;
    let total = 0;
    for (let t = 0; t < 500; t++, i++) {
      expect(Array.from(session.act(obs, reward, episodeStart))).toEqual(trial.actions[i]);
      episodeStart = false;
      const step = env.step(trial.actions[i]);
      obs = step.obs;
      reward = step.reward;
      total += step.reward;
    }
    expect(total).toBeCloseTo(trial.results[episode].return, 6);
    episodeStart = true;
  }
  session.dispose();
  env.close();
}

function checkReport(report: Report): void {
  checkSingle(report.single);
  checkFamilies(report.families);
  checkVector(report.vector);
  checkPolicyTrial(report.policy);
  expect(report.wrong_token).toMatch(/^InvalidStatus(Code)?$/);
}

describe('the Python client (clients/python/metamanip_client.py)', () => {
  it('works with Debian\'s websockets 10.4 (and a newer release given in $METAMANIP_PY_WEBSOCKETS): env, vector env, ML10 switches, the policy role', async () => {
    const releases = [undefined, process.env.METAMANIP_PY_WEBSOCKETS].filter((folder, i) => i === 0 || folder);
    for (const folder of releases) {
      const { code, stdout, stderr } = await runCheck(gateway.url, folder);
      expect(stderr).toBe('');
      expect(code).toBe(0);
      const report = JSON.parse(stdout) as Report;
      if (folder === undefined) expect(report.websockets).toBe('10.4');
      else expect(report.websockets).not.toBe('10.4');
      checkReport(report);
    }
  }, 360_000);
});
