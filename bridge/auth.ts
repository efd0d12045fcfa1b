// Who may connect: the token check (subprotocol entry, query parameter or Authorization header),
// the browser Origin check, the subprotocol choice and the HTTP refusal written at upgrade.

import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import type { Duplex } from 'node:stream';
import { PROTOCOL_NAME, TOKEN_PREFIX } from '../protocol/wire.ts';

export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '');
  if (bare === 'localhost' || bare === '::1') return true;
  return isIP(bare) === 4 && bare.startsWith('127.');
}

/** Parses a Sec-WebSocket-Protocol header into its entries. */
export function offeredProtocols(request: IncomingMessage): string[] {
  const header = request.headers['sec-websocket-protocol'];
  return (header ?? '').split(',').map((p) => p.trim()).filter(Boolean);
}

/** The token a request carries, wherever it is (browsers cannot set headers on a WebSocket). */
export function requestToken(request: IncomingMessage, url: URL): string | undefined {
  const fromProtocol = offeredProtocols(request).find((p) => p.startsWith(TOKEN_PREFIX));
  if (fromProtocol) return fromProtocol.slice(TOKEN_PREFIX.length);
  const fromQuery = url.searchParams.get('token');
  if (fromQuery !== null) return fromQuery;
  const authorization = request.headers.authorization;
  if (authorization?.startsWith('Bearer ')) return authorization.slice(7).trim();
  return undefined;
}

const digest = (text: string) => createHash('sha256').update(text).digest();

/** Constant-time comparison (of digests, so lengths do not leak either). */
export function tokenMatches(given: string | undefined, expected: string): boolean {
  return given !== undefined && timingSafeEqual(digest(given), digest(expected));
}

/**
 * Browsers send Origin; other clients do not. A browser page may connect only from the gateway's
 * own origin (the viewer it serves) or an allowed one, so a random web page cannot drive the
 * robot through a user's browser (cross-site WebSocket hijacking).
 */
export function originAllowed(request: IncomingMessage, allowed: readonly string[]): boolean {
  const origin = request.headers.origin;
  if (origin === undefined) return true;
  if (allowed.includes('*') || allowed.includes(origin)) return true;
  try {
    return new URL(origin).host === request.headers.host;
  } catch {
    return false;
  }
}

/**
 * The subprotocol to answer with. A browser fails the handshake when it offered subprotocols and
 * gets none back, so a known one is chosen; the token entry is echoed only when it was the sole
 * offer (clients should offer metamanip.v1 next to it).
 */
export function selectProtocol(protocols: Set<string>, preferred: readonly string[]): string | false {
  for (const name of [...preferred, PROTOCOL_NAME]) if (protocols.has(name)) return name;
  const others = [...protocols].filter((p) => !p.startsWith(TOKEN_PREFIX));
  if (others.length > 0) return false;
  return protocols.size > 0 ? [...protocols][0] : false;
}

const REASONS: Record<number, string> = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 503: 'Service Unavailable' };

/** Answers an upgrade request with a plain HTTP error and drops the connection. */
export function refuseUpgrade(socket: Duplex, status: number, message: string): void {
  const body = `${message}\n`;
  const headers = [
    `HTTP/1.1 ${status} ${REASONS[status] ?? 'Error'}`,
    'Connection: close',
    'Content-Type: text/plain; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    ...(status === 401 ? ['WWW-Authenticate: Bearer realm="metamanip"'] : []),
  ];
  socket.end(`${headers.join('\r\n')}\r\n\r\n${body}`);
  socket.once('error', () => {});
  setTimeout(() => socket.destroy(), 1000).unref();
}
