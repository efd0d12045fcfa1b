// The metamanip command line: parses arguments, runs a command, returns the exit code
// (0 ok, 1 failure, 2 usage error).

import { parseArgs, type ParseArgsConfig } from 'node:util';
import { BENCHMARK_NAMES, FAMILIES, ML1, benchmarkKinds, didYouMean, parseBenchmark, runExpert, taskTable, type Benchmark } from '../sim/index.ts';

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

function portOption(values: Record<string, unknown>, fallback: number): number {
  const port = integerOption(values, 'port', fallback, 0);
  if (port > 65535) throw new UsageError(`--port must be at most 65535, got ${port}`);
  return port;
}

function recordMaxMbOption(values: Record<string, unknown>): number | undefined {
  const raw = values['record-max-mb'];
  if (raw === undefined) return undefined;
  const mb = Number(raw);
  if (!(Number.isFinite(mb) && mb > 0)) throw new UsageError(`--record-max-mb must be a positive number of megabytes, got '${String(raw)}'`);
  return mb;
}

function subjectOption(values: Record<string, unknown>, name: string): string | undefined {
  const raw = values[name];
  if (raw === undefined) return undefined;
  if (!/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(String(raw))) throw new UsageError(`--${name} must be NATS subject tokens (letters, digits, "_", "-") joined by ".", got '${String(raw)}'`);
  return String(raw);
}

const BACKENDS = ['auto', 'node-gpu', 'node', 'webgpu', 'wasm', 'cpu'];
function backendOption(values: Record<string, unknown>): string | undefined {
  const raw = values.backend;
  if (raw === undefined) return undefined;
  if (!BACKENDS.includes(String(raw))) throw new UsageError(`--backend must be one of ${BACKENDS.join(', ')}, got '${String(raw)}'`);
  return String(raw);
}

