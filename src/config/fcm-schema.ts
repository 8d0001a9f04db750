import { z } from 'zod';
import { MAX_TIMER_MS } from '../lib/long-timer.js';

/**
 * An app's `fcm` block: where its Google service-account key comes from (exactly one of
 * a file, the JSON itself, or an environment variable holding it) and how the provider
 * talks to FCM. The key itself is read and checked by config/service-account.ts.
 */

const positiveInt = z.number().int().positive();
const timerMs = positiveInt.max(MAX_TIMER_MS);

const fcmEndpointSchema = z.strictObject({
  host: z.string().min(1),
  port: z.number().int().min(1, 'must be a port from 1 to 65535').max(65535).default(443),
  // Trusted for the send endpoint and for the key's token_uri (tests, relays).
  ca: z.string().min(1).optional(),
});

export const fcmSchema = z
  .strictObject({
    serviceAccountFile: z.string().min(1).optional(),
    serviceAccountJson: z.string().min(1).optional(),
    // The name of a variable holding the JSON; NAME_FILE may hold a path instead.
    serviceAccountEnv: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name').optional(),
    // Default: fcm.googleapis.com:443.
    endpoint: fcmEndpointSchema.optional(),
    // Requests in flight for this app, across its connections.
    maxConcurrentStreams: positiveInt.max(10_000).default(500),
    connections: positiveInt.max(64).default(1),
    maxAttempts: positiveInt.max(20).default(5),
    requestTimeoutMs: timerMs.default(10_000),
    pingIntervalMs: timerMs.default(15_000),
  })
  .superRefine((fcm, ctx) => {
    const given = (['serviceAccountFile', 'serviceAccountJson', 'serviceAccountEnv'] as const).filter((key) => fcm[key] !== undefined);
    if (given.length === 0) ctx.addIssue({ code: 'custom', message: 'needs one of serviceAccountFile, serviceAccountJson, serviceAccountEnv', path: [] });
    if (given.length > 1) ctx.addIssue({ code: 'custom', message: `give one of serviceAccountFile, serviceAccountJson, serviceAccountEnv, not ${given.join(' and ')}`, path: [given[1] as string] });
  });

export type FcmConfig = z.infer<typeof fcmSchema>;
