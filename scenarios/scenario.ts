// Scenario files (YAML): what `metamanip run` runs. One schema with four kinds (train, eval, serve,
// replay); a bad file is reported problem by problem (all of them, not just the first), each with the
// file, line and column, the field, what was expected and what was found. Unknown keys are errors.
// scenarios/scenario.schema.json is exported from here.

import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { LineCounter, type Node, isMap, isScalar, parseDocument } from 'yaml';
import { z } from 'zod';
import { ALGORITHMS, ALGORITHM_NAMES, SETTINGS_KEYS, algorithmByName, unsupportedReason } from '../agent/algorithms.ts';
import type { TrainConfig } from '../agent/trainer.ts';
import { distributionByName } from '../agent/distributions.ts';
import { MAX_LEARNER_THREADS } from '../agent/learner-threads.ts';
import { readCheckpoint } from '../agent/checkpoint.ts';
import { resolveCheckpointPath } from '../agent/run.ts';
import { simBenchmark } from '../bridge/sims.ts';
import { benchmarkTask, didYouMean } from '../sim/index.ts';

const int = (min: number) => z.number().int().min(min);
const name = z.string().regex(/^[A-Za-z0-9._-]+$/, 'use letters, digits, ".", "_" and "-" only');

export const trainScenarioSchema = z.object({
  kind: z.literal('train'),
  /** Names the run folder (runs/<name>) unless --run-dir says otherwise. */
  name: name.optional(),
  benchmark: z.string(),
  seed: int(0).default(0),
  /** The meta-RL algorithm (agent/algorithms.ts); its settings go under its settings key (rl2, qtable, ...). */
  algorithm: z.enum(ALGORITHM_NAMES, {
    error: (issue) => `unknown algorithm${typeof issue.input === 'string' ? ` '${issue.input}'${didYouMean(issue.input, ALGORITHM_NAMES)}` : ''}; expected one of: ${ALGORITHMS.map((a) => `${a.name} (${a.summary})`).join('; ')}`,
  }).default('rl2'),
  iterations: int(1),
  workers: int(0).default(0),
  /**
   * Threads computing each minibatch's gradient (the main thread and learnerThreads - 1 workers). The
   * number is part of the run's numbers (parts' gradients are added in a fixed order); 1 learns in the
   * main thread alone, as runs did before this setting.
   */
  learnerThreads: z.number().int('expected a whole number of threads').min(1, 'expected 1 (the main thread alone) to 16 threads').max(MAX_LEARNER_THREADS, `expected 1 to ${MAX_LEARNER_THREADS} threads (more than the cores only adds copies of the network)`).optional(),
  /** A checkpoint file or run folder (its best checkpoint) whose weights start the run; the optimiser starts fresh. */
  initFrom: z.string().min(1).optional(),
  // Each algorithm's settings block (rl2: RL2 and PPO settings; qtable: ...): any subset of its settings.
  ...Object.fromEntries(SETTINGS_KEYS.map((key) => [key, ALGORITHMS.find((a) => a.settingsKey === key)!.overridesSchema.optional()])),
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
  /**
   * Sample each iteration's trials on rollout workers (`metamanip worker`) through a NATS server
   * instead of in this process: the same numbers either way, so a run may switch between the two on
   * --resume (docs/DISTRIBUTED.md). Credentials come from train's flags or the environment, never
   * from the file.
   */
  rollouts: z.object({
    /** The NATS server: nats://HOST:PORT (or several, comma-separated). */
    nats: z.string().regex(/^((nats|tls):\/\/)?[^\s,/]+(,\s*((nats|tls):\/\/)?[^\s,/]+)*$/, 'expected nats://HOST:PORT (or several, comma-separated)'),
    /** Subject prefix shared with the workers (default "metamanip"). */
    subject: z.string().regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, 'expected NATS subject tokens (letters, digits, "_", "-") joined by "."').optional(),
    /** Lanes (tasks) per job (default: a quarter of rl2.tasksPerIteration, rounded up). */
    lanesPerJob: int(1).optional(),
    /** Seconds before a job is sent to another worker (default: 120 s, then 4x the slowest answer, at least 20 s). */
    deadlineSeconds: z.number().positive().optional(),
  }).strict().optional(),
}).strict();

