/** Wire codecs for Pusher protocol 7 frames: one JSON object per text frame. */

export interface InboundFrame {
  event: string;
  channel: string | undefined;
  data: unknown;
  /** The frame as received: sizes are measured on, and relays copy from, these bytes. */
  raw: Buffer;
}

export type BadFrameReason = 'malformed_json' | 'not_an_object' | 'missing_event';

export type ParsedFrame = { ok: true; frame: InboundFrame } | { ok: false; reason: BadFrameReason; message: string };

export function parseFrame(input: Buffer | string): ParsedFrame {
  const raw = typeof input === 'string' ? Buffer.from(input) : input;
  let value: unknown;
  try {
    value = JSON.parse(typeof input === 'string' ? input : input.toString('utf8'));
  } catch {
    return { ok: false, reason: 'malformed_json', message: 'Frame is not valid JSON' };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { ok: false, reason: 'not_an_object', message: 'Frame must be a JSON object' };
  }
  const { event, channel, data } = value as Record<string, unknown>;
  if (typeof event !== 'string' || event === '') {
    return { ok: false, reason: 'missing_event', message: 'Frame has no event name' };
  }
  return { ok: true, frame: { event, channel: typeof channel === 'string' ? channel : undefined, data, raw } };
}

/**
 * The `data` of a `pusher:*` client frame is an object in protocol 7, but some
 * clients send it JSON-encoded; both are accepted.
 */
export function frameDataObject(data: unknown): Record<string, unknown> | undefined {
  let value = data;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      return undefined;
    }
  }
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

/** The handshake frame; its `data` is a JSON string, as every Pusher client expects. */
export function connectionEstablishedFrame(socketId: string, activityTimeoutSeconds: number): string {
  return JSON.stringify({
    event: 'pusher:connection_established',
    data: JSON.stringify({ socket_id: socketId, activity_timeout: activityTimeoutSeconds }),
  });
}

export function errorFrame(code: number | null, message: string): string {
  return JSON.stringify({ event: 'pusher:error', data: { code, message } });
}

export const pingFrame = '{"event":"pusher:ping","data":{}}';
export const pongFrame = '{"event":"pusher:pong","data":{}}';

export type SubscriptionErrorType = 'AuthError' | 'BadRequest' | 'LimitReached';

/** Channel-scoped, so pusher-js raises it on the channel as `pusher:subscription_error`. */
export function subscriptionErrorFrame(channel: string, type: SubscriptionErrorType, error: string, status: number): string {
  return JSON.stringify({ event: 'pusher:subscription_error', channel, data: { type, error, status } });
}

export function subscriptionSucceededFrame(channel: string, data: object = {}): string {
  return JSON.stringify({ event: 'pusher_internal:subscription_succeeded', channel, data: JSON.stringify(data) });
}

export function internalChannelFrame(event: string, channel: string, data: object): string {
  return JSON.stringify({ event, channel, data: JSON.stringify(data) });
}

export function cacheMissFrame(channel: string): string {
  return JSON.stringify({ event: 'pusher:cache_miss', channel });
}

/**
 * A channel event as subscribers receive it. `data` is relayed as given — an HTTP API
 * string stays the same string, byte for byte; a client event's object stays an object.
 */
export function channelEventFrame(event: string, channel: string, data: unknown, userId?: string): string {
  return JSON.stringify(userId === undefined ? { event, channel, data } : { event, channel, data, user_id: userId });
}

/**
 * A client event as subscribers receive it, `rawData` being the sender's `data` bytes
 * (undefined when it sent none). Only the bounded event and channel names and the
 * user id are serialized here; caller data is copied, never re-serialized.
 */
export function relayedClientEventFrame(event: string, channel: string, rawData: string | undefined, userId?: string): string {
  let frame = `{"event":${JSON.stringify(event)},"channel":${JSON.stringify(channel)}`;
  if (rawData !== undefined) frame += `,"data":${rawData}`;
  if (userId !== undefined) frame += `,"user_id":${JSON.stringify(userId)}`;
  return `${frame}}`;
}

export function signinSuccessFrame(userData: string): string {
  return JSON.stringify({ event: 'pusher:signin_success', data: { user_data: userData } });
}
