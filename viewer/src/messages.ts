// Checks what crosses into the page (gateway messages, recording messages) against the shared
// protocol's shapes, and says in words what was wrong instead of failing later in the renderer.

import * as z from 'zod/mini';
import english from 'zod/v4/locales/en.js';
import type { RecordedEpisode, RecordedStep, SimInfo, ViewerServerMessage } from '../../protocol/wire.ts';
import type { SceneDescription } from '../../protocol/scene.ts';
import { isNdArray, type NdArray } from '../../protocol/ndarray.ts';

// zod/mini keeps the bundle small; English messages say what was wrong.
z.config(english());

const finite = z.number().check(z.refine(Number.isFinite, 'must be a finite number'));
const vec3 = z.tuple([finite, finite, finite]);
const quat = z.tuple([finite, finite, finite, finite]);
const positive = z.number().check(z.refine((v) => Number.isFinite(v) && v > 0, 'must be a positive number'));

const shape = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('box'), halfExtents: vec3 }),
  z.object({ kind: z.literal('sphere'), radius: positive }),
  z.object({ kind: z.literal('cylinder'), halfHeight: positive, radius: positive }),
  z.object({ kind: z.literal('capsule'), halfHeight: finite, radius: positive }),
]);

export const sceneSchema = z.object({
  bodies: z.array(z.object({
    name: z.string(),
    type: z.enum(['fixed', 'kinematic', 'dynamic']),
    parts: z.array(z.object({
      shape,
      offset: z.object({ position: vec3, rotation: quat }),
      colour: z.string(),
      visualOnly: z.boolean(),
    })),
  })),
  goal: vec3,
});

export const simInfoSchema = z.object({
  id: z.string(),
  family: z.string(),
  benchmark: z.nullable(z.string()),
  split: z.enum(['train', 'test']),
  task: z.number(),
  seed: z.number(),
  policy: z.string(),
  episode: z.number(),
  step: z.number(),
  trial: z.optional(z.object({ episode: z.number(), episodes: z.number() })),
});

const success = z.union([z.literal(0), z.literal(1)]);
const ndarray = z.custom<NdArray>(isNdArray, 'must be an ndarray');

const serverMessage = z.discriminatedUnion('type', [
  z.object({ type: z.literal('sims'), sims: z.array(simInfoSchema) }),
  z.object({ type: z.literal('scene'), sim: z.string(), info: simInfoSchema, scene: sceneSchema }),
  z.object({ type: z.literal('frame'), sim: z.string(), episode: z.number(), step: z.number(), poses: ndarray, reward: z.number(), success, gripper: z.number() }),
  z.object({ type: z.literal('closed'), sim: z.string() }),
  z.object({ type: z.literal('error'), id: z.optional(z.union([z.number(), z.string()])), code: z.string(), message: z.string() }),
]);

export const recordedEpisodeSchema = z.object({ info: simInfoSchema, scene: sceneSchema });

export const recordedStepSchema = z.object({
  episode: z.number(),
  step: z.number(),
  poses: z.array(z.number()),
  reward: z.number(),
  success,
  gripper: z.number(),
  obs: z.array(z.number()),
  action: z.nullable(z.array(z.number())),
  jointPositions: z.array(z.number()),
});

const explain = (error: z.core.$ZodError): string =>
  error.issues.slice(0, 3).map((i) => `${i.path.join('.') || 'message'}: ${i.message}`).join('; ');

/** A decoded gateway message, checked; throws an Error naming the offending field. */
export function parseServerMessage(value: unknown): ViewerServerMessage {
  const result = serverMessage.safeParse(value);
  if (!result.success) throw new Error(`unexpected message from the gateway (${explain(result.error)})`);
  return result.data as ViewerServerMessage;
}

export function parseRecordedEpisode(value: unknown): RecordedEpisode {
  const result = recordedEpisodeSchema.safeParse(value);
  if (!result.success) throw new Error(`the recording's episode message is malformed (${explain(result.error)})`);
  return result.data as { info: SimInfo; scene: SceneDescription };
}

export function parseRecordedStep(value: unknown): RecordedStep {
  const result = recordedStepSchema.safeParse(value);
  if (!result.success) throw new Error(`a recorded step is malformed (${explain(result.error)})`);
  return result.data;
}
