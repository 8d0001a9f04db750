import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { HeraldClient } from '../client/herald-client.js';
import { HeraldClientError } from '../client/client-error.js';
import type { NotificationInput, NotificationStatus } from '../client/types.js';
import { sleep } from '../lib/deadline.js';
import { appEnv } from '../config/env.js';
import { pushTypes } from '../lib/apns-push-types.js';
import { deliverModes } from '../notifications/contract/notification-schema.js';
import type { DeliverMode } from '../notifications/contract/notification-schema.js';
import { resolveAppTarget } from './app-target.js';

const pushTypeList = Object.keys(pushTypes).join(', ');

const sendUsage = `Usage: herald send [--app ID] (--token HEX | --user ID | --interest NAME) [--title T --body B | --payload JSON|- | --payload-file FILE]
                   [--channel C] [--event E --data JSON] [--deliver MODE] [options]

Enqueues one notification through the HTTP API (signed like the Pusher API),
prints its id, then waits for its final status, printing progress while tokens
are being delivered.

Notification:
  --app ID             the app (default: HERALD_APP_ID; one of the two is required)
  --token HEX          a device token; repeat, or separate with commas
  --tokens-file FILE   device tokens, one per line
  --fcm-token TOKEN    an FCM registration token (Android); repeat, or separate with commas;
                       needs --title/--body
  --user ID            a user: their devices (registered with PUT /apps/{id}/devices/{token})
                       and, when online, their signed-in connections; repeat, or separate with commas
  --interest NAME      every device registered with this interest; repeat, or separate with commas
  --deliver MODE       for --user: online-first (event to online users, push to the others),
                       both (default) or push (APNs only)
  --title T, --body B  an alert payload {"aps":{"alert":{"title","body"}}}
  --payload JSON       the whole APNs payload instead of --title/--body; '-' reads it from stdin
  --payload-file FILE  the whole APNs payload from a file
  --channel C          a realtime channel; repeat, or separate with commas
  --event E            the realtime event name (online --user users get it too)
  --data JSON          the realtime event data (JSON; quote a string: '"hi"'); needed with --event
  --id ID              the idempotency key, per app (generated when absent; a failed
                       send prints it: send again with it and it is queued once)
  --send-at WHEN       not before this ISO 8601 time (2026-12-24T08:00:00+01:00)

APNs delivery (with --token):
  --push-type TYPE     apns-push-type (default alert): one of
                       ${pushTypeList}
  --priority N         apns-priority: 10 immediately, 5 power-considerate, 1 low
                       (default 10; 5 for background)
  --topic T            apns-topic (default: the app's topic with the push type's suffix,
                       e.g. .voip, .push-type.liveactivity)
  --expiration WHEN    drop it after this time: UNIX seconds or ISO 8601
                       (2026-12-24T18:00:00Z); 0 = try once
  --collapse-id ID     apns-collapse-id: a newer push with the same id replaces this one

Where and as whom:
  --url URL            Herald's HTTP API (default: HERALD_URL, else server.host:port of the config)
  --key K --secret S   the app's credentials (default: HERALD_APP_KEY / HERALD_APP_SECRET[_FILE],
                       else the app in --config)
  --config FILE        YAML or JSON configuration (also HERALD_CONFIG; default: the demo app)

Waiting:
  --no-wait            print the id and exit
  --timeout SECONDS    how long to wait for the final status (default 300)
  --json               print the final status as JSON

Exit status: 0 completed with every token accepted, 1 refused, unreachable or
failed, 2 bad arguments, 3 completed but some tokens failed, 4 still not final at --timeout.`;

