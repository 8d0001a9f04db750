/**
 * FCM's answer to one send → what Herald does about it. One table, read once per
 * response. FCM's error body is Google's standard one; its `details` carry an FcmError
 * with the precise `errorCode` and, for a bad field, a BadRequest naming the field:
 *
 *   {"error":{"code":404,"message":"Requested entity was not found.","status":"NOT_FOUND",
 *     "details":[{"@type":"type.googleapis.com/google.firebase.fcm.v1.FcmError","errorCode":"UNREGISTERED"}]}}
 */
import { z } from 'zod';
import { headerValue, parseRetryAfter } from '../shared/retry-after.js';

export type FcmAnswer =
  | { type: 'delivered'; messageId: string }
  | { type: 'rejected'; reason: string; status: number; invalidToken: boolean; detail?: string }
  /** The app's credentials are refused: stop sending for it. */
  | { type: 'credentials'; reason: string; status: number }
  /** The access token was refused: fetch a new one and resend once. */
  | { type: 'unauthenticated'; status: number }
  | { type: 'retry'; reason: string; status: number; retryAfterMs?: number };

export interface FcmResponse {
  status: number;
  headers: Readonly<Record<string, string | string[] | undefined>>;
  body: string;
}

const FCM_ERROR_TYPE = 'type.googleapis.com/google.firebase.fcm.v1.FcmError';
const BAD_REQUEST_TYPE = 'type.googleapis.com/google.rpc.BadRequest';

const errorBody = z.object({
  error: z.object({
    code: z.number().optional(),
    message: z.string().max(2000).optional(),
    status: z.string().max(100).optional(),
    details: z.array(z.looseObject({ '@type': z.string().optional(), errorCode: z.string().max(100).optional(), fieldViolations: z.array(z.looseObject({ field: z.string().optional() })).optional() })).optional(),
  }),
});
const okBody = z.object({ name: z.string().min(1).max(1000) });

export function classifyFcmResponse(response: FcmResponse, now: number = Date.now()): FcmAnswer {
  const { status } = response;
  const data = parseJson(response.body);
  if (status === 200) {
    const ok = okBody.safeParse(data);
    return { type: 'delivered', messageId: ok.success ? ok.data.name : '' };
  }
  const parsed = errorBody.safeParse(data);
  const error = parsed.success ? parsed.data.error : undefined;
  const details = error?.details ?? [];
  const code = details.find((d) => d['@type'] === FCM_ERROR_TYPE)?.errorCode ?? error?.status ?? defaultCode(status);
  const aboutToken = details.some((d) => d['@type'] === BAD_REQUEST_TYPE && (d.fieldViolations ?? []).some((v) => v.field === 'message.token')) || /registration token/i.test(error?.message ?? '');
  const detail = error?.message === undefined ? {} : { detail: error.message };
  const retryLater = (reason: string): FcmAnswer => {
    const retryAfterMs = parseRetryAfter(headerValue(response.headers['retry-after']), now);
    return { type: 'retry', reason, status, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) };
  };

  switch (code) {
    case 'UNREGISTERED':
      return { type: 'rejected', reason: 'Unregistered', status, invalidToken: true, ...detail };
    case 'INVALID_ARGUMENT':
      return { type: 'rejected', reason: 'InvalidArgument', status, invalidToken: aboutToken, ...detail };
    case 'SENDER_ID_MISMATCH':
      // The token belongs to another Firebase project: dead for this app.
      return { type: 'rejected', reason: 'SenderIdMismatch', status, invalidToken: true, ...detail };
    case 'QUOTA_EXCEEDED':
    case 'RESOURCE_EXHAUSTED':
      return retryLater('QuotaExceeded');
    case 'UNAVAILABLE':
      return retryLater('Unavailable');
    case 'INTERNAL':
    case 'UNSPECIFIED_ERROR':
      return retryLater('Internal');
    case 'THIRD_PARTY_AUTH_ERROR':
      // The APNs certificate or web push key uploaded to Firebase was refused: the app's setup, not this token.
      return { type: 'credentials', reason: 'ThirdPartyAuthError', status };
    case 'UNAUTHENTICATED':
      return { type: 'unauthenticated', status };
    case 'PERMISSION_DENIED':
      return { type: 'credentials', reason: 'PermissionDenied', status };
    case 'NOT_FOUND':
      return { type: 'rejected', reason: 'NotFound', status, invalidToken: false, ...detail };
  }
  if (status === 401) return { type: 'unauthenticated', status };
  if (status === 403) return { type: 'credentials', reason: 'PermissionDenied', status };
  if (status === 429 || status >= 500) return retryLater(status === 429 ? 'QuotaExceeded' : 'Unavailable');
  if (status >= 400 && status < 500) return { type: 'rejected', reason: `Status${status}`, status, invalidToken: false, ...detail };
  return retryLater(`Status${status}`);
}

/** An answer's reason as a metric label: Herald's names for FCM's codes, or `Status<n>`, a bounded set. */
export function reasonLabel(answer: FcmAnswer): string {
  switch (answer.type) {
    case 'delivered':
      return 'Success';
    case 'unauthenticated':
      return 'Unauthenticated';
    default:
      return answer.reason;
  }
}

function defaultCode(status: number): string {
  switch (status) {
    case 400:
      return 'INVALID_ARGUMENT';
    case 401:
      return 'UNAUTHENTICATED';
    case 403:
      return 'PERMISSION_DENIED';
    case 404:
      // Without FCM's UNREGISTERED detail a 404 may be a wrong project or path: never a reason to drop a token.
      return 'NOT_FOUND';
    case 429:
      return 'QUOTA_EXCEEDED';
    case 500:
      return 'INTERNAL';
    case 503:
      return 'UNAVAILABLE';
    default:
      return `Status${status}`;
  }
}

function parseJson(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
