import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ALGORITHM_NAMES } from '../../agent/algorithms.ts';

const cli = (...args: string[]) => spawnSync(process.execPath, ['bin/metamanip.js', ...args], { encoding: 'utf8', timeout: 120_000 });

describe('metamanip train / eval', () => {
  it('documents both commands with their options, defaults and examples', () => {
    const top = cli('--help');
    expect(top.stdout).toMatch(/train\s+train a meta-RL agent/);
    expect(top.stdout).toMatch(/eval\s+evaluate a trained checkpoint/);
    const train = cli('train', '--help');
    expect(train.status).toBe(0);
    for (const text of ['--resume', '--run-dir DIR', 'default runs/<scenario name>', 'METAMANIP_BACKEND', 'Examples:']) expect(train.stdout).toContain(text);
    // Every registered algorithm is named in the help (the list is written out there, so it can fall behind).
    for (const name of ALGORITHM_NAMES) expect(train.stdout).toMatch(new RegExp(`[\\s(]${name}[\\s,;.)]`));
    const evaluate = cli('eval', '--help');
    expect(evaluate.status).toBe(0);
    for (const text of ['--benchmark NAME', 'tabular-mdp:n<episodes>', '--tasks N', '--json']) expect(evaluate.stdout).toContain(text);
  });

  it('answers usage errors with exit code 2 and names the problem', () => {
    const noScenario = cli('train');
    expect(noScenario.status).toBe(2);
    expect(noScenario.stderr).toContain('train needs a scenario file');
    const badBackend = cli('eval', 'checkpoints/x.json', '--backend', 'gpu');
    expect(badBackend.status).toBe(2);
    expect(badBackend.stderr).toContain("--backend must be one of auto, node-gpu, node, webgpu, wasm, cpu, got 'gpu'");
    const badTasks = cli('eval', 'checkpoints/x.json', '--tasks', '0');
    expect(badTasks.status).toBe(2);
    expect(badTasks.stderr).toContain("--tasks must be an integer >= 1, got '0'");
  });

  it('trains from a scenario file, evaluates the run, and refuses a checkpoint on tasks it cannot act in', () => {
    const dir = mkdtempSync(join(tmpdir(), 'metamanip-cli-'));
    const scenario = join(dir, 'tiny.yaml');
    writeFileSync(scenario, ['kind: train', 'benchmark: bandit:k5n10', 'seed: 2', 'iterations: 2', 'rl2: { tasksPerIteration: 20, hidden: 8 }', 'evaluation: { every: 1, tasks: 20 }'].join('\n'));
    const run = join(dir, 'run');
    const trained = cli('train', scenario, '--run-dir', run, '--quiet');
    expect(trained.status, trained.stderr).toBe(0);
    expect(trained.stdout).toContain(`run ${run}: finished after 2 iterations`);
    const evaluated = cli('eval', run, '--tasks', '30', '--json');
    expect(evaluated.status, evaluated.stderr).toBe(0);
    const report = JSON.parse(evaluated.stdout).report;
    expect(report.benchmark).toBe('bandit:k5n10');
    expect(report.tasks).toBe(30);
    expect(report.perTask).toHaveLength(30);
    const wrong = cli('eval', run, '--benchmark', 'tabular-mdp:n10');
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toContain('was trained on bandit:k5n10 and cannot act in tabular-mdp:n10');
    const again = cli('train', scenario, '--run-dir', run, '--quiet');
    expect(again.status).toBe(1);
    expect(again.stderr).toContain('already holds a run; resume it with --resume');
    writeFileSync(scenario, 'kind: train\nbenchmark: bandit:k5n10\niterations: two\n');
    const invalid = cli('train', scenario, '--run-dir', join(dir, 'other'));
    expect(invalid.status).toBe(1);
    expect(invalid.stderr).toMatch(/tiny\.yaml:3:13: iterations: .*expected number.*\(found "two"\)/);
  }, 120_000);
});
