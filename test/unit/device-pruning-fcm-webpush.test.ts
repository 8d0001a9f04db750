import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import type { Device } from '../../src/devices/device-registry.js';
import { startPruning } from '../helpers/pruning-harness.js';
import { waitFor } from '../helpers/wait.js';

const sorted = <T,>(list: T[]): T[] => [...list].sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y)));

const fcmDevice = (userId: string): Device => ({ token: `dev${randomBytes(4).toString('hex')}:APA91b${randomBytes(24).toString('base64url')}`, userId, platform: 'fcm', interests: ['news'], updatedAt: 1_000 });
const webDevice = (userId: string, endpoint = `https://push.example.net/send/${randomBytes(8).toString('hex')}`): Device => ({
  token: `browser-${randomBytes(6).toString('hex')}`,
  userId,
  platform: 'web',
  interests: ['news'],
  subscription: { endpoint, keys: { p256dh: `B${'A'.repeat(86)}`, auth: 'A'.repeat(22) } },
  updatedAt: 1_000,
});

describe('pruning devices FCM refused for good', () => {
  it('Unregistered, InvalidArgument, SenderIdMismatch and BadToken remove the device: device.removed, the metric and the device_removed webhook', async () => {
    const { events, registry, pruning, removed, hooks, counted } = await startPruning();
    const reasons = ['Unregistered', 'InvalidArgument', 'SenderIdMismatch', 'BadToken'];
    const devices = reasons.map((_, i) => fcmDevice(String(40 + i)));
    for (const d of devices) await registry.put('shop', d);
    devices.forEach((d, i) => events.emit('fcm.token_invalid', { app: 'shop', notificationId: 'n-1', token: d.token, reason: reasons[i] ?? '' }));
    await waitFor(() => removed.length === reasons.length, { what: 'a device.removed event per reason' });
    for (const d of devices) assert.equal(await registry.get('shop', d.token), undefined);
    assert.equal(await registry.interestSize('shop', 'news'), 0);
    const expected = devices.map((d, i) => ({ app: 'shop', token: d.token, userId: d.userId, reason: reasons[i] ?? '' }));
    assert.deepEqual(sorted(removed), sorted(expected));
    assert.deepEqual(
      sorted(hooks.filter((h) => h.event.name === 'device_removed')),
      sorted(expected.map((e) => ({ app: 'shop', event: { name: 'device_removed', token: e.token, user_id: e.userId, reason: e.reason } }))),
    );
    for (const reason of reasons) assert.equal(await counted(reason), 1, reason);
    await pruning.stop(AbortSignal.timeout(1000));
  });

  it('keeps devices for other reasons, tokens never registered, another app’s device and a Web Push device of the same token', async () => {
    const { events, registry, pruning, removed } = await startPruning();
    const [notFound, otherApp] = [fcmDevice('1'), fcmDevice('2')];
    const web = webDevice('3');
    await registry.put('shop', notFound);
    await registry.put('news', otherApp);
    await registry.put('shop', web);
    // A 404 without UNREGISTERED is a wrong project or path, never the token's fault.
    events.emit('fcm.token_invalid', { app: 'shop', notificationId: 'n', token: notFound.token, reason: 'NotFound' });
    events.emit('fcm.token_invalid', { app: 'shop', notificationId: 'n', token: otherApp.token, reason: 'Unregistered' });
    events.emit('fcm.token_invalid', { app: 'shop', notificationId: 'n', token: web.token, reason: 'Unregistered' });
    events.emit('fcm.token_invalid', { app: 'shop', notificationId: 'n', token: fcmDevice('4').token, reason: 'Unregistered' });
    await pruning.stop(AbortSignal.timeout(1000));
    assert.deepEqual(await registry.get('shop', notFound.token), notFound);
    assert.deepEqual(await registry.get('news', otherApp.token), otherApp);
    assert.deepEqual(await registry.get('shop', web.token), web);
    assert.deepEqual(removed, []);
  });
});

describe('pruning browser subscriptions a push service refused for good', () => {
  it('NotFound and Gone remove the device, with or without the endpoint in the event', async () => {
    const { events, registry, pruning, removed, hooks, counted } = await startPruning();
    const [gone, notFound] = [webDevice('7'), webDevice('8')];
    await registry.put('shop', gone);
    await registry.put('shop', notFound);
    events.emit('webpush.subscription_invalid', { app: 'shop', notificationId: 'n-2', token: gone.token, reason: 'Gone', endpoint: gone.subscription?.endpoint ?? '' });
    events.emit('webpush.subscription_invalid', { app: 'shop', notificationId: 'n-2', token: notFound.token, reason: 'NotFound' });
    await waitFor(() => removed.length === 2, { what: 'two device.removed events' });
    assert.equal(await registry.get('shop', gone.token), undefined);
    assert.equal(await registry.get('shop', notFound.token), undefined);
    const expected = [
      { app: 'shop', token: gone.token, userId: '7', reason: 'Gone' },
      { app: 'shop', token: notFound.token, userId: '8', reason: 'NotFound' },
    ];
    assert.deepEqual(sorted(removed), sorted(expected));
    assert.deepEqual(
      sorted(hooks.filter((h) => h.event.name === 'device_removed')),
      sorted(expected.map((e) => ({ app: 'shop', event: { name: 'device_removed', token: e.token, user_id: e.userId, reason: e.reason } }))),
    );
    assert.equal(await counted('Gone'), 1);
    assert.equal(await counted('NotFound'), 1);
    await pruning.stop(AbortSignal.timeout(1000));
  });

  it('keeps a token re-subscribed to a new endpoint since, unusable subscriptions, and an FCM device of the same token', async () => {
    const { events, registry, pruning, removed } = await startPruning();
    const renewed = webDevice('9', 'https://push.example.net/send/new-one');
    const badKeys = webDevice('10');
    const fcm = fcmDevice('11');
    await registry.put('shop', renewed);
    await registry.put('shop', badKeys);
    await registry.put('shop', fcm);
    events.emit('webpush.subscription_invalid', { app: 'shop', notificationId: 'n', token: renewed.token, reason: 'Gone', endpoint: 'https://push.example.net/send/old-one' });
    events.emit('webpush.subscription_invalid', { app: 'shop', notificationId: 'n', token: badKeys.token, reason: 'BadSubscription' });
    events.emit('webpush.subscription_invalid', { app: 'shop', notificationId: 'n', token: badKeys.token, reason: 'ForbiddenEndpoint' });
    events.emit('webpush.subscription_invalid', { app: 'shop', notificationId: 'n', token: fcm.token, reason: 'Gone' });
    await pruning.stop(AbortSignal.timeout(1000));
    assert.deepEqual(await registry.get('shop', renewed.token), renewed);
    assert.deepEqual(await registry.get('shop', badKeys.token), badKeys);
    assert.deepEqual(await registry.get('shop', fcm.token), fcm);
    assert.deepEqual(removed, []);
  });

  it('compares endpoints as URLs: the provider reports the parsed form of what was registered', async () => {
    const { events, registry, pruning, removed } = await startPruning();
    const device = webDevice('12', 'https://PUSH.example.net/send/abc');
    await registry.put('shop', device);
    events.emit('webpush.subscription_invalid', { app: 'shop', notificationId: 'n', token: device.token, reason: 'Gone', endpoint: new URL('https://PUSH.example.net/send/abc').href });
    await waitFor(() => removed.length === 1, { what: 'the device to be removed' });
    await pruning.stop(AbortSignal.timeout(1000));
  });
});