export const evalScenarioSchema = z.object({
  kind: z.literal('eval'),
  name: name.optional(),
  /** A checkpoint file or a run folder (its best checkpoint). */
  checkpoint: z.string(),
  /** Default: the benchmark the checkpoint was trained on. */
  benchmark: z.string().optional(),
  tasks: int(1).optional(),
  seed: int(0).optional(),
  deterministic: z.boolean().default(false),
}).strict();

export const gatewaySchema = z.object({
  host: z.string().default('127.0.0.1'),
  port: int(0).max(65535).default(8765),
  /** Required when host is not a loopback address. */
  token: z.string().min(8, 'use a token of at least 8 characters').optional(),
  /** Folder for MCAP recordings of every episode; omit to record nothing. */
  record: z.string().optional(),
  /**
   * Cap on the recordings folder in MB (MiB): past it the oldest complete recordings are deleted,
   * never one being written. Omit for no cap (about 0.4 MB an episode, 230 MB an hour per real-time sim).
   */
  recordMaxMb: z.number().positive().optional(),
}).strict();

const DEFAULT_GATEWAY = { host: '127.0.0.1', port: 8765 };

export const simScenarioSchema = z.object({
  /** A family (its MT1 tasks: goal visible) or a benchmark such as ML1:reach or ML10. */
  family: z.string().optional(),
  benchmark: z.string().optional(),
  split: z.enum(['train', 'test']).default('test'),
  /** Task indices to go through, one trial each; default: the first task. */
  tasks: z.array(int(0)).min(1).default([0]),
  /** Seed of the benchmark's task lists (test tasks are drawn with seed + 1) and of the episodes. */
  seed: int(0).default(0),
  /**
   * "expert" (the family's scripted expert) or a checkpoint file / run folder. External programs
   * open their own sims over the gateway's /controller role; they are not listed here.
   */
  policy: z.string().default('expert'),
  /** Episodes per task before moving to the next (RL2: its memory spans them). */
  episodesPerTask: int(1).default(1),
  /** Speed relative to real time (80 control steps/s). */
  rate: z.number().positive().max(1000).default(1),
}).strict().refine((s) => (s.family === undefined) !== (s.benchmark === undefined), { message: 'give either family or benchmark (exactly one)' });

export const serveScenarioSchema = z.object({
  kind: z.literal('serve'),
  name: name.optional(),
  gateway: gatewaySchema.default(DEFAULT_GATEWAY),
  /** A checkpoint for the policy-server role at ws://host:port/ (openpi clients). */
  policy: z.string().optional(),
  sims: z.array(simScenarioSchema).default([]),
  /** Stop after this many seconds (default: run until Ctrl-C). */
  duration: z.number().positive().optional(),
}).strict();

export const replayScenarioSchema = z.object({
  kind: z.literal('replay'),
  name: name.optional(),
  gateway: gatewaySchema.default(DEFAULT_GATEWAY),
  /** An MCAP recording, or a folder of them (the newest is opened). */
  recording: z.string(),
}).strict();

export const SCENARIO_KINDS = ['train', 'eval', 'serve', 'replay'] as const;
export const scenarioSchema = z.discriminatedUnion('kind', [trainScenarioSchema, evalScenarioSchema, serveScenarioSchema, replayScenarioSchema]);

export type Scenario = z.infer<typeof scenarioSchema>;
export type TrainScenario = z.infer<typeof trainScenarioSchema>;
export type EvalScenario = z.infer<typeof evalScenarioSchema>;
export type ServeScenario = z.infer<typeof serveScenarioSchema>;
export type ReplayScenario = z.infer<typeof replayScenarioSchema>;
export type SimScenario = z.infer<typeof simScenarioSchema>;

/** The JSON Schema editors use (scenarios/scenario.schema.json; `metamanip scenario schema` prints it). */
export function scenarioJsonSchema(): Record<string, unknown> {
  return { $schema: 'https://json-schema.org/draft/2020-12/schema', title: 'metamanip scenario', ...z.toJSONSchema(scenarioSchema, { io: 'input' }) };
}

/** A scenario file that does not parse or validate: one line per problem, each naming file, line, column and field. */
export class ScenarioError extends Error {
  override name = 'ScenarioError';
  /** Every problem found, one line each (the message joins them). */
  readonly problems: string[];
  constructor(problems: string | string[]) {
    const list = typeof problems === 'string' ? [problems] : problems;
    super(list.join('\n'));
    this.problems = list;
  }
}

/** A field of a scenario: keys and list indices, e.g. ['sims', 0, 'tasks', 1]. */
export type FieldPath = ReadonlyArray<string | number>;

