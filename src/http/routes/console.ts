import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { App, AppStore } from '../../apps/app-store.js';
import type { ConsoleAccess } from '../../console/console-access.js';
import type { ConsoleFeed } from '../../console/console-feed.js';
import { Viewer } from '../../console/viewer.js';
import type { ViewerLimits } from '../../console/viewer.js';
import { viewerCounters } from '../../console/viewer-counters.js';
import type { GatewayPublisher } from '../../gateway/publisher.js';
import type { ChannelState } from '../../gateway/state/channel-state.js';
import type { Metrics } from '../../metrics/metrics.js';
import type { NotificationService } from '../../notifications/intake.js';
import { sendError } from '../server.js';
import type { RouteModule } from '../server.js';

export interface ConsoleRoutesOptions {
  access: ConsoleAccess;
  feed: ConsoleFeed;
  apps: AppStore;
  publisher: GatewayPublisher;
  state: ChannelState;
  notifications: NotificationService;
  limits: ViewerLimits;
  metrics: Metrics;
  /** Queue depths and APNs sessions/in-flight, read when the page asks. */
  stats(): Promise<Record<string, unknown>>;
}

const staticDir = new URL('../../console/static/', import.meta.url);
const assets: Record<string, string> = { '': 'text/html; charset=utf-8', 'console.js': 'text/javascript; charset=utf-8', 'console.css': 'text/css; charset=utf-8' };
/** Channels listed per request at most: the page is a debugger, not an export. */
const MAX_CHANNELS = 200;
const MAX_MEMBERS = 100;

/**
 * The debug console (docs/console.md): the page under /console, its API under
 * /console/api/ for the bearer of the console token. Nothing here is under /apps/.
 */
export function consoleRoutes(o: ConsoleRoutesOptions): RouteModule {
  const files = new Map(Object.keys(assets).map((name) => [name, readFileSync(new URL(name || 'index.html', staticDir))]));
  return (server) => {
    for (const [name, type] of Object.entries(assets)) {
      const body = files.get(name);
      const paths = name === '' ? ['/console', '/console/'] : [`/console/${name}`];
      for (const path of paths) {
        server.get(path, async (_request, reply) =>
          reply
            .header('content-type', type)
            .header('content-security-policy', "default-src 'self'; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'")
            .header('cache-control', 'no-store')
            .header('x-content-type-options', 'nosniff')
            .send(body),
        );
      }
    }

    // Every /console/api/ request carries the token; a wrong one is a 401 and nothing else.
    const authorized = (request: FastifyRequest, reply: FastifyReply): boolean => {
      const header = request.headers.authorization;
      const given = typeof header === 'string' && header.startsWith('Bearer ') ? header.slice(7) : undefined;
      if (o.access.check(given)) return true;
      o.metrics.consoleRequests.inc({ status: 'unauthorized' });
      void sendError(reply, 401, 'Console token refused');
      return false;
    };
    const appOf = (value: unknown, reply: FastifyReply): App | undefined => {
      const app = typeof value === 'string' ? o.apps.byId(value) : undefined;
      if (!app) {
        o.metrics.consoleRequests.inc({ status: 'invalid' });
        void sendError(reply, 404, 'Unknown app');
      }
      return app;
    };

    server.get('/console/api/apps', async (request, reply) => {
      if (!authorized(request, reply)) return reply;
      o.metrics.consoleRequests.inc({ status: 'ok' });
      return { apps: o.apps.all().map((app) => ({ id: app.id })) };
    });

    server.get('/console/api/stream', async (request, reply) => {
      if (!authorized(request, reply)) return reply;
      const app = appOf((request.query as Record<string, unknown>).app, reply);
      if (!app) return reply;
      o.metrics.consoleRequests.inc({ status: 'ok' });
      reply.hijack();
      const raw = reply.raw;
      raw.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', 'x-accel-buffering': 'no' });
      const viewer = new Viewer(app.id, raw, o.limits, viewerCounters(o.metrics));
      viewer.write('hello', { app: app.id });
      const detach = o.feed.attach(viewer);
      raw.on('close', () => {
        detach();
        viewer.close();
      });
      return reply;
    });

    server.get('/console/api/channels', async (request, reply) => {
      if (!authorized(request, reply)) return reply;
      const app = appOf((request.query as Record<string, unknown>).app, reply);
      if (!app) return reply;
      o.metrics.consoleRequests.inc({ status: 'ok' });
      const all = [...(await o.state.channels(app.id)).entries()].slice(0, MAX_CHANNELS);
      const channels = await Promise.all(
        all.map(async ([name, summary]) => ({
          name,
          subscriptionCount: summary.subscriptionCount,
          userCount: summary.userCount,
          members: name.startsWith('presence-') ? (await o.state.members({ app: app.id, channel: name })).slice(0, MAX_MEMBERS) : undefined,
        })),
      );
      return { channels };
    });

    server.get('/console/api/stats', async (request, reply) => {
      if (!authorized(request, reply)) return reply;
      o.metrics.consoleRequests.inc({ status: 'ok' });
      return o.stats();
    });

    server.post('/console/api/events', async (request, reply) => {
      if (!authorized(request, reply)) return reply;
      const body = (request.body ?? {}) as Record<string, unknown>;
      const app = appOf(body.app, reply);
      if (!app) return reply;
      const { channel, event } = body;
      if (typeof channel !== 'string' || typeof event !== 'string') return invalid(reply, 'channel and event must be strings');
      const data = typeof body.data === 'string' ? body.data : JSON.stringify(body.data ?? {});
      const result = await o.publisher.publish(app, { channels: [channel], name: event, data }, { source: 'api' });
      if (!result.ok) return invalid(reply, result.message);
      o.metrics.consoleRequests.inc({ status: 'ok' });
      o.feed.record(app.id, 'console.publish', { channel, event });
      return { ok: true };
    });

    server.post('/console/api/notifications', async (request, reply) => {
      if (!authorized(request, reply)) return reply;
      const body = (request.body ?? {}) as Record<string, unknown>;
      const app = appOf(body.app, reply);
      if (!app) return reply;
      if (typeof body.token !== 'string') return invalid(reply, 'token must be a device token string');
      const alert = typeof body.alert === 'string' && body.alert !== '' ? body.alert : 'Hello from the Herald console';
      const notification = { v: 1, app: app.id, apns: { tokens: [body.token], payload: { aps: { alert } } } };
      const result = await o.notifications.accept(app, notification, { id: `console-${randomUUID()}` });
      if (result.status === 'invalid') return invalid(reply, `${result.error} (${result.path})`);
      o.metrics.consoleRequests.inc({ status: 'ok' });
      return reply.code(202).send({ id: result.id });
    });

    const invalid = (reply: FastifyReply, message: string): FastifyReply => {
      o.metrics.consoleRequests.inc({ status: 'invalid' });
      return sendError(reply, 400, message);
    };
  };
}
