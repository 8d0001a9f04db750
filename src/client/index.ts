/** `herald/client`: a typed producer for Herald notifications. */
export { HeraldClient } from './herald-client.js';
export type { HeraldClientOptions, HttpClientOptions, RedisClientOptions } from './herald-client.js';
export type { RedisSettings } from './redis-options.js';
export { HeraldClientError } from './client-error.js';
export type { HeraldClientErrorCode, HeraldClientErrorDetails } from './client-error.js';
export type { CancelResult, InvalidToken, NotificationInput, NotificationState, NotificationStatus, NotifyResult } from './types.js';
