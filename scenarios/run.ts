// `metamanip run <scenario.yaml>`: runs a scenario file of any kind. train and eval do what their
// commands do; serve starts the gateway and viewer with the sims the file lists, driven by experts
// or checkpoints, until Ctrl-C (or --duration); replay serves a recording in the viewer.

import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Gateway } from '../bridge/server.ts';
import { endsWithMcapFooter } from '../bridge/retention.ts';
import { expertDriver, simBenchmark } from '../bridge/sims.ts';
import { ScenarioError, fieldProblem, loadScenario, scenarioProblems, type ReplayScenario, type ServeScenario } from './scenario.ts';
import { loadPolicies, megabytes, policyDriver, recordingLine, serveUntilStop, startGatewayExplained, trainedOnSimTasks, trainedOnWarning, viewerDir } from './serve.ts';

export interface RunOptions {
  /** Stop a serve or replay scenario after this many seconds (default: at Ctrl-C). */
  duration?: number;
  /** Overrides the scenario's gateway port (0: any free port). */
  port?: number;
  /** Serve scenarios: record episodes into this folder instead of the file's gateway.record. */
  record?: string;
  /** Serve scenarios: cap on the recordings folder in MB instead of the file's gateway.recordMaxMb. */
  recordMaxMb?: number;
  /** Train scenarios: continue the run from its last checkpoint. */
  resume?: boolean;
  backend?: string;
  quiet?: boolean;
}

/** Runs the scenario; resolves with the exit code. */
export async function runScenario(path: string, options: RunOptions = {}): Promise<number> {
  const scenario = loadScenario(path);
  const problems = scenarioProblems(scenario, existsSync);
  if (problems.length) throw new ScenarioError(problems);
  const log = (line: string) => { if (!options.quiet) console.error(line); };
  switch (scenario.kind) {
    case 'train': {
      const { formatTrainResult, trainCommand } = await import('./train.ts');
      console.log(formatTrainResult(await trainCommand(path, { resume: options.resume, quiet: options.quiet, backend: options.backend })));
      return 0;
    }
    case 'eval': {
      const { evalCommand, formatEvalResult } = await import('./eval.ts');
      const result = await evalCommand(scenario.checkpoint, { benchmark: scenario.benchmark, tasks: scenario.tasks, seed: scenario.seed, deterministic: scenario.deterministic, backend: options.backend });
      console.log(formatEvalResult(result));
      return 0;
    }
    case 'serve': {
      const gateway = await startServeScenario(scenario, options, log);
      return serveUntilStop(gateway, options.duration ?? scenario.duration, log);
    }
    case 'replay': {
      const gateway = await startReplayScenario(scenario, options, log);
      return serveUntilStop(gateway, options.duration, log);
    }
  }
}

async function startServeScenario(scenario: ServeScenario, options: RunOptions, log: (line: string) => void): Promise<Gateway> {
  // One loaded policy per checkpoint, shared by the policy role and the sims it drives.
  const checkpoints = [scenario.policy, ...scenario.sims.map((s) => s.policy)].filter((p): p is string => p !== undefined && p !== 'expert');
  const policies = await loadPolicies(checkpoints, options.backend, log);
  const gateway = await startGatewayExplained({
    host: scenario.gateway.host, port: options.port ?? scenario.gateway.port, token: scenario.gateway.token,
    recordDir: options.record ?? scenario.gateway.record, recordMaxBytes: megabytes(options.recordMaxMb ?? scenario.gateway.recordMaxMb), viewerDir: await viewerDir(log),
    policy: scenario.policy === undefined ? undefined : policies.get(scenario.policy), log,
  }, PORT_HINT);
  try {
    const links: string[] = [];
    for (const sim of scenario.sims) {
      const driver = sim.policy === 'expert' ? expertDriver() : policyDriver(policies.get(sim.policy)!);
      const info = gateway.drive({
        ...simBenchmark(sim),
        split: sim.split, driver, rateHz: sim.rate * 80,
        schedule: { tasks: sim.tasks, episodesPerTask: sim.episodesPerTask },
      });
      const policy = policies.get(sim.policy);
      if (policy && trainedOnSimTasks(policy, info)) log(trainedOnWarning(policy, info.id));
      log(`sim ${info.id}: ${info.benchmark ?? info.family} ${info.split} tasks ${sim.tasks.join(', ')} (${sim.episodesPerTask} episode${sim.episodesPerTask === 1 ? '' : 's'} each), driven by ${driver.name}`);
      links.push(viewerLink(gateway, scenario.gateway.token, `sim=${info.id}`));
    }
    const record = options.record ?? scenario.gateway.record;
    if (record) log(recordingLine(record, options.recordMaxMb ?? scenario.gateway.recordMaxMb));
    if (scenario.policy) log(`policy role: ${gateway.url}/ serves ${scenario.policy} (docs/POLICY_SERVER.md)`);
    log(`controllers: ${gateway.url}/controller (docs/PROTOCOL.md)`);
    console.log(`open ${links[0] ?? viewerLink(gateway, scenario.gateway.token, '')}`);
  } catch (error) {
    await gateway.close();
    throw error;
  }
  return gateway;
}

async function startReplayScenario(scenario: ReplayScenario, options: RunOptions, log: (line: string) => void): Promise<Gateway> {
  const target = scenario.recording;
  if (!existsSync(target)) throw new ScenarioError(fieldProblem(scenario, ['recording'], `no file or folder at ${target}`));
  let dir: string, name: string;
  if (statSync(target).isDirectory()) {
    const files = readdirSync(target).filter((f) => f.endsWith('.mcap')).sort();
    if (!files.length) throw new ScenarioError(fieldProblem(scenario, ['recording'], `${target} holds no .mcap recordings (record some with a serve scenario's gateway.record)`));
    // Names start with the UTC time they were recorded at: the newest complete one (its footer written:
    // not an episode still being recorded, nor one cut off by a crash), else the newest.
    dir = target;
    let complete: string | undefined;
    for (let i = files.length - 1; i >= 0 && complete === undefined; i--) {
      if (await endsWithMcapFooter(join(target, files[i])).catch(() => false)) complete = files[i];
    }
    name = complete ?? files[files.length - 1];
    if (complete === undefined) log(`no complete recording in ${target}/: opening the newest, ${name}, as far as it goes`);
  } else {
    if (!target.endsWith('.mcap')) throw new ScenarioError(fieldProblem(scenario, ['recording'], `expected an .mcap file or a folder of them, got ${target}`));
    dir = dirname(target); name = basename(target);
  }
  const gateway = await startGatewayExplained({
    host: scenario.gateway.host, port: options.port ?? scenario.gateway.port, token: scenario.gateway.token,
    recordDir: dir, viewerDir: await viewerDir(log), log,
  }, PORT_HINT);
  log(`replaying ${join(dir, name)}; the page lists the other recordings in ${dir}/`);
  console.log(`open ${viewerLink(gateway, scenario.gateway.token, `recording=${encodeURIComponent(name)}`)}`);
  return gateway;
}

const PORT_HINT = "pick another with --port P (--port 0 picks a free one) or the file's gateway.port";

const viewerLink = (gateway: Gateway, token: string | undefined, fragment: string) =>
  `${gateway.httpUrl}/${token ? `?token=${encodeURIComponent(token)}` : ''}${fragment ? `#${fragment}` : ''}`;
