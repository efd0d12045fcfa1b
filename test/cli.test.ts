import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { FAMILIES } from '../sim/index.ts';
import { COMMAND_NAMES, commandPage } from '../scenarios/cli.ts';

const cli = (...args: string[]) => spawnSync(process.execPath, ['bin/metamanip.js', ...args], { encoding: 'utf8', timeout: 120_000 });

describe('metamanip CLI', () => {
  it('prints help with every command and exits 0', () => {
    const r = cli('--help');
    expect(r.status).toBe(0);
    for (const command of COMMAND_NAMES) expect(r.stdout).toMatch(new RegExp(`\\n  ${command} +\\S`));
  });

  it('has a docs page per command, generated from its --help and up to date, linked from the README', () => {
    const readme = readFileSync('README.md', 'utf8');
    for (const command of COMMAND_NAMES) {
      expect(readFileSync(`docs/commands/${command}.md`, 'utf8'), `docs/commands/${command}.md is stale: npx tsx scripts/command-docs.ts`).toBe(commandPage(command));
      expect(readme).toContain(`docs/commands/${command}.md`);
      const help = cli(command, '--help');
      expect(help.status).toBe(0);
      expect(help.stdout).toContain('Examples:');
      expect(commandPage(command)).toContain(help.stdout.trim());
    }
  });

  it('lists the families', () => {
    const r = cli('families', '--json');
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout).map((f: { name: string }) => f.name)).toEqual([...FAMILIES.keys()]);
  });

  it('lists the benchmarks and prints a task table as JSON', () => {
    const list = cli('benchmarks', '--json');
    expect(list.status).toBe(0);
    expect(JSON.parse(list.stdout).names).toEqual(['MT1:<family>', 'ML1:<family>', 'MT10', 'ML10', 'MT50', 'ML45']);
    const table = cli('benchmarks', 'ML10', '--seed', '2');
    expect(table.status).toBe(0);
    const parsed = JSON.parse(table.stdout);
    expect(parsed.tasks.filter((t: { split: string }) => t.split === 'train')).toHaveLength(500);
    expect(parsed.tasks.filter((t: { split: string }) => t.split === 'test')).toHaveLength(250);
    const unknown = cli('benchmarks', 'ML11');
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain("unknown benchmark 'ML11'");
  });

  it('runs an expert and reports success rate, mean return and steps/s as JSON', () => {
    const r = cli('expert', 'reach', '--tasks', '2', '--split', 'train', '--seed', '3', '--json');
    expect(r.status).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.benchmark).toBe('ML1:reach');
    expect(report.episodes).toHaveLength(2);
    expect(report.successRate).toBe(1);
    expect(report.meanReturn).toBeGreaterThan(1000);
    expect(report.stepsPerSecond).toBeGreaterThan(0);
  }, 120_000);

  it('answers usage errors with exit code 2 and a message naming the problem', () => {
    const unknownCommand = cli('fly');
    expect(unknownCommand.status).toBe(2);
    expect(unknownCommand.stderr).toContain("unknown command 'fly'");
    const unknownFamily = cli('expert', 'juggle');
    expect(unknownFamily.status).toBe(2);
    expect(unknownFamily.stderr).toContain("unknown family 'juggle'");
    const badOption = cli('expert', 'reach', '--tasks', 'many');
    expect(badOption.status).toBe(2);
    expect(badOption.stderr).toContain("--tasks must be an integer >= 1, got 'many'");
    const unknownOption = cli('expert', 'reach', '--fast');
    expect(unknownOption.status).toBe(2);
    expect(unknownOption.stderr).toContain("'--fast'");
    for (const command of [['serve', '--record', 'x'], ['run', 'scenarios/default.yaml']]) {
      const badCap = cli(...command, '--record-max-mb', '0');
      expect(badCap.status).toBe(2);
      expect(badCap.stderr).toContain("--record-max-mb must be a positive number of megabytes, got '0'");
    }
  });

  it('answers serve mistakes with what to do: a policy-driven sim without --policy, a misspelt family, a busy port', async () => {
    const noPolicy = cli('serve', '--sim', 'reach@policy', '--no-viewer', '--port', '0');
    expect(noPolicy.status).toBe(2);
    expect(noPolicy.stderr).toContain('--sim reach@policy is driven by the served policy: give it with --policy CKPT');
    const typo = cli('serve', '--sim', 'reech', '--no-viewer', '--port', '0');
    expect(typo.status).toBe(2);
    expect(typo.stderr).toContain("unknown family or benchmark 'reech' (did you mean 'reach'?)");
    expect(cli('expert', 'pick-plce').stderr).toContain("unknown family 'pick-plce' (did you mean 'pick-place'?)");
    // A port some other program holds.
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    try {
      const port = String((holder.address() as AddressInfo).port);
      const busy = cli('serve', '--port', port, '--no-viewer');
      expect(busy.status).toBe(1);
      expect(busy.stderr).toContain(`port ${port} on 127.0.0.1 is already in use (another gateway, or another program); pick another with --port P (--port 0 picks a free one)`);
    } finally {
      holder.close();
    }
  }, 120_000);

  it('runs the simulator benchmark and writes its JSON result', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'metamanip-')), 'sim.json');
    const r = cli('bench', 'sim', '--steps', '300', '--out', out);
    expect(r.status).toBe(0);
    const result = JSON.parse(readFileSync(out, 'utf8'));
    for (const family of FAMILIES.keys()) {
      for (const policy of ['random', 'expert']) {
        const row = result.rows.find((r: { family: string; policy: string }) => r.family === family && r.policy === policy);
        expect(row?.controlStepsPerSec).toBeGreaterThan(0);
      }
    }
  }, 120_000);
});
