import { version } from '../lib/version.js';
import type { WebhookJob } from './webhook-job.js';

export type PostOutcome = { ok: true; status: number } | { ok: false; error: string; status?: number };

export type Fetch = typeof fetch;

/**
 * POSTs one signed batch. Pusher's receivers parse the body only when the
 * Content-Type is exactly `application/json`, so it is set last, with the
 * signature headers, where a configured header cannot override them. Only a 2xx
 * counts as received; redirects are not followed (a POST would turn into a GET).
 */
export async function postWebhook(
  job: WebhookJob,
  customHeaders: Readonly<Record<string, string>>,
  timeoutMs: number,
  signal: AbortSignal,
  fetchImpl: Fetch = fetch,
): Promise<PostOutcome> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(customHeaders)) headers[name.toLowerCase()] = value;
  Object.assign(headers, {
    'user-agent': `Herald-Webhooks/${version}`,
    'content-type': 'application/json',
    'x-pusher-key': job.key,
    'x-pusher-signature': job.signature,
  });
  const target = splitCredentials(job.url);
  if (target.authorization !== undefined) headers.authorization ??= target.authorization;
  const timeout = AbortSignal.timeout(timeoutMs);
  try {
    const response = await fetchImpl(target.url, {
      method: 'POST',
      headers,
      body: job.body,
      redirect: 'manual',
      signal: AbortSignal.any([signal, timeout]),
    });
    // Release the connection without reading what the receiver answered.
    await response.body?.cancel().catch(() => undefined);
    if (response.status >= 200 && response.status < 300) return { ok: true, status: response.status };
    return { ok: false, status: response.status, error: `HTTP ${response.status}` };
  } catch (err) {
    if (timeout.aborted) return { ok: false, error: `no answer within ${timeoutMs} ms` };
    if (signal.aborted) return { ok: false, error: 'shutting down' };
    return { ok: false, error: describeFetchError(err) };
  }
}

/**
 * fetch refuses a URL with `user:pass@`, so such a hook could never be delivered: the
 * credentials go in an `Authorization: Basic` header instead (what curl and browsers do).
 * A configured `authorization` header wins.
 */
export function splitCredentials(raw: string): { url: string; authorization?: string } {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { url: raw };
  }
  if (url.username === '' && url.password === '') return { url: raw };
  const userInfo = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
  url.username = '';
  url.password = '';
  return { url: url.toString(), authorization: `Basic ${Buffer.from(userInfo).toString('base64')}` };
}

/** undici hides the useful part (ECONNREFUSED, ENOTFOUND…) in `cause`; never echo the URL, it may hold credentials. */
function describeFetchError(err: unknown): string {
  const cause = (err as { cause?: { code?: unknown; message?: unknown } } | undefined)?.cause;
  if (typeof cause?.code === 'string') return `connection failed: ${cause.code}`;
  if (typeof cause?.message === 'string') return `connection failed: ${cause.message.slice(0, 200)}`;
  return 'connection failed';
}
