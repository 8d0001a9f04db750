import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { App } from '../../src/apps/app-store.js';
import { checkForApp } from '../../src/notifications/check-for-app.js';
import { parseNotification } from '../../src/notifications/contract/parse-notification.js';
import type { Notification } from '../../src/notifications/contract/notification-schema.js';

const noRealtimeRefusal = () => undefined;
// Only the presence of each platform's block matters to these checks.
const appWith = (blocks: Partial<Record<'apns' | 'fcm' | 'webpush', object>>): App => ({ id: 'a', ...blocks }) as unknown as App;

function parsed(input: Record<string, unknown>): Notification {
  const result = parseNotification({ v: 1, app: 'a', ...input });
  assert.ok(result.ok, JSON.stringify(result));
  return result.notification;
}

describe('checkForApp with FCM and Web Push', () => {
  it('takes `to` for an app with any one push platform, and refuses it for an app with none', () => {
    const n = parsed({ to: { users: ['ann'] }, alert: { title: 'x' } });
    assert.equal(checkForApp(n, appWith({ webpush: {} }), noRealtimeRefusal), undefined);
    assert.equal(checkForApp(n, appWith({ fcm: {} }), noRealtimeRefusal), undefined);
    assert.deepEqual(checkForApp(n, appWith({}), noRealtimeRefusal)?.path, 'to');
    const webOnly = parsed({ to: { users: ['ann'] }, webpush: { data: 'x' } });
    assert.equal(checkForApp(webOnly, appWith({ fcm: {} }), noRealtimeRefusal)?.path, 'to', 'a Web Push part needs Web Push credentials to reach anyone');
  });

  it('refuses explicit FCM tokens without FCM credentials, and an FCM message over 4 KB', () => {
    assert.match(checkForApp(parsed({ fcm: { tokens: ['a:1'], data: { k: 'v' } } }), appWith({ apns: {} }), noRealtimeRefusal)?.error ?? '', /no FCM credentials/);
    const big = parsed({ fcm: { tokens: ['a:1'], data: { a: 'x'.repeat(2_100), b: 'y'.repeat(2_100) } } });
    const problem = checkForApp(big, appWith({ fcm: {} }), noRealtimeRefusal);
    assert.equal(problem?.path, 'fcm');
    assert.match(problem?.error ?? '', /MessageTooBig/);
    assert.equal(checkForApp(parsed({ fcm: { tokens: ['a:1'], data: { a: 'x' } } }), appWith({ fcm: {} }), noRealtimeRefusal), undefined);
  });
});