/** `sims[0].tasks[1]` for ['sims', 0, 'tasks', 1]. */
const fieldName = (path: FieldPath): string => path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i ? `.${p}` : p)).join('');

/**
 * Where each field of a scenario read from text is (`file:line:col`), kept per parsed scenario so that
 * the checks after the schema (scenarioProblems, run) point into the file too.
 */
const LOCATORS = new WeakMap<object, (path: FieldPath) => string>();

/**
 * One problem with a field as a line: `file:line:col: field: message` for a scenario read from a file
 * (the position of the field's value, or of the mapping it is missing from), else `source: field:
 * message`, or `field: message` without a source.
 */
export function fieldProblem(scenario: object, path: FieldPath, message: string, source?: string): string {
  const where = LOCATORS.get(scenario)?.(path) ?? source;
  return `${where === undefined ? '' : `${where}: `}${fieldName(path) || 'document'}: ${message}`;
}

/** Reads and validates a scenario file. */
export function loadScenario(path: string): Scenario {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ScenarioError(`cannot read scenario ${path}: ${(error as Error).message}`);
  }
  return parseScenario(text, path);
}

/** Validates scenario text; `source` names it in errors. Throws a ScenarioError listing every problem found. */
export function parseScenario(text: string, source = 'scenario'): Scenario {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
  const at = (offset: number | undefined) => {
    if (offset === undefined) return source;
    const { line, col } = lines.linePos(offset);
    return `${source}:${line}:${col}`;
  };
  if (doc.errors.length) throw new ScenarioError(doc.errors.map((error) => `${at(error.pos[0])}: not valid YAML: ${error.message.split('\n')[0]}`));
  const document: unknown = doc.toJS();
  if (typeof document !== 'object' || document === null || Array.isArray(document)) {
    throw new ScenarioError(`${source}: a scenario is a YAML mapping with a kind (${SCENARIO_KINDS.join(', ')}), found ${describe(document)}`);
  }
  const kind = (document as { kind?: unknown }).kind;
  if (!SCENARIO_KINDS.includes(kind as (typeof SCENARIO_KINDS)[number])) {
    const node = doc.get('kind', true) as Node | undefined;
    const hint = typeof kind === 'string' ? didYouMean(kind, SCENARIO_KINDS) : '';
    throw new ScenarioError(`${at(node?.range?.[0] ?? 0)}: kind: expected one of ${SCENARIO_KINDS.join(', ')}, found ${kind === undefined ? 'nothing (add e.g. "kind: train")' : describe(kind)}${hint}`);
  }
  /** The node of a field, or (a missing field) of the nearest mapping or list it belongs in. */
  const nodeAt = (path: FieldPath): Node | undefined => {
    for (let n = path.length; n >= 0; n--) {
      const node = (n ? doc.getIn(path.slice(0, n), true) : doc.contents) as Node | null | undefined;
      if (node?.range) return node;
    }
    return undefined;
  };
  const parsed = scenarioSchema.safeParse(document);
  if (parsed.success) {
    LOCATORS.set(parsed.data, (path) => at(nodeAt(path)?.range?.[0]));
    return parsed.data;
  }
  // Every issue, in the order of the file.
  const problems: Array<{ offset: number; line: string }> = [];
  const report = (node: Node | undefined, field: string, message: string, found: string) => {
    const offset = node?.range?.[0];
    problems.push({ offset: offset ?? 0, line: `${at(offset)}: ${field || 'document'}: ${message} (found ${found})` });
  };
  for (const issue of parsed.error.issues) {
    const path = issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p));
    if (issue.code === 'unrecognized_keys') {
      // Point at each unknown key itself, not its parent mapping.
      const parent = path.length ? doc.getIn(path, true) : doc.contents;
      const known = knownKeys(path, document);
      for (const key of issue.keys) {
        const pair = isMap(parent) ? parent.items.find((p) => isScalar(p.key) && p.key.value === key) : undefined;
        const hint = known ? didYouMean(key, known) : '';
        report((pair?.key as Node | undefined) ?? nodeAt(path), fieldName([...path, key]), `unknown key${hint}${known ? `; expected one of ${known.join(', ')}` : ''}`, `"${key}"`);
      }
      continue;
    }
    const present = doc.getIn(path, true) !== undefined;
    const message = !present && issue.code === 'invalid_type' ? `required, expected ${issue.expected}` : issue.message;
    report(nodeAt(path), fieldName(path), message, present ? describe(doc.getIn(path)) : 'nothing');
  }
  problems.sort((a, b) => a.offset - b.offset);
  throw new ScenarioError(problems.map((p) => p.line));
}