const COMMANDS: Record<string, Command> = {
  families: {
    summary: 'list the task families',
    usage: 'metamanip families [--json]',
    help: [
      'Lists every task family with what it asks of the robot and its success threshold; with --json',
      'also its task parameters and their random box.',
      '',
      'Options:',
      '  --json    print the families as JSON',
      '',
      'Examples:',
      '  metamanip families',
      '  metamanip families --json',
    ].join('\n'),
    options: { json: { type: 'boolean' } },
    run(values) {
      const rows = [...FAMILIES.values()].map((f) => ({
        name: f.name, summary: f.summary, params: f.paramNames, low: f.randomBox.low, high: f.randomBox.high,
        successThreshold: f.successThreshold, successUnit: f.successUnit ?? 'm',
      }));
      const width = Math.max(...rows.map((r) => r.name.length));
      if (values.json) console.log(JSON.stringify(rows, null, 2));
      else for (const r of rows) console.log(`${r.name.padEnd(width)}  ${r.summary} (success within ${Number(r.successThreshold.toFixed(3))} ${r.successUnit})`);
      return 0;
    },
  },
  benchmarks: {
    summary: 'list the benchmarks, or print one\'s task table',
    usage: 'metamanip benchmarks [<name>] [--seed S] [--json]',
    help: [
      'Without a name, lists the benchmarks. With one (MT1:<family>, ML1:<family>, MT10, ML10, MT50, ML45),',
      'prints its task table: every train and test task with its family and parameter vector.',
      'Task lists are a pure function of the seed.',
      '',
      'Options:',
      '  --seed S    benchmark seed (default 0)',
      '  --json      print JSON (the task table is always JSON)',
      '',
      'Examples:',
      '  metamanip benchmarks',
      '  metamanip benchmarks ML10 --seed 3 > ml10-seed3.json',
    ].join('\n'),
    options: { seed: { type: 'string' }, json: { type: 'boolean' } },
    run(values, positionals) {
      const [name, ...extra] = positionals;
      if (extra.length) throw new UsageError(`unexpected argument '${extra[0]}'`);
      const seed = integerOption(values, 'seed', 0, 0);
      if (name !== undefined) {
        let benchmark: Benchmark;
        try {
          benchmark = parseBenchmark(name, seed);
        } catch (error) {
          throw new UsageError((error as Error).message);
        }
        console.log(JSON.stringify(taskTable(benchmark), null, 2));
        return 0;
      }
      // Each kind described from a benchmark value of it (one-family kinds by their first family).
      const splitText = (families: readonly string[], tasks: number, seedText: string) =>
        tasks === 0 ? 'none' : families.length === 1 ? `${tasks} tasks of one family (${seedText})` : `${families.length} families x ${tasks / families.length} (${seedText}): ${families.join(', ')}`;
      const rows = benchmarkKinds().map(({ name: kind, summary, example }) => {
        const b = parseBenchmark(example, seed);
        return {
          name: kind,
          summary,
          train: splitText(b.trainFamilies, b.train.length, 'seed'),
          test: splitText(b.testFamilies, b.test.length, 'seed + 1'),
          goal: b.goalVisible ? 'visible' : 'hidden',
          obs: b.observationSpace.shape[0],
        };
      });
      if (values.json) console.log(JSON.stringify({ names: BENCHMARK_NAMES, families: [...FAMILIES.keys()], benchmarks: rows }, null, 2));
      else for (const r of rows) console.log(`${r.name.padEnd(13)} ${r.summary}\n${''.padEnd(13)} train: ${r.train}\n${''.padEnd(13)} test:  ${r.test}\n${''.padEnd(13)} goal ${r.goal}, ${r.obs}-D observation\n`);
      return 0;
    },
  },
  expert: {
    summary: 'run the scripted experts on a family\'s ML1 tasks or on any benchmark\'s tasks',
    usage: 'metamanip expert <family|all> | --benchmark NAME  [--tasks N] [--split train|test] [--seed S] [--json]',
    help: [
      "Runs the scripted expert of each task's family for one 500-step episode on each task of",
      'ML1(family, seed), or of any benchmark (--benchmark ML10: every train or test task, across',
      'families), and prints the success rate (success flag set at any step), mean return and',
      'control steps/s.',
      '',
      'Options:',
      '  --benchmark NAME        a benchmark instead of a family: MT1:<family>, ML1:<family>, MT10, ML10, MT50, ML45',
      '  --tasks N               number of tasks to run (default: all of the split; ML1 has 50)',
      '  --split train|test      which split (default test)',
      '  --seed S                benchmark seed (default 0)',
      '  --json                  print the full report as JSON',
      '',
      'Examples:',
      '  metamanip expert pick-place',
      '  metamanip expert all --tasks 10 --split train --json',
      '  metamanip expert --benchmark ML10 --split train',
    ].join('\n'),
    options: { benchmark: { type: 'string' }, tasks: { type: 'string' }, split: { type: 'string' }, seed: { type: 'string' }, json: { type: 'boolean' } },
    run(values, positionals) {
      const [which, ...extra] = positionals;
      const named = values.benchmark as string | undefined;
      if ((which === undefined) === (named === undefined)) throw new UsageError('expert needs a family name (or "all") or --benchmark NAME, not both');
      if (extra.length) throw new UsageError(`unexpected argument '${extra[0]}'`);
      const split = (values.split ?? 'test') as string;
      if (split !== 'train' && split !== 'test') throw new UsageError(`--split must be train or test, got '${split}'`);
      const seed = integerOption(values, 'seed', 0, 0);
      let benchmarks: Benchmark[];
      try {
        if (named !== undefined) benchmarks = [parseBenchmark(named, seed)];
        else {
          const families = which === 'all' ? [...FAMILIES.keys()] : [which!];
          for (const f of families) if (!FAMILIES.has(f)) throw new UsageError(`unknown family '${f}'${didYouMean(f, FAMILIES.keys())}; expected one of: ${[...FAMILIES.keys()].join(', ')}, all`);
          benchmarks = families.map((family) => ML1(family, seed));
        }
      } catch (error) {
        throw error instanceof UsageError ? error : new UsageError((error as Error).message);
      }
      const available = Math.min(...benchmarks.map((b) => b[split].length));
      if (available === 0) throw new UsageError(`${benchmarks[0].name} has no ${split} tasks; use --split train`);
      const tasks = integerOption(values, 'tasks', available, 1);
      if (tasks > available) throw new UsageError(`--tasks must be at most ${available} (${benchmarks[0].name} has ${available} ${split} tasks), got ${tasks}`);
      const reports = benchmarks.map((benchmark) => {
        const report = runExpert(benchmark, split, { tasks, onEpisode: (done, total, episode) => progress(`${benchmark.name} ${episode.family}: episode ${done}/${total}`) });
        endProgress();
        return named === undefined ? { family: benchmark.families[0], ...report } : report;
      });
      if (values.json) {
        console.log(JSON.stringify(reports.length === 1 ? reports[0] : reports, null, 2));
        return 0;
      }
      // One row per family: the families of a named benchmark, or the ML1 benchmark of each family.
      const rows = reports.flatMap((report) => {
        const families = [...new Set(report.episodes.map((e) => e.family))];
        return families.map((family) => {
          const episodes = report.episodes.filter((e) => e.family === family);
          const mean = (f: (e: (typeof episodes)[number]) => number) => episodes.reduce((sum, e) => sum + f(e), 0) / episodes.length;
          return { family, tasks: episodes.length, success: mean((e) => (e.success ? 1 : 0)), meanReturn: mean((e) => e.return), stepsPerSecond: report.stepsPerSecond };
        });
      });
      console.log(named === undefined ? `scripted experts on ML1 ${split} tasks (seed ${seed}, ${tasks} tasks each)` : `scripted experts on ${named} ${split} tasks (seed ${seed}, ${tasks} tasks)`);
      const width = Math.max(6, ...rows.map((r) => r.family.length));
      console.log(`${'family'.padEnd(width)}  tasks  success   mean return   control steps/s`);
      for (const r of rows) console.log(`${r.family.padEnd(width)} ${String(r.tasks).padStart(6)} ${(100 * r.success).toFixed(1).padStart(7)} %   ${r.meanReturn.toFixed(1).padStart(11)}   ${r.stepsPerSecond.toFixed(0).padStart(15)}`);
      if (named !== undefined) {
        const all = reports[0];
        console.log(`${'all'.padEnd(width)} ${String(all.episodes.length).padStart(6)} ${(100 * all.successRate).toFixed(1).padStart(7)} %   ${all.meanReturn.toFixed(1).padStart(11)}   ${all.stepsPerSecond.toFixed(0).padStart(15)}`);
      }
      return 0;
    },
  },
  bench: {
    summary: 'run a benchmark (sim) and write its JSON result',
    usage: 'metamanip bench sim [--steps N] [--out FILE] [--json]',
    help: [
      'Benchmarks the simulator: on one thread, control steps/s per family with uniform random',
      'actions and with the scripted expert, physics steps/s and a bare-Rapier baseline from the',
      'same run; then the vector env with 1 and 2 worker threads. Writes the result as JSON.',
      '',
      'Options:',
      '  --steps N     timed control steps per family and policy (default 10000)',
      '  --out FILE    where to write the JSON result (default bench/results/sim.json)',
      '  --json        print the JSON result instead of the table',
      '',
      'The other benchmarks run as scripts: npx tsx bench/agent.ts | bench/bridge.ts | bench/policy.ts |',
      'bench/recording.ts | bench/viewer.ts (each writes bench/results/<name>.json).',
      '',
      'Examples:',
      '  metamanip bench sim',
      '  metamanip bench sim --steps 2000 --out /tmp/sim.json',
    ].join('\n'),
    options: { steps: { type: 'string' }, out: { type: 'string' }, json: { type: 'boolean' } },
    async run(values, positionals) {
      if (positionals[0] !== 'sim' || positionals.length > 1) throw new UsageError(`bench needs a benchmark name: sim${positionals[0] ? ` (got '${positionals.join(' ')}')` : ''}`);
      const steps = integerOption(values, 'steps', 10_000, 100);
      const out = (values.out as string | undefined) ?? 'bench/results/sim.json';
      // Loaded when asked for: bench/ is a leaf that nothing imports at load time.
      const { formatSimBench, runSimBench, writeResult } = await import('../bench/sim.ts');
      const result = runSimBench({ steps, onProgress: (line) => process.stderr.write(line + '\n') });
      writeResult(out, result);
      console.log(values.json ? JSON.stringify(result, null, 2) : `${formatSimBench(result)}\n\nwrote ${out}`);
      return 0;
    },
  },
  train: {
    summary: 'train a meta-RL agent from a scenario file (resumable)',
    usage: 'metamanip train <scenario.yaml> [--run-dir DIR] [--resume] [--iterations N] [--max-iterations N] [--backend B] [--nats URL [--nats-token T | --nats-user U --nats-password P] [--nats-subject S] [--lanes-per-job N]] [--quiet] [--json]\n       metamanip train --resume --run-dir DIR [--iterations N] [...]',
    help: [
      'Trains the agent a scenario file describes (benchmark, algorithm and its settings, seed,',
      'evaluation and checkpoint schedule) into a run folder: config.json, metadata.json,',
      'progress.csv, metrics.jsonl and checkpoints/ (the last few and best.json). A killed run',
      'continues from its last checkpoint with --resume and gives the same numbers as a run that',
      'was never stopped. A scenario with initFrom starts from the weights of another checkpoint',
      'or run folder (fine-tuning; fresh optimiser). Without a scenario file, --resume continues the',
      'run folder with the settings it was started with (its config.json), whatever the scenario',
      'file says today.',
      '',
      "The scenario's algorithm (docs/AGENT.md, \"Algorithms\"): rl2 (the default; any benchmark);",
      'for the simulator benchmarks (box actions) maml, mql (off-policy, replay) or grbal (model-based,',
      'MPC); for bandits and tabular MDPs (discrete actions) qtable-maml, qtable-reptile, qtable-zeros',
      '(tabular Q-learning), dqn-learned-optimizer or dqn-adam. One that cannot act in the benchmark is',
      'refused before a run folder is made, naming the algorithms that can.',
      '',
      'Options:',
      '  --run-dir DIR         the run folder (default runs/<scenario name>)',
      '  --resume              continue the run in the run folder from its last checkpoint',
      '  --iterations N        total iterations, overriding the scenario (e.g. to extend a run)',
      '  --max-iterations N    stop this session after N iterations (the run stays resumable)',
      '  --backend B           TensorFlow.js backend to start from: auto, node-gpu, node, webgpu, wasm, cpu',
      '                        (default: $METAMANIP_BACKEND or auto; a backend that fails falls back)',
      '                        (auto takes webgpu on a GPU only; named, it also runs on SwiftShader)',
      '  --nats URL            sample on rollout workers (metamanip worker) through the NATS server at',
      '                        URL (nats://HOST:4222) instead of in this process; the same numbers either',
      "                        way (docs/DISTRIBUTED.md). Overrides the scenario's rollouts.nats",
      '  --nats-token T        the NATS token (default: $METAMANIP_NATS_TOKEN), or',
      '  --nats-user U --nats-password P',
      '                        a NATS user and password (default: $METAMANIP_NATS_USER, $METAMANIP_NATS_PASSWORD);',
      '                        one of the two is required with --nats. Prefer the environment variables:',
      '                        command lines are visible to other users',
      '  --nats-subject S      subject prefix shared with the workers (default: rollouts.subject or metamanip)',
      '  --lanes-per-job N     lanes (tasks) per job (default: rollouts.lanesPerJob, else a quarter of',
      '                        rl2.tasksPerIteration, rounded up)',
      '  --quiet               no progress bar or log lines (CI); piped or redirected, progress is one',
      '                        line per iteration (at most one per 10 s) instead of the bar',
      '  --json                print the result as JSON',
      '',
      'Examples:',
      '  metamanip train scenarios/bandit.yaml',
      '  metamanip train scenarios/bandit-finetune.yaml      # initFrom: runs/bandit-k5n10',
      '  metamanip train scenarios/ml1-reach.yaml --resume',
      '  metamanip train scenarios/maml-ml1-reach.yaml          # algorithm: maml',
      '  metamanip train scenarios/qtable-mdp.yaml              # algorithm: qtable-maml',
      '  metamanip train --resume --run-dir training/ml1-reach --iterations 120   # its own settings',
      '  METAMANIP_BACKEND=cpu metamanip train scenarios/tabular-mdp.yaml --run-dir runs/mdp-cpu --quiet',
      '  METAMANIP_NATS_TOKEN=s3cret-token metamanip train scenarios/ml1-reach.yaml --nats nats://10.0.0.5:4222',
    ].join('\n'),
    options: {
      'run-dir': { type: 'string' }, resume: { type: 'boolean' }, iterations: { type: 'string' }, 'max-iterations': { type: 'string' },
      backend: { type: 'string' }, quiet: { type: 'boolean' }, json: { type: 'boolean' },
      nats: { type: 'string' }, 'nats-token': { type: 'string' }, 'nats-user': { type: 'string' }, 'nats-password': { type: 'string' },
      'nats-subject': { type: 'string' }, 'lanes-per-job': { type: 'string' },
    },
    async run(values, positionals) {
      const [scenario, ...extra] = positionals;
      if (!scenario && !(values.resume && values['run-dir'])) throw new UsageError('train needs a scenario file (e.g. scenarios/bandit.yaml), or --resume with --run-dir to continue a run with its own settings');
      if (extra.length) throw new UsageError(`unexpected argument '${extra[0]}'`);
      // Loaded on demand: the agent pulls in TensorFlow.js, which the other commands do not need.
      const { formatTrainResult, trainCommand } = await import('./train.ts');
      let result;
      try {
        result = await trainCommand(scenario, {
          runDir: values['run-dir'] as string | undefined,
          resume: Boolean(values.resume),
          iterations: values.iterations === undefined ? undefined : integerOption(values, 'iterations', 1, 1),
          maxIterations: values['max-iterations'] === undefined ? undefined : integerOption(values, 'max-iterations', 1, 1),
          backend: backendOption(values),
          quiet: Boolean(values.quiet || values.json),
          rollouts: {
            nats: values.nats as string | undefined,
            natsToken: values['nats-token'] as string | undefined,
            natsUser: values['nats-user'] as string | undefined,
            natsPassword: values['nats-password'] as string | undefined,
            natsSubject: subjectOption(values, 'nats-subject'),
            lanesPerJob: values['lanes-per-job'] === undefined ? undefined : integerOption(values, 'lanes-per-job', 1, 1),
          },
        });
      } catch (error) {
        // Missing or malformed NATS credentials and URLs are usage errors; a refused login is a failure.
        if (/^(NATS credentials|NATS URL|--nats-|--lanes-per-job)/.test((error as Error).message)) throw new UsageError((error as Error).message);
        throw error;
      }
      console.log(values.json ? JSON.stringify({ ...result, lastEvaluation: result.lastEvaluation && { ...result.lastEvaluation, perTask: undefined } }, null, 2) : formatTrainResult(result));
      return 0;
    },
  },
  worker: {
    summary: 'a rollout worker: samples training trials for trainers over NATS',
    usage: 'metamanip worker --nats URL (--token T | --user U --password P) [--subject S] [--threads N] [--name NAME] [--max-jobs N] [--quiet]',
    help: [
      'Joins the queue group of a NATS server\'s jobs subject and samples training trials for any',
      'trainer started with --nats (or a scenario with rollouts.nats) on the same server: one job at',
      "a time (a group of lanes of one iteration), with the iteration's weights fetched once per",
      "version from the trainer and the trainer's tasks and random streams, so the trainer's numbers",
      'are those of sampling in its own process (docs/DISTRIBUTED.md). Start as many as there are',
      'cores to spare, on any host that reaches the server. Ctrl-C finishes the job in hand first.',
      '',
      'Options:',
      '  --nats URL        the NATS server: nats://HOST:4222 (or several, comma-separated)',
      '  --token T         the NATS token (default: $METAMANIP_NATS_TOKEN), or',
      '  --user U --password P',
      '                    a NATS user and password (default: $METAMANIP_NATS_USER, $METAMANIP_NATS_PASSWORD);',
      '                    one of the two is required. Prefer the environment variables: command',
      '                    lines are visible to other users',
      '  --subject S       subject prefix shared with the trainers (default metamanip)',
      '  --threads N       worker threads stepping robot sims (default 0: this thread; one worker',
      '                    process per core is the usual layout)',
      '  --name NAME       how the worker names itself in the trainers\' logs (default HOST:PID)',
      '  --max-jobs N      stop after N jobs (default: run until Ctrl-C)',
      '  --quiet           no log lines',
      '',
      'Examples:',
      '  METAMANIP_NATS_TOKEN=s3cret-token metamanip worker --nats nats://10.0.0.5:4222',
      '  metamanip worker --nats nats://trainer.lan:4222 --user rollouts --password s3cret --threads 2',
    ].join('\n'),
    options: {
      nats: { type: 'string' }, token: { type: 'string' }, user: { type: 'string' }, password: { type: 'string' }, subject: { type: 'string' },
      threads: { type: 'string' }, name: { type: 'string' }, 'max-jobs': { type: 'string' }, quiet: { type: 'boolean' },
    },
    async run(values, positionals) {
      if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`);
      if (values.nats === undefined) throw new UsageError('worker needs --nats URL: the NATS server the trainers use (e.g. nats://10.0.0.5:4222)');
      const { workerCommand } = await import('./worker.ts');
      let summary;
      try {
        summary = await workerCommand({
          nats: values.nats as string, token: values.token as string | undefined, user: values.user as string | undefined, password: values.password as string | undefined,
          subject: subjectOption(values, 'subject'), threads: integerOption(values, 'threads', 0, 0), name: values.name as string | undefined,
          maxJobs: values['max-jobs'] === undefined ? undefined : integerOption(values, 'max-jobs', 1, 1), quiet: Boolean(values.quiet),
        });
      } catch (error) {
        // Missing or malformed credentials and URLs are usage errors; a refused login is a failure.
        if (/^(NATS credentials|NATS URL)/.test((error as Error).message)) throw new UsageError((error as Error).message);
        throw error;
      }
      if (!values.quiet) console.error(`worker: stopped after ${summary.jobs} job${summary.jobs === 1 ? '' : 's'} (${summary.failed} failed), ${summary.weightsFetched} weights versions fetched`);
      return 0;
    },
  },
  eval: {
    summary: 'evaluate a trained checkpoint with the meta-test protocol',
    usage: 'metamanip eval <checkpoint|run-dir> [--benchmark NAME] [--tasks N] [--seed S] [--eval-seed E] [--deterministic] [--workers W] [--backend B] [--json]',
    help: [
      "Runs MetaWorld's meta-test protocol on a benchmark's test tasks: per task, adaptation",
      'episodes with the exploration policy, adapt, then evaluation episodes; an episode succeeds',
      'if the success flag was set at any step. Prints before/after-adaptation returns and success,',
      "the mean trial return (the RL2 paper's score for bandits and tabular MDPs) and the",
      'adaptation curve: return, success and median steps to success by episode of the trial. It',
      'says which tasks it ran (benchmark, split, seed). A run folder stands for its',
      'checkpoints/best.json (else its latest checkpoint). For bandits of',
      "up to 14 pulls it also prints the policy's exact expected trial return acting with its mode",
      '(every reward sequence enumerated, arms ~ U[0, 1]) and the Bayes-optimal one.',
      '',
      'Options:',
      '  --benchmark NAME   ML1:<family>, MT1:<family>, MT10, ML10, MT50, ML45, bandit:k<arms>n<pulls> or tabular-mdp:n<episodes>',
      '                     (default: the benchmark the checkpoint was trained on)',
      '  --tasks N          test tasks (default: all 50 of ML1, 1000 freshly sampled otherwise)',
      "  --seed S           benchmark seed: which test tasks (default: the checkpoint's seed)",
      '  --eval-seed E      seed of the episodes and the action noise (default 0)',
      '  --deterministic    act with the policy mode instead of sampling',
      '  --workers W        worker threads stepping robot envs (default 0: main thread)',
      '  --backend B        TensorFlow.js backend to start from (default: $METAMANIP_BACKEND or auto)',
      '  --json             print the full report (per task) as JSON',
      '',
      'Examples:',
      '  metamanip eval checkpoints/tabular-mdp-n10.json',
      '  metamanip eval runs/ml1-reach --tasks 10',
      '  metamanip eval checkpoints/bandit-k5n10.json --benchmark bandit:k5n10 --tasks 1000 --json',
    ].join('\n'),
    options: {
      benchmark: { type: 'string' }, tasks: { type: 'string' }, seed: { type: 'string' }, 'eval-seed': { type: 'string' }, deterministic: { type: 'boolean' },
      workers: { type: 'string' }, backend: { type: 'string' }, json: { type: 'boolean' },
    },
    async run(values, positionals) {
      const [path, ...extra] = positionals;
      if (!path) throw new UsageError('eval needs a checkpoint file or a run folder');
      if (extra.length) throw new UsageError(`unexpected argument '${extra[0]}'`);
      const { evalCommand, formatEvalResult } = await import('./eval.ts');
      const result = await evalCommand(path, {
        benchmark: values.benchmark as string | undefined,
        tasks: values.tasks === undefined ? undefined : integerOption(values, 'tasks', 1, 1),
        seed: values.seed === undefined ? undefined : integerOption(values, 'seed', 0, 0),
        evaluationSeed: integerOption(values, 'eval-seed', 0, 0),
        deterministic: Boolean(values.deterministic),
        workers: integerOption(values, 'workers', 0, 0),
        backend: backendOption(values),
        onProgress: values.json ? undefined : (done, total) => progress(`episode ${done}/${total}`),
      });
      endProgress();
      console.log(values.json ? JSON.stringify(result, null, 2) : formatEvalResult(result));
      return 0;
    },
  },
  export: {
    summary: "write a checkpoint's policy (no optimiser state) to a file",
    usage: 'metamanip export <checkpoint|run-dir> <out.json>',
    help: [
      "Copies a checkpoint without its optimiser state (about a third of the size): what evaluation",
      'and serving a policy need, not what resuming training needs. A run folder stands for its',
      'checkpoints/best.json (else its latest checkpoint).',
      '',
      'Examples:',
      '  metamanip export runs/bandit-k5n10 checkpoints/bandit-k5n10.json',
    ].join('\n'),
    options: {},
    async run(_values, positionals) {
      const [from, to, ...extra] = positionals;
      if (!from || !to) throw new UsageError('export needs a checkpoint (or run folder) and an output file');
      if (extra.length) throw new UsageError(`unexpected argument '${extra[0]}'`);
      const { exportPolicy } = await import('../agent/checkpoint.ts');
      const { resolveCheckpointPath } = await import('../agent/run.ts');
      const source = resolveCheckpointPath(from);
      const policy = exportPolicy(source, to);
      console.log(`wrote ${to}: ${policy.benchmark} policy from ${source} (iteration ${policy.iteration}, ${policy.envSteps} env steps)`);
      return 0;
    },
  },
  run: {
    summary: 'run a scenario file (train, eval, serve or replay); npm start runs scenarios/default.yaml',
    usage: 'metamanip run <scenario.yaml> [--duration S] [--port P] [--record DIR] [--record-max-mb MB] [--resume] [--backend B] [--quiet]',
    help: [
      'Runs what a scenario file says (docs/SCENARIOS.md). kind: train trains into runs/<name>;',
      'eval evaluates a checkpoint; serve starts the gateway and the browser viewer with the sims the',
      'file lists, driven by their scripted experts or by checkpoints, and prints the URL to open;',
      'replay serves a recording in the viewer (a folder: its newest complete recording). serve and',
      'replay run until Ctrl-C, which closes connections and finishes the recordings. A file that',
      'does not validate is reported problem by problem, each with its line, column and field; a',
      "gateway port in use, with the option that picks another (--port, or the file's gateway.port).",
      '',
      'Options:',
      '  --duration S   stop a serve or replay scenario after S seconds (default: at Ctrl-C)',
      "  --port P       gateway port instead of the file's (0 picks a free one)",
      "  --record DIR   serve scenarios: record episodes into DIR instead of the file's gateway.record",
      '  --record-max-mb MB',
      "                 serve scenarios: keep the recordings folder under MB megabytes, deleting the",
      "                 oldest complete files (never one being written), instead of the file's",
      '                 gateway.recordMaxMb (scenarios/default.yaml: 1024)',
      '  --resume       train scenarios: continue runs/<name> from its last checkpoint',
      '  --backend B    TensorFlow.js backend (default: $METAMANIP_BACKEND or auto)',
      '  --quiet        no progress or log lines',
      '',
      'Examples:',
      '  metamanip run scenarios/default.yaml',
      '  metamanip run scenarios/experts/door-open.yaml --port 9000',
      '  metamanip run scenarios/replay.yaml',
      '  metamanip run scenarios/ml1-reach.yaml --resume',
    ].join('\n'),
    options: { duration: { type: 'string' }, port: { type: 'string' }, record: { type: 'string' }, 'record-max-mb': { type: 'string' }, resume: { type: 'boolean' }, backend: { type: 'string' }, quiet: { type: 'boolean' } },
    async run(values, positionals) {
      const [scenario, ...extra] = positionals;
      if (!scenario) throw new UsageError('run needs a scenario file (e.g. scenarios/default.yaml)');
      if (extra.length) throw new UsageError(`unexpected argument '${extra[0]}'`);
      const duration = values.duration === undefined ? undefined : Number(values.duration);
      if (duration !== undefined && !(Number.isFinite(duration) && duration > 0)) throw new UsageError(`--duration must be a positive number of seconds, got '${String(values.duration)}'`);
      const port = values.port === undefined ? undefined : portOption(values, 0);
      const { runScenario } = await import('./run.ts');
      return runScenario(scenario, { duration, port, record: values.record as string | undefined, recordMaxMb: recordMaxMbOption(values), resume: Boolean(values.resume), backend: backendOption(values), quiet: Boolean(values.quiet) });
    },
  },
  scenario: {
    summary: 'check scenario files, or print the scenario JSON Schema',
    usage: 'metamanip scenario check <file.yaml>... | metamanip scenario schema',
    help: [
      'check: validates scenario files as run would (schema, then the benchmarks, families, task',
      "indices and checkpoints they name, and that an eval scenario's benchmark is the one its",
      'checkpoint was trained on); prints every problem, each with file, line, column and field, and',
      'a suggestion for a name that looks like a typo.',
      'schema: prints the JSON Schema of scenario files (scenarios/scenario.schema.json, which editors',
      'pick up through the "# yaml-language-server: $schema=" line at the top of each file).',
      '',
      'Examples:',
      '  metamanip scenario check scenarios/*.yaml scenarios/experts/*.yaml',
      '  metamanip scenario schema > scenarios/scenario.schema.json',
    ].join('\n'),
    options: {},
    async run(_values, positionals) {
      const [action, ...files] = positionals;
      const { loadScenario, scenarioJsonSchema, scenarioProblems } = await import('./scenario.ts');
      if (action === 'schema') {
        if (files.length) throw new UsageError(`unexpected argument '${files[0]}'`);
        console.log(JSON.stringify(scenarioJsonSchema(), null, 2));
        return 0;
      }
      if (action !== 'check') throw new UsageError(action === undefined ? 'scenario needs an action: check or schema' : `unknown action '${action}'; expected check or schema`);
      if (!files.length) throw new UsageError('scenario check needs at least one file');
      const { existsSync } = await import('node:fs');
      let bad = 0;
      for (const file of files) {
        try {
          // Each problem names the file, line, column and field.
          const problems = scenarioProblems(loadScenario(file), existsSync);
          for (const problem of problems) console.error(problem);
          if (problems.length) bad++;
          else console.log(`${file}: ok`);
        } catch (error) {
          console.error((error as Error).message);
          bad++;
        }
      }
      return bad ? 1 : 0;
    },
  },
  serve: {
    summary: 'run the WebSocket gateway: controller, viewer, policy and Foxglove roles',
    usage: 'metamanip serve [--host H] [--port P] [--token T] [--record DIR] [--record-max-mb MB] [--sim SPEC]... [--rate HZ] [--seed S] [--policy CKPT] [--allow-origin O]... [--no-viewer]',
    help: [
      'Serves HTTP and WebSocket on one port until Ctrl-C: /controller (drive sims: open, reset,',
      'step), /viewer (watch sims; the browser viewer is served at /), / (an openpi-style policy',
      'server for --policy), Foxglove clients (subprotocol foxglove.sdk.v1 / foxglove.websocket.v1),',
      'GET /healthz, /recordings, /runs. Protocol: docs/PROTOCOL.md.',
      '',
      'Options:',
      '  --host H             address to bind (default 127.0.0.1; any other needs a token)',
      '  --port P             port (default 8765; 0 picks a free one; a port in use is an error)',
      '  --token T            token every client must present (default: $METAMANIP_TOKEN); prefer',
      '                       the environment variable, command lines are visible to other users',
      '  --record DIR         write every episode as an MCAP file into DIR (docs/RECORDING.md)',
      '  --record-max-mb MB   keep DIR under MB megabytes: past it the oldest complete recordings are',
      '                       deleted, never one being written (default: no cap; about 0.4 MB an episode)',
      '  --sim SPEC           start a sim driven on the server, looping episodes (repeatable):',
      '                       <family>[/<split>/<task>] (MT1 tasks, goal visible) or',
      '                       <benchmark>[/<split>/<task>], then @expert (default) or @policy',
      '                       (@policy: driven by the --policy checkpoint, which it needs)',
      '  --rate HZ            control rate of --sim sims (default 80: real time)',
      '  --seed S             benchmark seed of --sim sims (default 0); a checkpoint\'s held-out tasks are',
      '                       the test tasks of the seed it was trained with (serve warns otherwise)',
      '  --policy CKPT        checkpoint file or run folder served on / (docs/POLICY_SERVER.md)',
      '  --backend B          TensorFlow.js backend for --policy (default: $METAMANIP_BACKEND or auto)',
      '  --allow-origin O     also accept browser pages from origin O (repeatable; * for any)',
      '  --no-viewer          do not build or serve the browser viewer',
      '',
      'Examples:',
      '  metamanip serve --sim reach --sim ML1:pick-place/test/3',
      '  METAMANIP_TOKEN=s3cret metamanip serve --host 0.0.0.0 --record recordings --sim door-open',
      '  metamanip serve --policy checkpoints/ml1-reach.json --seed 1 --sim ML1:reach/test/0@policy',
    ].join('\n'),
    options: {
      host: { type: 'string' }, port: { type: 'string' }, token: { type: 'string' }, record: { type: 'string' }, 'record-max-mb': { type: 'string' },
      sim: { type: 'string', multiple: true }, rate: { type: 'string' }, seed: { type: 'string' }, policy: { type: 'string' },
      backend: { type: 'string' }, 'allow-origin': { type: 'string', multiple: true }, 'no-viewer': { type: 'boolean' },
    },
    async run(values, positionals) {
      if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`);
      const port = portOption(values, 8765);
      const rate = values.rate === undefined ? undefined : Number(values.rate);
      if (rate !== undefined && !(Number.isFinite(rate) && rate > 0 && rate <= 10_000)) throw new UsageError(`--rate must be a number of Hz in (0, 10000], got '${String(values.rate)}'`);
      const { parseSimSpec, serveUntilStopped } = await import('./serve.ts');
      const sims = (values.sim as unknown as string[] | undefined) ?? [];
      const seed = integerOption(values, 'seed', 0, 0);
      for (const sim of sims) {
        let spec;
        try {
          spec = parseSimSpec(sim, seed);
        } catch (error) {
          throw new UsageError((error as Error).message);
        }
        if (spec.driver === 'policy' && values.policy === undefined) throw new UsageError(`--sim ${sim} is driven by the served policy: give it with --policy CKPT (a checkpoint file or run folder), or drive the sim with @expert`);
      }
      const host = (values.host as string | undefined) ?? '127.0.0.1';
      const token = (values.token as string | undefined) ?? (process.env.METAMANIP_TOKEN || undefined);
      const { isLoopback } = await import('../bridge/auth.ts');
      if (!isLoopback(host) && !token) throw new UsageError(`binding ${host} (not loopback) requires a token: --token T or METAMANIP_TOKEN`);
      return serveUntilStopped({
        host, port, token, recordDir: values.record as string | undefined, recordMaxMb: recordMaxMbOption(values), sims, rateHz: rate, seed,
        policy: values.policy as string | undefined, backend: backendOption(values),
        allowedOrigins: (values['allow-origin'] as unknown as string[] | undefined) ?? [], noViewer: Boolean(values['no-viewer']),
      });
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

export const COMMAND_NAMES = Object.keys(COMMANDS);

/** docs/commands/<name>.md: the command's --help as a page (scripts/command-docs.ts writes them; a test keeps them current). */
export function commandPage(name: string): string {
  const command = COMMANDS[name];
  if (!command) throw new Error(`unknown command '${name}'`);
  return [
    `# metamanip ${name}`,
    '',
    `${command.summary[0].toUpperCase()}${command.summary.slice(1)}.`,
    '',
    '```',
    `Usage: ${command.usage}`,
    '',
    command.help,
    '```',
    '',
    'Exit codes: 0 ok, 1 failure, 2 usage error. Generated from `metamanip ' + name + ' --help` by `npx tsx scripts/command-docs.ts`.',
    '',
  ].join('\n');
}
