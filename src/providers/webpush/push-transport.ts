import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import type { ClientRequest, IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import { FORBIDDEN_ADDRESS, guardedLookup } from './endpoint-guard.js';

/**
 * POSTs one push message and reports what happened as a value. HTTP/1.1 with
 * keep-alive (node's agent pools sockets per origin); redirects are never followed —
 * push services do not redirect, and following one would let an endpoint lead Herald
 * anywhere. Every connection resolves its host through the endpoint guard.
 */

/** Bytes of a response body kept (for the rejection detail); a longer body is cut off. */
export const MAX_RESPONSE_BYTES = 1024;

export type PostResult =
  | { kind: 'response'; status: number; location: string | undefined; retryAfter: string | undefined; body: string }
  /**
   * No answer. `sent`: the request may have reached the push service (the connection
   * failed after the body went out), so sending again may deliver twice.
   */
  | { kind: 'failed'; cause: 'timeout' | 'forbidden' | 'dns' | 'connect' | 'tls' | 'lost'; sent: boolean; detail: string };

export interface PushTransportOptions {
  allowPrivate: boolean;
  /** Sockets per origin: the app's in-flight bound. */
  maxSockets: number;
  /** Extra trusted CA (tests, relays); public push services need none. */
  ca?: string;
}

export class PushTransport {
  private readonly https: HttpsAgent;
  private readonly http: HttpAgent | undefined;
  /** Given to every request: the agent passes it to each new connection. */
  private readonly lookup: LookupFunction;

  constructor(options: PushTransportOptions) {
    this.lookup = guardedLookup(options.allowPrivate);
    const common = { keepAlive: true, maxSockets: options.maxSockets, maxFreeSockets: Math.min(options.maxSockets, 256), timeout: 60_000, scheduling: 'lifo' as const };
    this.https = new HttpsAgent(Object.assign({}, common, options.ca === undefined ? {} : { ca: options.ca }));
    // Plain http only exists for allowPrivateEndpoints (a local relay or a test).
    this.http = options.allowPrivate ? new HttpAgent(common) : undefined;
  }

  post(url: URL, headers: OutgoingHttpHeaders, body: Buffer, timeoutMs: number): Promise<PostResult> {
    return new Promise((resolve) => {
      let settled = false;
      let sent = false;
      const done = (result: PostResult): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(result);
      };
      const isHttps = url.protocol === 'https:';
      const agent = isHttps ? this.https : this.http;
      if (!agent) return done({ kind: 'failed', cause: 'connect', sent: false, detail: `${url.protocol} endpoints are not allowed` });
      const send = isHttps ? httpsRequest : httpRequest;
      const req: ClientRequest = send(url, { method: 'POST', agent, lookup: this.lookup, headers: Object.assign({}, headers, { 'content-length': body.length }) }, (res) => readAnswer(res, done));
      const timer = setTimeout(() => {
        req.destroy();
        done({ kind: 'failed', cause: 'timeout', sent, detail: `no answer within ${timeoutMs} ms` });
      }, timeoutMs);
      req.on('finish', () => {
        sent = true;
      });
      req.on('error', (err: NodeJS.ErrnoException) => done(failure(err, sent)));
      req.end(body);
    });
  }

  close(): void {
    this.https.destroy();
    this.http?.destroy();
  }
}

function readAnswer(res: IncomingMessage, done: (result: PostResult) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  const finish = (): void => {
    const location = res.headers.location;
    const retryAfter = res.headers['retry-after'];
    done({ kind: 'response', status: res.statusCode ?? 0, location, retryAfter, body: Buffer.concat(chunks).toString('utf8') });
  };
  res.on('data', (chunk: Buffer) => {
    if (size >= MAX_RESPONSE_BYTES) return;
    chunks.push(chunk.subarray(0, MAX_RESPONSE_BYTES - size));
    size += chunk.length;
    if (size >= MAX_RESPONSE_BYTES) {
      // Enough for a detail: answer now and drop the connection rather than read an unbounded body.
      finish();
      res.destroy();
    }
  });
  res.on('end', finish);
  res.on('error', finish);
  res.on('close', finish);
}

function failure(err: NodeJS.ErrnoException, sent: boolean): PostResult {
  const code = err.code ?? '';
  if (code === FORBIDDEN_ADDRESS) return { kind: 'failed', cause: 'forbidden', sent: false, detail: err.message };
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'ENODATA') return { kind: 'failed', cause: 'dns', sent: false, detail: `${code}: ${err.message}` };
  if (code === 'ECONNREFUSED' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || code === 'ETIMEDOUT') return { kind: 'failed', cause: 'connect', sent: false, detail: code };
  if (code.startsWith('ERR_TLS') || code.includes('CERT') || code === 'EPROTO') return { kind: 'failed', cause: 'tls', sent: false, detail: code || err.message };
  return { kind: 'failed', cause: 'lost', sent, detail: code || err.message };
}
