// A real Python peer (Debian's python3 with websockets 10.4 + msgpack + numpy) drives a full
// 500-step episode over the controller role; its actions replayed locally give the same obs.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type Gateway } from '../../bridge/index.ts';
import { MT1, makeEnv } from '../../sim/index.ts';

const PYTHON = '/usr/bin/python3';

function runPython(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(PYTHON, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe.runIf(existsSync(PYTHON))('Python controller client', () => {
  let gateway: Gateway;
  beforeAll(async () => {
    gateway = await startGateway({ port: 0, token: 'py-token' });
  });
  afterAll(() => gateway.close());

  it('runs a full episode with numpy arrays, and its actions replay bit for bit', async () => {
    const { code, stdout, stderr } = await runPython(['test/bridge/controller_client.py', gateway.url, 'py-token']);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const report = JSON.parse(stdout) as {
      steps: number; return: number; success: boolean; first_obs: number[]; last_obs: number[]; actions: number[][];
      refused: [string, string, string, string, string]; batch: Array<[string, number[], string]>; closed: string;
    };
    expect(report.steps).toBe(500);
    expect(report.success).toBe(true);
    expect(report.refused.slice(0, 2)).toEqual(['error', 'bad_action']);
    expect(report.refused[2]).toContain('finite');
    expect(report.refused[3]).toBe('bad_action');
    expect(report.refused[4]).toBe('reset');
    expect(report.batch.map((b) => b.slice(1))).toEqual([[[39], 'float32'], [[39], 'float32']]);
    expect(report.closed).toBe('close');

    const benchmark = MT1('reach', 5);
    const env = makeEnv(benchmark, benchmark.test[4]);
    const first = env.reset({ seed: 0 }).obs;
    expect(Array.from(first)).toEqual(report.first_obs);
    let total = 0;
    let last = first;
    for (const action of report.actions) {
      const step = env.step(action);
      total += step.reward;
      last = step.obs;
    }
    expect(Array.from(last)).toEqual(report.last_obs);
    expect(total).toBeCloseTo(report.return, 6);
    env.close();
  });
});
