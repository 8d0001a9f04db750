import { z } from 'zod';
import { MAX_TIMER_MS } from '../lib/long-timer.js';
import { decodeBase64Url, p256PublicKey, vapidKeyPair } from '../lib/p256-keys.js';

/**
 * An app's `webpush` block: its VAPID identity (RFC 8292) and how the provider talks to
 * browsers' push services. A key pair given inline is checked here, so a mismatched or
 * malformed key stops start-up with its path; one in `privateKeyFile` is checked when
 * the provider opens it.
 */

const positiveInt = z.number().int().positive();

const vapidSchema = z
  .strictObject({
    // Push services contact the sender through it (RFC 8292 §2.1).
    subject: z.string().max(1024).refine((s) => /^mailto:[^\s@]+@[^\s@]+$/.test(s) || isHttpsUrl(s), 'must be a mailto: address or an https:// URL'),
    publicKey: z.string().min(1),
    privateKey: z.string().min(1).optional(),
    privateKeyFile: z.string().min(1).optional(),
  })
  .superRefine((vapid, ctx) => {
    if ((vapid.privateKey === undefined) === (vapid.privateKeyFile === undefined)) {
      ctx.addIssue({ code: 'custom', message: 'give privateKey or privateKeyFile (one of them)', path: ['privateKey'] });
    }
    if (vapid.privateKey !== undefined) {
      const pair = vapidKeyPair(vapid.publicKey, vapid.privateKey);
      if (!pair.ok) ctx.addIssue({ code: 'custom', message: pair.message, path: [pair.key] });
      return;
    }
    const raw = decodeBase64Url(vapid.publicKey.trim());
    const point = raw ? p256PublicKey(raw) : { ok: false as const, message: 'must be base64url' };
    if (!point.ok) ctx.addIssue({ code: 'custom', message: point.message, path: ['publicKey'] });
  });

export const webpushSchema = z.strictObject({
  vapid: vapidSchema,
  // Endpoints on loopback, private, link-local, CGNAT or unique-local addresses, and http://, are refused unless set (tests, on-premise push relays).
  allowPrivateEndpoints: z.boolean().default(false),
  // Requests in flight for this app, across every push service.
  maxInFlight: positiveInt.max(10_000).default(100),
  requestTimeoutMs: positiveInt.max(MAX_TIMER_MS).default(10_000),
  maxAttempts: positiveInt.max(20).default(5),
  // TTL header when the notification gives neither a TTL nor an expiration: 28 days, what push services keep at most.
  defaultTtlSeconds: z.number().int().min(0).max(2_419_200).default(2_419_200),
});

export type WebPushConfig = z.infer<typeof webpushSchema>;

function isHttpsUrl(value: string): boolean {
  try {
    return new URL(value).protocol === 'https:';
  } catch {
    return false;
  }
}
