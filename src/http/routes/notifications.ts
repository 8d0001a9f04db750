import type { NotificationService } from '../../delivery/notification-service.js';
import { statusView } from '../../delivery/status-view.js';
import type { Logger } from '../../log/logger.js';
import type { RouteModule } from '../server.js';
import { isRedisUnavailable } from '../../redis/redis-errors.js';
import { sendError, sendRedisUnavailable } from '../server.js';

export interface NotificationRoutesOptions {
  service: NotificationService;
  /** Route body limit (config queue.maxNotificationBytes): 100,000 tokens need several MB. */
  maxNotificationBytes: number;
  log: Logger;
}

/**
 * `POST /apps/{id}/notifications` and `GET /apps/{id}/notifications/{nid}`, signed like
 * the Pusher API (the server's preHandler has verified the app before these run).
 */
export function notificationRoutes(o: NotificationRoutesOptions): RouteModule {
  return (server, helpers) => {
    server.post('/apps/:appId/notifications', { bodyLimit: o.maxNotificationBytes }, async (request, reply) => {
      const app = helpers.appOf(request);
      let result;
      try {
        result = await o.service.accept(app, request.body);
      } catch (err) {
        // Never 500, never 202: the caller must send again, and the same id makes that safe.
        if (isRedisUnavailable(err)) {
          o.log.warn({ reqId: request.id, app: app.id, message: errorMessage(err) }, 'notification not accepted: Redis is unavailable');
          return sendRedisUnavailable(reply, 'Redis is unavailable: the notification may not be queued; send it again with the same id (a repeat is never queued twice)');
        }
        o.log.error({ reqId: request.id, app: app.id, err }, 'notification not queued');
        return sendError(reply, 503, 'The notification queue is unavailable; nothing was queued, try again');
      }
      switch (result.status) {
        case 'accepted':
          return reply.code(202).send({ id: result.id });
        case 'duplicate':
          return reply.code(200).send({ id: result.id });
        case 'invalid':
          return sendError(reply, 400, result.error, { path: result.path });
        case 'conflict':
          return sendError(reply, 409, result.error);
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
  };
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