const options = {
  app: { type: 'string' },
  token: { type: 'string', multiple: true },
  'fcm-token': { type: 'string', multiple: true },
  user: { type: 'string', multiple: true },
  interest: { type: 'string', multiple: true },
  deliver: { type: 'string' },
  'tokens-file': { type: 'string' },
  title: { type: 'string' },
  body: { type: 'string' },
  payload: { type: 'string' },
  'payload-file': { type: 'string' },
  'push-type': { type: 'string' },
  priority: { type: 'string' },
  topic: { type: 'string' },
  expiration: { type: 'string' },
  'collapse-id': { type: 'string' },
  'send-at': { type: 'string' },
  channel: { type: 'string', multiple: true },
  event: { type: 'string' },
  data: { type: 'string' },
  id: { type: 'string' },
  url: { type: 'string' },
  key: { type: 'string' },
  secret: { type: 'string' },
  config: { type: 'string', short: 'c' },
  'no-wait': { type: 'boolean' },
  timeout: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

type SendValues = ReturnType<typeof parseArgs<{ args: string[]; options: typeof options; strict: true }>>['values'];

export async function runSend(args: string[]): Promise<number> {
  let values: SendValues;
  try {
    values = parseArgs({ args, options, strict: true }).values;
  } catch (err) {
    return usageError((err as Error).message);
  }
  if (values.help) {
    console.log(sendUsage);
    return 0;
  }
  const app = values.app ?? process.env[appEnv.id];
  if (!app) return usageError(`--app is required (or set ${appEnv.id})`);
  const timeoutSeconds = values.timeout === undefined ? 300 : Number(values.timeout);
  if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0) return usageError(`--timeout must be a positive number of seconds, got '${values.timeout}'`);
  const built = buildNotification(values, readStdin);
  if (!built.ok) return usageError(built.error);
  const resolved = resolveAppTarget({ app, url: values.url, key: values.key, secret: values.secret, config: values.config });
  if (!resolved.ok) return usageError(resolved.error);

  const { target } = resolved;
  const client = new HeraldClient({ url: target.url, appId: target.app, key: target.key, secret: target.secret });
  try {
    const { id, duplicate } = await client.send(built.notification);
    console.log(id);
    if (duplicate) console.error(`herald send: a notification with id '${id}' already exists: nothing new was queued`);
    if (values['no-wait']) return 0;
    const status = await waitForFinal(client, id, timeoutSeconds * 1000);
    if (!status) {
      console.error(`herald send: ${id} is not final after ${timeoutSeconds} s (it keeps going; check again with its id)`);
      return 4;
    }
    printFinal(status, values.json === true);
    if (status.state === 'failed') return 1;
    return status.apns.failed > 0 ? 3 : 0;
  } catch (err) {
    if (err instanceof HeraldClientError) {
      console.error(`herald send: ${err.message}${err.path ? ` (at ${err.path})` : ''}${err.status ? ` [HTTP ${err.status}]` : ''}`);
      // The id was chosen before sending: the same id again is queued at most once.
      if (err.id !== undefined) console.error(`herald send: it may not be queued; send again with --id ${err.id} (a repeat is never queued twice)`);
      return 1;
    }
    throw err;
  } finally {
    await client.close();
  }
}

type Built = { ok: true; notification: NotificationInput } | { ok: false; error: string };

