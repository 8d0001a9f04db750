import { parseInfo } from '../../gateway/channel-info.js';
import { checkChannelName } from '../../gateway/channels/channel-name.js';
import type { ChannelCache } from '../../gateway/state/channel-cache.js';
import type { ChannelState } from '../../gateway/state/channel-state.js';
import { sendError } from '../server.js';
import type { RouteModule } from '../server.js';

export interface ChannelRoutesOptions {
  state: ChannelState;
  cache: ChannelCache;
}

/** GET /apps/{id}/channels, /channels/{name} and /channels/{name}/users: Pusher's channel queries. */
export function channelRoutes({ state, cache }: ChannelRoutesOptions): RouteModule {
  return (server, helpers) => {
    server.get('/apps/:appId/channels', async (request, reply) => {
      const app = helpers.appOf(request);
      const query = request.query as Record<string, unknown>;
      const prefix = query.filter_by_prefix;
      if (prefix !== undefined && typeof prefix !== 'string') return sendError(reply, 400, 'filter_by_prefix must be given once');
      const info = parseInfo(query.info, ['user_count', 'subscription_count']);
      if (!info.ok) return sendError(reply, 400, info.message);
      if (info.attributes.has('user_count') && !prefix?.startsWith('presence-')) {
        return sendError(reply, 400, 'info=user_count needs filter_by_prefix=presence-');
      }
      const channels: Record<string, Record<string, number>> = {};
      for (const [name, summary] of await state.channels(app.id, prefix || undefined)) {
        const entry: Record<string, number> = {};
        if (info.attributes.has('user_count') && summary.userCount !== undefined) entry.user_count = summary.userCount;
        if (info.attributes.has('subscription_count')) entry.subscription_count = summary.subscriptionCount;
        channels[name] = entry;
      }
      return { channels };
    });

    server.get('/apps/:appId/channels/:channelName', async (request, reply) => {
      const app = helpers.appOf(request);
      const { channelName } = request.params as { channelName: string };
      const name = checkChannelName(channelName, app.limits.maxChannelNameLength);
      if (!name.ok) return sendError(reply, 400, name.message);
      const info = parseInfo((request.query as Record<string, unknown>).info, ['user_count', 'subscription_count', 'cache']);
      if (!info.ok) return sendError(reply, 400, info.message);
      if (info.attributes.has('user_count') && name.type.kind !== 'presence') {
        return sendError(reply, 400, 'user_count is only available for presence channels');
      }
      if (info.attributes.has('cache') && !name.type.cache) return sendError(reply, 400, 'cache is only available for cache channels');
      const ref = { app: app.id, channel: channelName };
      const subscriptionCount = await state.subscriptionCount(ref);
      const answer: Record<string, unknown> = { occupied: subscriptionCount > 0 };
      if (info.attributes.has('user_count')) answer.user_count = await state.userCount(ref);
      if (info.attributes.has('subscription_count')) answer.subscription_count = subscriptionCount;
      if (info.attributes.has('cache')) {
        const entry = await cache.get(ref);
        answer.cache = entry ? { event: entry.event.event, data: entry.event.data, ttl: entry.ttlSeconds } : null;
      }
      return answer;
    });

    server.get('/apps/:appId/channels/:channelName/users', async (request, reply) => {
      const app = helpers.appOf(request);
      const { channelName } = request.params as { channelName: string };
      const name = checkChannelName(channelName, app.limits.maxChannelNameLength);
      if (!name.ok) return sendError(reply, 400, name.message);
      if (name.type.kind !== 'presence') return sendError(reply, 400, 'Users are only listed for presence channels');
      const members = await state.members({ app: app.id, channel: channelName });
      return { users: members.map((member) => ({ id: member.userId })) };
    });
  };
}
