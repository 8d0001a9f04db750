import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { startPruning } from '../helpers/pruning-harness.js';
import { waitFor } from '../helpers/wait.js';

const device = (userId: string, updatedAt = 1_000) => ({ token: randomBytes(32).toString('hex'), userId, platform: 'apns' as const, interests: ['news'], updatedAt });

describe('pruning devices APNs refused for good', () => {
  it('Unregistered and BadDeviceToken remove the device: device.removed, the metric and the device_removed webhook', async () => {
    const { events, registry, pruning, removed, hooks, counted } = await startPruning();
    const [a, b] = [device('42'), device('43')];
    await registry.put('shop', a);
    await registry.put('shop', b);
    events.emit('apns.token_invalid', { app: 'shop', notificationId: 'n-1', token: a.token, reason: 'Unregistered', timestamp: 2_000 });
    events.emit('apns.token_invalid', { app: 'shop', notificationId: 'n-1', token: b.token, reason: 'BadDeviceToken' });
    await waitFor(() => removed.length === 2, { what: 'two device.removed events' });
    assert.equal(await registry.get('shop', a.token), undefined);
    assert.equal(await registry.get('shop', b.token), undefined);
    assert.equal(await registry.interestSize('shop', 'news'), 0);
    // Concurrent removals finish in either order: both sides compared sorted.
    const byUser = <T,>(list: T[]): T[] =>
      [...list].sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y)));
    assert.deepEqual(byUser(removed), byUser([
      { app: 'shop', token: a.token, userId: '42', reason: 'Unregistered' },
      { app: 'shop', token: b.token, userId: '43', reason: 'BadDeviceToken' },
    ]));
    assert.deepEqual(
      byUser(hooks.filter((h) => h.event.name === 'device_removed')),
      byUser([
        { app: 'shop', event: { name: 'device_removed', token: a.token, user_id: '42', reason: 'Unregistered' } },
        { app: 'shop', event: { name: 'device_removed', token: b.token, user_id: '43', reason: 'BadDeviceToken' } },
      ]),
    );
    assert.equal(await counted('Unregistered'), 1);
    assert.equal(await counted('BadDeviceToken'), 1);
    await pruning.stop(AbortSignal.timeout(1000));
  });

  it('keeps devices for other reasons, tokens never registered, and a device registered again after the refusal', async () => {
    const { events, registry, pruning, removed, counted } = await startPruning();
    const [wrongTopic, renewed] = [device('1'), device('2', 5_000)];
    await registry.put('shop', wrongTopic);
    await registry.put('shop', renewed);
    events.emit('apns.token_invalid', { app: 'shop', notificationId: 'n', token: wrongTopic.token, reason: 'DeviceTokenNotForTopic' });
    events.emit('apns.token_invalid', { app: 'shop', notificationId: 'n', token: renewed.token, reason: 'Unregistered', timestamp: 4_000 });
    events.emit('apns.token_invalid', { app: 'shop', notificationId: 'n', token: device('3').token, reason: 'Unregistered' });
    // Stopping waits for the removals under way: after it, nothing more can happen.
    await pruning.stop(AbortSignal.timeout(1000));
    assert.deepEqual(await registry.get('shop', wrongTopic.token), wrongTopic);
    assert.deepEqual(await registry.get('shop', renewed.token), renewed);
    // Concurrent removals finish in either order: both sides compared sorted.
    const byUser = <T,>(list: T[]): T[] =>
      [...list].sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y)));
    assert.deepEqual(byUser(removed), []);
    assert.equal(await counted('Unregistered'), 0);
    // Stopped: a later refusal is not acted on.
    events.emit('apns.token_invalid', { app: 'shop', notificationId: 'n', token: wrongTopic.token, reason: 'BadDeviceToken' });
    assert.deepEqual(await registry.get('shop', wrongTopic.token), wrongTopic);
  });
});