function buildNotification(values: SendValues, stdin: () => string | undefined): Built {
  const notification: NotificationInput = {};
  if (values.id !== undefined) notification.id = values.id;
  const payloadText = readPayloadText(values, stdin);
  if (!payloadText.ok) return payloadText;
  const delivery = apnsDelivery(values);
  if (!delivery.ok) return delivery;
  const tokens = splitList(values.token ?? []);
  if (values['tokens-file'] !== undefined) {
    try {
      tokens.push(...splitList(readFileSync(values['tokens-file'], 'utf8').split(/\r?\n/)));
    } catch (err) {
      return { ok: false, error: `--tokens-file: cannot read ${values['tokens-file']}: ${(err as NodeJS.ErrnoException).code ?? 'error'}` };
    }
  }
  const alert = values.title !== undefined || values.body !== undefined;
  const fcmTokens = splitList(values['fcm-token'] ?? []);
  if (fcmTokens.length > 0) {
    if (!alert) return { ok: false, error: '--fcm-token needs --title/--body' };
    notification.fcm = { tokens: fcmTokens };
    notification.alert = { ...(values.title === undefined ? {} : { title: values.title }), ...(values.body === undefined ? {} : { body: values.body }) };
  }
  const payloadFlag = values['payload-file'] !== undefined ? '--payload-file' : '--payload';
  if (payloadText.text !== undefined && alert) return { ok: false, error: `give --title/--body or ${payloadFlag}, not both` };
  const users = splitList(values.user ?? []);
  const interests = splitList(values.interest ?? []);
  const targeted = users.length > 0 || interests.length > 0;
  if (targeted) notification.to = { ...(users.length > 0 ? { users } : {}), ...(interests.length > 0 ? { interests } : {}) };
  if (values.deliver !== undefined) {
    if (users.length === 0) return { ok: false, error: '--deliver needs at least one --user' };
    if (!isDeliverMode(values.deliver)) return { ok: false, error: `--deliver must be one of ${deliverModes.join(', ')}, got '${values.deliver}'` };
    notification.deliver = values.deliver;
  }
  if (tokens.length > 0 || targeted) {
    let payload: Record<string, unknown> | undefined;
    if (payloadText.text !== undefined) {
      const parsed = parseJson(payloadText.text);
      if (!parsed.ok || typeof parsed.value !== 'object' || parsed.value === null || Array.isArray(parsed.value)) {
        return { ok: false, error: `${payloadFlag} must be a JSON object, e.g. {"aps":{"alert":"hi"}}` };
      }
      payload = parsed.value as Record<string, unknown>;
    } else if (alert) {
      // Platform-neutral: Herald fills aps.alert from it (and other providers' equivalents).
      notification.alert = { ...(values.title === undefined ? {} : { title: values.title }), ...(values.body === undefined ? {} : { body: values.body }) };
    } else {
      return { ok: false, error: tokens.length > 0 ? '--token needs --title/--body or --payload' : '--user and --interest need --title/--body or --payload' };
    }
    if (tokens.length > 0 || payload !== undefined || Object.keys(delivery.fields).length > 0) {
      notification.apns = { ...(tokens.length > 0 ? { tokens } : {}), ...(payload === undefined ? {} : { payload }), ...delivery.fields };
    }
  } else if (payloadText.text !== undefined || (alert && fcmTokens.length === 0)) {
    return { ok: false, error: '--title, --body and --payload need at least one --token, --fcm-token, --user or --interest' };
  } else if (Object.keys(delivery.fields).length > 0) {
    return { ok: false, error: '--push-type, --priority, --topic, --expiration and --collapse-id need at least one --token, --user or --interest' };
  }
  const channels = splitList(values.channel ?? []);
  if (channels.length > 0 || values.event !== undefined || values.data !== undefined) {
    if ((channels.length === 0 && users.length === 0) || values.event === undefined || values.data === undefined) {
      return { ok: false, error: users.length > 0 ? '--event and --data go together' : '--channel, --event and --data go together (or --event and --data with --user)' };
    }
    const parsed = parseJson(values.data);
    if (!parsed.ok) return { ok: false, error: `--data must be JSON (quote a string: '"text"'): ${parsed.error}` };
    notification.realtime = { ...(channels.length > 0 ? { channels } : {}), event: values.event, data: parsed.value };
  }
  if (!notification.apns && !notification.fcm && !notification.realtime && !notification.to) {
    return { ok: false, error: 'nothing to send: give --token (APNs), --fcm-token (FCM), --user or --interest, and/or --channel with --event (realtime)' };
  }
  if (values['send-at'] !== undefined) {
    const at = parseTimeMs(values['send-at']);
    if (at === undefined) return { ok: false, error: `--send-at must be an ISO 8601 time such as 2026-12-24T08:00:00Z, got '${values['send-at']}'` };
    notification.sendAt = new Date(at).toISOString();
  }
  return { ok: true, notification };
}

