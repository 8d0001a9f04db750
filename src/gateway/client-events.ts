import type { EventBus } from '../events.js';
import type { Connection } from './connection.js';
import { PusherErrorCode } from './close-codes.js';
import type { Fanout } from './fanout.js';
import { errorFrame, relayedClientEventFrame } from './protocol.js';
import type { InboundFrame } from './protocol.js';
import { memberSpan } from './raw-json.js';
import type { Span } from './raw-json.js';

type Rejection = { reason: string; code: number | null; message: string };

/**
 * `client-*` events: relayed to the channel's other subscribers when the app allows
 * them, the channel is private or presence, the sender's subscription is complete,
 * and the sender is within its rate. A refusal is a `pusher:error`, never a close.
 */
export class ClientEvents {
  constructor(
    private readonly fanout: Fanout,
    private readonly events: EventBus,
  ) {}

  handle(conn: Connection, frame: InboundFrame): void {
    const span = memberSpan(frame.raw, 'data');
    const rejection = this.check(conn, frame, span);
    if (rejection) {
      conn.metrics.clientEventRejected(rejection.reason);
      conn.log.debug({ event: frame.event.slice(0, 200), channel: frame.channel?.slice(0, 200), reason: rejection.reason }, 'client event refused');
      conn.send(errorFrame(rejection.code, rejection.message));
      return;
    }
    const channel = frame.channel as string;
    const userId = conn.subscriptions.get(channel)?.userId;
    const rawData = span ? frame.raw.toString('utf8', span.start, span.end) : undefined;
    const frameText = relayedClientEventFrame(frame.event, channel, rawData, userId);
    conn.metrics.published('client');
    this.fanout
      .publish({ v: 1, type: 'event', app: conn.app.id, channel, frame: frameText, exceptSocketId: conn.socketId })
      .catch((err: unknown) => conn.log.warn({ err }, 'client event fanout failed'));
    this.events.emit('client.event', {
      app: conn.app.id,
      channel,
      event: frame.event,
      data: frame.data,
      ...(rawData === undefined ? {} : { dataJson: rawData }),
      socketId: conn.socketId,
      ...(userId === undefined ? {} : { userId }),
    });
  }

  private check(conn: Connection, frame: InboundFrame, data: Span | undefined): Rejection | undefined {
    const { app } = conn;
    if (!app.enableClientMessages) return { reason: 'disabled', code: null, message: 'Client events are not enabled for this app' };
    if (frame.event.length > app.limits.maxEventNameLength) {
      return { reason: 'name_too_long', code: null, message: `Client event name is longer than ${app.limits.maxEventNameLength} characters` };
    }
    if (frame.channel === undefined) return { reason: 'no_channel', code: null, message: 'Client event has no channel' };
    const subscription = conn.subscriptions.get(frame.channel);
    if (!subscription || subscription.backlog) {
      return { reason: 'not_subscribed', code: null, message: `Client event on ${frame.channel.slice(0, 200)}, which this connection has not joined` };
    }
    const kind = subscription.type.kind;
    if (kind !== 'private' && kind !== 'presence') {
      return { reason: 'channel_type', code: null, message: 'Client events are only allowed on private and presence channels' };
    }
    const maxBytes = app.limits.maxEventPayloadKb * 1024;
    // Measured on the bytes as received (a string's quotes and escapes count), never on a re-serialization.
    if (data !== undefined && data.end - data.start > maxBytes) return { reason: 'too_large', code: null, message: `Client event data is larger than ${maxBytes} bytes` };
    if (!conn.clientEvents.tryTake()) {
      return { reason: 'rate_limited', code: PusherErrorCode.ClientEventRateLimit, message: `Client event rate limit exceeded (${app.limits.maxClientEventsPerSecond} per second)` };
    }
    return undefined;
  }
}
