// The gateway's HTTP routes: health check, recordings, training runs' metrics and the viewer's
// static files. Every name in a path must be one the listing would show (no path traversal).

import { createReadStream, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, resolve, sep } from 'node:path';
import { requestToken, tokenMatches } from './auth.ts';
import { listRecordings } from './recorder.ts';

export interface HttpOptions {
  /** When set, every route but /healthz needs it (query ?token=, Authorization: Bearer, or the cookie set by a ?token= visit). */
  token?: string;
  /** Where MCAP recordings are written (GET /recordings). */
  recordDir?: string;
  /** Folders scanned for run folders (config.json + metrics.jsonl); default runs/ and training/. */
  runRoots?: string[];
  /** The built viewer (index.html and its assets). */
  viewerDir?: string;
  /** Extra fields of GET /healthz. */
  health?: () => Record<string, unknown>;
}

export const TOKEN_COOKIE = 'metamanip_token';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.json': 'application/json', '.map': 'application/json', '.svg': 'image/svg+xml', '.png': 'image/png', '.ico': 'image/x-icon', '.wasm': 'application/wasm',
  '.mcap': 'application/octet-stream', '.txt': 'text/plain; charset=utf-8',
};

export async function handleHttp(request: IncomingMessage, response: ServerResponse, options: HttpOptions): Promise<void> {
  let url: URL;
  try {
    url = new URL(request.url ?? '/', 'http://gateway');
  } catch {
    return text(response, 400, 'malformed request URL');
  }
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    response.setHeader('Allow', 'GET, HEAD');
    return text(response, 405, `${request.method} is not supported; the gateway's HTTP routes are read-only (GET)`);
  }
  const path = url.pathname;
  if (path === '/healthz') return json(response, 200, { ok: true, ...options.health?.() });
  if (options.token !== undefined) {
    const given = requestToken(request, url) ?? cookieToken(request);
    if (!tokenMatches(given, options.token)) return text(response, 401, 'this gateway needs a token: add ?token=<token> or an Authorization: Bearer <token> header');
    // A page opened with ?token= loads its scripts and opens its sockets without it: the cookie carries it.
    if (url.searchParams.has('token')) response.setHeader('Set-Cookie', `${TOKEN_COOKIE}=${encodeURIComponent(options.token)}; HttpOnly; SameSite=Strict; Path=/`);
  }
  try {
    if (path === '/recordings') return json(response, 200, await recordings(options.recordDir));
    if (path.startsWith('/recordings/')) return await sendRecording(response, options.recordDir, decode(path.slice('/recordings/'.length)));
    if (path === '/runs') return json(response, 200, listRuns(options.runRoots));
    const metrics = /^\/runs\/(.+)\/(metrics|evaluations)$/.exec(path);
    if (metrics) return sendJsonLines(response, options.runRoots, decode(metrics[1]), metrics[2] as 'metrics' | 'evaluations');
    return sendStatic(response, options.viewerDir, path);
  } catch (error) {
    if (response.headersSent) return void response.destroy();
    return text(response, 500, `internal error: ${(error as Error).message}`);
  }
}

export function cookieToken(request: IncomingMessage): string | undefined {
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name === TOKEN_COOKIE) return decode(value.join('='));
  }
  return undefined;
}

const decode = (text: string): string => {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
};

const recordings = async (dir: string | undefined) => (dir && existsSync(dir) ? listRecordings(dir) : []);

async function sendRecording(response: ServerResponse, dir: string | undefined, name: string): Promise<void> {
  // Only a name the listing shows: no separators, no '..', nothing outside the folder.
  const entry = (await recordings(dir)).find((r) => r.name === name);
  if (!entry || !dir) return text(response, 404, `no recording '${name}'; GET /recordings lists them`);
  sendFile(response, join(dir, entry.name), entry.bytes, { 'Content-Disposition': `attachment; filename="${entry.name}"` });
}

export interface RunEntry { name: string; path: string; benchmark: string | null; iterations: number; plannedIterations: number | null }