/** The keys a mapping at `path` may hold, for "did you mean" style messages. */
function knownKeys(path: Array<string | number>, document: unknown): string[] | null {
  const kind = (document as { kind: (typeof SCENARIO_KINDS)[number] }).kind;
  const schema = { train: trainScenarioSchema, eval: evalScenarioSchema, serve: serveScenarioSchema, replay: replayScenarioSchema }[kind];
  const json = z.toJSONSchema(schema, { io: 'input' }) as JsonSchemaNode;
  let at: JsonSchemaNode | undefined = json;
  for (const step of path) {
    if (at === undefined) return null;
    at = typeof step === 'number' ? at.items : at.properties?.[step];
    while (at && !at.properties && at.allOf) at = at.allOf[0];
  }
  return at?.properties ? Object.keys(at.properties) : null;
}

interface JsonSchemaNode { properties?: Record<string, JsonSchemaNode>; items?: JsonSchemaNode; allOf?: JsonSchemaNode[] }

function describe(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (typeof value === 'string') return `"${value}"`;
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return String(value);
}

/** Resolves a train scenario's defaults into the trainer's full config; throws a ScenarioError naming each problem's field. */
export function resolveTrainScenario(s: TrainScenario, source = 'scenario'): TrainConfig {
  const resolved = resolveTrain(s, source);
  if ('problems' in resolved) throw new ScenarioError(resolved.problems.map((p) => fieldProblem(s, p.path, p.message, source)));
  return resolved.config;
}

interface PathProblem { path: FieldPath; message: string }

function resolveTrain(s: TrainScenario, source: string): { config: TrainConfig } | { problems: PathProblem[] } {
  let distribution;
  try {
    distribution = distributionByName(s.benchmark, { seed: s.seed });
  } catch (error) {
    return { problems: [{ path: ['benchmark'], message: (error as Error).message }] };
  }
  if (s.workers > 0 && !distribution.benchmark) return { problems: [{ path: ['workers'], message: `only simulator benchmarks step in worker threads; ${distribution.name} runs in the main thread (set workers: 0)` }] };
  const algorithm = algorithmByName(s.algorithm);
  const unsupported = unsupportedReason(algorithm, distribution);
  if (unsupported) return { problems: [{ path: ['algorithm'], message: unsupported }] };
  const blocks = s as unknown as Record<string, unknown>;
  const foreign = SETTINGS_KEYS.filter((key) => key !== algorithm.settingsKey && blocks[key] !== undefined);
  if (foreign.length) return { problems: foreign.map((key) => ({ path: [key], message: `settings of ${ALGORITHMS.filter((a) => a.settingsKey === key).map((a) => a.name).join(' / ')}, but the algorithm is ${algorithm.name} (its settings go under '${algorithm.settingsKey}')` })) };
  if (!algorithm.learnerThreads && s.learnerThreads !== undefined && s.learnerThreads !== 1) return { problems: [{ path: ['learnerThreads'], message: `${algorithm.name} learns in the main thread alone (leave learnerThreads out, or set 1)` }] };
  if (s.rollouts !== undefined && algorithm.name !== 'rl2') return { problems: [{ path: ['rollouts'], message: `rollout workers sample RL2 trials only; ${algorithm.name} samples in this process (leave rollouts out)` }] };
  const resolved = algorithm.resolve(blocks[algorithm.settingsKey], distribution);
  if ('problems' in resolved) return { problems: resolved.problems.map((p) => ({ path: [algorithm.settingsKey, ...p.path], message: p.message })) };
  return {
    config: {
      name: s.name ?? basename(source).replace(/\.ya?ml$/, ''),
      benchmark: distribution.name,
      seed: s.seed,
      algorithm: s.algorithm,
      iterations: s.iterations,
      workers: s.workers,
      learnerThreads: s.learnerThreads ?? algorithm.learnerThreads?.default ?? 1,
      ...(s.initFrom ? { initFrom: s.initFrom } : {}),
      [algorithm.settingsKey]: resolved.settings,
      evaluation: {
        every: s.evaluation.every,
        tasks: s.evaluation.tasks ?? (Number.isFinite(distribution.testTaskCount) ? distribution.testTaskCount : 1000),
        seed: s.evaluation.seed,
        deterministic: s.evaluation.deterministic,
      },
      checkpoints: s.checkpoints,
    },
  };
}

