import { deviceToken, plainApp, pushApp } from './pipeline-harness.js';

export interface InvalidBodyCase {
  name: string;
  body: string | object;
  /** Expected `path` of the 400 answer; undefined when the body is not even JSON. */
  path?: string;
  error?: RegExp;
  app?: { id: string; key: string; secret: string };
}

const payload = { aps: { alert: 'hi' } };

/** Bodies POST /apps/{id}/notifications must refuse, each with the path of its first problem. */
export function invalidBodyCases(): InvalidBodyCase[] {
  const t = deviceToken();
  const apns = (extra: Record<string, unknown>): object => ({ v: 1, app: pushApp.id, apns: { tokens: [t], payload, ...extra } });
  const realtime = (extra: Record<string, unknown>): object => ({ v: 1, app: pushApp.id, realtime: { channels: ['news'], event: 'e', data: 1, ...extra } });
  return [
    { name: 'broken JSON', body: '{"v": 1,', error: /not valid JSON/ },
    { name: 'an array', body: [], path: '', error: /JSON object/ },
    { name: 'a string', body: '"hello"', path: '', error: /JSON object/ },
    { name: 'empty object', body: {}, path: 'v' },
    { name: 'version 2', body: { v: 2, app: pushApp.id, realtime: { channels: ['a'], event: 'e', data: 1 } }, path: 'v', error: /must be 1/ },
    { name: 'no app', body: { v: 1, realtime: { channels: ['a'], event: 'e', data: 1 } }, path: 'app' },
    { name: 'app not a string', body: { v: 1, app: 5, realtime: { channels: ['a'], event: 'e', data: 1 } }, path: 'app', error: /string/ },
    { name: 'app differs from the URL', body: { v: 1, app: plainApp.id, realtime: { channels: ['a'], event: 'e', data: 1 } }, path: 'app', error: /app of the URL/ },
    { name: 'neither apns nor realtime', body: { v: 1, app: pushApp.id }, path: '', error: /at least one of apns, fcm, realtime, to/ },
    { name: 'unknown field', body: { ...realtime({}), colour: 'red' }, path: 'colour', error: /unknown field/ },
    { name: 'no tokens', body: apns({ tokens: [] }), path: 'apns.tokens' },
    { name: 'tokens not a list', body: apns({ tokens: t }), path: 'apns.tokens' },
    { name: 'fourth token not hex', body: apns({ tokens: [t, deviceToken(), deviceToken(), 'zz-top'] }), path: 'apns.tokens[3]', error: /hex/ },
    { name: 'odd-length token', body: apns({ tokens: [t, `${deviceToken()}a`] }), path: 'apns.tokens[1]', error: /odd/ },
    { name: 'token too short', body: apns({ tokens: ['abcd'] }), path: 'apns.tokens[0]' },
    { name: 'no payload', body: { v: 1, app: pushApp.id, apns: { tokens: [t] } }, path: 'apns.payload' },
    { name: 'empty payload', body: apns({ payload: {} }), path: 'apns.payload' },
    { name: 'payload over 4 KB', body: apns({ payload: { aps: { alert: 'x'.repeat(5_000) } } }), path: 'apns.payload', error: /PayloadTooLarge/ },
    { name: 'alert push without aps', body: apns({ payload: { orderId: 1 } }), path: 'apns.payload', error: /aps/ },
    { name: 'priority 7', body: apns({ priority: 7 }), path: 'apns.priority', error: /1, 5 or 10/ },
    { name: 'background push at priority 10', body: apns({ pushType: 'background', priority: 10, payload: { aps: { 'content-available': 1 } } }), path: 'apns.priority', error: /BadPriority/ },
    { name: 'unknown push type', body: apns({ pushType: 'fax' }), path: 'apns.pushType' },
    { name: 'collapse id over 64 bytes', body: apns({ collapseId: 'c'.repeat(65) }), path: 'apns.collapseId' },
    // Both become HTTP/2 header values: CR/LF or non-ASCII would be refused at send time, after a 202.
    { name: 'topic with CR/LF', body: apns({ topic: 'com.example.app\r\nx-injected: 1' }), path: 'apns.topic', error: /printable ASCII/ },
    { name: 'non-ASCII topic', body: apns({ topic: 'com.exämple.app' }), path: 'apns.topic', error: /printable ASCII/ },
    { name: 'collapse id with CR/LF', body: apns({ collapseId: 'order-1\r\n' }), path: 'apns.collapseId', error: /printable ASCII/ },
    { name: 'non-ASCII collapse id', body: apns({ collapseId: 'commande-é' }), path: 'apns.collapseId', error: /printable ASCII/ },
    { name: 'negative expiration', body: apns({ expiration: -1 }), path: 'apns.expiration' },
    { name: 'no channels', body: realtime({ channels: [] }), path: 'realtime.channels' },
    { name: 'channel name with a space', body: realtime({ channels: ['ok', 'not ok'] }), path: 'realtime.channels[1]' },
    { name: 'reserved event name', body: realtime({ event: 'pusher:ping' }), path: 'realtime.event' },
    { name: 'no event data', body: { v: 1, app: pushApp.id, realtime: { channels: ['a'], event: 'e' } }, path: 'realtime.data' },
    { name: 'bad socket id', body: realtime({ socketId: 'abc' }), path: 'realtime.socketId' },
    { name: 'event data over the app limit', body: realtime({ data: 'x'.repeat(11 * 1024) }), path: 'realtime.data' },
    { name: 'id with a colon', body: { ...realtime({}), id: 'order:1' }, path: 'id' },
    { name: 'integer id', body: { ...realtime({}), id: '42' }, path: 'id', error: /integer/ },
    { name: 'id over 128 characters', body: { ...realtime({}), id: 'a'.repeat(129) }, path: 'id' },
    { name: 'sendAt not a date', body: { ...realtime({}), sendAt: 'tomorrow' }, path: 'sendAt' },
    { name: 'FCM tokens for an app without FCM credentials', body: { v: 1, app: pushApp.id, fcm: { tokens: ['a:APA91b'], data: { k: 'v' } } }, path: 'fcm', error: /no FCM credentials/ },
    { name: 'Web Push part without to', body: { v: 1, app: pushApp.id, realtime: { channels: ['a'], event: 'e', data: 1 }, webpush: { data: 'x' } }, path: 'webpush', error: /needs `to`/ },
    { name: 'FCM data value not a string', body: { v: 1, app: pushApp.id, fcm: { tokens: ['a:APA91b'], data: { k: 1 } } }, path: 'fcm.data.k', error: /string/ },
    { name: 'APNs part for an app without credentials', body: { v: 1, app: plainApp.id, apns: { tokens: [t], payload } }, path: 'apns', error: /no APNs credentials/, app: plainApp },
  ];
}
