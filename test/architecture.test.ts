// The layer rules of .dependency-cruiser.cjs (listed in docs/ARCHITECTURE.md) hold for the whole code
// base: no import cycle, no import against the layer order. A fixture that breaks every rule once
// proves that each rule bites, so the check cannot pass vacuously.

import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ICruiseOptions, type ICruiseResult, type IViolation, cruise } from 'dependency-cruiser';
import extractDepcruiseOptions from 'dependency-cruiser/config-utl/extract-depcruise-options';
import { beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CONFIG = join(ROOT, '.dependency-cruiser.cjs');
/** Every folder of ours that holds code. */
const FOLDERS = ['sim', 'agent', 'bridge', 'scenarios', 'protocol', 'viewer', 'bench', 'test', 'bin', 'scripts'];

let options: ICruiseOptions;
beforeAll(async () => {
  options = await extractDepcruiseOptions(CONFIG);
});

const ruleNames = (): string[] => (options.ruleSet?.forbidden ?? []).map((rule) => rule.name ?? '(unnamed)');

async function cruiseFolders(folders: string[], baseDir: string): Promise<ICruiseResult> {
  const { output } = await cruise(folders, { ...options, baseDir });
  return output as ICruiseResult;
}

/** One line per violation (the rule, the import or the cycle) and the rule's reason on the next. */
function describeViolation(v: IViolation): string {
  const rule = options.ruleSet?.forbidden?.find((r) => r.name === v.rule.name);
  const path = v.cycle?.length ? [v.from, ...v.cycle.map((step) => step.name)].join(' -> ') : `${v.from} -> ${v.to}`;
  const dynamic = v.dependencyTypes?.includes('dynamic-import') ? ' (dynamic import)' : '';
  return `${v.rule.name}: ${path}${dynamic}\n    why: ${rule?.comment ?? '(no comment)'}`;
}

describe('architecture', () => {
  it('has no import cycle and no import against the layer order', async () => {
    const result = await cruiseFolders(FOLDERS, ROOT);
    // The cruise saw the code: every folder's modules are in it.
    for (const folder of FOLDERS) expect(result.modules.some((m) => m.source.startsWith(`${folder}/`)), `modules of ${folder}/ cruised`).toBe(true);
    const found = result.summary.violations.map(describeViolation);
    expect(found, `${found.length} architecture violation(s):\n${found.join('\n')}`).toEqual([]);
  }, 120_000);

  it('lists every rule, with its reason, in docs/ARCHITECTURE.md', () => {
    const doc = readFileSync(join(ROOT, 'docs/ARCHITECTURE.md'), 'utf8');
    for (const rule of options.ruleSet?.forbidden ?? []) {
      expect(rule.comment, `rule ${rule.name} says why it exists`).toBeTruthy();
      expect(doc, `docs/ARCHITECTURE.md lists ${rule.name}`).toContain(`\`${rule.name}\``);
    }
  });

  it('flags each kind of violation in a fixture that breaks every rule once, and allows what the layers allow', async () => {
    const root = mkdtempSync(join(tmpdir(), 'metamanip-architecture-'));
    const files: Record<string, string> = {
      // A cycle, one direction type-only: type imports count as dependencies too.
      'sim/a.ts': "import type { B } from './b.ts';\nexport type A = { b?: B };\n",
      'sim/b.ts': "import type { A } from './a.ts';\nexport type B = { a?: A };\nexport const b = 1;\n",
      'sim/up.ts': "import { x } from '../bridge/x.ts';\nexport const up = x;\n",
      'sim/scene.ts': "import type { Scene } from '../protocol/scene.ts';\nexport type S = Scene;\n",
      'sim/missing.ts': "import { gone } from './gone.ts';\nexport const m = gone;\n",
      'sim/families/index.ts': "import { push } from './push.ts';\nimport { pull } from './pull.ts';\nexport const families = [push, pull];\n",
      'sim/families/push.ts': "export const push = 'push';\n",
      'sim/families/pull.ts': "import { push } from './push.ts';\nexport const pull = push;\n",
      'protocol/scene.ts': "export type Scene = { goal: number[] };\n",
      'protocol/policy.ts': "export const KEYS = ['obs'];\n",
      'protocol/file.ts': "import { readFileSync } from 'node:fs';\nexport const read = readFileSync;\n",
      'protocol/up.ts': "import { b } from '../sim/b.ts';\nexport const p = b;\n",
      'agent/up.ts': "import { x } from '../bridge/x.ts';\nexport const a = x;\n",
      'agent/keys.ts': "import { KEYS } from '../protocol/policy.ts';\nexport const k = KEYS;\n",
      'agent/ok.ts': "import { b } from '../sim/b.ts';\nimport type { Scene } from '../protocol/scene.ts';\nexport const ok: Scene | number = b;\n",
      'bridge/x.ts': "import { b } from '../sim/b.ts';\nimport { k } from '../agent/keys.ts';\nexport const x = [b, k];\n",
      'bridge/up.ts': "import { run } from '../scenarios/run.ts';\nexport const u = run;\n",
      'scenarios/run.ts': "import { x } from '../bridge/x.ts';\nimport { bench } from '../bench/sim.ts';\nexport const run = [x, bench];\n",
      'scenarios/cli.ts': "export async function main() { return (await import('../bench/sim.ts')).bench; }\n",
      'scenarios/up.ts': "import { helper } from '../test/helper.ts';\nexport const s = helper;\n",
      'viewer/src/main.ts': "import { x } from '../../bridge/x.ts';\nimport type { Scene } from '../../protocol/scene.ts';\nexport const v: unknown = x as Scene | unknown;\n",
      'viewer/src/node.ts': "import { join } from 'node:path';\nexport const n = join;\n",
      'viewer/build.ts': "import { x } from '../bridge/x.ts';\nexport const build = x;\n",
      'bench/sim.ts': "import { helper } from '../test/helper.ts';\nexport const bench = helper;\n",
      'test/helper.ts': "export const helper = 1;\n",
      'test/bench.test.ts': "export const later = () => import('../bench/sim.ts');\n",
    };
    try {
      for (const [name, text] of Object.entries(files)) {
        mkdirSync(dirname(join(root, name)), { recursive: true });
        writeFileSync(join(root, name), text);
      }
      const found = (await cruiseFolders(['sim', 'protocol', 'agent', 'bridge', 'scenarios', 'viewer', 'bench', 'test'], root)).summary.violations;
      const flagged = (rule: string, from: string, to?: string) =>
        found.some((v) => v.rule.name === rule && v.from === from && (to === undefined || v.to === to));
      const expected: Array<[rule: string, from: string, to?: string]> = [
        ['no-circular', 'sim/a.ts'],
        ['no-unresolvable', 'sim/missing.ts', './gone.ts'],
        ['protocol-imports-nothing-of-ours', 'protocol/up.ts', 'sim/b.ts'],
        ['protocol-no-node-builtins', 'protocol/file.ts'],
        ['sim-only-on-protocol', 'sim/up.ts', 'bridge/x.ts'],
        ['agent-only-on-sim-protocol', 'agent/up.ts', 'bridge/x.ts'],
        ['agent-knows-no-policy-wire-keys', 'agent/keys.ts', 'protocol/policy.ts'],
        ['bridge-only-on-agent-sim-protocol', 'bridge/up.ts', 'scenarios/run.ts'],
        ['scenarios-only-on-layers-below', 'scenarios/up.ts', 'test/helper.ts'],
        ['viewer-src-only-on-protocol', 'viewer/src/main.ts', 'bridge/x.ts'],
        ['viewer-src-no-node-builtins', 'viewer/src/node.ts'],
        ['viewer-tooling-only-on-viewer-protocol', 'viewer/build.ts', 'bridge/x.ts'],
        ['bench-not-on-test', 'bench/sim.ts', 'test/helper.ts'],
        ['bench-is-a-leaf', 'scenarios/run.ts', 'bench/sim.ts'],
        ['bench-loaded-only-by-the-cli', 'test/bench.test.ts', 'bench/sim.ts'],
        ['families-do-not-import-families', 'sim/families/pull.ts', 'sim/families/push.ts'],
      ];
      const all = found.map(describeViolation).join('\n');
      for (const [rule, from, to] of expected) expect(flagged(rule, from, to), `${rule} flags ${from}${to ? ` -> ${to}` : ''}; found:\n${all}`).toBe(true);
      // Every rule of the config is exercised, so a new rule needs a case here.
      expect(ruleNames().filter((name) => !expected.some(([rule]) => rule === name))).toEqual([]);
      // What the layers allow stays allowed.
      const allowed: Array<[from: string, to: string]> = [
        ['scenarios/cli.ts', 'bench/sim.ts'], // the CLI's dynamic import
        ['sim/families/index.ts', 'sim/families/push.ts'], // the registry imports the families
        ['sim/scene.ts', 'protocol/scene.ts'],
        ['agent/ok.ts', 'sim/b.ts'],
        ['agent/ok.ts', 'protocol/scene.ts'],
        ['bridge/x.ts', 'agent/keys.ts'],
        ['scenarios/run.ts', 'bridge/x.ts'],
        ['viewer/src/main.ts', 'protocol/scene.ts'],
      ];
      for (const [from, to] of allowed) {
        expect(found.filter((v) => v.from === from && v.to === to).map(describeViolation), `${from} -> ${to} is allowed`).toEqual([]);
      }
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  }, 120_000);
});
