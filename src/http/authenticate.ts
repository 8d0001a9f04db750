import type { IncomingHttpHeaders } from 'node:http';
import type { App, AppStore } from '../apps/app-store.js';
import { readSignedParams, verifyPusherSignature } from './pusher-signature.js';
import type { QueryParams } from '../lib/pusher-signing.js';
import type { SignedParams } from './pusher-signature.js';

export interface RequestLine {
  method: string;
  /** The raw URL, path and query string, as sent. */
  url: string;
  appId: string;
  /** The query as fastify parsed it (repeated names become arrays). */
  query: QueryParams;
  headers: IncomingHttpHeaders;
}

export type Authentication =
  | { ok: true; app: App; params: SignedParams }
  | { ok: false; status: 400 | 401 | 403 | 404; error: string; app?: App };

/**
 * Everything a signed `/apps/{id}/...` request can be refused for on its request line:
 * unknown app (404), ambiguous parameters (400), key, timestamp or signature (401),
 * disabled app (403). Runs before the body is read, so a refused request costs no
 * buffering; only the body against body_md5 is left for later.
 */
export function authenticateRequestLine(line: RequestLine, apps: AppStore, nowSeconds?: number): Authentication {
  const app = apps.byId(line.appId);
  if (!app) return { ok: false, status: 404, error: `Unknown app id '${line.appId.slice(0, 64)}'` };
  const read = readSignedParams(line.query);
  if (!read.ok) return { ...read, app };
  const queryAt = line.url.indexOf('?');
  const sent = queryAt < 0 ? line.url : line.url.slice(0, queryAt);
  const verify = (path: string) => verifyPusherSignature({ method: line.method, path, params: read.params, announcesBody: announcesBody(line.headers) }, app, nowSeconds);
  const merged = mergeSlashes(sent);
  let verified = verify(merged);
  // The path as sent, too: a client signing exactly what it sends is as right as the SDK.
  if (!verified.ok && merged !== sent) {
    const asSent = verify(sent);
    if (asSent.ok) verified = asSent;
  }
  if (!verified.ok) return { ...verified, app };
  if (!app.enabled) return { ok: false, status: 403, error: 'App is disabled', app };
  return { ok: true, app, params: read.params };
}

/**
 * Repeated slashes count as one, as the router treats them. The pusher SDK signs
 * `/apps/{id}/…` even when its URL is `host/` + that path (`//apps/…`), and a proxy
 * merging slashes would forward the merged path anyway. Both paths name the same
 * resource, so accepting a signature over either lets nobody do anything new.
 */
export function mergeSlashes(path: string): string {
  return path.includes('//') ? path.replace(/\/{2,}/g, '/') : path;
}

/** A chunked body's size is unknown until read; its body_md5 is then required by the body check. */
function announcesBody(headers: IncomingHttpHeaders): boolean {
  const length = Number(headers['content-length'] ?? '0');
  return !Number.isFinite(length) || length > 0;
}
