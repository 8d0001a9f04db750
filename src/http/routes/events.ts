import type { FastifyReply } from 'fastify';
import { parseInfo, publishInfo } from '../../gateway/channel-info.js';
import type { InfoAttribute } from '../../gateway/channel-info.js';
import type { GatewayPublisher, PublishError, PublishResult, UncheckedEvent } from '../../gateway/publisher.js';
import type { ChannelState } from '../../gateway/state/channel-state.js';
import { isRedisUnavailable } from '../../redis/redis-errors.js';
import { sendError, sendRedisUnavailable } from '../server.js';
import type { RouteModule } from '../server.js';

export interface EventRoutesOptions {
  publisher: GatewayPublisher;
  state: ChannelState;
}

type Body = Record<string, unknown>;

const publishInfoAttributes: readonly InfoAttribute[] = ['user_count', 'subscription_count'];

/** POST /apps/{id}/events and /batch_events, as Pusher defines them. Errors are real statuses with a JSON body. */
export function eventRoutes({ publisher, state }: EventRoutesOptions): RouteModule {
  return (server, helpers) => {
    server.post('/apps/:appId/events', async (request, reply) => {
      const app = helpers.appOf(request);
      const body = request.body;
      if (!isBody(body)) return sendError(reply, 400, 'Body must be a JSON object');
      const info = parseInfo(body.info, publishInfoAttributes);
      if (!info.ok) return sendError(reply, 400, info.message);
      const event = toEvent(body, true);
      if ('error' in event) return sendError(reply, 400, event.error);
      const result = await notBeyondThisNode(publisher.publish(app, event, { source: 'api' }));
      if (!result) return partialPublish(reply);
      if (!result.ok) return publishError(reply, result);
      if (info.attributes.size === 0) return {};
      const channels: Record<string, Record<string, number>> = {};
      for (const channel of new Set(event.channels as string[])) {
        channels[channel] = await publishInfo(state, app.id, channel, info.attributes);
      }
      return { channels };
    });

    server.post('/apps/:appId/batch_events', async (request, reply) => {
      const app = helpers.appOf(request);
      const body = request.body;
      if (!isBody(body) || !Array.isArray(body.batch)) return sendError(reply, 400, 'Body must be {"batch": [events]}');
      const batch: unknown[] = body.batch;
      if (batch.length === 0) return sendError(reply, 400, 'batch must hold at least one event');
      if (batch.length > app.limits.maxEventBatchSize) {
        return sendError(reply, 400, `batch may hold at most ${app.limits.maxEventBatchSize} events`);
      }
      const events: UncheckedEvent[] = [];
      const infos: Array<Set<InfoAttribute>> = [];
      for (const [index, item] of batch.entries()) {
        if (!isBody(item)) return sendError(reply, 400, `batch[${index}] must be an object`);
        const info = parseInfo(item.info, publishInfoAttributes);
        if (!info.ok) return sendError(reply, 400, `batch[${index}]: ${info.message}`);
        const event = toEvent(item, false);
        if ('error' in event) return sendError(reply, 400, `batch[${index}]: ${event.error}`);
        events.push(event);
        infos.push(info.attributes);
      }
      const result = await notBeyondThisNode(publisher.publishBatch(app, events, { source: 'api' }));
      if (!result) return partialPublish(reply);
      if (!result.ok) return publishError(reply, result);
      if (infos.every((attributes) => attributes.size === 0)) return {};
      const answers = [];
      for (const [index, event] of events.entries()) {
        const channel = (event.channels as string[])[0] as string;
        answers.push((infos[index]?.size ?? 0) === 0 ? {} : await publishInfo(state, app.id, channel, infos[index] ?? new Set()));
      }
      return { batch: answers };
    });
  };
}

function isBody(value: unknown): value is Body {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * `channels` (a list) or `channel` (one name), not both. Batch items name one
 * `channel`; `channels` is accepted there too for soketi-style clients.
 */
function toEvent(body: Body, allowList: boolean): UncheckedEvent | { error: string } {
  if (body.channels !== undefined && body.channel !== undefined) return { error: 'give channels or channel, not both' };
  let channels: unknown;
  if (body.channels !== undefined) {
    if (!Array.isArray(body.channels)) return { error: 'channels must be a list of channel names' };
    if (!allowList && body.channels.length !== 1) return { error: 'a batch event names exactly one channel' };
    channels = body.channels;
  } else if (body.channel !== undefined) {
    if (typeof body.channel !== 'string') return { error: 'channel must be a string' };
    channels = [body.channel];
  } else {
    return { error: 'channels or channel is required' };
  }
  if (body.name === undefined) return { error: 'name is required' };
  if (body.data === undefined) return { error: 'data is required' };
  return { channels, name: body.name, data: body.data, socketId: body.socket_id };
}

/** Undefined when Redis failed the publish: this node's subscribers got the events; other nodes and the cache may not have. */
async function notBeyondThisNode(publishing: Promise<PublishResult>): Promise<PublishResult | undefined> {
  try {
    return await publishing;
  } catch (err) {
    if (isRedisUnavailable(err)) return undefined;
    throw err;
  }
}

function partialPublish(reply: FastifyReply): FastifyReply {
  return sendRedisUnavailable(reply, "Redis is unavailable: this node's subscribers received the event, other nodes' may not have, and a cache channel may keep its previous event");
}

function publishError(reply: FastifyReply, error: PublishError): FastifyReply {
  return sendError(reply, error.reason === 'too_large' ? 413 : 400, error.message);
}
