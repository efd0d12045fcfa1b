// The training scenario file (YAML): which benchmark, which algorithm and settings, which seed, how often
// to evaluate and checkpoint. Validated with zod; errors name the field and the file.

import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { PPO_DEFAULTS } from '../agent/ppo.ts';
import { RL2_DEFAULTS } from '../agent/rl2.ts';
import type { TrainConfig } from '../agent/trainer.ts';
import { distributionByName } from '../agent/envs.ts';
import { rl2OverridesSchema } from '../agent/schema.ts';

const int = (min: number) => z.number().int().min(min);

export const scenarioSchema = z.object({
  /** Names the run folder (runs/<name>) unless --run-dir says otherwise. */
  name: z.string().regex(/^[A-Za-z0-9._-]+$/, 'use letters, digits, ".", "_" and "-" only').optional(),
  benchmark: z.string(),
  seed: int(0).default(0),
  algorithm: z.literal('rl2').default('rl2'),
  iterations: int(1),
  workers: int(0).default(0),
  rl2: rl2OverridesSchema.default({}),
  evaluation: z.object({
    every: int(0).default(10),
    tasks: int(1).optional(),
    seed: int(0).default(0),
    deterministic: z.boolean().default(false),
  }).strict().default({ every: 10, seed: 0, deterministic: false }),
  checkpoints: z.object({
    every: int(1).default(1),
    keepLast: int(1).default(3),
  }).strict().default({ every: 1, keepLast: 3 }),
}).strict();

export type Scenario = z.infer<typeof scenarioSchema>;

/** Reads a scenario file and resolves every default into a full training config. */
export function loadScenario(path: string): TrainConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new Error(`cannot read scenario ${path}: ${(error as Error).message}`);
  }
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch (error) {
    throw new Error(`${path} is not valid YAML: ${(error as Error).message.split('\n')[0]}`);
  }
  return resolveScenario(document, path);
}

export function resolveScenario(document: unknown, source = 'scenario'): TrainConfig {
  const parsed = scenarioSchema.safeParse(document);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`${source}: ${issue.path.length ? issue.path.join('.') : 'document'}: ${issue.message}`);
  }
  const s = parsed.data;
  let distribution;
  try {
    distribution = distributionByName(s.benchmark, { seed: s.seed });
  } catch (error) {
    throw new Error(`${source}: benchmark: ${(error as Error).message}`);
  }
  const rl2 = { ...RL2_DEFAULTS, ...s.rl2, ppo: { ...PPO_DEFAULTS, ...(s.rl2.ppo ?? {}) } };
  // RL2 trials default to the benchmark's own trial length (n pulls / n episodes, or MetaWorld's 10).
  if (s.rl2.episodesPerTrial === undefined) rl2.episodesPerTrial = distribution.protocol.adaptationEpisodes;
  const trialSteps = rl2.episodesPerTrial * distribution.spec.episodeSteps;
  if (s.rl2.bpttSteps === undefined) rl2.bpttSteps = Math.min(trialSteps, RL2_DEFAULTS.bpttSteps);
  if (trialSteps % rl2.bpttSteps !== 0) throw new Error(`${source}: rl2.bpttSteps: ${rl2.bpttSteps} must divide the trial length (${rl2.episodesPerTrial} episodes x ${distribution.spec.episodeSteps} steps = ${trialSteps})`);
  const name = s.name ?? basename(source).replace(/\.ya?ml$/, '');
  return {
    name,
    benchmark: distribution.name,
    seed: s.seed,
    algorithm: s.algorithm,
    iterations: s.iterations,
    workers: s.workers,
    rl2,
    evaluation: {
      every: s.evaluation.every,
      tasks: s.evaluation.tasks ?? (Number.isFinite(distribution.testTaskCount) ? distribution.testTaskCount : 1000),
      seed: s.evaluation.seed,
      deterministic: s.evaluation.deterministic,
    },
    checkpoints: s.checkpoints,
  };
}
