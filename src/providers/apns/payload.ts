import type { PushBatch } from '../provider.js';
import { apsProblem } from './aps-dictionary.js';
import { isPushType, pushTypes, topicFor } from '../../lib/apns-push-types.js';
import type { PushType } from '../../lib/apns-push-types.js';

/** Everything of a request that is the same for every token of a batch. */
export interface PreparedNotification {
  readonly pushType: PushType;
  readonly topic: string;
  readonly priority: number;
  /** `apns-*` headers shared by every request of the batch (no path, id or authorization). */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
}

/** Why the notification cannot be sent at all: Apple's reason name where one exists. */
export interface NotificationProblem {
  readonly reason: string;
  readonly detail: string;
}

export const MAX_COLLAPSE_ID_BYTES = 64;

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Validates the batch's notification and serializes it once. The size limit is
 * measured on the serialized bytes, exactly what Apple measures.
 */
export function prepareNotification(
  batch: Omit<PushBatch, 'tokens' | 'app' | 'notificationId'>,
  appTopic: string,
): { ok: true; notification: PreparedNotification } | { ok: false; problem: NotificationProblem } {
  const fail = (reason: string, detail: string) => ({ ok: false as const, problem: { reason, detail } });
  const pushType = batch.pushType ?? 'alert';
  if (!isPushType(pushType)) return fail('InvalidPushType', `unknown push type '${pushType}' (one of ${Object.keys(pushTypes).join(', ')})`);
  const rule = pushTypes[pushType];

  const baseTopic = batch.topic ?? appTopic;
  if (typeof baseTopic !== 'string' || baseTopic.trim() === '') return fail('MissingTopic', 'topic must be a non-empty string');
  const topic = topicFor(baseTopic, pushType);

  const priority = batch.priority ?? rule.defaultPriority;
  if (!(rule.allowedPriorities as readonly number[]).includes(priority)) {
    return fail('BadPriority', `priority ${String(priority)} is not allowed for ${pushType} pushes (${rule.allowedPriorities.join(', ')})`);
  }
  if (batch.expiration !== undefined && !(Number.isSafeInteger(batch.expiration) && batch.expiration >= 0)) {
    return fail('BadExpirationDate', 'expiration must be UNIX seconds (an integer ≥ 0)');
  }
  if (batch.collapseId !== undefined) {
    if (typeof batch.collapseId !== 'string' || batch.collapseId === '') return fail('BadCollapseId', 'collapse id must be a non-empty string');
    const bytes = Buffer.byteLength(batch.collapseId, 'utf8');
    if (bytes > MAX_COLLAPSE_ID_BYTES) return fail('BadCollapseId', `collapse id is ${bytes} bytes, the limit is ${MAX_COLLAPSE_ID_BYTES}`);
  }

  if (!isRecord(batch.payload)) return fail('PayloadEmpty', 'payload must be a JSON object');
  if (Object.keys(batch.payload).length === 0) return fail('PayloadEmpty', 'payload is empty');
  const aps = batch.payload.aps;
  if (aps === undefined) {
    if (rule.requiresAps) return fail('BadPayload', `a ${pushType} push needs an aps dictionary`);
  } else {
    const problem = apsProblem(aps, pushType);
    if (problem) return fail('BadPayload', problem);
  }

  let json: string;
  try {
    json = JSON.stringify(batch.payload);
  } catch (err) {
    return fail('BadPayload', `payload cannot be serialized: ${(err as Error).message}`);
  }
  const body = Buffer.from(json, 'utf8');
  if (body.length > rule.maxPayloadBytes) {
    return fail('PayloadTooLarge', `payload is ${body.length} bytes, the limit for ${pushType} pushes is ${rule.maxPayloadBytes}`);
  }

  const headers: Record<string, string> = {
    'apns-push-type': pushType,
    'apns-topic': topic,
    'apns-priority': String(priority),
  };
  if (batch.expiration !== undefined) headers['apns-expiration'] = String(batch.expiration);
  if (batch.collapseId !== undefined) headers['apns-collapse-id'] = batch.collapseId;
  return { ok: true, notification: { pushType, topic, priority, headers, body } };
}
