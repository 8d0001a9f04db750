import { z } from 'zod';
import { notificationJsonSchema } from '../../notifications/contract/notification-json-schema.js';
import { apiSchemas } from './api-schemas.js';

/**
 * The OpenAPI 3.1 document of every HTTP route (served at GET /openapi.json, committed as
 * schema/openapi.json), generated from the zod schemas the API is described by, so the
 * two cannot drift. Signed routes take the Pusher signature in the query.
 */

type Json = Record<string, unknown>;
type Schemas = keyof typeof apiSchemas | 'Notification';

const ref = (name: Schemas): Json => ({ $ref: `#/components/schemas/${name}` });
const json = (name: Schemas): Json => ({ content: { 'application/json': { schema: ref(name) } } });
const answer = (description: string, name: Schemas): Json => ({ description, ...json(name) });
const error = (description: string): Json => answer(description, 'Error');

const signedErrors: Json = {
  '400': error('Invalid request (ambiguous query parameters, invalid body)'),
  '401': error('Missing, stale or wrong signature, or a body that does not match body_md5'),
  '403': error('The app is disabled'),
  '404': error('Unknown app (or route)'),
  '503': error('Redis is unavailable (code HERALD_REDIS_UNAVAILABLE); try again'),
};

const signature = ['auth_key', 'auth_timestamp', 'auth_version', 'auth_signature', 'body_md5'].map((name) => ({ $ref: `#/components/parameters/${name}` }));
const pathParam = (name: string, description: string): Json => ({ name, in: 'path', required: true, schema: { type: 'string' }, description });
const queryParam = (name: string, description: string): Json => ({ name, in: 'query', required: false, schema: { type: 'string' }, description });
const appId = pathParam('appId', 'The app id');

function signed(operation: { summary: string; operationId: string; parameters?: Json[]; requestBody?: Json; responses: Json; tags: string[] }): Json {
  return { ...operation, parameters: [appId, ...(operation.parameters ?? []), ...signature], responses: { ...operation.responses, ...signedErrors, ...(operation.responses as object) } };
}

function paths(): Json {
  const nid = pathParam('nid', 'The notification id (per app)');
  const deviceToken = pathParam('token', 'APNs device token (hex; spaces, <> and upper case are normalised), FCM registration token, or Web Push device id');
  const location = { Location: { description: 'The notification: /apps/{appId}/notifications/{id}', schema: { type: 'string' } } };
  return {
    '/apps/{appId}/events': {
      post: signed({
        tags: ['Pusher API'],
        summary: 'Trigger an event on one or more channels',
        operationId: 'triggerEvent',
        requestBody: { required: true, ...json('Event') },
        responses: { '200': answer('Published; channels when info was asked', 'EventAnswer'), '413': error('data over limits.maxEventPayloadKb') },
      }),
    },
    '/apps/{appId}/batch_events': {
      post: signed({
        tags: ['Pusher API'],
        summary: 'Trigger several events at once (all validated before any is sent)',
        operationId: 'triggerBatch',
        requestBody: { required: true, ...json('Batch') },
        responses: { '200': answer('Published', 'BatchAnswer'), '413': error('an event data over limits.maxEventPayloadKb') },
      }),
    },
    '/apps/{appId}/channels': {
      get: signed({
        tags: ['Pusher API'],
        summary: 'Occupied channels',
        operationId: 'listChannels',
        parameters: [queryParam('filter_by_prefix', 'Only channels starting with this'), queryParam('info', 'user_count (needs a presence- filter), subscription_count')],
        responses: { '200': answer('Occupied channels', 'Channels') },
      }),
    },
    '/apps/{appId}/channels/{channelName}': {
      get: signed({
        tags: ['Pusher API'],
        summary: 'One channel',
        operationId: 'getChannel',
        parameters: [pathParam('channelName', 'The channel'), queryParam('info', 'user_count (presence), subscription_count, cache (cache channels)')],
        responses: { '200': answer('The channel', 'Channel') },
      }),
    },
    '/apps/{appId}/channels/{channelName}/users': {
      get: signed({
        tags: ['Pusher API'],
        summary: 'Users of a presence channel',
        operationId: 'getChannelUsers',
        parameters: [pathParam('channelName', 'A presence- channel')],
        responses: { '200': answer('Its users', 'Users') },
      }),
    },
    '/apps/{appId}/users/{userId}/terminate_connections': {
      post: signed({
        tags: ['Pusher API'],
        summary: "Close every connection of a signed-in user",
        operationId: 'terminateUserConnections',
        parameters: [pathParam('userId', 'The user id')],
        responses: { '200': answer('Done', 'Empty') },
      }),
    },
    '/apps/{appId}/notifications': {
      post: signed({
        tags: ['Notifications'],
        summary: 'Queue a notification (APNs and/or realtime); idempotent by id',
        operationId: 'sendNotification',
        requestBody: { required: true, ...json('Notification') },
        responses: {
          '202': { description: 'Queued', headers: location, ...json('NotificationAccepted') },
          '200': { description: 'The id is known already: nothing new was queued', headers: location, ...json('NotificationAccepted') },
          '413': error('Over queue.maxNotificationBytes'),
          '503': error('Not queued for sure: send again with the id in the answer'),
        },
      }),
    },
    '/apps/{appId}/notifications/{nid}': {
      get: signed({
        tags: ['Notifications'],
        summary: "A notification's status",
        operationId: 'getNotification',
        parameters: [nid],
        responses: { '200': answer('Its status', 'NotificationStatus'), '404': error('Unknown notification (or app), or its status expired') },
      }),
      delete: signed({
        tags: ['Notifications'],
        summary: 'Cancel a notification still queued (a sendAt not yet due): it becomes failed with error "cancelled" and is never sent',
        operationId: 'cancelNotification',
        parameters: [nid],
        responses: {
          '204': { description: 'Cancelled' },
          '404': error('Unknown notification (or app)'),
          '409': error('Already active, completed or failed (state says which): nothing changed'),
        },
      }),
    },
    '/apps/{appId}/devices/{token}': {
      put: signed({
        tags: ['Devices'],
        summary: "Register a device (or register it again: it moves to the body's user, its interests are replaced)",
        operationId: 'putDevice',
        parameters: [deviceToken],
        requestBody: { required: true, ...json('DeviceRegistration') },
        responses: { '201': answer('Registered', 'Device'), '200': answer('Registered again (updated)', 'Device'), '413': error('Body over 32 KiB') },
      }),
      get: signed({
        tags: ['Devices'],
        summary: 'One device',
        operationId: 'getDevice',
        parameters: [deviceToken],
        responses: { '200': answer('The device', 'Device'), '404': error('Unknown device (or app)') },
      }),
      delete: signed({
        tags: ['Devices'],
        summary: 'Remove a device (204 also when it was not registered)',
        operationId: 'deleteDevice',
        parameters: [deviceToken],
        responses: { '204': { description: 'Removed' } },
      }),
    },
    '/apps/{appId}/users/{userId}/devices': {
      get: signed({
        tags: ['Devices'],
        summary: "A user's devices",
        operationId: 'listUserDevices',
        parameters: [pathParam('userId', 'The user id')],
        responses: { '200': answer('Its devices (none: an empty list)', 'Devices') },
      }),
      delete: signed({
        tags: ['Devices'],
        summary: 'Remove every device of a user (204 also when there was none)',
        operationId: 'deleteUserDevices',
        parameters: [pathParam('userId', 'The user id')],
        responses: { '204': { description: 'Removed' } },
      }),
    },
    '/apps/{appId}/webhooks/dead-letters': {
      get: signed({
        tags: ['Webhooks'],
        summary: "The app's webhook dead letters",
        operationId: 'listDeadLetters',
        parameters: [{ name: 'limit', in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: 10_000, default: 1000 } }],
        responses: { '200': answer('Dead letters (count is all of them)', 'DeadLetters') },
      }),
    },
    '/apps/{appId}/webhooks/dead-letters/replay': {
      post: signed({
        tags: ['Webhooks'],
        summary: 'Deliver dead letters again (all, or those named)',
        operationId: 'replayDeadLetters',
        requestBody: { required: false, ...json('ReplayRequest') },
        responses: { '200': answer('Replayed', 'ReplayAnswer') },
      }),
    },
    '/health': { get: { tags: ['Operations'], summary: 'Liveness', operationId: 'health', responses: { '200': answer('Alive', 'Health') } } },
    '/ready': {
      get: {
        tags: ['Operations'],
        summary: 'Readiness (Redis, queues, draining); warnings never fail it',
        operationId: 'ready',
        responses: { '200': answer('Ready', 'Readiness'), '503': answer('Not ready', 'Readiness') },
      },
    },
    '/openapi.json': {
      get: { tags: ['Operations'], summary: 'This document', operationId: 'openapi', responses: { '200': { description: 'OpenAPI 3.1', content: { 'application/json': { schema: { type: 'object' } } } } } },
    },
  };
}