type PayloadText = { ok: true; text: string | undefined } | { ok: false; error: string };

/** --payload JSON, --payload - (stdin) or --payload-file FILE: the text, still to be parsed. */
function readPayloadText(values: SendValues, stdin: () => string | undefined): PayloadText {
  const file = values['payload-file'];
  if (file !== undefined && values.payload !== undefined) return { ok: false, error: 'give --payload or --payload-file, not both' };
  try {
    const text = file !== undefined ? readBounded(openSync(file, 'r'), true) : values.payload === '-' ? stdin() : values.payload;
    if (text === undefined && (file !== undefined || values.payload === '-')) {
      return { ok: false, error: `${file !== undefined ? '--payload-file' : '--payload -'}: more than ${MAX_PAYLOAD_INPUT_BYTES} bytes; an APNs payload is at most 5 KB` };
    }
    return { ok: true, text };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    return { ok: false, error: file !== undefined ? `--payload-file: cannot read ${file}: ${code}` : `--payload -: cannot read stdin: ${code}` };
  }
}

/** Far above APNs' 5 KB, far below what would hurt: a wrong file (a log, an image) is refused unread. */
const MAX_PAYLOAD_INPUT_BYTES = 1024 * 1024;
const pause = new Int32Array(new SharedArrayBuffer(4));

/** Reads at most MAX_PAYLOAD_INPUT_BYTES from `fd`; undefined when there is more. */
function readBounded(fd: number, close: boolean): string | undefined {
  const buffer = Buffer.alloc(MAX_PAYLOAD_INPUT_BYTES + 1);
  let length = 0;
  try {
    for (;;) {
      let read: number;
      try {
        read = readSync(fd, buffer, length, buffer.length - length, null);
      } catch (err) {
        // A non-blocking stdin (a terminal or some pipes) answers EAGAIN until data comes.
        if ((err as NodeJS.ErrnoException).code === 'EAGAIN') {
          Atomics.wait(pause, 0, 0, 10);
          continue;
        }
        throw err;
      }
      if (read === 0) return buffer.toString('utf8', 0, length);
      length += read;
      if (length > MAX_PAYLOAD_INPUT_BYTES) return undefined;
    }
  } finally {
    if (close) closeSync(fd);
  }
}

type ApnsFields = Pick<NonNullable<NotificationInput['apns']>, 'pushType' | 'priority' | 'topic' | 'expiration' | 'collapseId'>;

/** The per-notification APNs headers. Herald checks them again (priority per push type, sizes); these catch typos early. */
function apnsDelivery(values: SendValues): { ok: true; fields: ApnsFields } | { ok: false; error: string } {
  const fields: ApnsFields = {};
  const pushType = values['push-type'];
  if (pushType !== undefined) {
    if (!Object.hasOwn(pushTypes, pushType)) return { ok: false, error: `--push-type must be one of ${pushTypeList}, got '${pushType}'` };
    fields.pushType = pushType;
  }
  if (values.priority !== undefined) {
    const priority = Number(values.priority);
    if (priority !== 1 && priority !== 5 && priority !== 10) return { ok: false, error: `--priority must be 1, 5 or 10, got '${values.priority}'` };
    fields.priority = priority;
  }
  if (values.topic !== undefined) fields.topic = values.topic;
  if (values['collapse-id'] !== undefined) fields.collapseId = values['collapse-id'];
  if (values.expiration !== undefined) {
    const expiration = parseExpiration(values.expiration);
    if (expiration === undefined) return { ok: false, error: `--expiration must be UNIX seconds or an ISO 8601 time, got '${values.expiration}'` };
    fields.expiration = expiration;
  }
  return { ok: true, fields };
}

