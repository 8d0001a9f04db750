import { hmacSha256Hex, md5Hex } from './hmac.js';

/** Pusher's request signing, shared by the daemon's verifier and herald/client. */
export type QueryParams = Record<string, string | string[] | undefined>;

export function stringToSign(req: { method: string; path: string; query: QueryParams }): string {
  const params = Object.entries(req.query)
    .filter(([name, value]) => name !== 'auth_signature' && value !== undefined)
    .map(([name, value]) => [name.toLowerCase(), Array.isArray(value) ? value.join(',') : (value as string)] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, value]) => `${name}=${value}`)
    .join('&');
  return `${req.method.toUpperCase()}\n${req.path}\n${params}`;
}

/** Signs a request the way the pusher SDK does; used by Herald's own client and CLI. */
export function signQuery(
  app: { readonly key: string; readonly secret: string },
  method: string,
  path: string,
  body: string | undefined,
  params: Record<string, string> = {},
  nowSeconds = Math.floor(Date.now() / 1000),
): Record<string, string> {
  const query: Record<string, string> = Object.assign({}, params, { auth_key: app.key, auth_timestamp: String(nowSeconds), auth_version: '1.0' });
  if (body) query.body_md5 = md5Hex(body);
  query.auth_signature = hmacSha256Hex(app.secret, stringToSign({ method, path, query }));
  return query;
}
