// `metamanip train <scenario.yaml>`: runs (or resumes) a training run described by a scenario file, or
// resumes a run folder with its own settings, and prints where it went and how it ended.

import { join } from 'node:path';
import { describeBackend } from '../agent/backend.ts';
import { RunDir } from '../agent/run.ts';
import { type TrainResult, readTrainConfig, train } from '../agent/trainer.ts';
import { type RolloutFlags, rolloutSampler } from './rollouts.ts';
import { loadScenarioOfKind, resolveTrainScenario } from './scenario.ts';

export interface TrainCommandOptions {
  runDir?: string;
  resume?: boolean;
  iterations?: number;
  maxIterations?: number;
  quiet?: boolean;
  backend?: string;
  json?: boolean;
  /** Rollout workers over NATS (scenarios/rollouts.ts): flags that override the scenario's `rollouts`. */
  rollouts?: RolloutFlags;
}

/**
 * Trains what the scenario file says; without one (undefined), resumes options.runDir with the settings
 * saved in it, so a run outlives changes to the recipe it started from.
 */
export async function trainCommand(scenarioPath: string | undefined, options: TrainCommandOptions): Promise<TrainResult> {
  if (scenarioPath === undefined && !(options.resume && options.runDir)) throw new Error('train: give a scenario file, or --resume with --run-dir');
  if (scenarioPath === undefined && !new RunDir(options.runDir!).exists()) throw new Error(`cannot resume: ${options.runDir} holds no run (no config.json)`);
  const scenario = scenarioPath === undefined ? undefined : loadScenarioOfKind(scenarioPath, 'train');
  const config = scenario === undefined ? readTrainConfig(options.runDir!) : resolveTrainScenario(scenario, scenarioPath);
  const sampler = await rolloutSampler(scenario?.rollouts, options.rollouts ?? {});
  if (options.iterations !== undefined) config.iterations = options.iterations;
  const runDir = options.runDir ?? join('runs', config.name);
  return train(config, { runDir, resume: options.resume, quiet: options.quiet, backend: options.backend, maxIterations: options.maxIterations, sampler });
}

export function formatTrainResult(result: TrainResult): string {
  const lines = [
    `run ${result.runDir}: ${result.finished ? 'finished' : 'stopped'} after ${result.iterations} iterations, ${result.envSteps} env steps (${describeBackend(result.backend)})`,
  ];
  const e = result.lastEvaluation;
  if (e) {
    const phase = (name: string, p: { meanReturn: number; successRate: number } | null) =>
      p ? `${name}: return ${p.meanReturn.toFixed(2)}${e.successTracked ? `, success ${(100 * p.successRate).toFixed(1)} %` : ''}` : null;
    lines.push(`last evaluation (${e.benchmark}, ${e.tasks} ${e.split === 'validation' ? 'validation tasks, not the test tasks' : 'test tasks'}): trial return ${e.meanTrialReturn.toFixed(2)} ± ${e.trialReturnStdError.toFixed(2)}`);
    for (const line of [phase('  before adaptation', e.before), phase('  after adaptation', e.after)]) if (line) lines.push(line);
  }
  if (result.best) lines.push(`best score ${result.best.score.toFixed(4)} at iteration ${result.best.iteration} (${join(result.runDir, 'checkpoints', 'best.json')})`);
  return lines.join('\n');
}
