import { z } from 'zod';
import { sendError } from '../server.js';
import type { RouteModule } from '../server.js';
import { viewOf } from '../../webhooks/dead-letter-view.js';
import type { DeadLetterAccess } from '../../webhooks/dead-letter-view.js';

const listQuery = z.object({ limit: z.coerce.number().int().min(1).max(10_000).default(1000) });
const replayBody = z.strictObject({ ids: z.array(z.string().min(1)).min(1).max(10_000).optional() });

/**
 * Signed routes over the dead-letter list, so the CLI can list and replay it in
 * embedded mode too, where the list lives inside the running process.
 *   GET  /apps/:appId/webhooks/dead-letters[?limit=N]   → {count, deadLetters: [...]}
 *   POST /apps/:appId/webhooks/dead-letters/replay       body {ids?: [...]} → {replayed, ids}
 */
export function deadLetterRoutes(access: DeadLetterAccess): RouteModule {
  return (server, helpers) => {
    server.get('/apps/:appId/webhooks/dead-letters', async (request, reply) => {
      const app = helpers.appOf(request);
      const query = listQuery.safeParse(request.query);
      if (!query.success) return sendError(reply, 400, 'limit must be an integer from 1 to 10000', { path: 'limit' });
      const entries = await access.listDeadLetters({ app: app.id });
      return { count: entries.length, deadLetters: entries.slice(0, query.data.limit).map(viewOf) };
    });

    server.post('/apps/:appId/webhooks/dead-letters/replay', async (request, reply) => {
      const app = helpers.appOf(request);
      const body = replayBody.safeParse(isEmptyBody(request.body) ? {} : request.body);
      if (!body.success) {
        const issue = body.error.issues[0];
        return sendError(reply, 400, `invalid replay request: ${issue?.message ?? 'bad body'}`, { path: issue?.path.join('.') ?? '' });
      }
      const replayed = await access.replayDeadLetters({ app: app.id, ids: body.data.ids });
      return { replayed: replayed.length, ids: replayed.map((entry) => entry.id) };
    });
  };
}

function isEmptyBody(body: unknown): boolean {
  return body === undefined || (typeof body === 'object' && body !== null && !Array.isArray(body) && Object.keys(body).length === 0);
}
