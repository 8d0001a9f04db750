import { z } from 'zod';
import { headerWordMessage, headerWordPattern } from '../lib/header-value.js';
import { isIpOrCidr } from '../lib/ip-range.js';
import { MAX_TIMER_MS } from '../lib/long-timer.js';
import { hasHashTag } from '../lib/hash-tag.js';
import { webpushSchema } from './webpush-schema.js';
import { fcmSchema } from './fcm-schema.js';

const port = z.number().int().min(0).max(65535);
const host = z.string().min(1);
const positiveInt = z.number().int().positive();
/** A delay a timer is armed with: setTimeout's range ends at 2^31−1 ms (see lib/long-timer.ts). */
const timerMs = positiveInt.max(MAX_TIMER_MS);
const channelNameChars = /^[A-Za-z0-9_\-=@,.;]+$/;

export const DEMO_APP = Object.freeze({ id: 'app-id', key: 'app-key', secret: 'app-secret' });

const limitsSchema = z.strictObject({
  maxConnections: z.number().int().min(-1).default(-1),
  maxClientEventsPerSecond: z.number().int().min(-1).default(10),
  maxPresenceMembersPerChannel: positiveInt.default(100),
  maxPresenceMemberSizeKb: z.number().positive().default(1),
  maxEventPayloadKb: z.number().positive().default(10),
  maxEventChannelsAtOnce: positiveInt.default(100),
  maxEventBatchSize: positiveInt.default(10),
  maxEventNameLength: positiveInt.default(200),
  maxChannelNameLength: positiveInt.default(164),
});

export const webhookEventNames = [
  'channel_occupied',
  'channel_vacated',
  'member_added',
  'member_removed',
  'client_event',
  'cache_miss',
  'subscription_count',
  'apns_token_invalid',
  'device_removed',
  'notification_completed',
  'notification_failed',
] as const;

const webhookSchema = z.strictObject({
  url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }),
  events: z.array(z.enum(webhookEventNames)).min(1),
  headers: z.record(z.string(), z.string()).default({}),
});

const endpointSchema = z.strictObject({
  host,
  port: port.refine((p) => p > 0, 'must be a port from 1 to 65535').default(443),
  ca: z.string().min(1).optional(),
});

const tokenAuthSchema = z.strictObject({
  key: z.string().min(1),
  keyId: z.string().regex(/^[A-Z0-9]{10}$/, 'must be 10 upper-case letters or digits'),
  teamId: z.string().regex(/^[A-Z0-9]{10}$/, 'must be 10 upper-case letters or digits'),
});

/** A dry run needs no topic; a placeholder keeps `topic` a string for everything downstream. */
const dryRunTopic = (value: unknown): unknown =>
  value !== null && typeof value === 'object' && (value as Record<string, unknown>).dryRun === true && (value as Record<string, unknown>).topic === undefined
    ? { ...value, topic: 'dry-run' }
    : value;

const apnsObjectSchema = z
  .strictObject({
    production: z.boolean().default(false),
    // Sent as the apns-topic header: CR/LF or non-ASCII would fail every push of the app.
    topic: z.string().min(1).max(255).regex(headerWordPattern, headerWordMessage),
    cert: z.string().min(1).optional(),
    key: z.string().min(1).optional(),
    pfx: z.string().min(1).optional(),
    passphrase: z.string().optional(),
    passphraseFile: z.string().min(1).optional(),
    token: tokenAuthSchema.optional(),
    endpoint: endpointSchema.optional(),
    maxConcurrentStreams: positiveInt.max(10_000).default(500),
    connections: positiveInt.max(64).default(1),
    maxAttempts: positiveInt.max(20).default(5),
    requestTimeoutMs: timerMs.default(10_000),
    pingIntervalMs: timerMs.default(15_000),
    // Accepted and logged, never sent: every token answers delivered with a fake apns-id (docs/console.md).
    dryRun: z.boolean().default(false),
  })
  .superRefine((apns, ctx) => {
    if (apns.dryRun) return;
    const modes = [apns.cert !== undefined || apns.key !== undefined, apns.pfx !== undefined, apns.token !== undefined];
    const count = modes.filter(Boolean).length;
    if (count === 0) {
      ctx.addIssue({ code: 'custom', message: 'needs one of cert+key, pfx, or token', path: [] });
    } else if (count > 1) {
      ctx.addIssue({ code: 'custom', message: 'choose one of cert+key, pfx, or token, not several', path: [] });
    }
    if ((apns.cert === undefined) !== (apns.key === undefined)) {
      ctx.addIssue({ code: 'custom', message: 'cert and key go together', path: [apns.cert ? 'key' : 'cert'] });
    }
    if (apns.passphrase !== undefined && apns.passphraseFile !== undefined) {
      ctx.addIssue({ code: 'custom', message: 'give passphrase or passphraseFile, not both', path: ['passphraseFile'] });
    }
  });

