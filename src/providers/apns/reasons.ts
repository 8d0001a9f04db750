import type { PushOutcome } from '../provider.js';
import { headerValue, parseRetryAfter } from '../shared/retry-after.js';

type Push<T extends PushOutcome['type']> = Extract<PushOutcome, { type: T }>;

/**
 * Apple's answer → what Herald does about it. One table, read once per response,
 * instead of status checks spread through the sending code. Its kinds are the
 * `PushOutcome` the answer becomes (attempt-verdict.ts adds the resend policy), plus
 * `expired-provider-token`, which never leaves the provider.
 */
export type AnswerOutcome =
  /** `apnsId` is undefined when Apple sent none: the request's own id stands in. */
  | { type: 'delivered'; apnsId: string | undefined }
  | (Push<'rejected'> & { status: number })
  /** The whole app's credentials are refused: stop sending for it. */
  | (Pick<Push<'credentials'>, 'type' | 'reason'> & { status: number })
  /** Transient: send again later, no sooner than `retryAfterMs` when Apple said so. */
  | (Pick<Push<'retry'>, 'type' | 'reason'> & { status: number; retryAfterMs?: number; retireSession: boolean })
  /** The JWT is too old: refresh it and resend once. */
  | { type: 'expired-provider-token'; status: number };

/** Apple's documented reasons; anything else is reported as `Other` in metric labels. */
export const knownReasons: ReadonlySet<string> = new Set([
  'BadCollapseId', 'BadDeviceToken', 'BadExpirationDate', 'BadMessageId', 'BadPriority', 'BadTopic',
  'DeviceTokenNotForTopic', 'DuplicateHeaders', 'IdleTimeout', 'InvalidPushType', 'MissingDeviceToken',
  'MissingTopic', 'PayloadEmpty', 'TopicDisallowed', 'BadCertificate', 'BadCertificateEnvironment',
  'ExpiredProviderToken', 'Forbidden', 'InvalidProviderToken', 'MissingProviderToken', 'UnrelatedKeyIdInToken',
  'BadPath', 'MethodNotAllowed', 'ExpiredToken', 'Unregistered', 'PayloadTooLarge', 'TooManyProviderTokenUpdates',
  'TooManyRequests', 'InternalServerError', 'ServiceUnavailable', 'Shutdown',
]);

const tokenUnusable = new Set(['BadDeviceToken', 'DeviceTokenNotForTopic']);
const tokenGone = new Set(['Unregistered', 'ExpiredToken']);

export interface ApnsResponse {
  status: number;
  /** Response headers, names lower-case as HTTP/2 delivers them. */
  headers: Readonly<Record<string, string | string[] | undefined>>;
  body: string;
}

export function classifyResponse(response: ApnsResponse, now: number = Date.now()): AnswerOutcome {
  const { status } = response;
  const apnsId = headerValue(response.headers['apns-id']);
  if (status === 200) return { type: 'delivered', apnsId };
  const parsed = parseBody(response.body);
  const reason = parsed.reason ?? defaultReason(status);

  if (status === 410) {
    return { type: 'rejected', reason, status, invalidToken: tokenGone.has(reason) || parsed.reason === undefined, ...(parsed.timestamp === undefined ? {} : { timestamp: parsed.timestamp }) };
  }
  if (status === 403) {
    return reason === 'ExpiredProviderToken' ? { type: 'expired-provider-token', status } : { type: 'credentials', reason, status };
  }
  // IdleTimeout is about the connection, not the notification: it was never processed.
  if (status === 400 && reason === 'IdleTimeout') return { type: 'retry', reason, status, retireSession: true };
  if (status === 429 || status >= 500) {
    const retryAfterMs = parseRetryAfter(headerValue(response.headers['retry-after']), now);
    return {
      type: 'retry',
      reason,
      status,
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
      // Shutdown: this server is going away; new streams belong on a fresh connection.
      retireSession: reason === 'Shutdown',
    };
  }
  if (status >= 400 && status < 500) return { type: 'rejected', reason, status, invalidToken: tokenUnusable.has(reason) };
  // 1xx/3xx/unknown 2xx: not something APNs answers; treat as transient.
  return { type: 'retry', reason, status, retireSession: false };
}

/** The reason as a metric label: bounded to Apple's documented set. */
export function reasonLabel(reason: string): string {
  return knownReasons.has(reason) ? reason : 'Other';
}

function parseBody(body: string): { reason?: string; timestamp?: number } {
  if (body.trim() === '') return {};
  let data: unknown;
  try {
    data = JSON.parse(body);
  } catch {
    return {};
  }
  if (typeof data !== 'object' || data === null) return {};
  const record = data as Record<string, unknown>;
  const result: { reason?: string; timestamp?: number } = {};
  if (typeof record.reason === 'string' && record.reason !== '') result.reason = record.reason;
  const timestamp = typeof record.timestamp === 'string' ? Number(record.timestamp) : record.timestamp;
  if (typeof timestamp === 'number' && Number.isFinite(timestamp)) result.timestamp = timestamp;
  return result;
}

function defaultReason(status: number): string {
  switch (status) {
    case 410:
      return 'Unregistered';
    case 429:
      return 'TooManyRequests';
    case 500:
      return 'InternalServerError';
    case 503:
      return 'ServiceUnavailable';
    default:
      return `Status${status}`;
  }
}
