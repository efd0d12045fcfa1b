// Connecting to a NATS server (https://nats.io) for distributed rollouts: always with credentials (a
// token, or a user and password), with errors that say what failed and what to do about it.

import { type NatsConnection, connect, errors } from '@nats-io/transport-node';

export type NatsCredentials = { token: string } | { user: string; password: string };

/** Environment variables read when the command line gives no credentials. */
export const NATS_ENV = { token: 'METAMANIP_NATS_TOKEN', user: 'METAMANIP_NATS_USER', password: 'METAMANIP_NATS_PASSWORD' } as const;

/**
 * The credentials given (flags first, then METAMANIP_NATS_TOKEN, or METAMANIP_NATS_USER and
 * METAMANIP_NATS_PASSWORD). Exactly one kind is required: rollouts never connect without credentials.
 */
export function natsCredentials(given: { token?: string; user?: string; password?: string }, env: NodeJS.ProcessEnv = process.env): NatsCredentials {
  // An empty variable counts as unset.
  const fromEnv = (name: string) => env[name] || undefined;
  const token = given.token ?? (given.user === undefined ? fromEnv(NATS_ENV.token) : undefined);
  const user = given.user ?? (given.token === undefined ? fromEnv(NATS_ENV.user) : undefined);
  const password = given.password ?? (given.token === undefined ? fromEnv(NATS_ENV.password) : undefined);
  if (token !== undefined && (user !== undefined || given.password !== undefined)) throw new Error('NATS credentials: give a token or a user and password, not both');
  if (token !== undefined) {
    if (token === '') throw new Error('NATS credentials: the token is empty');
    return { token };
  }
  if (user !== undefined || password !== undefined) {
    if (!user || !password) throw new Error(`NATS credentials: a user needs a password and a password a user (got ${user ? `user "${user}"` : 'no user'} and ${password ? 'a password' : 'no password'})`);
    return { user, password };
  }
  throw new Error(`NATS credentials are required: give --token TOKEN (or ${NATS_ENV.token}), or --user USER --password PASSWORD (or ${NATS_ENV.user} and ${NATS_ENV.password})`);
}

/** The servers of a --nats value: one URL or several, comma-separated (nats://host:4222, host:4222). */
export function natsServers(url: string): string[] {
  const servers = url.split(',').map((s) => s.trim()).filter(Boolean);
  if (servers.length === 0) throw new Error(`NATS URL: expected nats://HOST:PORT (or several, comma-separated), got "${url}"`);
  for (const s of servers) {
    if (!/^(nats|tls|ws|wss):\/\/[^\s/]+(\/)?$|^[^\s:/]+(:\d+)?$/.test(s)) throw new Error(`NATS URL: expected nats://HOST:PORT, got "${s}"`);
  }
  return servers;
}

/**
 * Connects with the credentials; reconnects for ever after a first successful connection (a NATS
 * server restart is a pause, not an end). A refused login or an unreachable server is an Error whose
 * message names the server and the cause.
 */
export async function connectNats(url: string, credentials: NatsCredentials, name: string): Promise<NatsConnection> {
  const servers = natsServers(url);
  try {
    return await connect({
      servers, name, ...('token' in credentials ? { token: credentials.token } : { user: credentials.user, pass: credentials.password }),
      maxReconnectAttempts: -1, reconnectTimeWait: 500, pingInterval: 30_000,
    } as Parameters<typeof connect>[0]);
  } catch (error) {
    const e = error as Error;
    if (e instanceof errors.AuthorizationError || /authorization/i.test(e.message)) {
      const what = 'token' in credentials ? 'the token' : `user "${credentials.user}" and its password`;
      throw new Error(`the NATS server at ${url} refused ${what} (${e.message}): give the credentials the server was started with`);
    }
    throw new Error(`cannot connect to the NATS server at ${url}: ${e.message}${(e as { code?: string }).code ? ` (${(e as { code?: string }).code})` : ''}`);
  }
}

/** A NATS subject token from any name: characters other than letters, digits, "_" and "-" become "_". */
export const subjectToken = (name: string): string => name.replace(/[^A-Za-z0-9_-]/g, '_') || '_';

/** True when a request failed because nobody listens on its subject (NATS's 503). */
export function isNoResponders(error: unknown): boolean {
  return (error instanceof errors.RequestError && error.isNoResponders()) || error instanceof errors.NoRespondersError;
}

export function isTimeout(error: unknown): boolean {
  return error instanceof errors.TimeoutError || (error instanceof errors.RequestError && error.cause instanceof errors.TimeoutError);
}

export type { NatsConnection } from '@nats-io/transport-node';
