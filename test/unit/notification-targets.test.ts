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
});