export const apnsSchema = z.preprocess(dryRunTopic, apnsObjectSchema);

const appSchema = z.strictObject({
  id: z.string().regex(channelNameChars, 'may only contain A-Z a-z 0-9 _ - = @ , . ;').max(64),
  key: z.string().regex(channelNameChars, 'may only contain A-Z a-z 0-9 _ - = @ , . ;').max(128),
  secret: z.string().min(8, 'must be at least 8 characters').optional(),
  secretFile: z.string().min(1).optional(),
  enabled: z.boolean().default(true),
  enableClientMessages: z.boolean().default(true),
  enableSubscriptionCount: z.boolean().default(false),
  limits: limitsSchema.default(limitsSchema.parse({})),
  webhooks: z.array(webhookSchema).default([]),
  allowedOrigins: z.array(z.string().min(1)).default([]),
  apns: apnsSchema.optional(),
  // Firebase Cloud Messaging, HTTP v1 (docs/providers-fcm.md).
  fcm: fcmSchema.optional(),
  // Browsers' push services (docs/providers-webpush.md).
  webpush: webpushSchema.optional(),
});

const redisUrl = z.string().refine((value) => {
  try {
    const url = new URL(value);
    return (url.protocol === 'redis:' || url.protocol === 'rediss:') && url.hostname !== '';
  } catch {
    return false;
  }
}, 'must be a redis:// or rediss:// URL with a host');

const redisSchema = z
  .strictObject({
    url: redisUrl.optional(),
    mode: z.enum(['single', 'sentinel', 'cluster']).default('single'),
    sentinels: z.array(z.strictObject({ host, port })).default([]),
    sentinelName: z.string().min(1).optional(),
    clusterNodes: z.array(z.strictObject({ host, port })).default([]),
    keyPrefix: z.string().min(1).default('herald'),
  })
  .superRefine((redis, ctx) => {
    if (redis.mode === 'sentinel' && (redis.sentinels.length === 0 || !redis.sentinelName)) {
      ctx.addIssue({ code: 'custom', message: 'sentinel mode needs sentinels[] and sentinelName', path: ['mode'] });
    }
    if (redis.mode === 'cluster' && redis.clusterNodes.length === 0 && !redis.url) {
      ctx.addIssue({ code: 'custom', message: 'cluster mode needs clusterNodes[] or url', path: ['mode'] });
    }
  });

