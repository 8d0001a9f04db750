import { randomUUID } from 'node:crypto';
import { invalidEntry } from './check-many.js';
import { HeraldClientError } from './client-error.js';
import type { Cluster, Redis } from 'ioredis';
import { HttpTransport } from './http-transport.js';
import { LazyTransport } from './lazy-transport.js';
import { checkRedisOptions } from './redis-options.js';
import type { RedisSettings, RedisTransportOptions } from './redis-options.js';
import type { Transport } from './transport.js';
import type { CancelResult, NotificationInput, NotificationStatus, NotifyResult } from './types.js';

/** Through the signed HTTP API (the same credentials as the pusher SDK). */
export interface HttpClientOptions {
  url: string;
  /** The app id; `app` is accepted too. */
  appId?: string;
  app?: string;
  key: string;
  secret: string;
  /** Per request; default 10 s. */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

/** Straight into the BullMQ queue on the Redis Herald uses (no HTTP hop; no app secret needed). */
export interface RedisClientOptions {
  /**
   * A redis:// URL or Herald's `redis` settings (for Sentinel or Cluster: the same keys as
   * its configuration), whose connections the client opens and closes; or an ioredis
   * connection of yours (left open).
   */
  redis: string | RedisSettings | Redis | Cluster;
  /** Herald's `queue.prefix` (the BullMQ prefix); default `herald`. */
  prefix?: string;
  /** Herald's `redis.keyPrefix` (where notification status lives); default `herald`. */
  keyPrefix?: string;
  app: string;
  /** Herald's `queue.partitions` (1–64); default 1. Must equal the daemon's: partitions decide where jobs and status live. */
  partitions?: number;
  /** Herald's `queue.chunkSize`; default 500. Must equal the daemon's: a status record counts its notification's chunks. */
  chunkSize?: number;
  /** Herald's `queue.statusRetentionSeconds`; default 86,400: how long status records this client creates are kept. */
  statusRetentionSeconds?: number;
}

export type HeraldClientOptions = HttpClientOptions | RedisClientOptions;

/**
 * A typed producer for Herald, over its signed HTTP API or straight into its BullMQ
 * queue on Redis. An id is generated when absent, before anything is sent; a failed
 * send carries it (`HeraldClientError.id`): send again with that id (or your own) and
 * the notification is queued at most once. Ids are per app.
 */
export class HeraldClient {
  readonly app: string;
  private readonly transport: Transport;

  constructor(options: HeraldClientOptions) {
    if ('redis' in options) {
      if (!options.app) throw new HeraldClientError('invalid', 'HeraldClient needs app');
      this.app = options.app;
      const redis: RedisTransportOptions = {
        redis: options.redis,
        app: options.app,
        ...(options.prefix === undefined ? {} : { prefix: options.prefix }),
        ...(options.keyPrefix === undefined ? {} : { keyPrefix: options.keyPrefix }),
        ...(options.partitions === undefined ? {} : { partitions: options.partitions }),
        ...(options.chunkSize === undefined ? {} : { chunkSize: options.chunkSize }),
        ...(options.statusRetentionSeconds === undefined ? {} : { statusRetentionSeconds: options.statusRetentionSeconds }),
      };
      // Bad settings are refused here; BullMQ and ioredis load on the first call, so a
      // producer over HTTP never needs them installed.
      checkRedisOptions(redis);
      this.transport = new LazyTransport(async () => new (await import('./redis-transport.js')).RedisTransport(redis));
      return;
    }
    const app = options.appId ?? options.app;
    if (!app) throw new HeraldClientError('invalid', 'HeraldClient needs appId (or app)');
    if (!options.url || !options.key || !options.secret) throw new HeraldClientError('invalid', 'HeraldClient over HTTP needs url, key and secret');
    this.app = app;
    this.transport = new HttpTransport({
      url: options.url,
      app,
      key: options.key,
      secret: options.secret,
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
      ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
    });
  }

  /** Queues a notification and returns its id. */
  async notify(notification: NotificationInput): Promise<string> {
    return (await this.send(notification)).id;
  }

  /** Like notify, and also says whether the id already existed (then nothing new was queued). */
  async send(notification: NotificationInput): Promise<NotifyResult> {
    const complete = this.complete(notification);
    try {
      return await this.transport.notify(complete);
    } catch (err) {
      if (err instanceof HeraldClientError && err.code === 'unavailable' && err.id === undefined) {
        throw new HeraldClientError('unavailable', err.message, { ...(err.status === undefined ? {} : { status: err.status }), id: complete.id, cause: err.cause ?? err });
      }
      throw err;
    }
  }

  /**
   * Queues many notifications at once and answers for each, in the order given, its id
   * and whether it already existed (`duplicate`; a later entry with an id used earlier in
   * the same call is a duplicate of that one). Every notification is checked first: the
   * first invalid one refuses the whole call (`HeraldClientError` code `invalid`, with its
   * `index` and a `path` such as `[3].apns.tokens[0]`) and nothing is queued. Over Redis
   * they travel as envelope jobs, one per partition and up to 1,000 notifications each;
   * over HTTP as one request each, 64 at a time. A failure after checking carries `ids`:
   * send the same notifications again with them and each is queued at most once.
   */
  async sendMany(notifications: readonly NotificationInput[]): Promise<NotifyResult[]> {
    if (!Array.isArray(notifications)) throw new HeraldClientError('invalid', 'sendMany takes an array of notifications', { path: '' });
    const complete = notifications.map((notification, index) => {
      try {
        return this.complete(notification);
      } catch (err) {
        throw err instanceof HeraldClientError ? invalidEntry(index, err.path ?? '', err.message) : err;
      }
    });
    if (complete.length === 0) return [];
    try {
      return await this.transport.notifyMany(complete);
    } catch (err) {
      if (!(err instanceof HeraldClientError) || err.ids !== undefined) throw err;
      throw new HeraldClientError(err.code, err.message, {
        ...(err.status === undefined ? {} : { status: err.status }),
        ...(err.path === undefined ? {} : { path: err.path }),
        ...(err.index === undefined ? {} : { index: err.index }),
        ids: complete.map((n) => n.id),
        cause: err.cause ?? err,
      });
    }
  }

  /** The notification's state and counts; undefined when the id is unknown or its status expired. */
  async status(id: string): Promise<NotificationStatus | undefined> {
    return this.transport.status(id);
  }

  /**
   * Cancels a notification still queued (a `sendAt` not yet due): `{cancelled: true}`, or
   * `{cancelled: false, state}` with the state that refused it (`active`, `completed`,
   * `failed`), `state` undefined when the id is unknown. A cancelled notification then
   * reads `failed` with error `cancelled`.
   */
  async cancel(id: string): Promise<CancelResult> {
    return this.transport.cancel(id);
  }

  async close(): Promise<void> {
    await this.transport.close();
  }

  private complete(notification: NotificationInput): Record<string, unknown> & { id: string } {
    if (typeof notification !== 'object' || notification === null) {
      throw new HeraldClientError('invalid', 'a notification must be an object', { path: '' });
    }
    if (notification.app !== undefined && notification.app !== this.app) {
      throw new HeraldClientError('invalid', `notification.app '${notification.app}' is not this client's app '${this.app}'`, { path: 'app' });
    }
    // A spread, not Object.assign: a caller's own `__proto__` key (JSON.parse makes one) stays a key the parser refuses.
    return { ...notification, v: 1, app: this.app, id: notification.id ?? randomUUID() };
  }
}
