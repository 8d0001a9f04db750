import type { ProviderKind, PushBatch, PushResult } from '../providers/provider.js';

/** The feed's type for a per-token outcome of each provider kind. */
const RESULT_TYPE: Readonly<Record<ProviderKind, string>> = { apns: 'apns.result', fcm: 'fcm.result', web: 'webpush.result' };

/**
 * One per-token push outcome as the console shows it: the provider's own id when
 * delivered (APNs `apnsId`, FCM `messageId`, Web Push the message URL's origin), else the reason. A Web Push
 * token is an id the page chose; its subscription is shown by the endpoint's origin
 * only, since the endpoint's path and the keys are what lets anyone push to it.
 */
export function pushResultEvent(kind: ProviderKind, batch: PushBatch, result: PushResult): { type: string; detail: Record<string, unknown> } {
  const { outcome } = result;
  const detail: Record<string, unknown> = { id: batch.notificationId, token: result.token };
  if (kind === 'web') detail.endpoint = endpointOrigin(batch.web?.subscriptions.get(result.token)?.endpoint);
  detail.outcome = outcome.type;
  if (outcome.type === 'delivered') {
    // A Web Push message URL lets its holder replace or cancel the message: shown by its origin only.
    if (kind === 'apns') detail.apnsId = outcome.apnsId;
    else detail.messageId = kind === 'web' ? endpointOrigin(outcome.messageId) : outcome.messageId;
  } else {
    detail.reason = outcome.reason;
  }
  if (outcome.type === 'rejected' && outcome.invalidToken) detail.invalidToken = true;
  return { type: RESULT_TYPE[kind], detail };
}

/** `https://push.example.net` of a subscription endpoint; undefined when absent or not a URL. */
export function endpointOrigin(endpoint: string | undefined): string | undefined {
  if (endpoint === undefined) return undefined;
  try {
    return new URL(endpoint).origin;
  } catch {
    return undefined;
  }
}
