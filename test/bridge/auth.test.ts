// Who may connect, and the HTTP routes: token at upgrade (401 without it; via subprotocol, query
// or header), Origin check, loopback default, roles by path, runs/recordings/static files.

import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { simBenchmark, startGateway, type Gateway } from '../../bridge/index.ts';
import { decodeFrame } from '../../protocol/ndarray.ts';

const TOKEN = 's3cret-token';

/** Opens a socket; resolves with the selected subprotocol, or the HTTP status it was refused with. */
interface Attempt { status: number; protocol?: string; socket?: WebSocket; body?: string; messages: Array<{ data: Buffer; isBinary: boolean }>; closed: Promise<number> }
function attempt(url: string, protocols: string[] = [], headers: Record<string, string> = {}): Promise<Attempt> {
  return new Promise((resolve) => {
    const socket = new WebSocket(url, protocols, { headers });
    // Recorded from the start: the first frame can arrive with the handshake, before a later listener.
    const messages: Attempt['messages'] = [];
    socket.on('message', (data, isBinary) => messages.push({ data: data as Buffer, isBinary }));
    const closed = new Promise<number>((done) => socket.on('close', (code) => done(code)));
    socket.once('open', () => resolve({ status: 101, protocol: socket.protocol, socket, messages, closed }));
    socket.once('unexpected-response', (_req, response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => { body += chunk.toString(); });
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body, messages, closed }));
    });
    socket.once('error', () => {});
  });
}

function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; headers: Record<string, string | string[] | undefined> }> {
  return new Promise((resolve, reject) => {
    httpRequest(url, { headers }, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => { body += chunk.toString(); });
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body, headers: response.headers }));
    }).on('error', reject).end();
  });
}

