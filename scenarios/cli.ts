// The metamanip command line: parses arguments, runs a command, returns the exit code
// (0 ok, 1 failure, 2 usage error).

import { parseArgs, type ParseArgsConfig } from 'node:util';
import { FAMILIES, ML1, runExpert, type Benchmark } from '../sim/index.ts';
import { formatSimBench, runSimBench, writeResult } from '../bench/sim.ts';

class UsageError extends Error {}

interface Command {
  summary: string;
  usage: string;
  help: string;
  options: NonNullable<ParseArgsConfig['options']>;
  run(values: Record<string, string | boolean | undefined>, positionals: string[]): Promise<number> | number;
}

const progress = (text: string) => { if (process.stderr.isTTY) process.stderr.write(`\r${text}\x1b[K`); };
const endProgress = () => { if (process.stderr.isTTY) process.stderr.write('\r\x1b[K'); };

function integerOption(values: Record<string, unknown>, name: string, fallback: number, min: number): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < min) throw new UsageError(`--${name} must be an integer >= ${min}, got '${String(raw)}'`);
  return value;
}

const COMMANDS: Record<string, Command> = {
  families: {
    summary: 'list the task families',
    usage: 'metamanip families [--json]',
    help: 'Lists every task family with its random box and success threshold.',
    options: { json: { type: 'boolean' } },
    run(values) {
      const rows = [...FAMILIES.values()].map((f) => ({
        name: f.name, summary: f.summary, params: f.paramNames, low: f.randomBox.low, high: f.randomBox.high, successThreshold: f.successThreshold,
      }));
      if (values.json) console.log(JSON.stringify(rows, null, 2));
      else for (const r of rows) console.log(`${r.name.padEnd(12)} ${r.summary} (success within ${r.successThreshold} m)`);
      return 0;
    },
  },
  expert: {
    summary: "run a family's scripted expert on ML1 tasks",
    usage: 'metamanip expert <family|all> [--tasks N] [--split train|test] [--seed S] [--json]',
    help: [
      "Runs the family's scripted expert for one 500-step episode on each task of ML1(family, seed)",
      'and prints the success rate (success flag set at any step), mean return and control steps/s.',
      '',
      'Options:',
      '  --tasks N               number of tasks to run, 1..50 (default 50)',
      '  --split train|test      which split of ML1 (default test)',
      '  --seed S                benchmark seed (default 0)',
      '  --json                  print the full report as JSON',
      '',
      'Examples:',
      '  metamanip expert pick-place',
      '  metamanip expert all --tasks 10 --split train --json',
    ].join('\n'),
    options: { tasks: { type: 'string' }, split: { type: 'string' }, seed: { type: 'string' }, json: { type: 'boolean' } },
    run(values, positionals) {
      const [which, ...extra] = positionals;
      if (!which) throw new UsageError('expert needs a family name (or "all")');
      if (extra.length) throw new UsageError(`unexpected argument '${extra[0]}'`);
      const families = which === 'all' ? [...FAMILIES.keys()] : [which];
      for (const f of families) if (!FAMILIES.has(f)) throw new UsageError(`unknown family '${f}'; expected one of: ${[...FAMILIES.keys()].join(', ')}, all`);
      const split = (values.split ?? 'test') as string;
      if (split !== 'train' && split !== 'test') throw new UsageError(`--split must be train or test, got '${split}'`);
      const seed = integerOption(values, 'seed', 0, 0);
      const tasks = integerOption(values, 'tasks', 50, 1);
      if (tasks > 50) throw new UsageError(`--tasks must be at most 50 (ML1 has 50 tasks per split), got ${tasks}`);
      const reports = families.map((family) => {
        const benchmark: Benchmark = ML1(family, seed);
        const report = runExpert(benchmark, split, { tasks, onEpisode: (done, total) => progress(`${family}: episode ${done}/${total}`) });
        endProgress();
        return { family, ...report };
      });
      if (values.json) {
        console.log(JSON.stringify(families.length === 1 ? reports[0] : reports, null, 2));
      } else {
        console.log(`scripted experts on ML1 ${split} tasks (seed ${seed}, ${tasks} tasks each)`);
        console.log('family        success   mean return   control steps/s');
        for (const r of reports) console.log(`${r.family.padEnd(13)} ${(100 * r.successRate).toFixed(1).padStart(6)} %   ${r.meanReturn.toFixed(1).padStart(11)}   ${r.stepsPerSecond.toFixed(0).padStart(15)}`);
      }
      return 0;
    },
  },
  bench: {
    summary: 'run a benchmark (sim) and write its JSON result',
    usage: 'metamanip bench sim [--steps N] [--out FILE] [--json]',
    help: [
      'Benchmarks the simulator on one thread: control steps/s per family with uniform random',
      'actions and with the scripted expert, physics steps/s, and a bare-Rapier baseline from the',
      'same run. Writes the result as JSON.',
      '',
      'Options:',
      '  --steps N     timed control steps per family and policy (default 10000)',
      '  --out FILE    where to write the JSON result (default bench/results/sim.json)',
      '  --json        print the JSON result instead of the table',
    ].join('\n'),
    options: { steps: { type: 'string' }, out: { type: 'string' }, json: { type: 'boolean' } },
    run(values, positionals) {
      if (positionals[0] !== 'sim' || positionals.length > 1) throw new UsageError(`bench needs a benchmark name: sim${positionals[0] ? ` (got '${positionals.join(' ')}')` : ''}`);
      const steps = integerOption(values, 'steps', 10_000, 100);
      const out = (values.out as string | undefined) ?? 'bench/results/sim.json';
      const result = runSimBench({ steps, onProgress: (line) => process.stderr.write(line + '\n') });
      writeResult(out, result);
      console.log(values.json ? JSON.stringify(result, null, 2) : `${formatSimBench(result)}\n\nwrote ${out}`);
      return 0;
    },
  },
};

function topHelp(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((k) => k.length));
  return [
    'metamanip: MetaWorld-style manipulation tasks on a Rapier-simulated Sawyer-like arm',
    '',
    'Usage: metamanip <command> [options]',
    '',
    'Commands:',
    ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`),
    '',
    "Run 'metamanip <command> --help' for a command's options.",
    'Exit codes: 0 ok, 1 failure, 2 usage error.',
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(topHelp());
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    console.error(`metamanip: unknown command '${name}'\n\n${topHelp()}`);
    return 2;
  }
  try {
    const { values, positionals } = parseArgs({ args: rest, options: { ...command.options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
    if (values.help) {
      console.log(`Usage: ${command.usage}\n\n${command.help}`);
      return 0;
    }
    return await command.run(values, positionals);
  } catch (error) {
    const usage = error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    console.error(`metamanip ${name}: ${(error as Error).message}`);
    if (usage) console.error(`Usage: ${command.usage}`);
    return usage ? 2 : 1;
  }
}
