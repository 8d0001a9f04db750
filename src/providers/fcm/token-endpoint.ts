/**
 * One OAuth2 token request: the signed assertion POSTed to the service account's
 * token_uri (RFC 7523 JWT bearer grant), the answer read with a size bound and a
 * deadline, and judged into a value. Never throws.
 */
import { request } from 'node:https';
import { z } from 'zod';

export const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
/** Google answers a few hundred bytes; more is not a token answer. */
const MAX_ANSWER_BYTES = 16 * 1024;

export type TokenAnswer =
  | { kind: 'ok'; accessToken: string; expiresInS: number }
  /** The endpoint refused the assertion (invalid_grant, invalid_client, …): the key is wrong, revoked or the clock is off. */
  | { kind: 'refused'; status: number; error: string }
  /** No usable answer (network, timeout, 429/5xx, garbage): try again later. */
  | { kind: 'unavailable'; status?: number; cause: string };

export type TokenFetch = (params: { tokenUri: string; assertion: string; ca?: Buffer; timeoutMs: number }) => Promise<TokenAnswer>;

const okSchema = z.object({ access_token: z.string().min(1).max(4096), expires_in: z.number().int().positive(), token_type: z.string().regex(/^bearer$/i) });
const errorSchema = z.object({ error: z.string().max(200) });

export const requestAccessToken: TokenFetch = ({ tokenUri, assertion, ca, timeoutMs }) =>
  new Promise((resolve) => {
    const body = `grant_type=${encodeURIComponent(JWT_BEARER_GRANT)}&assertion=${encodeURIComponent(assertion)}`;
    let settled = false;
    const done = (answer: TokenAnswer): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(answer);
    };
    let url: URL;
    try {
      url = new URL(tokenUri);
    } catch {
      done({ kind: 'unavailable', cause: 'bad token_uri' });
      return;
    }
    const req = request(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body), accept: 'application/json' }, ...(ca === undefined ? {} : { ca }) }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_ANSWER_BYTES) {
          res.destroy();
          done({ kind: 'unavailable', status: res.statusCode ?? 0, cause: 'answer too large' });
          return;
        }
        chunks.push(chunk);
      });
      res.on('error', (err) => done({ kind: 'unavailable', cause: (err as NodeJS.ErrnoException).code ?? err.message }));
      res.on('end', () => done(judge(res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8'))));
    });
    const timer = setTimeout(() => {
      req.destroy();
      done({ kind: 'unavailable', cause: 'timeout' });
    }, timeoutMs);
    req.on('error', (err) => done({ kind: 'unavailable', cause: (err as NodeJS.ErrnoException).code ?? err.message }));
    req.end(body);
  });

function judge(status: number, text: string): TokenAnswer {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    data = undefined;
  }
  if (status === 200) {
    const ok = okSchema.safeParse(data);
    return ok.success ? { kind: 'ok', accessToken: ok.data.access_token, expiresInS: ok.data.expires_in } : { kind: 'unavailable', status, cause: 'malformed token answer' };
  }
  // 400/401/403 with an OAuth error: the grant itself is refused (RFC 6749 §5.2).
  const error = errorSchema.safeParse(data);
  if (status >= 400 && status < 500 && status !== 429 && status !== 408) return { kind: 'refused', status, error: error.success ? error.data.error : `status ${status}` };
  return { kind: 'unavailable', status, cause: error.success ? error.data.error : `status ${status}` };
}
