import { checkMany, entryPath } from './check-many.js';
import { HeraldClientError } from './client-error.js';
import { mapLimit } from './map-limit.js';
import { signedRequest } from './signed-request.js';
import type { AppCredentials, SignedResponse } from './signed-request.js';
import { parseNotificationStatus } from './status-schema.js';
import type { CancelResult, NotificationState, NotificationStatus, NotifyResult } from './types.js';
import type { Transport } from './transport.js';

export interface HttpTransportOptions extends AppCredentials {
  url: string;
  timeoutMs?: number;
  fetch?: typeof fetch;
}

/** Requests one `sendMany` keeps in flight. */
const POSTS_IN_FLIGHT = 64;

/** Talks to the daemon's signed HTTP API, exactly as a backend with the pusher SDK would. */
export class HttpTransport implements Transport {
  constructor(private readonly options: HttpTransportOptions) {}

  async notify(notification: Record<string, unknown>): Promise<NotifyResult> {
    const response = await this.request('POST', '/notifications', notification);
    if (response.status === 200 || response.status === 202) {
      const id = (response.body as { id?: unknown } | undefined)?.id;
      if (typeof id !== 'string') throw new HeraldClientError('bad_response', `Herald answered ${response.status} without an id`, { status: response.status });
      return { id, duplicate: response.status === 200 };
    }
    throw refusal(response);
  }

  /**
   * One POST per notification, at most 64 in flight, after all passed the local checks.
   * The daemon's own checks of the app (its APNs credentials, channel rules) can still
   * refuse one: then no further POST starts, and the error names its index; those already
   * accepted stay queued, and sending the call again with the same ids queues each once.
   */
  async notifyMany(notifications: ReadonlyArray<Record<string, unknown>>): Promise<NotifyResult[]> {
    const checked = checkMany(notifications);
    const results: NotifyResult[] = checked.entries.map(({ id }) => ({ id, duplicate: true }));
    await mapLimit(checked.unique, POSTS_IN_FLIGHT, async ({ index }) => {
      try {
        results[index] = await this.notify(notifications[index] ?? {});
      } catch (err) {
        if (!(err instanceof HeraldClientError)) throw err;
        const path = err.path === undefined ? undefined : entryPath(index, err.path);
        throw new HeraldClientError(err.code, `${path ?? `[${index}]`}: ${err.message}`, {
          ...(err.status === undefined ? {} : { status: err.status }),
          ...(path === undefined ? {} : { path }),
          index,
          cause: err.cause ?? err,
        });
      }
    });
    return results;
  }

  async status(id: string): Promise<NotificationStatus | undefined> {
    const response = await this.request('GET', `/notifications/${encodeURIComponent(id)}`);
    if (response.status === 404 && !isUnknownApp(response)) return undefined;
    if (response.status !== 200) throw refusal(response);
    const status = parseNotificationStatus(response.body);
    if (!status) throw new HeraldClientError('bad_response', 'Herald answered a status this client does not understand', { status: 200 });
    return status;
  }

  async cancel(id: string): Promise<CancelResult> {
    const response = await this.request('DELETE', `/notifications/${encodeURIComponent(id)}`);
    if (response.status === 204) return { cancelled: true };
    if (response.status === 404 && !isUnknownApp(response)) return { cancelled: false, state: undefined };
    const state = (response.body as { state?: unknown } | undefined)?.state;
    if (response.status === 409 && typeof state === 'string') return { cancelled: false, state: state as NotificationState };
    throw refusal(response);
  }

  async close(): Promise<void> {}

  private async request(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<SignedResponse> {
    const { url, timeoutMs, fetch } = this.options;
    try {
      return await signedRequest(url, this.options, method, path, {
        ...(body === undefined ? {} : { body }),
        ...(timeoutMs === undefined ? {} : { timeoutMs }),
        ...(fetch === undefined ? {} : { fetch }),
      });
    } catch (err) {
      throw new HeraldClientError('unavailable', `Herald at ${safeOrigin(url)} is unreachable: ${describe(err)}`, { cause: err });
    }
  }
}

function refusal(response: SignedResponse): HeraldClientError {
  const body = (response.body ?? {}) as { error?: unknown; path?: unknown };
  const message = typeof body.error === 'string' ? body.error : `HTTP ${response.status}`;
  const details = { status: response.status, ...(typeof body.path === 'string' ? { path: body.path } : {}) };
  if (response.status === 400) return new HeraldClientError('invalid', message, details);
  if (response.status === 413) return new HeraldClientError('too_large', message, details);
  if (response.status === 409) return new HeraldClientError('conflict', message, details);
  if (response.status === 401 || response.status === 403 || response.status === 404) return new HeraldClientError('unauthorized', message, details);
  if (response.status >= 500) return new HeraldClientError('unavailable', message, details);
  return new HeraldClientError('bad_response', message, details);
}

/** A 404 naming the app means the credentials are wrong, not that the notification is unknown. */
function isUnknownApp(response: SignedResponse): boolean {
  const error = (response.body as { error?: unknown } | undefined)?.error;
  return typeof error === 'string' && /unknown app/i.test(error);
}

function safeOrigin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return url;
  }
}

function describe(err: unknown): string {
  const cause = (err as { cause?: { code?: unknown; message?: unknown } } | undefined)?.cause;
  if (typeof cause?.code === 'string') return cause.code;
  if (typeof cause?.message === 'string') return cause.message;
  if (err instanceof Error && err.name === 'TimeoutError') return 'timed out';
  return err instanceof Error ? err.message : String(err);
}
