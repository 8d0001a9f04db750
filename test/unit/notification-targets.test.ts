import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryDeviceRegistry } from '../../src/devices/memory-device-registry.js';
import type { Notification } from '../../src/notifications/contract/notification-schema.js';
import { TargetResolver } from '../../src/notifications/pipeline/targets.js';

const hex = (n: number): string => n.toString(16).padStart(64, '0');

async function registry(): Promise<MemoryDeviceRegistry> {
  const devices = new MemoryDeviceRegistry();
  const put = (token: string, userId: string, interests: string[] = [], platform: 'apns' | 'fcm' = 'apns') => devices.put('app', { token, userId, platform, interests, updatedAt: 1 });
  await put(hex(1), 'ann', ['news']);
  await put(hex(2), 'ann');
  await put(hex(3), 'bob', ['news']);
  await put('fcm-token-1', 'cat', ['news'], 'fcm');
  for (let i = 10; i < 30; i += 1) await put(hex(i), `reader-${i}`, ['news']);
  return devices;
}

/** Presence that counts its calls: the resolver asks once per notification. */
function presence(online: string[]): { onlineUsers: (app: string, ids: readonly string[]) => Promise<Set<string>>; calls: number } {
  const p = {
    calls: 0,
    onlineUsers: async (_app: string, ids: readonly string[]) => {
      p.calls += 1;
      return new Set(ids.filter((id) => online.includes(id)));
    },
  };
  return p;
}

const base = (extra: Partial<Notification>): Notification => ({ v: 1, app: 'app', id: 'n', apns: { tokens: [], payload: { aps: { alert: 'x' } } }, realtime: { event: 'e', data: 1 }, ...extra });

describe('TargetResolver', () => {
  it('online-first: online users get the event and no push, offline ones every APNs device, users without devices are counted', async () => {
    const p = presence(['ann']);
    const resolver = new TargetResolver({ devices: await registry(), presence: p, chunkSize: 10 });
    const targets = await resolver.resolve(base({ to: { users: ['ann', 'bob', 'cat', 'dan'] }, deliver: 'online-first' }));
    assert.deepEqual(targets.users, { total: 4, online: 1, pushed: 1, noDevices: 2 }, 'cat has only an FCM device, dan none');
    assert.deepEqual(targets.online, ['ann']);
    assert.deepEqual(targets.chunks, [[hex(3)]]);
    assert.equal(p.calls, 1);
  });

  it('both: realtime to online users and APNs to every device; push: APNs only, presence not asked', async () => {
    const both = await new TargetResolver({ devices: await registry(), presence: presence(['ann']), chunkSize: 10 }).resolve(base({ to: { users: ['ann', 'bob'] } }));
    assert.deepEqual(both.users, { total: 2, online: 1, pushed: 2, noDevices: 0 });
    assert.deepEqual(both.chunks.flat().sort(), [hex(1), hex(2), hex(3)]);
    const p = presence(['ann']);
    const push = await new TargetResolver({ devices: await registry(), presence: p, chunkSize: 10 }).resolve(base({ to: { users: ['ann'] }, deliver: 'push' }));
    assert.deepEqual([push.users, push.online, p.calls], [{ total: 1, online: 0, pushed: 1, noDevices: 0 }, [], 0]);
  });

  it('interests: every page read, explicit tokens first, duplicates dropped, APNs devices only, cut into chunks', async () => {
    const resolver = new TargetResolver({ devices: await registry(), presence: presence([]), chunkSize: 10, pageSize: 3 });
    const targets = await resolver.resolve(base({ apns: { tokens: [hex(99), hex(3)], payload: { aps: {} } }, to: { users: ['bob'], interests: ['news'] }, deliver: 'push' }));
    const all = targets.chunks.flat();
    assert.deepEqual(all.slice(0, 2), [hex(99), hex(3)]);
    assert.equal(all.length, new Set(all).size, 'no duplicates');
    assert.deepEqual([...all].sort(), [hex(99), hex(1), hex(3), ...Array.from({ length: 20 }, (_, i) => hex(10 + i))].sort());
    assert.deepEqual(targets.chunks.map((c) => c.length), [10, 10, 3]);
    assert.equal(targets.users?.pushed, 1);
  });

  it('keeps the devices of every platform the notification has a part for, one platform per chunk, with each browser\'s subscription', async () => {
    const devices = new MemoryDeviceRegistry();
    const subscription = { endpoint: 'https://push.example/s/1', keys: { p256dh: 'BPk', auth: 'c2VjcmV0' } };
    await devices.put('app', { token: hex(1), userId: 'ann', platform: 'apns', interests: [], updatedAt: 1 });
    await devices.put('app', { token: 'android-1', userId: 'ann', platform: 'fcm', interests: [], updatedAt: 1 });
    await devices.put('app', { token: 'browser-1', userId: 'ann', platform: 'web', interests: ['news'], subscription, updatedAt: 1 });
    await devices.put('app', { token: 'browser-2', userId: 'bob', platform: 'web', interests: ['news'], subscription: { ...subscription, endpoint: 'https://push.example/s/2' }, updatedAt: 1 });
    const resolver = new TargetResolver({ devices, presence: presence([]), chunkSize: 10 });
    const n: Notification = {
      v: 1,
      app: 'app',
      id: 'n',
      apns: { tokens: [], payload: { aps: { alert: 'x' } } },
      fcm: { tokens: ['explicit-fcm'], notification: { title: 'x' } },
      webpush: { data: '{"title":"x"}' },
      to: { users: ['ann'], interests: ['news'] },
    };
    const targets = await resolver.resolve(n);
    assert.deepEqual(targets.chunks, [[hex(1)], ['explicit-fcm', 'android-1'], ['browser-1', 'browser-2']]);
    assert.deepEqual(targets.platforms, ['apns', 'fcm', 'web']);
    assert.deepEqual(Object.keys(targets.subscriptions ?? {}), ['browser-1', 'browser-2']);
    assert.equal(targets.subscriptions?.['browser-1']?.endpoint, 'https://push.example/s/1');
    const { fcm: _fcm, webpush: _webpush, ...withoutThem } = n;
    const apnsOnly = await resolver.resolve(withoutThem);
    assert.deepEqual([apnsOnly.chunks, apnsOnly.platforms], [[[hex(1)]], undefined], 'without FCM and Web Push parts only APNs devices, in the shape records always had');
  });
});
