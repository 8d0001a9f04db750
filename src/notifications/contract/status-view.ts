import type { NotificationStatus, StoredStatus } from './status.js';

/**
 * The contract's `GET /apps/{id}/notifications/{nid}` body, from a stored status:
 * one mapping for the HTTP route and for herald/client reading the store directly.
 */
export function statusView(status: StoredStatus): NotificationStatus {
  return {
    id: status.id,
    state: status.state,
    createdAt: new Date(status.createdAt).toISOString(),
    ...(status.finishedAt === undefined ? {} : { finishedAt: new Date(status.finishedAt).toISOString() }),
    attempts: status.attempts,
    apns: status.apns,
    realtime: status.realtime,
    ...(status.platforms === undefined ? {} : { platforms: status.platforms }),
    ...(status.users === undefined ? {} : { users: status.users }),
    ...(status.error === undefined ? {} : { error: status.error }),
  };
}