function components(): Json {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(apiSchemas)) registry.add(schema, { id });
  const generated = z.toJSONSchema(registry, { target: 'draft-2020-12', io: 'output', unrepresentable: 'any', uri: (id) => `#/components/schemas/${id}` }) as { schemas: Record<string, Json> };
  const schemas: Record<string, Json> = {};
  for (const [id, schema] of Object.entries(generated.schemas)) schemas[id] = withoutDialect(schema);
  schemas.Notification = withoutDialect(notificationJsonSchema());
  const sorted = Object.fromEntries(Object.entries(schemas).sort(([a], [b]) => a.localeCompare(b)));
  const param = (name: string, description: string, required = true): Json => ({ name, in: 'query', required, schema: { type: 'string' }, description });
  return {
    schemas: sorted,
    parameters: {
      auth_key: param('auth_key', "The app's key"),
      auth_timestamp: param('auth_timestamp', 'UNIX seconds: less than 600 s old, at most 60 s ahead'),
      auth_version: param('auth_version', '1.0'),
      auth_signature: param('auth_signature', 'HMAC-SHA256(secret, "METHOD\\nPATH\\nsorted k=v&…") in hex; PATH may be the path as sent or with repeated slashes merged'),
      body_md5: param('body_md5', 'MD5 of the body in hex; required when there is a body', false),
    },
  };
}

/**
 * `$schema` belongs to a standalone schema, not to one inside an OpenAPI document (whose
 * dialect is 2020-12); zod's `$id` (the component's own address) is not a valid 2020-12 id.
 */
function withoutDialect(schema: Json): Json {
  const { $schema: _dialect, $id: _id, ...rest } = schema;
  return rest;
}

/** The API's version (the contract's v1), not the package's: the document changes only with the API. */
const API_VERSION = '1';

export function openApiDocument(): Json {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Herald HTTP API',
      version: API_VERSION,
      description:
        'Pusher Channels HTTP API (signed like Pusher\'s: the auth_* query parameters), notifications and operations. Errors are {"error": "..."} with a real status.',
    },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    tags: [{ name: 'Pusher API' }, { name: 'Notifications' }, { name: 'Devices' }, { name: 'Webhooks' }, { name: 'Operations' }],
    paths: paths(),
    components: components(),
  };
}

/** The committed file's exact text: two-space JSON and a final newline. */
export function openApiDocumentText(): string {
  return `${JSON.stringify(openApiDocument(), null, 2)}\n`;
}
