import { hmacSha256Hex, md5Hex } from './hmac.js';

/** Pusher's request signing, shared by the daemon's verifier and herald/client. */
export type QueryParams = Record<string, string | string[] | undefined>;

export function stringToSign(req: { method: string; path: string; query: QueryParams }): string {
  // A loop, not entries → filter → map → sort → map → join: the verifier runs this on every signed request.
  const pairs: Array<[string, string]> = [];
  for (const name of Object.keys(req.query)) {
    const value = req.query[name];
    if (name === 'auth_signature' || value === undefined) continue;
    pairs.push([name.toLowerCase(), Array.isArray(value) ? value.join(',') : value]);
  }
  pairs.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  let params = '';
  for (const [name, value] of pairs) params += params === '' ? `${name}=${value}` : `&${name}=${value}`;
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
