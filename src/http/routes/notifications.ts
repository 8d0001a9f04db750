import { randomUUID } from 'node:crypto';
import type { NotificationService } from '../../notifications/intake.js';
import { statusView } from '../../notifications/contract/status-view.js';
import type { Logger } from '../../log/logger.js';
import type { RouteModule } from '../server.js';
import { isRedisUnavailable } from '../../redis/redis-errors.js';
import { replayId } from '../replay-id.js';
import { sendError, sendRedisUnavailable } from '../server.js';

export interface NotificationRoutesOptions {
  service: NotificationService;
  /** Route body limit (config queue.maxNotificationBytes): 100,000 tokens need several MB. */
  maxNotificationBytes: number;
  log: Logger;
}

/**
 * `POST /apps/{id}/notifications`, `GET` and `DELETE /apps/{id}/notifications/{nid}`,
 * signed like the Pusher API (the server's onRequest hook has verified the app before these run).
 */
export function notificationRoutes(o: NotificationRoutesOptions): RouteModule {
  return (server, helpers) => {
    server.post('/apps/:appId/notifications', { bodyLimit: o.maxNotificationBytes }, async (request, reply) => {
      const app = helpers.appOf(request);
      // Without an id in the body, a replay of this signed request gets the same one (docs/gateway.md).
      const generated = replayId(request.query) ?? randomUUID();
      let result;
      try {
        result = await o.service.accept(app, request.body, { id: generated });
      } catch (err) {
        // Never 500, never 202: the caller must send again, and the id (named here when Herald chose it) makes that safe.
        const id = bodyId(request.body) ?? generated;
        if (isRedisUnavailable(err)) {
          o.log.warn({ reqId: request.id, app: app.id, notification: id, message: errorMessage(err) }, 'notification not accepted: Redis is unavailable');
          return sendRedisUnavailable(reply, 'Redis is unavailable: the notification may not be queued; send it again with this id (a repeat is never queued twice)', { id });
        }
        o.log.error({ reqId: request.id, app: app.id, notification: id, err }, 'notification not queued');
        return sendError(reply, 503, 'The notification queue is unavailable: the notification may not be queued; send it again with this id (a repeat is never queued twice)', { id });
      }
      // Location: where its status is (and where it can be cancelled), for a new one and a repeat alike.
      switch (result.status) {
        case 'accepted':
          return reply.code(202).header('location', notificationPath(app.id, result.id)).send({ id: result.id });
        case 'duplicate':
          return reply.code(200).header('location', notificationPath(app.id, result.id)).send({ id: result.id });
        case 'invalid':
          return sendError(reply, 400, result.error, { path: result.path });
      }
    });

    server.get('/apps/:appId/notifications/:nid', async (request, reply) => {
      const app = helpers.appOf(request);
      const { nid } = request.params as { nid: string };
      let status;
      try {
        status = await o.service.status(app, nid);
      } catch (err) {
        if (isRedisUnavailable(err)) {
          o.log.warn({ reqId: request.id, app: app.id, message: errorMessage(err) }, 'notification status unavailable: Redis is unavailable');
          return sendRedisUnavailable(reply, 'Redis is unavailable: the notification status cannot be read now; try again');
        }
        o.log.error({ reqId: request.id, app: app.id, err }, 'notification status unavailable');
        return sendError(reply, 503, 'The notification status store is unavailable, try again');
      }
      if (!status) return sendError(reply, 404, `Unknown notification '${nid.slice(0, 128)}'`);
      return reply.code(200).send(statusView(status));
    });

    // Cancels a notification still queued (a `sendAt` not yet due): 204; 409 once it started or finished.
    server.delete('/apps/:appId/notifications/:nid', async (request, reply) => {
      const app = helpers.appOf(request);
      const { nid } = request.params as { nid: string };
      let outcome;
      try {
        outcome = await o.service.cancel(app, nid);
      } catch (err) {
        if (isRedisUnavailable(err)) {
          o.log.warn({ reqId: request.id, app: app.id, message: errorMessage(err) }, 'notification not cancelled: Redis is unavailable');
          return sendRedisUnavailable(reply, 'Redis is unavailable: the notification was not cancelled; try again');
        }
        o.log.error({ reqId: request.id, app: app.id, err }, 'notification not cancelled');
        return sendError(reply, 503, 'The notification status store is unavailable: the notification was not cancelled; try again');
      }
      switch (outcome.status) {
        case 'cancelled':
          o.log.info({ reqId: request.id, app: app.id, notification: nid }, 'notification cancelled');
          return reply.code(204).send();
        case 'unknown':
          return sendError(reply, 404, `Unknown notification '${nid.slice(0, 128)}'`);
        case 'refused':
          return sendError(reply, 409, `Notification '${nid.slice(0, 128)}' is ${outcome.state}: only a queued notification can be cancelled`, { state: outcome.state });
      }
    });
  };
}

/** The notification's URL path (ids may hold characters a path must escape). */
function notificationPath(app: string, id: string): string {
  return `/apps/${encodeURIComponent(app)}/notifications/${encodeURIComponent(id)}`;
}

/** The body's own id; only read once the body was accepted as valid. */
function bodyId(body: unknown): string | undefined {
  const id = typeof body === 'object' && body !== null ? (body as { id?: unknown }).id : undefined;
  return typeof id === 'string' ? id : undefined;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
