// Schemas (zod) of every inbound message of the controller and viewer roles. A decoded frame is
// used only after it parses here; failures become one line naming the field and what was expected.

import { z } from 'zod';
import { isNdArray, type NdArray } from '../protocol/ndarray.ts';
import type { ErrorCode } from '../protocol/wire.ts';

const requestId = z.union([z.number().int().min(0).max(Number.MAX_SAFE_INTEGER), z.string().max(64)]);
const simId = z.string().min(1).max(32);
const index = z.number().int().min(0).max(1_000_000);
const seed = z.number().int().min(0).max(2 ** 31 - 1);

/** An action as an ndarray (numpy) or a plain list; its length and finiteness are checked by the sim. */
const action = z.union([
  z.custom<NdArray>(isNdArray, { message: 'expected an ndarray or a list of numbers' }),
  z.array(z.unknown()).max(64),
]);

export const MAX_BATCH = 256;

const open = z.strictObject({
  type: z.literal('open'),
  id: requestId.optional(),
  family: z.string().max(64).optional(),
  benchmark: z.string().max(64).optional(),
  split: z.enum(['train', 'test']).optional(),
  task: index.optional(),
  seed: seed.optional(),
  /** Record this sim's episodes (MCAP) even when the gateway does not record every sim. */
  record: z.boolean().optional(),
});

const reset = z.strictObject({ type: z.literal('reset'), id: requestId.optional(), sim: simId, seed: seed.optional(), task: index.optional(), split: z.enum(['train', 'test']).optional() });
const step = z.strictObject({ type: z.literal('step'), id: requestId.optional(), sim: simId, action });
const stepBatch = z.strictObject({
  type: z.literal('step_batch'),
  id: requestId.optional(),
  sims: z.array(simId).min(1).max(MAX_BATCH),
  /** [n, 4]: an ndarray or a list of n lists. */
  actions: z.union([z.custom<NdArray>(isNdArray, { message: 'expected an ndarray' }), z.array(action).max(MAX_BATCH)]),
});
const close = z.strictObject({ type: z.literal('close'), id: requestId.optional(), sim: simId });
const list = z.strictObject({ type: z.literal('list'), id: requestId.optional() });
const resume = z.strictObject({ type: z.literal('resume'), id: requestId.optional(), token: z.string().min(1).max(128) });

/**
 * The common `step` request checked without zod: the same rules as the `step` schema (exactly the
 * keys type, sim, action and an optional id; the same types and bounds), so it accepts exactly
 * what the schema accepts. Anything it does not accept (including every malformed step) goes
 * through parseRequest, whose errors name the problem.
 */
export function fastStep(value: unknown): Extract<ControllerRequest, { type: 'step' }> | null {
  if (typeof value !== 'object' || value === null || Object.getPrototypeOf(value) !== Object.prototype) return null;
  const message = value as Record<string, unknown>;
  if (message.type !== 'step') return null;
  let keys = 0;
  for (const key in message) {
    if (key !== 'type' && key !== 'sim' && key !== 'action' && key !== 'id') return null;
    keys++;
  }
  if (keys < 3 || !Object.hasOwn(message, 'sim') || !Object.hasOwn(message, 'action')) return null;
  const { id, sim, action: act } = message;
  if (id !== undefined && !(typeof id === 'number' ? Number.isInteger(id) && id >= 0 && id <= Number.MAX_SAFE_INTEGER : typeof id === 'string' && id.length <= 64)) return null;
  if (typeof sim !== 'string' || sim.length < 1 || sim.length > 32) return null;
  if (!isNdArray(act) && !(Array.isArray(act) && act.length <= 64)) return null;
  return id === undefined ? { type: 'step', sim, action: act } : { type: 'step', id: id as number | string, sim, action: act };
}

export const ControllerRequest = z.discriminatedUnion('type', [open, reset, step, stepBatch, close, list, resume]);
export type ControllerRequest = z.infer<typeof ControllerRequest>;
export const CONTROLLER_TYPES = ['open', 'reset', 'step', 'step_batch', 'close', 'list', 'resume'] as const;