export const configSchema = z
  .strictObject({
    server: z
      .strictObject({
        host: host.default('127.0.0.1'),
        port: port.default(6001),
        maxBodyBytes: positiveInt.default(1024 * 1024),
        shutdownGraceMs: timerMs.default(10_000),
        drainDelayMs: z.number().int().min(0).max(120_000).default(0),
        // Bounds on slow clients: a connection that has not sent complete headers, or a
        // complete request, within these is answered 408 and closed (slowloris).
        headersTimeoutMs: positiveInt.max(300_000).default(10_000),
        requestTimeoutMs: positiveInt.max(600_000).default(30_000),
        // Idle keep-alive connections close after this; keep it above the load balancer's idle timeout.
        keepAliveTimeoutMs: positiveInt.max(600_000).default(72_000),
        // Written at start-up (removed at exit) so `herald reload` finds the process to send SIGHUP.
        pidFile: z.string().min(1).optional(),
      })
      .refine((server) => server.headersTimeoutMs <= server.requestTimeoutMs, {
        message: 'must not exceed server.requestTimeoutMs',
        path: ['headersTimeoutMs'],
      })
      .prefault({}),
    metrics: z
      .strictObject({
        enabled: z.boolean().default(true),
        host: host.default('127.0.0.1'),
        port: port.default(9601),
      })
      .prefault({}),
    redis: redisSchema.prefault({}),
    queue: z
      .strictObject({
        prefix: z.string().min(1).default('herald'),
        concurrency: positiveInt.max(1000).default(4),
        chunkSize: positiveInt.max(10_000).default(500),
        maxAttempts: positiveInt.max(100).default(10),
        statusRetentionSeconds: positiveInt.default(24 * 3600),
        maxNotificationBytes: positiveInt.default(8 * 1024 * 1024),
        // A worker that stops renewing its job lock (killed, frozen) for this long loses its jobs to another.
        lockDurationMs: positiveInt.min(1_000).max(600_000).default(30_000),
        // Queues cut into partitions with their own hash tags, so a Redis Cluster spreads them over its shards (docs/queue.md).
        partitions: positiveInt.max(64).default(1),
        // Notifications accepted within this window are written to Redis together, as one envelope job (0 = within one turn of the event loop).
        groupCommitMs: z.number().int().min(0).max(100).default(0),
        // Notifications of one envelope job running at once: enough to keep the provider busy, few enough that none waits in memory (docs/queue.md).
        envelopeLanes: positiveInt.max(1000).default(128),
      })
      .prefault({}),
    gateway: z
      .strictObject({
        activityTimeoutSeconds: positiveInt.max(3600).default(120),
        pongTimeoutSeconds: positiveInt.max(600).default(30),
        maxPayloadBytes: positiveInt.default(100 * 1024),
        maxBufferedBytes: positiveInt.default(4 * 1024 * 1024),
        cacheTtlSeconds: positiveInt.default(1800),
        userAuthenticationTimeoutSeconds: z.number().int().min(0).default(0),
        nodeTimeoutSeconds: positiveInt.max(300).default(20),
        vacateDelayMs: z.number().int().min(0).max(10_000).default(0),
        // 200 (as Ably allows per connection): 100 anonymous sockets at the cap hold ~10 MB.
        maxChannelsPerConnection: positiveInt.max(100_000).default(200),
        // WebSocket connections one client address may hold on this node; 0 = no limit.
        maxConnectionsPerIp: z.number().int().min(0).default(0),
        // Proxies whose X-Forwarded-For names the client (IPs or CIDRs); others' headers are ignored.
        trustedProxies: z.array(z.string().refine(isIpOrCidr, 'must be an IP address or CIDR such as 10.0.0.0/8')).default([]),
      })
      .prefault({}),
    webhooks: z
      .strictObject({
        batchMs: z.number().int().min(0).max(60_000).default(50),
        maxAttempts: positiveInt.max(50).default(8),
        timeoutMs: timerMs.default(5_000),
        backoffBaseMs: timerMs.default(1_000),
        backoffMaxMs: timerMs.default(60_000),
        // channel_occupied/vacated and member_added/removed are held this long per app; an
        // event and its opposite within the window cancel out. 0 = send at once.
        occupancyWindowMs: z.number().int().min(0).max(60_000).default(1_000),
        // Per app: occupancy and member events sent per second; the rest wait for a later window.
        maxOccupancyEventsPerSecond: positiveInt.default(1_000),
        // Dead-letter list size in bytes of stored JSON; the oldest entries go first.
        deadLetterMaxBytes: positiveInt.default(32 * 1024 * 1024),
      })
      .prefault({}),
    // The live debug console at /console (docs/console.md); off unless enabled, or the embedded demo on loopback.
    console: z
      .strictObject({
        enabled: z.boolean().optional(),
        token: z.string().min(16, 'must be at least 16 characters').optional(),
        tokenFile: z.string().min(1).optional(),
        bufferSize: positiveInt.max(10_000).default(500),
        maxEventsPerSecond: positiveInt.max(10_000).default(100),
        maxBufferedBytes: positiveInt.default(1024 * 1024),
      })
      .refine((c) => c.token === undefined || c.tokenFile === undefined, { message: 'give token or tokenFile, not both', path: ['tokenFile'] })
      .prefault({}),
    log: z
      .strictObject({
        level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
        format: z.enum(['auto', 'json', 'pretty']).default('auto'),
      })
      .prefault({}),
    apps: z.array(appSchema).min(1).optional(),
  })
  .superRefine((cfg, ctx) => {
    if (cfg.redis.mode === 'cluster' && !hasHashTag(cfg.queue.prefix)) {
      ctx.addIssue({
        code: 'custom',
        message: `'${cfg.queue.prefix}' has no {hash tag}, which redis.mode cluster needs: BullMQ's scripts touch several keys of a queue at once, and a Cluster runs them only when all sit in one slot. Use e.g. "{${cfg.queue.prefix.replace(/[{}]/g, '') || 'herald'}}"`,
        path: ['queue', 'prefix'],
      });
    }
    const seen = { id: new Map<string, number>(), key: new Map<string, number>() };
    (cfg.apps ?? []).forEach((app, index) => {
      for (const field of ['id', 'key'] as const) {
        const first = seen[field].get(app[field]);
        if (first !== undefined) {
          ctx.addIssue({
            code: 'custom',
            message: `duplicate app ${field} '${app[field]}' (also apps[${first}].${field})`,
            path: ['apps', index, field],
          });
        } else {
          seen[field].set(app[field], index);
        }
      }
      if (app.secret === undefined && app.secretFile === undefined) {
        ctx.addIssue({ code: 'custom', message: 'needs secret or secretFile', path: ['apps', index, 'secret'] });
      }
      if (app.secret !== undefined && app.secretFile !== undefined) {
        ctx.addIssue({ code: 'custom', message: 'give secret or secretFile, not both', path: ['apps', index, 'secretFile'] });
      }
    });
  });

export type RawConfig = z.infer<typeof configSchema>;
export type ApnsConfig = z.infer<typeof apnsObjectSchema>;
export type AppLimits = z.infer<typeof limitsSchema>;
export type WebhookConfig = z.infer<typeof webhookSchema>;
export type WebhookEventName = (typeof webhookEventNames)[number];
