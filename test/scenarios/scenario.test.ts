import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ScenarioError, loadScenario, parseScenario, scenarioJsonSchema, scenarioProblems } from '../../scenarios/scenario.ts';

const catalogue = [
  ...readdirSync('scenarios').filter((f) => f.endsWith('.yaml')).map((f) => join('scenarios', f)),
  ...readdirSync('scenarios/experts').map((f) => join('scenarios/experts', f)),
];

describe('scenario catalogue', () => {
  it('has the default, an expert scenario per family, ML1/ML10 training and the tabular runs', () => {
    for (const file of ['default.yaml', 'ml1-reach.yaml', 'ml10.yaml', 'bandit.yaml', 'tabular-mdp.yaml', 'replay.yaml']) expect(catalogue).toContain(join('scenarios', file));
    expect(readdirSync('scenarios/experts')).toHaveLength(16);
  });

  it.each(catalogue)('%s validates and refers only to things that exist', (file) => {
    const scenario = loadScenario(file);
    expect(scenarioProblems(scenario, existsSync)).toEqual([]);
    expect(readFileSync(file, 'utf8')).toMatch(/^# yaml-language-server: \$schema=/);
  });

  it('ships the JSON Schema editors use, up to date with the code', () => {
    expect(JSON.parse(readFileSync('scenarios/scenario.schema.json', 'utf8'))).toEqual(scenarioJsonSchema());
  });
});

describe('scenario errors', () => {
  const error = (text: string) => {
    try {
      parseScenario(text, 'bad.yaml');
    } catch (e) {
      expect(e).toBeInstanceOf(ScenarioError);
      return (e as Error).message;
    }
    throw new Error('the scenario was accepted');
  };

  it('names the file, line, column and field, what was expected and what was found', () => {
    expect(error('kind: train\nbenchmark: bandit:k5n10\niterations: two\n')).toBe('bad.yaml:3:13: iterations: Invalid input: expected number, received string (found "two")');
    expect(error('kind: serve\nsims:\n  - family: reach\n    rate: -1\n')).toBe('bad.yaml:4:11: sims[0].rate: Too small: expected number to be >0 (found -1)');
    expect(error('kind: eval\n')).toBe('bad.yaml:1:1: checkpoint: required, expected string (found nothing)');
  });

  it('refuses unknown keys, pointing at the key and listing the known ones', () => {
    expect(error('kind: serve\ngateway:\n  host: 127.0.0.1\n  prot: 9\n')).toBe('bad.yaml:4:3: gateway.prot: unknown key; expected one of host, port, token, record (found "prot")');
    expect(error('kind: train\nbenchmark: x\niterations: 1\nrl2:\n  ppo:\n    gama: 1\n')).toMatch(/^bad\.yaml:6:5: rl2\.ppo\.gama: unknown key; expected one of gamma, lambda, /);
  });

  it('asks for a kind, and reports YAML syntax errors and duplicate keys with their position', () => {
    expect(error('benchmark: x\n')).toBe('bad.yaml:1:1: kind: expected one of train, eval, serve, replay, found nothing (add e.g. "kind: train")');
    expect(error('kind: trian\n')).toBe('bad.yaml:1:7: kind: expected one of train, eval, serve, replay, found "trian"');
    expect(error('kind: train\nbenchmark: a\nbenchmark: b\n')).toBe('bad.yaml:3:1: not valid YAML: Map keys must be unique');
    expect(error('- just\n- a list\n')).toMatch(/a scenario is a YAML mapping with a kind .*found a list/);
  });

  it('checks references the schema cannot: families, task ranges, checkpoints', () => {
    const serve = parseScenario('kind: serve\nsims:\n  - family: rech\n  - benchmark: ML1:reach\n    tasks: [50]\n    policy: nowhere.json\n');
    expect(scenarioProblems(serve, existsSync)).toEqual([
      expect.stringMatching(/^sims\[0\]: unknown family 'rech'; expected one of: reach, push,/),
      'sims[1].tasks[0]: task 50 is not a task of ML1:reach test; expected an index in [0, 49]',
      'sims[1].policy: no checkpoint or run folder at nowhere.json (expected "expert" or a checkpoint path)',
    ]);
  });
});
