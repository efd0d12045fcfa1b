import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ScenarioError, loadScenario, parseScenario, scenarioJsonSchema, scenarioProblems } from '../../scenarios/scenario.ts';
import { FAMILIES } from '../../sim/index.ts';

const catalogue = [
  ...readdirSync('scenarios').filter((f) => f.endsWith('.yaml')).map((f) => join('scenarios', f)),
  ...readdirSync('scenarios/experts').map((f) => join('scenarios/experts', f)),
];

describe('scenario catalogue', () => {
  it('has the default, an expert scenario per family, ML1/ML10 training and the tabular runs', () => {
    for (const file of ['default.yaml', 'ml1-reach.yaml', 'ml10.yaml', 'bandit.yaml', 'tabular-mdp.yaml', 'replay.yaml']) expect(catalogue).toContain(join('scenarios', file));
    expect(readdirSync('scenarios/experts').map((f) => f.replace(/\.yaml$/, '')).sort()).toEqual([...FAMILIES.keys()].sort());
  });

  it('is listed in full in docs/SCENARIOS.md', () => {
    const docs = readFileSync('docs/SCENARIOS.md', 'utf8');
    for (const file of catalogue.filter((f) => !f.startsWith(join('scenarios', 'experts')))) expect(docs, file).toContain(`\`${file}\``);
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
    expect(error('kind: serve\ngateway:\n  host: 127.0.0.1\n  prot: 9\n')).toBe('bad.yaml:4:3: gateway.prot: unknown key (did you mean \'port\'?); expected one of host, port, token, record, recordMaxMb (found "prot")');
    expect(error('kind: train\nbenchmark: x\niterations: 1\nrl2:\n  ppo:\n    gama: 1\n')).toMatch(/^bad\.yaml:6:5: rl2\.ppo\.gama: unknown key \(did you mean 'gamma'\?\); expected one of gamma, lambda, /);
  });

  it('asks for a kind, and reports YAML syntax errors and duplicate keys with their position', () => {
    expect(error('benchmark: x\n')).toBe('bad.yaml:1:1: kind: expected one of train, eval, serve, replay, found nothing (add e.g. "kind: train")');
    expect(error('kind: trian\n')).toBe('bad.yaml:1:7: kind: expected one of train, eval, serve, replay, found "trian" (did you mean \'train\'?)');
    expect(error('kind: train\nbenchmark: a\nbenchmark: b\n')).toBe('bad.yaml:3:1: not valid YAML: Map keys must be unique');
    expect(error('- just\n- a list\n')).toMatch(/a scenario is a YAML mapping with a kind .*found a list/);
  });

  it('reports every schema error of a file, in the order of the file, each with its line and column', () => {
    const text = [
      'kind: serve',            // 1
      'gateway:',               // 2
      '  prot: 9000',           // 3
      '  host: 1',              // 4
      'sims:',                  // 5
      '  - family: reach',      // 6
      '    rate: -1',           // 7
      '  - benchmark: ML10',    // 8
      '    spead: 2',           // 9
      '    tasks: [0, -1]',     // 10
      'duration: soon',         // 11
    ].join('\n');
    let thrown: unknown;
    try { parseScenario(text, 'bad.yaml'); } catch (e) { thrown = e; }
    expect(thrown).toBeInstanceOf(ScenarioError);
    expect((thrown as ScenarioError).problems).toEqual([
      expect.stringMatching(/^bad\.yaml:3:3: gateway\.prot: unknown key \(did you mean 'port'\?\)/),
      'bad.yaml:4:9: gateway.host: Invalid input: expected string, received number (found 1)',
      'bad.yaml:7:11: sims[0].rate: Too small: expected number to be >0 (found -1)',
      expect.stringMatching(/^bad\.yaml:9:5: sims\[1\]\.spead: unknown key; expected one of family, benchmark, /),
      'bad.yaml:10:16: sims[1].tasks[1]: Too small: expected number to be >=0 (found -1)',
      'bad.yaml:11:11: duration: Invalid input: expected number, received string (found "soon")',
    ]);
    expect((thrown as Error).message).toBe((thrown as ScenarioError).problems.join('\n'));
  });

  it('checks references the schema cannot (families, task ranges, checkpoints), pointing at the field', () => {
    const serve = parseScenario('kind: serve\nsims:\n  - family: rech\n  - benchmark: ML1:reach\n    tasks: [50]\n    policy: nowhere.json\n', 'serve.yaml');
    expect(scenarioProblems(serve, existsSync)).toEqual([
      expect.stringMatching(/^serve\.yaml:3:13: sims\[0\]\.family: unknown family 'rech' \(did you mean 'reach'\?\); expected one of: reach, push,/),
      'serve.yaml:5:13: sims[1].tasks[0]: task 50 is not a task of ML1:reach test; expected an index in [0, 49]',
      'serve.yaml:6:13: sims[1].policy: no checkpoint or run folder at nowhere.json (expected "expert" or a checkpoint path)',
    ]);
    const train = parseScenario('kind: train\nbenchmark: ML1:reech\niterations: 3\n', 'train.yaml');
    expect(scenarioProblems(train, existsSync)).toEqual([
      expect.stringMatching(/^train\.yaml:2:12: benchmark: unknown family 'reech' in benchmark 'ML1:reech' \(did you mean 'ML1:reach'\?\)/),
    ]);
    const bptt = parseScenario('kind: train\nbenchmark: bandit:k5n10\niterations: 3\nrl2:\n  bpttSteps: 3\n', 'train.yaml');
    expect(scenarioProblems(bptt, existsSync)).toEqual(['train.yaml:5:14: rl2.bpttSteps: 3 must divide the trial length (10 episodes x 1 steps = 10)']);
    // A scenario made in code has no file: its problems name the field alone.
    expect(scenarioProblems({ kind: 'eval', checkpoint: 'nowhere.json', deterministic: false }, existsSync)).toEqual(['checkpoint: no checkpoint or run folder at nowhere.json']);
  });

  it('flags an eval scenario whose checkpoint was trained on another benchmark', () => {
    const other = parseScenario('kind: eval\ncheckpoint: checkpoints/ml1-reach.json\nbenchmark: ML1:push\n', 'eval.yaml');
    expect(scenarioProblems(other, existsSync)).toEqual([
      "eval.yaml:3:12: benchmark: ML1:push, but checkpoints/ml1-reach.json was trained on ML1:reach: its held-out tasks are ML1:reach's test tasks (set benchmark: ML1:reach, or leave benchmark out)",
    ]);
    const typo = parseScenario('kind: eval\ncheckpoint: checkpoints/ml1-reach.json\nbenchmark: ML11\n', 'eval.yaml');
    expect(scenarioProblems(typo, existsSync)).toEqual([expect.stringMatching(/^eval\.yaml:3:12: benchmark: unknown benchmark 'ML11' \(did you mean 'ML10'\?\)/)]);
    expect(scenarioProblems(parseScenario('kind: eval\ncheckpoint: checkpoints/ml1-reach.json\nbenchmark: ML1:reach\n'), existsSync)).toEqual([]);
  });
});
