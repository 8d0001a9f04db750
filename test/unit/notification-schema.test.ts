import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { notificationJsonSchemaText } from '../../src/notifications/contract/notification-json-schema.js';
import { formatPath } from '../../src/lib/format-path.js';
import { parseNotification } from '../../src/notifications/contract/parse-notification.js';

const token = (byte: string): string => byte.repeat(32);

describe('notification schema v1', () => {
  it('is published as schema/notification.schema.json, generated from the zod schema', () => {
    const committed = readFileSync(new URL('../../schema/notification.schema.json', import.meta.url), 'utf8');
    assert.equal(committed, notificationJsonSchemaText(), 'stale: run `node --import tsx scripts/gen-schema.mjs`');
    const schema = JSON.parse(committed) as { required: string[]; properties: Record<string, unknown>; anyOf: unknown[] };
    assert.deepEqual(schema.required, ['v', 'app']);
    assert.deepEqual(Object.keys(schema.properties), ['v', 'app', 'id', 'apns', 'fcm', 'webpush', 'realtime', 'to', 'deliver', 'alert', 'sendAt']);
    assert.deepEqual(schema.anyOf, [{ required: ['apns'] }, { required: ['fcm'] }, { required: ['realtime'] }, { required: ['to'] }]);
  });

  it('normalises tokens: spaces and <> removed, lower-case, duplicates dropped', () => {
    const result = parseNotification({
      v: 1,
      app: 'app-a',
      id: 'order-1',
      apns: { tokens: [`<${'AB'.repeat(16)} ${'CD'.repeat(16)}>`, `${'ab'.repeat(16)}${'cd'.repeat(16)}`, token('ef')], payload: { aps: { alert: 'hi' } } },
    });
    assert.equal(result.ok, true);
    assert.deepEqual(result.ok && result.notification.apns?.tokens, [`${'ab'.repeat(16)}${'cd'.repeat(16)}`, token('ef')]);
  });

  it('generates an id when absent, takes the job id when queued without one, and refuses a mismatch', () => {
    const body = { v: 1, app: 'app-a', realtime: { channels: ['news'], event: 'e', data: {} } };
    const generated = parseNotification(body, { generateId: () => 'generated-1' });
    assert.equal(generated.ok && generated.notification.id, 'generated-1');
    const fromJob = parseNotification(body, { jobId: 'job-7' });
    assert.equal(fromJob.ok && fromJob.notification.id, 'job-7');
    assert.deepEqual(parseNotification({ ...body, id: 'other' }, { jobId: 'job-7' }), { ok: false, error: "must equal the job id 'job-7'", path: 'id' });
  });

  it('refuses an APNs topic or collapseId with CR/LF or non-ASCII (they become HTTP/2 header values) with its path', () => {
    const apns = (extra: Record<string, unknown>) => ({ v: 1, app: 'a', apns: { tokens: [token('aa')], payload: { aps: { alert: 'hi' } }, ...extra } });
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ topic: 'com.example.app\r\napns-priority: 10' }, 'apns.topic'],
      [{ topic: 'com.exämple.app' }, 'apns.topic'],
      [{ topic: 'com.example app' }, 'apns.topic'],
      [{ collapseId: 'order-1\n' }, 'apns.collapseId'],
      [{ collapseId: 'commande-é' }, 'apns.collapseId'],
      [{ collapseId: ' padded' }, 'apns.collapseId'],
    ];
    for (const [extra, path] of cases) {
      const result = parseNotification(apns(extra));
      assert.equal(result.ok, false, JSON.stringify(extra));
      if (!result.ok) {
        assert.equal(result.path, path, JSON.stringify(extra));
        assert.match(result.error, /printable ASCII/);
      }
    }
    assert.equal(parseNotification(apns({ topic: 'com.example.app.voip', collapseId: 'order 1234 (shipped)' })).ok, true);
  });

  it('reports the first problem with its path', () => {
    const cases: Array<[unknown, string, RegExp]> = [
      [null, '', /JSON object/],
      [{ v: 2, app: 'a', realtime: {} }, 'v', /must be 1/],
      [{ v: 1, app: 'a' }, '', /at least one of apns, fcm, realtime, to/],
      [{ v: 1, app: 'a', apns: { tokens: [token('aa'), token('bb'), token('cc'), 'xyz'], payload: { a: 1 } } }, 'apns.tokens[3]', /hex/],
      [{ v: 1, app: 'a', apns: { tokens: [token('aa'), 'abc'], payload: { a: 1 } } }, 'apns.tokens[1]', /odd number/],
      [{ v: 1, app: 'a', apns: { tokens: [token('aa')], payload: { a: 1 }, priority: 7 } }, 'apns.priority', /1, 5 or 10/],
      [{ v: 1, app: 'a', apns: { tokens: [token('aa')], payload: {} } }, 'apns.payload', /not be empty/],
      [{ v: 1, app: 'a', realtime: { channels: ['ok', 'bad channel'], event: 'e', data: 1 } }, 'realtime.channels[1]', /channel name/],
      [{ v: 1, app: 'a', realtime: { channels: ['ok'], event: 'e', data: 1 }, colour: 'red' }, 'colour', /unknown field/],
    ];
    for (const [input, path, message] of cases) {
      const result = parseNotification(input);
      assert.equal(result.ok, false, JSON.stringify(input));
      if (!result.ok) {
        assert.equal(result.path, path, JSON.stringify(input));
        assert.match(result.error, message);
      }
    }
  });

  it('fills the FCM notification and the Web Push data from alert for `to`, and refuses bad FCM and Web Push parts with their path', () => {
    const parsed = parseNotification({ v: 1, app: 'a', to: { users: ['ann'] }, alert: { title: 'Hi', body: 'there' }, fcm: { android: { priority: 'HIGH', ttl: 60 } } });
    assert.ok(parsed.ok);
    assert.deepEqual(parsed.notification.fcm, { android: { priority: 'HIGH', ttl: 60 }, notification: { title: 'Hi', body: 'there' }, tokens: [] });
    assert.deepEqual(parsed.notification.webpush, { data: '{"title":"Hi","body":"there"}' });
    assert.deepEqual(parsed.notification.apns?.payload, { aps: { alert: { title: 'Hi', body: 'there' } } });
    const given = parseNotification({ v: 1, app: 'a', to: { interests: ['news'] }, webpush: { data: { url: '/x' }, urgency: 'high', ttl: 30 } });
    assert.ok(given.ok);
    assert.deepEqual([given.notification.webpush, given.notification.apns, given.notification.fcm], [{ data: '{"url":"/x"}', urgency: 'high', ttl: 30 }, undefined, undefined], 'without an alert only the parts given');
    const explicit = parseNotification({ v: 1, app: 'a', fcm: { tokens: ['t:1', 't:1', 't-2'], data: { k: 'v' } } });
    assert.ok(explicit.ok);
    assert.deepEqual(explicit.notification.fcm?.tokens, ['t:1', 't-2']);
    const cases: Array<[unknown, string, RegExp]> = [
      [{ v: 1, app: 'a', fcm: { tokens: ['bad token'] , data: {} } }, 'fcm.tokens[0]', /registration token/],
      [{ v: 1, app: 'a', fcm: { tokens: ['t'], data: { k: 1 } } }, 'fcm.data.k', /string/],
      [{ v: 1, app: 'a', fcm: { tokens: ['t'], data: { google_x: 'v' } } }, 'fcm.data.google_x', /reserves/],
      [{ v: 1, app: 'a', fcm: { tokens: ['t'], android: { priority: 'URGENT' } } }, 'fcm.android.priority', /HIGH or NORMAL/],
      [{ v: 1, app: 'a', fcm: { tokens: ['t'], notification: { image: 'not a url' } } }, 'fcm.notification.image', /URL/],
      [{ v: 1, app: 'a', fcm: { tokens: ['t'] } }, 'fcm', /notification, data, or an alert/],
      [{ v: 1, app: 'a', fcm: { data: { k: 'v' } } }, 'fcm.tokens', /at least one registration token/],
      [{ v: 1, app: 'a', realtime: { channels: ['c'], event: 'e', data: 1 }, webpush: { data: 'x' } }, 'webpush', /needs `to`/],
      [{ v: 1, app: 'a', to: { users: ['ann'] }, webpush: {} }, 'webpush.data', /required when there is no alert/],
      [{ v: 1, app: 'a', to: { users: ['ann'] }, webpush: { data: 'x'.repeat(3994) } }, 'webpush.data', /at most 3993/],
      [{ v: 1, app: 'a', to: { users: ['ann'] }, webpush: { data: 'x', urgency: 'now' } }, 'webpush.urgency', /very-low/],
      [{ v: 1, app: 'a', to: { users: ['ann'] }, webpush: { data: 'x', topic: 'a b' } }, 'webpush.topic', /base64url/],
      [{ v: 1, app: 'a', to: { users: ['ann'] }, webpush: { data: 'x', extra: 1 } }, 'webpush.extra', /unknown field/],
    ];
    for (const [input, path, error] of cases) {
      const result = parseNotification(input);
      assert.equal(result.ok, false, JSON.stringify(input).slice(0, 80));
      if (!result.ok) {
        assert.equal(result.path, path, JSON.stringify(input).slice(0, 80));
        assert.match(result.error, error);
      }
    }
  });

  it('accepts 100,000 tokens and refuses one more', () => {
    const tokens = Array.from({ length: 100_000 }, (_, i) => i.toString(16).padStart(64, '0'));
    const ok = parseNotification({ v: 1, app: 'a', apns: { tokens, payload: { aps: {} } } });
    assert.equal(ok.ok && ok.notification.apns?.tokens.length, 100_000);
    const over = parseNotification({ v: 1, app: 'a', apns: { tokens: [...tokens, token('ff')], payload: { aps: {} } } });
    assert.deepEqual(over.ok ? undefined : over.path, 'apns.tokens');
  });

  it('formats paths like apns.tokens[3]', () => {
    assert.equal(formatPath(['apns', 'tokens', 3]), 'apns.tokens[3]');
    assert.equal(formatPath([]), '');
    assert.equal(formatPath([0, 'x']), '[0].x');
  });
});
