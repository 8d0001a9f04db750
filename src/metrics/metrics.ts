import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { BoundHistogram } from './bound-histogram.js';
import { DeferredWrites } from './deferred-writes.js';
import { NotificationOutcomes } from './notification-outcomes.js';

/**
 * Every metric Herald exports, in one place. Labels are fixed here and bounded:
 * app, provider, type, status, reason, route, method, state, direction — never a
 * token, user, socket or channel name.
 */
const PREFIX = 'herald_';

/** `deferred`: the metric is also written through DeferredWrites, whose pending writes land before it is read. */
function counter<L extends string>(registry: Registry, name: string, help: string, labelNames: readonly L[], deferred?: DeferredWrites): Counter<L> {
  return new Counter({ name: PREFIX + name, help, labelNames, registers: [registry], ...(deferred ? { collect: () => deferred.flush() } : {}) });
}

function gauge<L extends string>(registry: Registry, name: string, help: string, labelNames: readonly L[], deferred?: DeferredWrites): Gauge<L> {
  return new Gauge({ name: PREFIX + name, help, labelNames, registers: [registry], ...(deferred ? { collect: () => deferred.flush() } : {}) });
}

function histogram<L extends string>(registry: Registry, name: string, help: string, labelNames: readonly L[], buckets: readonly number[]): BoundHistogram<L> {
  return new BoundHistogram(PREFIX + name, help, labelNames, buckets, registry);
}

const latencyBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const jobBuckets = [0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

export function createMetrics(options: { defaults?: boolean } = {}) {
  const registry = new Registry();
  // The defaults include the event-loop delay (nodejs_eventloop_lag_p99_seconds and friends), reset at each scrape.
  if (options.defaults !== false) collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 20 });
  const r = registry;
  const deferred = new DeferredWrites();
  return {
    registry,
    deferred,
    // process and service
    ready: gauge(r, 'ready', 'Whether this process reports ready (1) or not (0).', []),
    buildInfo: gauge(r, 'build_info', 'Always 1; labels carry the version.', ['version']),
    configReloads: counter(r, 'config_reloads_total', 'Configuration reloads (SIGHUP, herald reload), by status (applied, refused).', ['status']),
    // HTTP API
    httpRequests: counter(r, 'http_requests_total', 'HTTP API requests by route, method and status.', ['route', 'method', 'status'], deferred),
    httpDuration: histogram(r, 'http_request_duration_seconds', 'HTTP API request duration.', ['route', 'method', 'status'], latencyBuckets),
    // WebSocket gateway
    wsConnections: gauge(r, 'ws_connections', 'Open WebSocket connections.', ['app']),
    // Not ws_connections_total: OpenMetrics reads that as the counter family ws_connections, the gauge's name.
    wsConnectionsOpened: counter(r, 'ws_connections_opened_total', 'WebSocket connections accepted.', ['app']),
    wsDisconnections: counter(r, 'ws_disconnections_total', 'WebSocket connections closed, by reason.', ['app', 'reason']),
    wsRefused: counter(r, 'ws_connections_refused_total', 'WebSocket connections refused at handshake, by reason.', ['reason']),
    wsMessagesIn: counter(r, 'ws_messages_received_total', 'WebSocket frames received.', ['app']),
    wsMessagesOut: counter(r, 'ws_messages_sent_total', 'WebSocket frames sent.', ['app']),
    wsBytesIn: counter(r, 'ws_received_bytes_total', 'WebSocket payload bytes received.', ['app']),
    wsBytesOut: counter(r, 'ws_sent_bytes_total', 'WebSocket payload bytes sent.', ['app']),
    wsErrors: counter(r, 'ws_protocol_errors_total', 'Bad WebSocket input answered with an error, by reason.', ['app', 'reason']),
    wsHandlerFailures: counter(r, 'ws_handler_failures_total', 'Inbound frames whose handler failed, by handler type; the socket was closed with 4100.', ['app', 'type']),
    channels: gauge(r, 'channels', 'Occupied channels on this node, by type.', ['app', 'type']),
    presenceMembers: gauge(r, 'presence_members', 'Presence members on this node.', ['app']),
    clientEventsRejected: counter(r, 'client_events_rejected_total', 'Client events refused, by reason.', ['app', 'reason']),
    eventsPublished: counter(r, 'events_published_total', 'Channel events published, by source (api, client, notification).', ['app', 'type']),
    adapterMessages: counter(r, 'adapter_messages_total', 'Fanout messages through the adapter, by direction.', ['direction']),
    redisConnected: gauge(r, 'redis_connected', 'Whether the Redis connection is up (1) or not (0).', []),
    // queue and delivery
    notifications: new NotificationOutcomes({
      accepted: counter(r, 'notifications_accepted_total', 'Notifications accepted: each new app and id once.', ['app']),
      duplicates: counter(r, 'notifications_duplicates_total', 'Notifications refused as a repeat of an app and id already known.', ['app']),
      finished: counter(r, 'notifications_finished_total', 'Notifications finished, by final state (completed, failed; a cancelled one is failed); each once.', ['app', 'state']),
      withExpiredTokens: counter(r, 'notifications_with_expired_tokens_total', 'Finished notifications some of whose tokens expired before delivery.', ['app']),
    }),
    queueJobs: gauge(r, 'queue_jobs', 'Queue jobs by queue (notifications, notification-batches, notification-chunks, webhooks) and state.', ['queue', 'state']),
    queueOldestWaitingSeconds: gauge(r, 'queue_oldest_waiting_seconds', 'Age of the oldest waiting job.', []),
    jobDuration: histogram(r, 'job_duration_seconds', 'Notification job processing time, by outcome.', ['status'], jobBuckets),
    enqueueToSendSeconds: histogram(r, 'enqueue_to_first_send_seconds', 'Time from enqueue to the first APNs request.', ['app'], jobBuckets),
    chunksRetried: counter(r, 'chunks_retried_total', 'Token chunks rescheduled for retry.', ['app', 'reason']),
    invalidJobs: counter(r, 'invalid_jobs_total', 'Queue jobs whose data failed validation.', []),
    inputLimitRefusals: counter(r, 'input_limit_refusals_total', 'Request bodies and queue jobs refused by a contract limit, by reason (json_depth, send_at) and type (http, job).', ['reason', 'type']),
    queueEnqueueFailures: counter(r, 'queue_enqueue_failures_total', 'Job adds a queue refused, by queue and reason (unavailable, WRONGTYPE, OOM, MISCONF, NOPERM, other).', ['queue', 'reason']),
    // APNs
    apnsRequests: counter(r, 'apns_requests_total', 'APNs requests by app, HTTP status and reason.', ['app', 'status', 'reason'], deferred),
    apnsDuration: histogram(r, 'apns_request_duration_seconds', 'APNs request latency.', ['app'], latencyBuckets),
    apnsInFlight: gauge(r, 'apns_in_flight', 'APNs requests in flight.', ['app'], deferred),
    apnsSessions: gauge(r, 'apns_sessions', 'Open APNs HTTP/2 sessions.', ['app']),
    apnsSessionsReplaced: counter(r, 'apns_sessions_replaced_total', 'APNs sessions replaced, by reason (goaway, ping, stalled, error, closed, shutdown).', ['app', 'reason']),
    apnsRetries: counter(r, 'apns_retries_total', 'APNs requests retried, by reason.', ['app', 'reason']),
    apnsInvalidTokens: counter(r, 'apns_invalid_tokens_total', 'Device tokens reported invalid, by reason.', ['app', 'reason']),
    devicesRemoved: counter(r, 'devices_removed_total', 'Devices removed from the registry because a provider refused their token for good, by reason.', ['app', 'reason']),
    apnsCertExpiry: gauge(r, 'apns_certificate_expiry_timestamp_seconds', 'APNs certificate notAfter as UNIX seconds.', ['app']),
    apnsCredentialsOk: gauge(r, 'apns_credentials_ok', 'Whether the app\'s APNs credentials are usable (1) or refused (0).', ['app']),
    // every push provider: `provider` is apns, fcm or webpush (APNs also keeps its herald_apns_* families above)
    pushRequests: counter(r, 'push_requests_total', 'Push requests by provider, app, HTTP status (none: no answer) and reason.', ['provider', 'app', 'status', 'reason'], deferred),
    pushDuration: histogram(r, 'push_request_duration_seconds', 'Push request latency, answered requests, by provider and app.', ['provider', 'app'], latencyBuckets),
    pushInFlight: gauge(r, 'push_in_flight', 'Push requests in flight, by provider and app.', ['provider', 'app'], deferred),
    pushRetries: counter(r, 'push_retries_total', 'Push requests retried within a batch, by provider, app and reason.', ['provider', 'app', 'reason']),
    pushInvalidTokens: counter(r, 'push_invalid_tokens_total', 'Device tokens and browser subscriptions reported invalid, by provider, app and reason.', ['provider', 'app', 'reason']),
    pushCredentialsOk: gauge(r, 'push_credentials_ok', 'Whether the app\'s credentials for the provider are usable (1) or refused (0).', ['provider', 'app']),
    // FCM only
    fcmTokenRequests: counter(r, 'fcm_token_requests_total', 'OAuth2 access-token requests for FCM, by app and status.', ['app', 'status']),
    // debug console
    consoleViewers: gauge(r, 'console_viewers', 'Debug console streams open on this node.', []),
    consoleEvents: counter(r, 'console_events_total', 'Debug console events, by status (sent: written to a viewer; sampled: skipped over a viewer\'s events/s cap; relayed: sent to other nodes; relay_skipped: over the node\'s relay cap).', ['status']),
    consoleBytes: counter(r, 'console_bytes_total', 'Bytes written to debug console viewers.', []),
    consoleViewersDropped: counter(r, 'console_viewers_dropped_total', 'Debug console viewers disconnected, by reason (slow: more than console.maxBufferedBytes unsent).', ['reason']),
    consoleRequests: counter(r, 'console_requests_total', 'Debug console API requests, by status (ok, unauthorized, invalid).', ['status']),
    // webhooks
    webhookDeliveries: counter(r, 'webhook_deliveries_total', 'Webhook POSTs by outcome (delivered, failed, dead).', ['app', 'status']),
    webhookDeadLetters: gauge(r, 'webhook_dead_letters', 'Webhook batches in the dead-letter list.', []),
    webhookDeadLettersDropped: counter(r, 'webhook_dead_letters_dropped_total', 'Dead letters dropped, oldest first, to keep the list within its cap, by reason (count, bytes).', ['reason']),
    webhookOccupancyEvents: counter(r, 'webhook_occupancy_events_total', 'Channel and member webhook events held by the occupancy window, by status (coalesced: cancelled out or repeated; deferred: over the per-app rate, held for a later window).', ['app', 'status']),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