/** Reads a scenario that must be of one kind (e.g. `metamanip train` takes train scenarios only). */
export function loadScenarioOfKind<K extends Scenario['kind']>(path: string, kind: K): Extract<Scenario, { kind: K }> {
  const scenario = loadScenario(path);
  if (scenario.kind !== kind) throw new ScenarioError(fieldProblem(scenario, ['kind'], `this command takes a ${kind} scenario, the file is a ${scenario.kind} scenario (run it with: metamanip run ${path})`, path));
  return scenario as Extract<Scenario, { kind: K }>;
}

/** A train scenario file resolved into the trainer's config. */
export function loadTrainScenario(path: string): TrainConfig {
  return resolveTrainScenario(loadScenarioOfKind(path, 'train'), path);
}

/** A train scenario given as a plain object (tests, programs). */
export function resolveScenario(document: unknown, source = 'scenario'): TrainConfig {
  const scenario = parseScenario(JSON.stringify({ kind: 'train', ...(document as object) }), source);
  if (scenario.kind !== 'train') throw new ScenarioError(`${source}: kind: expected train`);
  // Positions in the JSON text made here mean nothing to the caller: name fields only.
  LOCATORS.delete(scenario);
  return resolveTrainScenario(scenario, source);
}

/**
 * Checks what the schema cannot: benchmarks and families exist, task indices are in range, policies
 * are "expert" or an existing checkpoint, an eval scenario's benchmark is the one its checkpoint was
 * trained on. Returns every problem as a line naming its field (`file:line:col: field: message` for a
 * scenario read by parseScenario or loadScenario, see fieldProblem).
 */
export function scenarioProblems(scenario: Scenario, exists: (path: string) => boolean): string[] {
  const problems: PathProblem[] = [];
  const problem = (path: FieldPath, message: string) => problems.push({ path, message });
  const policy = (path: FieldPath, value: string) => {
    if (value !== 'expert' && !exists(value)) problem(path, `no checkpoint or run folder at ${value} (expected "expert" or a checkpoint path)`);
  };
  if (scenario.kind === 'train') {
    const resolved = resolveTrain(scenario, 'scenario');
    if ('problems' in resolved) problems.push(...resolved.problems);
  } else if (scenario.kind === 'eval') {
    const trainedOn = scenario.checkpoint && exists(scenario.checkpoint) ? checkpointBenchmark(scenario.checkpoint) : null;
    if (!exists(scenario.checkpoint)) problem(['checkpoint'], `no checkpoint or run folder at ${scenario.checkpoint}`);
    else if (trainedOn instanceof Error) problem(['checkpoint'], trainedOn.message);
    if (scenario.benchmark !== undefined) {
      try {
        distributionByName(scenario.benchmark);
        if (typeof trainedOn === 'string' && trainedOn !== scenario.benchmark) {
          problem(['benchmark'], `${scenario.benchmark}, but ${scenario.checkpoint} was trained on ${trainedOn}: its held-out tasks are ${trainedOn}'s test tasks (set benchmark: ${trainedOn}, or leave benchmark out)`);
        }
      } catch (error) {
        problem(['benchmark'], (error as Error).message);
      }
    }
  } else if (scenario.kind === 'serve') {
    if (scenario.policy !== undefined && !exists(scenario.policy)) problem(['policy'], `no checkpoint or run folder at ${scenario.policy}`);
    scenario.sims.forEach((sim, i) => {
      try {
        const { benchmark } = simBenchmark(sim);
        for (const [k, task] of sim.tasks.entries()) {
          try {
            benchmarkTask(benchmark, sim.split, task);
          } catch (error) {
            problem(['sims', i, 'tasks', k], (error as Error).message);
          }
        }
      } catch (error) {
        problem(['sims', i, sim.family !== undefined ? 'family' : 'benchmark'], (error as Error).message);
      }
      policy(['sims', i, 'policy'], sim.policy);
    });
  }
  return problems.map((p) => fieldProblem(scenario, p.path, p.message));
}

/** The benchmark a checkpoint (or a run folder's best checkpoint) was trained on, or what keeps it from being read. */
function checkpointBenchmark(path: string): string | Error {
  try {
    return readCheckpoint(resolveCheckpointPath(path)).benchmark;
  } catch (error) {
    return error as Error;
  }
}
