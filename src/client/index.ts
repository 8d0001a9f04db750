/** `herald/client`: a typed producer for Herald notifications. */
export { HeraldClient } from './herald-client.js';
export type { HeraldClientOptions, HttpClientOptions, RedisClientOptions } from './herald-client.js';
export type { RedisSettings } from './redis-options.js';
export { HeraldClientError } from './client-error.js';
export type { HeraldClientErrorCode, HeraldClientErrorDetails } from './client-error.js';
export type { Alert, CancelResult, DeliverMode, InvalidToken, NotificationInput, NotificationState, NotificationStatus, NotifyResult, Targets, UserCounts } from './types.js';