// Viewer ids are numbers only (ViewerClientMessage in protocol.ts).
const viewerId = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const subscribe = z.strictObject({ type: z.literal('subscribe'), id: viewerId.optional(), sim: simId });
const unsubscribe = z.strictObject({ type: z.literal('unsubscribe'), id: viewerId.optional(), sim: simId });
export const ViewerRequest = z.discriminatedUnion('type', [subscribe, unsubscribe]);
export type ViewerRequest = z.infer<typeof ViewerRequest>;
export const VIEWER_TYPES = ['subscribe', 'unsubscribe'] as const;

export type Parsed<T> = { ok: true; value: T } | { ok: false; id?: number | string; code: ErrorCode; message: string };

/**
 * Parses a decoded frame against a role's schema. Tells an unknown `type` apart from a malformed
 * message, and recovers the request id from a malformed message so the error can echo it.
 */
export function parseRequest<T>(schema: z.ZodType<T>, types: readonly string[], value: unknown, role: string, refuse: Record<string, string> = {}): Parsed<T> {
  const id = recoverId(value);
  if (typeof value !== 'object' || value === null || Array.isArray(value) || isNdArray(value)) {
    return { ok: false, id, code: 'bad_message', message: `a ${role} message must be a map with a "type" field, got ${describe(value)}` };
  }
  const type = (value as { type?: unknown }).type;
  if (typeof type !== 'string') return { ok: false, id, code: 'bad_message', message: `the message has no string "type" field; expected one of: ${types.join(', ')}` };
  // hasOwn: `in` would also match inherited names such as '__proto__' or 'toString'.
  if (Object.hasOwn(refuse, type)) return { ok: false, id, code: 'read_only', message: refuse[type] };
  if (!types.includes(type)) return { ok: false, id, code: 'unknown_type', message: `unknown message type '${type.slice(0, 40)}' for the ${role} role; expected one of: ${types.join(', ')}` };
  const result = schema.safeParse(value);
  if (result.success) return { ok: true, value: result.data };
  return { ok: false, id, code: 'bad_message', message: `${type}: ${formatIssues(result.error.issues)}` };
}

function recoverId(value: unknown): number | string | undefined {
  const id = typeof value === 'object' && value !== null ? (value as { id?: unknown }).id : undefined;
  return requestId.safeParse(id).success ? (id as number | string) : undefined;
}

/** "sim: expected string, received number; action: ..." (at most three issues). */
export function formatIssues(issues: readonly z.core.$ZodIssue[]): string {
  const lines = issues.slice(0, 3).map((issue) => {
    const path = issue.path.length ? issue.path.map(String).join('.') : 'message';
    if (issue.code === 'unrecognized_keys') return `unexpected field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `'${k}'`).join(', ')}`;
    return `${path}: ${issue.message.replace(/^Invalid input: /, '')}`;
  });
  return lines.join('; ') + (issues.length > 3 ? ` (and ${issues.length - 3} more)` : '');
}

const describe = (value: unknown): string => {
  if (value === null) return 'nil';
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Uint8Array) return 'binary data';
  if (isNdArray(value)) return 'an ndarray';
  return `a ${typeof value}`;
};

/** An action from the wire as numbers (length and finiteness are checked by the sim's checkAction). */
export function actionValues(value: NdArray | unknown[]): ArrayLike<number> {
  if (isNdArray(value)) {
    if (value.data instanceof BigInt64Array || value.data instanceof BigUint64Array) return Array.from(value.data, Number);
    return value.data as ArrayLike<number>;
  }
  return value as ArrayLike<number>;
}

/** Splits a batch's actions ([n, 4] ndarray or n lists) into n actions; throws naming the shape problem. */
export function batchActions(value: NdArray | Array<NdArray | unknown[]>, count: number): Array<ArrayLike<number>> {
  if (isNdArray(value)) {
    if (value.shape.length !== 2 || value.shape[0] !== count) throw new RangeError(`actions must have shape [${count}, 4] (one row per sim), got [${value.shape.join(', ')}]`);
    const width = value.shape[1];
    const data = actionValues(value);
    return Array.from({ length: count }, (_, i) => Array.prototype.slice.call(data, i * width, (i + 1) * width) as number[]);
  }
  if (value.length !== count) throw new RangeError(`actions has ${value.length} rows for ${count} sims; give one action per sim`);
  return value.map(actionValues);
}
