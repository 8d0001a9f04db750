import { isHeraldError } from '../errors.js';

/** Socket errors of a Redis that cannot be reached (down, restarting, partitioned). */
const networkCodes = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

/** ioredis and BullMQ error classes that only ever mean "no usable connection". */
const unavailableNames = new Set(['MaxRetriesPerRequestError', 'ClusterAllFailedError', 'ConnectionClosedError']);

/**
 * Message beginnings of ioredis' connection failures (it throws plain Errors for
 * most of them) and of Redis replies that mean "not serving now, try again".
 */
const unavailableMessages = [
  "Stream isn't writeable",
  'Connection is closed',
  'Connection is aborted',
  'Command aborted due to connection close',
  'Command timed out',
  'Socket timeout',
  "Cluster isn't ready",
  'Cluster is disconnected',
  'Cluster is ended',
  'None of startup nodes is available',
  'Failed to refresh slots cache',
  'No master node is available',
  'Node is disconnected',
  'All sentinels are unreachable',
  'Reached the max retries per request limit',
  'connect ETIMEDOUT',
  'LOADING',
  'CLUSTERDOWN',
  'MASTERDOWN',
  'TRYAGAIN',
  'READONLY',
];

/**
 * True when `err` says Redis cannot be used right now (rather than that a command
 * was wrong): HERALD_REDIS_UNAVAILABLE, or a connection failure of ioredis or
 * BullMQ, also when wrapped as another error's cause. Callers answer these with
 * "unavailable, try again" (HTTP 503) instead of treating them as bugs.
 */
export function isRedisUnavailable(err: unknown, depth = 0): boolean {
  if (isHeraldError(err, 'HERALD_REDIS_UNAVAILABLE')) return true;
  if (!(err instanceof Error) || depth > 4) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && networkCodes.has(code)) return true;
  if (unavailableNames.has(err.name) || unavailableNames.has(err.constructor.name)) return true;
  if (unavailableMessages.some((start) => err.message.startsWith(start))) return true;
  return isRedisUnavailable(err.cause, depth + 1);
}
