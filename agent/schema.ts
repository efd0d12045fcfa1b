// Schemas of the agent's settings (zod), shared by scenario files and checkpoints so both are checked
// against the same rules and a bad value is reported by name.

import { z } from 'zod';

/** The number kinds settings are made of: an integer from `min`, a positive number, a fraction in [0, 1]. */
export const int = (min: number) => z.number().int().min(min);
export const positive = z.number().positive();
export const fraction = z.number().min(0).max(1);

export const ppoConfigSchema = z.object({
  gamma: z.number().min(0).max(1),
  lambda: z.number().min(0).max(1),
  clip: positive,
  epochs: int(1),
  minibatches: int(1),
  learningRate: positive,
  finalLearningRateFraction: z.number().min(0).max(1),
  adamEpsilon: positive,
  weightDecay: z.number().min(0),
  maxGradNorm: positive,
  skipGradNorm: positive.nullable(),
  entropyCoef: z.number().min(0),
  valueCoef: z.number().min(0),
  normalizeAdvantages: z.boolean(),
  targetKl: positive.nullable(),
}).strict();

export const rl2ConfigSchema = z.object({
  tasksPerIteration: int(1),
  episodesPerTrial: int(1),
  hidden: int(1),
  mlp: z.array(int(1)),
  headMlp: z.array(int(1)),
  bpttSteps: int(1),
  rewardScale: positive,
  successBonus: z.number().min(0),
  demonstrationIterations: int(0),
  demonstrationMeanAction: z.boolean(),
  demonstrationExpertLanes: z.enum(['half', 'none']),
  demonstrator: z.enum(['expert', 'searcher', 'teacher']),
  teacher: z.string().min(1).nullable(),
  demonstrationLoss: z.enum(['clipped', 'likelihood']),
  rewardInputScale: positive,
  initLogStd: z.number(),
  maxLogStd: z.number().nullable(),
  gruUpdateBias: z.number(),
  gruTimescale: z.number().min(0),
  gruLayerNorm: z.boolean(),
  separateValueNetwork: z.boolean(),
  valueTimeInput: z.boolean(),
  previousObservation: z.boolean(),
  rewardDeltaInput: z.boolean(),
  observationActionInput: z.boolean(),
  normalizeInputs: z.boolean(),
  privilegedCritic: z.boolean(),
  criticMlp: z.array(int(1)),
  fastKernels: z.boolean(),
  ppo: ppoConfigSchema,
}).strict();

/** What a scenario may set: any subset, nested PPO settings included. */
export const rl2OverridesSchema = rl2ConfigSchema.extend({ ppo: ppoConfigSchema.partial() }).partial();