/** UNIX seconds or an ISO 8601 date-time, as whole UNIX seconds (apns-expiration's unit). */
function parseExpiration(text: string): number | undefined {
  if (/^\d+$/.test(text)) return Number(text);
  const ms = parseTimeMs(text);
  return ms === undefined ? undefined : Math.floor(ms / 1000);
}

/** An ISO 8601 date or date-time (a time without zone is local), as UNIX milliseconds. */
function parseTimeMs(text: string): number | undefined {
  if (!/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/i.test(text)) return undefined;
  const ms = Date.parse(text);
  return Number.isFinite(ms) && ms >= 0 ? ms : undefined;
}

function readStdin(): string | undefined {
  return readBounded(0, false);
}

/** Polls until the notification is completed or failed; reports progress on stderr whenever the counts move. */
async function waitForFinal(client: HeraldClient, id: string, timeoutMs: number): Promise<NotificationStatus | undefined> {
  const until = Date.now() + timeoutMs;
  let interval = 100;
  let last = '';
  for (;;) {
    const status = await client.status(id);
    if (!status) throw new HeraldClientError('bad_response', `Herald no longer knows notification '${id}'`);
    if (status.state === 'completed' || status.state === 'failed') return status;
    const line = progressLine(status);
    if (line !== last) console.error(line);
    last = line;
    if (Date.now() >= until) return undefined;
    await sleep(Math.min(interval, Math.max(0, until - Date.now())));
    interval = Math.min(1000, interval * 2);
  }
}

function progressLine(status: NotificationStatus): string {
  const { sent, failed, pending } = status.apns;
  const total = sent + failed + pending;
  return total === 0 ? `${status.state}` : `${status.state}: ${sent + failed}/${total} done (${sent} sent, ${failed} failed, ${pending} pending)`;
}

const MAX_INVALID_SHOWN = 20;

function printFinal(status: NotificationStatus, json: boolean): void {
  if (json) {
    console.log(JSON.stringify(status, null, 2));
    return;
  }
  const { sent, failed, pending, invalidTokens } = status.apns;
  const parts: string[] = [];
  if (status.platforms) {
    for (const [platform, counts] of Object.entries(status.platforms)) if (counts.sent + counts.failed > 0) parts.push(`${platform} ${counts.sent} sent, ${counts.failed} failed`);
    if (pending > 0) parts.push(`${pending} pending`);
  } else if (sent + failed + pending > 0) parts.push(`apns ${sent} sent, ${failed} failed${pending > 0 ? `, ${pending} pending` : ''}`);
  if (status.realtime.error !== undefined) parts.push(`realtime failed: ${status.realtime.error}`);
  else if (status.realtime.channels > 0) parts.push(`realtime ${status.realtime.channels} channel(s)`);
  if (status.users) parts.push(`users ${status.users.total}: ${status.users.online} online, ${status.users.pushed} pushed, ${status.users.noDevices} without devices`);
  parts.push(`${status.attempts} attempt(s)`);
  console.log(`${status.state}: ${parts.join('; ')}${status.error === undefined ? '' : ` (${status.error})`}`);
  for (const invalid of invalidTokens.slice(0, MAX_INVALID_SHOWN)) console.log(`  invalid token ${invalid.token}: ${invalid.reason}`);
  if (invalidTokens.length > MAX_INVALID_SHOWN) console.log(`  … and ${invalidTokens.length - MAX_INVALID_SHOWN} more invalid tokens`);
}

function splitList(values: readonly string[]): string[] {
  return values.flatMap((value) => value.split(',')).map((value) => value.trim()).filter((value) => value !== '');
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false; error: string } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
}

function usageError(message: string): number {
  console.error(`herald send: ${message}\n\nRun 'herald send --help' for usage.`);
  return 2;
}

function isDeliverMode(value: string): value is DeliverMode {
  return (deliverModes as readonly string[]).includes(value);
}
