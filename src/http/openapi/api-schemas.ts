import { z } from 'zod';
import { notificationStatusSchema } from '../../notifications/contract/status.js';
import { deviceRecordSchema, deviceRegistrationSchema } from '../../devices/device-input.js';

/**
 * The HTTP API's bodies as zod schemas: the one source the OpenAPI document
 * (openapi-document.ts) is generated from. The notification request body is the
 * contract's own schema (notification-json-schema.ts); these describe the rest.
 * Objects are loose: fields beyond these may be added without breaking a client.
 */

const count = z.number().int().nonnegative();

export const errorBody = z
  .looseObject({
    error: z.string().describe('What was wrong, for a person'),
    path: z.string().optional().describe('The body field (dotted) or parameter the error is about'),
    code: z.string().optional().describe('HERALD_REDIS_UNAVAILABLE: Redis is down or failing over; try again'),
    id: z.string().optional().describe('The notification id chosen for a request answered 503: send again with it'),
    state: z.string().optional().describe('409 of a cancel: the state that refused it'),
  });

const channelInfo = z.looseObject({ user_count: count.optional(), subscription_count: count.optional() });

export const eventBody = z
  .looseObject({
    name: z.string().max(200).describe('Event name; not starting pusher:'),
    data: z.string().describe('The event data: a string (usually JSON text), at most limits.maxEventPayloadKb'),
    channels: z.array(z.string()).max(100).optional(),
    channel: z.string().optional(),
    socket_id: z.string().optional().describe('This connection does not receive the event'),
    info: z.string().optional().describe('Comma list: user_count, subscription_count'),
  });

export const eventAnswer = z.looseObject({ channels: z.record(z.string(), channelInfo).optional() });

export const batchBody = z
  .looseObject({ batch: z.array(eventBody).min(1).describe('At most limits.maxEventBatchSize events; each names one channel') });

export const batchAnswer = z.looseObject({ batch: z.array(channelInfo).optional().describe('Index-aligned with the request, when info was asked') });

export const channelsAnswer = z.looseObject({ channels: z.record(z.string(), z.looseObject({ user_count: count.optional() })) });

export const channelAnswer = z
  .looseObject({
    occupied: z.boolean(),
    user_count: count.optional(),
    subscription_count: count.optional(),
    cache: z.union([z.looseObject({ event: z.string(), data: z.string(), ttl: z.number().optional() }), z.null()]).optional(),
  });

export const usersAnswer = z.looseObject({ users: z.array(z.looseObject({ id: z.string() })) });

export const emptyAnswer = z.looseObject({});

export const notificationAccepted = z.looseObject({ id: z.string() });

export const notificationStatus = notificationStatusSchema;

export const deadLetters = z
  .looseObject({
    count,
    deadLetters: z.array(
      z.looseObject({
        id: z.string(),
        url: z.string().describe('Credentials redacted'),
        events: z.array(z.string()),
        attempts: count,
        lastError: z.string(),
        failedAt: z.string(),
        createdAt: z.string(),
        body: z.string(),
      }),
    ),
  });

export const replayBody = z.looseObject({ ids: z.array(z.string().min(1)).min(1).max(10_000).optional() });

export const replayAnswer = z.looseObject({ replayed: count, ids: z.array(z.string()) });

export const health = z.looseObject({ status: z.literal('ok') });

export const readiness = z
  .looseObject({
    ready: z.boolean(),
    checks: z.record(z.string(), z.looseObject({ ok: z.boolean(), detail: z.string().optional() })),
    warnings: z.array(z.looseObject({ check: z.string(), app: z.string().optional(), detail: z.string() })),
  });

export const devicesAnswer = z.looseObject({ devices: z.array(deviceRecordSchema) });

/** Every named schema, under the name the document's components give it. */
export const apiSchemas = {
  Error: errorBody,
  Event: eventBody,
  EventAnswer: eventAnswer,
  Batch: batchBody,
  BatchAnswer: batchAnswer,
  Channels: channelsAnswer,
  Channel: channelAnswer,
  Users: usersAnswer,
  Empty: emptyAnswer,
  NotificationAccepted: notificationAccepted,
  NotificationStatus: notificationStatus,
  DeadLetters: deadLetters,
  ReplayRequest: replayBody,
  ReplayAnswer: replayAnswer,
  Health: health,
  Readiness: readiness,
  DeviceRegistration: deviceRegistrationSchema,
  Device: deviceRecordSchema,
  Devices: devicesAnswer,
} as const;
