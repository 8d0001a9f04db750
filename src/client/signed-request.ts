import { signQuery } from '../lib/pusher-signing.js';

export interface AppCredentials {
  app: string;
  key: string;
  secret: string;
}

export interface SignedResponse {
  status: number;
  /** The parsed JSON body, or undefined when the body was empty or not JSON. */
  body: unknown;
}

/**
 * One request to a Herald (or Pusher) HTTP API, signed the way the pusher SDK signs:
 * auth_key, auth_timestamp, auth_version, body_md5 and auth_signature in the query.
 * `path` is relative to `/apps/{app}`.
 */
export async function signedRequest(
  baseUrl: string,
  credentials: AppCredentials,
  method: 'GET' | 'POST' | 'PUT' | 'DELETE',
  path: string,
  options: { body?: unknown; params?: Record<string, string>; timeoutMs?: number; fetch?: typeof fetch } = {},
): Promise<SignedResponse> {
  const fullPath = `/apps/${encodeURIComponent(credentials.app)}${path}`;
  const body = options.body === undefined ? undefined : JSON.stringify(options.body);
  const query = signQuery(credentials, method, fullPath, body, options.params);
  const url = new URL(fullPath, baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`);
  url.search = new URLSearchParams(query).toString();
  const response = await (options.fetch ?? fetch)(url, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body }),
    signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
  });
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: response.status, body: parsed };
}
