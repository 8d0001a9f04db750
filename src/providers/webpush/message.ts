import type { PushBatch } from '../provider.js';
import { MAX_BODY_BYTES, MAX_PLAINTEXT_BYTES } from './aes128gcm.js';

/**
 * The part of a Web Push request shared by every subscription of a batch: the
 * plaintext and the RFC 8030 headers. Checked once; a problem here refuses the batch
 * before anything is encrypted or sent.
 */
export interface PreparedMessage {
  readonly plaintext: Buffer;
  readonly headers: Readonly<Record<string, string>>;
}

export type Preparation = { ok: true; message: PreparedMessage } | { ok: false; reason: string; detail: string };

const URGENCIES = new Set(['very-low', 'low', 'normal', 'high']);
const TOPIC = /^[A-Za-z0-9_-]{1,32}$/;

export function prepareMessage(batch: PushBatch, defaultTtlSeconds: number, nowMs: number): Preparation {
  const web = batch.web;
  if (!web) return { ok: false, reason: 'NoWebMessage', detail: 'the batch has no web part (subscriptions and message)' };
  const plaintext = Buffer.from(web.data ?? JSON.stringify(batch.payload), 'utf8');
  if (plaintext.length > MAX_PLAINTEXT_BYTES) {
    return { ok: false, reason: 'PayloadTooLarge', detail: `data of ${plaintext.length} bytes encrypts to ${plaintext.length + MAX_BODY_BYTES - MAX_PLAINTEXT_BYTES} bytes; Web Push allows ${MAX_BODY_BYTES} (data of at most ${MAX_PLAINTEXT_BYTES} bytes)` };
  }
  const ttl = web.ttl ?? ttlFromExpiration(batch.expiration, nowMs) ?? defaultTtlSeconds;
  if (!Number.isSafeInteger(ttl) || ttl < 0) return { ok: false, reason: 'BadTtl', detail: 'web.ttl must be a whole number of seconds, 0 or more' };
  const urgency = web.urgency ?? 'normal';
  if (!URGENCIES.has(urgency)) return { ok: false, reason: 'BadUrgency', detail: 'web.urgency must be very-low, low, normal or high' };
  if (web.topic !== undefined && !TOPIC.test(web.topic)) return { ok: false, reason: 'BadTopic', detail: 'web.topic must be 1 to 32 base64url characters (A-Z a-z 0-9 - _)' };
  const headers: Record<string, string> = {
    ttl: String(ttl),
    urgency,
    'content-encoding': 'aes128gcm',
    'content-type': 'application/octet-stream',
  };
  if (web.topic !== undefined) headers.topic = web.topic;
  return { ok: true, message: { plaintext, headers } };
}

/** `expiration` is UNIX seconds (0: deliver now or never); a past one leaves TTL 0. */
function ttlFromExpiration(expiration: number | undefined, nowMs: number): number | undefined {
  if (expiration === undefined) return undefined;
  if (expiration === 0) return 0;
  return Math.max(0, Math.floor(expiration - nowMs / 1000));
}
