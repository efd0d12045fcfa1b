// The gateway's HTTP side as the page sees it: URLs (with the page's own ?token= passed on) and
// checked JSON fetches for recordings and training runs.

import type { EvaluationLine, MetricsRow } from './curves.ts';

export interface RecordingEntry { name: string; bytes: number; modified: string | number }
export interface RunEntry { name: string; path?: string; benchmark?: string | null; iterations?: number; plannedIterations?: number | null }

/** The token the page was opened with (?token=...), passed on to every request. */
export function pageToken(location: Location = window.location): string | null {
  return new URLSearchParams(location.search).get('token');
}

/** A same-origin HTTP URL for `path`, carrying the page's token. */
export function httpUrl(path: string, token: string | null = pageToken()): string {
  const url = new URL(path, window.location.href);
  if (token) url.searchParams.set('token', token);
  return url.toString();
}

/** The gateway's viewer WebSocket URL (ws: or wss: following the page), carrying the page's token. */
export function viewerSocketUrl(token: string | null = pageToken()): string {
  const url = new URL('/viewer', window.location.href);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  url.search = '';
  if (token) url.searchParams.set('token', token);
  return url.toString();
}

/** A refused request; status 401 means the gateway wants a token (?token= on the page's URL). */
export class HttpError extends Error {
  override name = 'HttpError';
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

async function get(path: string): Promise<Response> {
  const response = await fetch(httpUrl(path));
  if (!response.ok) throw new HttpError(response.status, `GET ${path} answered ${response.status} ${response.statusText}`);
  return response;
}

async function getJson(path: string): Promise<unknown> {
  return (await get(path)).json();
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export async function listRecordings(): Promise<RecordingEntry[]> {
  const body = await getJson('/recordings');
  if (!Array.isArray(body)) throw new Error('GET /recordings did not answer a list');
  return body.filter((r): r is RecordingEntry => isObject(r) && typeof r.name === 'string')
    .map((r) => ({ name: r.name, bytes: Number(r.bytes) || 0, modified: r.modified }));
}

export async function fetchRecording(name: string): Promise<Uint8Array> {
  const response = await get(`/recordings/${encodeURIComponent(name)}`);
  return new Uint8Array(await response.arrayBuffer());
}

export async function listRuns(): Promise<RunEntry[]> {
  const body = await getJson('/runs');
  if (!Array.isArray(body)) throw new Error('GET /runs did not answer a list');
  return body.filter((r): r is RunEntry => isObject(r) && typeof r.name === 'string');
}

export async function fetchMetrics(run: string): Promise<MetricsRow[]> {
  const body = await getJson(`/runs/${encodeURIComponent(run)}/metrics`);
  if (!Array.isArray(body)) throw new Error(`GET /runs/${run}/metrics did not answer a list`);
  return body.filter(isObject) as MetricsRow[];
}

/** A run's validation evaluations with their adaptation curves ([] for runs from before evaluations.jsonl). */
export async function fetchEvaluations(run: string): Promise<EvaluationLine[]> {
  const body = await getJson(`/runs/${encodeURIComponent(run)}/evaluations`);
  if (!Array.isArray(body)) throw new Error(`GET /runs/${run}/evaluations did not answer a list`);
  return body.filter((e): e is EvaluationLine => isObject(e) && Array.isArray(e.byEpisode));
}