export function listRuns(roots: string[] = ['runs', 'training']): RunEntry[] {
  const runs: RunEntry[] = [];
  for (const root of roots) {
    if (!existsSync(root)) continue;
    for (const entry of readdirSync(root, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      const path = join(root, entry.name);
      if (!existsSync(join(path, 'config.json')) || !existsSync(join(path, 'metrics.jsonl'))) continue;
      let config: { benchmark?: unknown; iterations?: unknown } = {};
      try {
        config = JSON.parse(readFileSync(join(path, 'config.json'), 'utf8'));
      } catch {
        // A run being written: list it without its settings.
      }
      const lines = readFileSync(join(path, 'metrics.jsonl'), 'utf8').split('\n').filter((l) => l.trim()).length;
      runs.push({
        // Unique across roots (runs/ml1-reach and training/ml1-reach both exist).
        name: `${root.replace(/\/+$/, '').split(/[\\/]/).pop()}/${entry.name}`,
        path,
        benchmark: typeof config.benchmark === 'string' ? config.benchmark : null,
        iterations: lines,
        plannedIterations: typeof config.iterations === 'number' ? config.iterations : null,
      });
    }
  }
  return runs;
}

/** A run's metrics.jsonl (one row per iteration) or evaluations.jsonl (one line per evaluation; [] for runs from before it) as a JSON list. */
function sendJsonLines(response: ServerResponse, roots: string[] | undefined, name: string, file: 'metrics' | 'evaluations'): void {
  const run = listRuns(roots).find((r) => r.name === name);
  if (!run) return text(response, 404, `no run '${name}'; GET /runs lists them`);
  const path = join(run.path, `${file}.jsonl`);
  const rows: unknown[] = [];
  for (const line of existsSync(path) ? readFileSync(path, 'utf8').split('\n') : []) {
    if (!line.trim()) continue;
    try {
      rows.push(JSON.parse(line));
    } catch {
      // The last line of a run being written can be cut off.
    }
  }
  json(response, 200, rows);
}

function sendStatic(response: ServerResponse, viewerDir: string | undefined, path: string): void {
  if (!viewerDir || !existsSync(join(viewerDir, 'index.html'))) {
    if (path === '/' || path === '/index.html') {
      return html(response, 200, '<!doctype html><meta charset="utf-8"><title>metamanip gateway</title><p>The viewer is not built (run <code>npx tsx viewer/build.ts</code>, then restart <code>metamanip serve</code>). The gateway itself is up: see <a href="/healthz">/healthz</a>.</p>');
    }
    return text(response, 404, `no route ${path}`);
  }
  const root = resolve(viewerDir);
  const file = resolve(root, '.' + decode(path === '/' ? '/index.html' : path));
  // Inside the viewer folder, and no dot-files or dot-folders.
  if (!file.startsWith(root + sep) || file.slice(root.length + 1).split(sep).some((part) => part.startsWith('.'))) {
    return text(response, 404, `no file ${path}`);
  }
  if (!existsSync(file) || !statSync(file).isFile()) return text(response, 404, `no file ${path}`);
  sendFile(response, file, statSync(file).size, { 'Cache-Control': 'no-cache' });
}

function sendFile(response: ServerResponse, file: string, bytes: number, headers: Record<string, string>): void {
  response.writeHead(200, { 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream', 'Content-Length': bytes, ...headers });
  if (response.req.method === 'HEAD') return void response.end();
  createReadStream(file).on('error', () => response.destroy()).pipe(response);
}

function json(response: ServerResponse, status: number, body: unknown): void {
  const data = JSON.stringify(body);
  response.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data) });
  response.end(response.req.method === 'HEAD' ? undefined : data);
}

function text(response: ServerResponse, status: number, message: string): void {
  response.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', ...(status === 401 ? { 'WWW-Authenticate': 'Bearer realm="metamanip"' } : {}) });
  response.end(`${message}\n`);
}

function html(response: ServerResponse, status: number, body: string): void {
  response.writeHead(status, { 'Content-Type': 'text/html; charset=utf-8' });
  response.end(body);
}
