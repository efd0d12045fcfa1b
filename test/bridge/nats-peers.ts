// Real peers for the distributed-rollout tests: a nats-server process (Debian's package; .ci/run installs
// it), `metamanip worker` processes, and a network namespace joined to this one by a veth pair when this
// machine lets the test make one (else every peer is on loopback).

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';

/** A free TCP port on `host` (the OS picks it; closed again before it is handed out). */
export function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** A child process whose output lines are kept, with a way to wait for a line. */
export class Peer {
  readonly lines: string[] = [];
  private waiters: Array<{ pattern: RegExp; from: number; resolve: (line: string) => void }> = [];
  private readonly listeners: Array<(line: string) => void> = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(readonly name: string, readonly child: ChildProcess) {
    let partial = '';
    const take = (chunk: Buffer) => {
      partial += chunk.toString();
      const parts = partial.split('\n');
      partial = parts.pop()!;
      for (const line of parts) {
        this.lines.push(line);
        for (const listener of this.listeners) listener(line);
        this.waiters = this.waiters.filter((w) => {
          if (w.pattern.test(line)) { w.resolve(line); return false; }
          return true;
        });
      }
    };
    child.stdout?.on('data', take);
    child.stderr?.on('data', take);
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  /** The first line matching `pattern` (already seen or to come, from line `from` on), or an error after `ms`. */
  waitFor(pattern: RegExp, ms = 60_000, from = 0): Promise<string> {
    const seen = this.lines.slice(from).find((l) => pattern.test(l));
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const fail = (why: string) => reject(new Error(`${this.name}: no line matching ${pattern} ${why}; it printed:\n${this.lines.join('\n')}`));
      const timer = setTimeout(() => fail(`within ${ms} ms`), ms);
      void this.exited.then(({ code, signal }) => { clearTimeout(timer); fail(`before it exited (${signal ?? `code ${code}`})`); });
      this.waiters.push({ pattern, from, resolve: (line) => { clearTimeout(timer); resolve(line); } });
    });
  }

  /** Calls `listener` with every line printed from now on. */
  onLine(listener: (line: string) => void): void { this.listeners.push(listener); }

  get output(): string { return this.lines.join('\n'); }

  get alive(): boolean { return this.child.exitCode === null && this.child.signalCode === null; }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void { if (this.alive) this.child.kill(signal); }
}

export interface NatsServer { url: string; host: string; port: number; peer: Peer; stop(): Promise<void> }

/** nats-server on `host` with a token or a user and password, ready to take connections. */
export async function startNatsServer(host: string, auth: { token: string } | { user: string; password: string }): Promise<NatsServer> {
  const port = await freePort(host);
  const args = ['-a', host, '-p', String(port), ...('token' in auth ? ['--auth', auth.token] : ['--user', auth.user, '--pass', auth.password])];
  const peer = new Peer('nats-server', spawn('nats-server', args, { stdio: ['ignore', 'pipe', 'pipe'] }));
  await peer.waitFor(/Server is ready/, 20_000);
  return {
    url: `nats://${host}:${port}`, host, port, peer,
    stop: async () => { peer.kill('SIGTERM'); await peer.exited; },
  };
}

/** `node bin/metamanip.js <args>` (at nice 10: the machine is shared), optionally inside a network namespace. */
export function metamanip(name: string, args: string[], options: { env?: NodeJS.ProcessEnv; netns?: string } = {}): Peer {
  const command = ['nice', '-n', '10', process.execPath, 'bin/metamanip.js', ...args];
  const argv = options.netns ? ['ip', 'netns', 'exec', options.netns, ...command] : command;
  return new Peer(name, spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...options.env } }));
}

/** A rollout worker process, waited for until it is connected. */
export async function startWorker(name: string, url: string, options: { token?: string; netns?: string; extra?: string[] } = {}): Promise<Peer> {
  const worker = metamanip(name, ['worker', '--nats', url, '--name', name, ...(options.extra ?? [])], { env: options.token ? { METAMANIP_NATS_TOKEN: options.token } : {}, netns: options.netns });
  await worker.waitFor(/connected to nats:/, 90_000);
  return worker;
}

/**
 * A network namespace of its own, joined to this one by a veth pair (10.213.N.1 here, 10.213.N.2 in
 * it), so that a worker in it reaches the server over a real link rather than loopback; null when this
 * machine does not let the test make one (no privilege, no `ip`), with the reason.
 */
export function makeNetworkNamespace(): { name: string; hostAddress: string; remove(): void } | { reason: string } {
  const id = process.pid % 100_000;
  const name = `mmns${id}`, outside = `mmh${id}`, inside = `mmn${id}`;
  const subnet = `10.213.${id % 250}`;
  const run = (...args: string[]) => {
    const r = spawnSync('ip', args, { encoding: 'utf8' });
    if (r.error || r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.error?.message ?? r.stderr.trim()}`);
  };
  const remove = () => {
    spawnSync('ip', ['netns', 'del', name]);
    spawnSync('ip', ['link', 'del', outside]);
  };
  try {
    remove();
    run('netns', 'add', name);
    run('link', 'add', outside, 'type', 'veth', 'peer', 'name', inside);
    run('link', 'set', inside, 'netns', name);
    run('addr', 'add', `${subnet}.1/30`, 'dev', outside);
    run('link', 'set', outside, 'up');
    run('netns', 'exec', name, 'ip', 'addr', 'add', `${subnet}.2/30`, 'dev', inside);
    run('netns', 'exec', name, 'ip', 'link', 'set', inside, 'up');
    run('netns', 'exec', name, 'ip', 'link', 'set', 'lo', 'up');
    return { name, hostAddress: `${subnet}.1`, remove };
  } catch (error) {
    remove();
    return { reason: (error as Error).message };
  }
}
