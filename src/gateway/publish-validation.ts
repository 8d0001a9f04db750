import type { App } from '../apps/app-store.js';
import { checkChannelName } from './channels/channel-name.js';
import type { ChannelType } from './channels/channel-name.js';
import { socketIdPattern } from './socket-id.js';

/** An event for one or more channels, as the HTTP API and the notification pipeline hand it over. */
export interface RealtimeEvent {
  readonly channels: readonly string[];
  readonly name: string;
  /** Relayed to subscribers byte for byte; never re-encoded. */
  readonly data: string;
  /** This connection does not receive the event (the sender of the action that caused it). */
  readonly socketId?: string | undefined;
}

/** The same fields straight from JSON, before validation. */
export interface UncheckedEvent {
  readonly channels: unknown;
  readonly name: unknown;
  readonly data: unknown;
  readonly socketId?: unknown;
}

export type PublishErrorReason = 'invalid' | 'too_large';

/** `invalid` → HTTP 400, `too_large` → HTTP 413. */
export interface PublishError {
  readonly ok: false;
  readonly reason: PublishErrorReason;
  readonly message: string;
}

export interface ValidatedEvent {
  readonly ok: true;
  readonly name: string;
  readonly data: string;
  readonly socketId: string | undefined;
  /** Distinct channels in the order given. */
  readonly channels: ReadonlyArray<{ readonly name: string; readonly type: ChannelType }>;
}

const reservedPrefixes = ['pusher:', 'pusher_internal:'];

/** Checks an event against Pusher's rules and the app's limits; the first problem found is reported. */
export function validateEvent(app: App, event: UncheckedEvent): ValidatedEvent | PublishError {
  const { limits } = app;
  const invalid = (message: string): PublishError => ({ ok: false, reason: 'invalid', message });
  const { name, data, socketId } = event;
  if (typeof name !== 'string' || name === '') return invalid('name must be a non-empty string');
  if (name.length > limits.maxEventNameLength) return invalid(`name is longer than ${limits.maxEventNameLength} characters`);
  if (reservedPrefixes.some((prefix) => name.startsWith(prefix))) return invalid('name may not start with pusher: or pusher_internal:');
  if (typeof data !== 'string') return invalid('data must be a string (JSON-encode objects first)');
  const maxBytes = limits.maxEventPayloadKb * 1024;
  if (Buffer.byteLength(data) > maxBytes) return { ok: false, reason: 'too_large', message: `data is larger than ${maxBytes} bytes` };
  if (socketId !== undefined && (typeof socketId !== 'string' || !socketIdPattern.test(socketId))) {
    return invalid('socket_id must look like 123.456');
  }
  const given = event.channels;
  if (!Array.isArray(given) || given.length === 0) return invalid('channels must be a non-empty list');
  if (given.length > limits.maxEventChannelsAtOnce) return invalid(`at most ${limits.maxEventChannelsAtOnce} channels per event`);
  const channels: Array<{ name: string; type: ChannelType }> = [];
  const seen = new Set<string>();
  for (const channel of given) {
    const check = checkChannelName(channel, limits.maxChannelNameLength);
    if (!check.ok) return invalid(`${String(channel).slice(0, 200)}: ${check.message}`);
    if (seen.has(channel as string)) continue;
    seen.add(channel as string);
    channels.push({ name: channel as string, type: check.type });
  }
  if (channels.length > 1 && channels.some((channel) => channel.type.kind === 'encrypted')) {
    return invalid('an event for an encrypted channel must have that channel alone');
  }
  return { ok: true, name, data, socketId: socketId as string | undefined, channels };
}

/** The same rules without the validated event: what a caller that only asks "would it go out?" needs. */
export function refusalOf(app: App, event: UncheckedEvent): PublishError | undefined {
  const valid = validateEvent(app, event);
  return valid.ok ? undefined : valid;
}