describe('gateway access', () => {
  let gateway: Gateway;
  let base: string;
  let http: string;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'metamanip-auth-'));
    mkdirSync(join(dir, 'runs', 'alpha'), { recursive: true });
    writeFileSync(join(dir, 'runs', 'alpha', 'config.json'), JSON.stringify({ benchmark: 'ML1:reach', iterations: 10 }));
    writeFileSync(join(dir, 'runs', 'alpha', 'metrics.jsonl'), '{"iteration":0,"loss":1}\n{"iteration":1,"loss":0.5}\n{"iteration":2,"lo');
    mkdirSync(join(dir, 'recordings'));
    writeFileSync(join(dir, 'recordings', 'one.mcap'), 'MCAP');
    writeFileSync(join(dir, 'secret.txt'), 'not for you');
    mkdirSync(join(dir, 'viewer'));
    writeFileSync(join(dir, 'viewer', 'index.html'), '<!doctype html><title>viewer</title>');
    // Any address but loopback needs the token; 0.0.0.0 is reached here through 127.0.0.1.
    gateway = await startGateway({
      host: '0.0.0.0', port: 0, token: TOKEN, allowedOrigins: ['https://lab.example'],
      runRoots: [join(dir, 'runs')], recordDir: join(dir, 'recordings'), viewerDir: join(dir, 'viewer'),
    });
    base = `ws://127.0.0.1:${gateway.port}`;
    http = `http://127.0.0.1:${gateway.port}`;
  });
  afterAll(() => gateway.close());

  it('refuses to bind a non-loopback address without a token', async () => {
    await expect(startGateway({ host: '0.0.0.0', port: 0 })).rejects.toThrow(/requires a token/);
  });

  it('answers 401 at upgrade without a valid token', async () => {
    const none = await attempt(`${base}/controller`);
    expect(none.status).toBe(401);
    expect(none.body).toContain('metamanip.token.<token>');
    expect((await attempt(`${base}/viewer?token=wrong`)).status).toBe(401);
    expect((await attempt(`${base}/controller`, ['metamanip.v1', 'metamanip.token.wrong'])).status).toBe(401);
  });

  it('accepts the token in a subprotocol entry and selects a real subprotocol', async () => {
    const both = await attempt(`${base}/controller`, ['metamanip.v1', `metamanip.token.${TOKEN}`]);
    expect(both.status).toBe(101);
    expect(both.protocol).toBe('metamanip.v1');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(decodeFrame(both.messages[0].data)).toMatchObject({ type: 'hello' });
    both.socket!.close();
    // Only the token offered: it is echoed, as a browser fails a handshake that answers none.
    const alone = await attempt(`${base}/viewer`, [`metamanip.token.${TOKEN}`]);
    expect(alone.status).toBe(101);
    expect(alone.protocol).toBe(`metamanip.token.${TOKEN}`);
    alone.socket!.close();
  });

  it('accepts the token as a query parameter or a bearer header', async () => {
    const query = await attempt(`${base}/viewer?token=${TOKEN}`);
    expect(query.status).toBe(101);
    expect(query.protocol).toBe('');
    query.socket!.close();
    const header = await attempt(`${base}/controller`, [], { Authorization: `Bearer ${TOKEN}` });
    expect(header.status).toBe(101);
    header.socket!.close();
  });

  it('checks the Origin of browser clients', async () => {
    const url = `${base}/viewer?token=${TOKEN}`;
    expect((await attempt(url, [], { Origin: 'https://evil.example' })).status).toBe(403);
    const same = await attempt(url, [], { Origin: http });
    expect(same.status).toBe(101);
    same.socket!.close();
    const listed = await attempt(url, [], { Origin: 'https://lab.example' });
    expect(listed.status).toBe(101);
    listed.socket!.close();
  });

  it('routes by path: 404 for an unknown path, and the policy role without a policy says so and closes 1011', async () => {
    expect((await attempt(`${base}/nothing?token=${TOKEN}`)).status).toBe(404);
    const policy = await attempt(`${base}/?token=${TOKEN}`);
    expect(policy.status).toBe(101);
    expect(await policy.closed).toBe(1011);
    expect(policy.messages).toHaveLength(1);
    expect(policy.messages[0].isBinary).toBe(false);
    expect(policy.messages[0].data.toString()).toContain('no policy loaded');
  });

  it('hands Foxglove clients (by subprotocol, any path) to the Foxglove role', async () => {
    for (const protocol of ['foxglove.sdk.v1', 'foxglove.websocket.v1']) {
      const foxglove = await attempt(`${base}/?token=${TOKEN}`, [protocol]);
      expect(foxglove.status).toBe(101);
      expect(foxglove.protocol).toBe(protocol);
      for (let i = 0; i < 50 && foxglove.messages.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(foxglove.messages[0].isBinary).toBe(false);
      expect(JSON.parse(foxglove.messages[0].data.toString())).toMatchObject({ op: 'serverInfo' });
      foxglove.socket!.close();
    }
    // Foxglove's web app is an allowed browser origin for this role only.
    const app = await attempt(`${base}/?token=${TOKEN}`, ['foxglove.websocket.v1'], { Origin: 'https://app.foxglove.dev' });
    expect(app.status).toBe(101);
    app.socket!.close();
    expect((await attempt(`${base}/controller?token=${TOKEN}`, [], { Origin: 'https://app.foxglove.dev' })).status).toBe(403);
  });

  it('serves /healthz without a token and every other route only with one', async () => {
    const health = await get(`${http}/healthz`);
    expect(health.status).toBe(200);
    expect(JSON.parse(health.body)).toMatchObject({ ok: true });
    expect((await get(`${http}/runs`)).status).toBe(401);
    expect((await get(`${http}/`)).status).toBe(401);
    const withQuery = await get(`${http}/runs?token=${TOKEN}`);
    expect(withQuery.status).toBe(200);
    expect(String(withQuery.headers['set-cookie'])).toContain('metamanip_token=');
    const cookie = String(withQuery.headers['set-cookie']).split(';')[0];
    expect((await get(`${http}/`, { Cookie: cookie })).status).toBe(200);
    expect(JSON.parse(withQuery.body)).toEqual([{ name: 'runs/alpha', path: join(dir, 'runs', 'alpha'), benchmark: 'ML1:reach', iterations: 3, plannedIterations: 10 }]);
  });

  it('lists runs and their metrics, recordings and viewer files, and refuses path traversal', async () => {
    const auth = { Authorization: `Bearer ${TOKEN}` };
    const metrics = await get(`${http}/runs/runs/alpha/metrics`, auth);
    expect(JSON.parse(metrics.body)).toEqual([{ iteration: 0, loss: 1 }, { iteration: 1, loss: 0.5 }]); // the cut-off last line is skipped
    expect((await get(`${http}/runs/runs%2F..%2F..%2Fsecret/metrics`, auth)).status).toBe(404);
    const recordings = JSON.parse((await get(`${http}/recordings`, auth)).body);
    expect(recordings).toEqual([{ name: 'one.mcap', bytes: 4, modified: expect.any(String) }]);
    expect((await get(`${http}/recordings/one.mcap`, auth)).body).toBe('MCAP');
    for (const path of ['/recordings/..%2Fsecret.txt', '/recordings/../secret.txt', '/recordings/%2e%2e/secret.txt']) expect((await get(`${http}${path}`, auth)).status).toBe(404);
    expect((await get(`${http}/`, auth)).body).toContain('<title>viewer</title>');
    for (const path of ['/../secret.txt', '/%2e%2e/secret.txt', '/..%2fsecret.txt']) expect((await get(`${http}${path}`, auth)).status).toBe(404);
  });

  it('records episodes with recordDir, lists them over HTTP and finishes the files on close', async () => {
    const recordDir = mkdtempSync(join(tmpdir(), 'metamanip-rec-'));
    const recording = await startGateway({ port: 0, recordDir });
    const sims = recording.sims;
    const sim = sims.open({ ...simBenchmark({ family: 'reach' }), policy: 'test' }).id;
    sims.reset(sim);
    for (let i = 0; i < 5; i++) sims.step(sim, [0.1, 0, 0, 0]);
    const url = recording.httpUrl;
    await recording.close();
    expect(existsSync(recordDir)).toBe(true);
    const names = readdirSync(recordDir).filter((n) => n.endsWith('.mcap'));
    expect(names).toHaveLength(1);
    expect(names[0]).toContain(`-${sim}-reach-ep0`);
    expect(url).toMatch(/^http:/);
    // A second gateway over the same folder lists the finished file.
    const lister = await startGateway({ port: 0, recordDir });
    try {
      const list = JSON.parse((await get(`${lister.httpUrl}/recordings`)).body) as Array<{ name: string; bytes: number }>;
      expect(list.map((r) => r.name)).toEqual(names);
      expect(list[0].bytes).toBeGreaterThan(100);
    } finally {
      await lister.close();
    }
  });

  it('says so when the viewer is not built, and binds loopback without a token by default', async () => {
    const plain = await startGateway({ port: 0 });
    try {
      expect(plain.url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/);
      const page = await get(`${plain.httpUrl}/`);
      expect(page.status).toBe(200);
      expect(page.body).toContain('not built');
      expect((await get(`${plain.httpUrl}/recordings`)).body).toBe('[]');
      const open = await attempt(`${plain.url}/controller`);
      expect(open.status).toBe(101);
      open.socket!.close();
    } finally {
      await plain.close();
    }
  });
});
