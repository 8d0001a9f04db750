import type { PostResult } from './push-transport.js';

/**
 * What a push service's answer means for one subscription (RFC 8030 §5, RFC 8292 §4).
 * Reasons are constant names for metrics and the outcome; the body only goes into
 * `detail`, cut short.
 */
export type Answer =
  | { type: 'delivered'; messageId: string | undefined }
  | { type: 'rejected'; reason: string; invalidToken: boolean; status?: number; detail?: string }
  /** The push service refused the VAPID header. */
  | { type: 'credentials'; reason: string; status: number; detail?: string }
  | { type: 'retry'; reason: string; status?: number; retryAfterMs?: number; unconfirmed: boolean };

const MAX_DETAIL = 200;
/** A Retry-After beyond this is taken as this: the queue reschedules, it does not park a token for days. */
const MAX_RETRY_AFTER_MS = 3_600_000;

export function judgeAnswer(result: PostResult, now: number): Answer {
  if (result.kind === 'failed') {
    switch (result.cause) {
      case 'forbidden':
        return { type: 'rejected', reason: 'ForbiddenEndpoint', invalidToken: false, detail: result.detail };
      case 'dns':
        return { type: 'retry', reason: 'DnsFailed', unconfirmed: false };
      case 'connect':
        return { type: 'retry', reason: 'ConnectFailed', unconfirmed: false };
      case 'tls':
        return { type: 'retry', reason: 'TlsFailed', unconfirmed: false };
      case 'timeout':
        return { type: 'retry', reason: 'Timeout', unconfirmed: result.sent };
      case 'lost':
        return { type: 'retry', reason: 'ConnectionLost', unconfirmed: result.sent };
    }
  }
  const { status } = result;
  const detail = shortDetail(result.body);
  const withDetail = detail === undefined ? {} : { detail };
  if (status >= 200 && status < 300) return { type: 'delivered', messageId: result.location };
  if (status === 404) return { type: 'rejected', reason: 'NotFound', invalidToken: true, status, ...withDetail };
  if (status === 410) return { type: 'rejected', reason: 'Gone', invalidToken: true, status, ...withDetail };
  if (status === 413) return { type: 'rejected', reason: 'PayloadTooLarge', invalidToken: false, status, ...withDetail };
  if (status === 401 || status === 403) return { type: 'credentials', reason: 'VapidRefused', status, ...withDetail };
  if (status === 429 || status >= 500) {
    const retryAfterMs = parseRetryAfter(result.retryAfter, now);
    return { type: 'retry', reason: status === 429 ? 'TooManyRequests' : status === 503 ? 'ServiceUnavailable' : 'ServerError', status, unconfirmed: false, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) };
  }
  if (status >= 300 && status < 400) return { type: 'rejected', reason: 'Redirected', invalidToken: false, status, detail: 'push services do not redirect; redirects are not followed' };
  return { type: 'rejected', reason: status === 400 ? 'BadRequest' : 'Refused', invalidToken: false, status, ...withDetail };
}

/** RFC 9110 §10.2.3: delay-seconds or an HTTP-date. */
export function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^\d{1,10}$/.test(text)) return Math.min(Number(text) * 1000, MAX_RETRY_AFTER_MS);
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.min(Math.max(0, at - now), MAX_RETRY_AFTER_MS);
}

function shortDetail(body: string): string | undefined {
  // Printable text only: a body is the push service's, and it ends up in logs and status.
  const text = body.replace(/[^\x21-\x7e]+/g, ' ').trim();
  if (text === '') return undefined;
  return text.length > MAX_DETAIL ? `${text.slice(0, MAX_DETAIL - 3)}...` : text;
}
