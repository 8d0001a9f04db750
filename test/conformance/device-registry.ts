import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { afterEach, describe, it } from 'node:test';
import type { Device, DeviceRegistry } from '../../src/devices/device-registry.js';

/** How a test file hands a DeviceRegistry implementation to the suite. */
export interface DeviceRegistryTarget {
  readonly name: string;
  /** A started registry; `count` handles on one shared store (memory returns one instance). */
  create(count: number): Promise<DeviceRegistry[]>;
  /** Stops what create made. Called after every test. */
  cleanup(): Promise<void>;
  /** Devices for the large-interest test (a real Redis takes longer per write). */
  readonly largeInterest?: number;
}

const freshApp = (): string => `app-${randomUUID()}`;
const apnsToken = (): string => randomBytes(32).toString('hex');

function apns(userId: string, interests: string[] = [], extra: Partial<Device> = {}): Device {
  return { token: apnsToken(), userId, platform: 'apns', interests, updatedAt: 1_700_000_000_123, ...extra };
}

const byToken = (a: Device, b: Device): number => (a.token < b.token ? -1 : a.token > b.token ? 1 : 0);
const sorted = (devices: Device[]): Device[] => [...devices].sort(byToken);

async function readInterest(registry: DeviceRegistry, app: string, interest: string, count: number): Promise<Device[]> {
  const all: Device[] = [];
  let cursor: string | undefined;
  for (let pages = 0; pages < 100_000; pages += 1) {
    const page = await registry.interestPage(app, interest, cursor, count);
    all.push(...page.devices);
    cursor = page.cursor;
    if (cursor === undefined) return all;
  }
  throw new Error('interest paging did not end');
}

/** The contract every DeviceRegistry (memory, Redis, …) keeps; run once per implementation. */
export function deviceRegistryConformance(target: DeviceRegistryTarget): void {
  describe(`DeviceRegistry conformance: ${target.name}`, () => {
    afterEach(async () => {
      await target.cleanup();
    });

    it('stores every field of every platform and reads them back equal', async () => {
      const [registry] = await target.create(1);
      assert.ok(registry);
      const app = freshApp();
      const devices: Device[] = [
        apns('42', ['news', 'deals'], { topic: 'com.example.app', environment: 'sandbox' }),
        apns('42', [], { environment: 'production' }),
        { token: 'fcm-token:APA91b_x-y.z', userId: '42', platform: 'fcm', interests: ['news'], updatedAt: 1 },
        {
          token: 'browser-1',
          userId: 'user@example.com',
          platform: 'web',
          interests: [],
          subscription: { endpoint: 'https://push.example.com/send/abc', keys: { p256dh: 'B'.repeat(87), auth: 'a'.repeat(22) } },
          updatedAt: 2 ** 47,
        },
      ];
      for (const device of devices) {
        const put = await registry.put(app, device);
        assert.equal(put.created, true);
        assert.deepEqual(put.device, device);
        assert.deepEqual(await registry.get(app, device.token), device);
      }
      assert.equal(await registry.get(app, apnsToken()), undefined);
      assert.equal(await registry.get(freshApp(), devices[0]!.token), undefined, 'apps are apart');
    });

    it('re-registering updates in place, moves the token to its new user and replaces its interests', async () => {
      const [a, b] = await target.create(2);
      assert.ok(a && b);
      const app = freshApp();
      const device = apns('alice', ['news', 'deals']);
      assert.equal((await a.put(app, device)).created, true);
      const moved: Device = { ...device, userId: 'bob', interests: ['deals', 'sport'], updatedAt: device.updatedAt + 1000 };
      const again = await b.put(app, moved);
      assert.equal(again.created, false);
      assert.deepEqual(await a.get(app, device.token), moved);
      assert.deepEqual(await a.listByUser(app, 'alice'), []);
      assert.deepEqual(await a.listByUser(app, 'bob'), [moved]);
      assert.equal(await a.interestSize(app, 'news'), 0);
      assert.equal(await a.interestSize(app, 'deals'), 1);
      assert.equal(await a.interestSize(app, 'sport'), 1);
      assert.deepEqual(await readInterest(a, app, 'news', 10), []);
      assert.deepEqual(await readInterest(a, app, 'sport', 10), [moved]);
    });

    it('removes one device, and answers undefined for one that is not there', async () => {
      const [registry] = await target.create(1);
      assert.ok(registry);
      const app = freshApp();
      const keep = apns('u1', ['news']);
      const gone = apns('u1', ['news']);
      await registry.put(app, keep);
      await registry.put(app, gone);
      assert.deepEqual(await registry.remove(app, gone.token), gone);
      assert.equal(await registry.remove(app, gone.token), undefined);
      assert.equal(await registry.get(app, gone.token), undefined);
      assert.deepEqual(await registry.listByUser(app, 'u1'), [keep]);
      assert.equal(await registry.interestSize(app, 'news'), 1);
      assert.deepEqual(await readInterest(registry, app, 'news', 10), [keep]);
      // Registered again after removal, it is a new device.
      assert.equal((await registry.put(app, gone)).created, true);
    });

    it('lists and removes the devices of a user, and of no other', async () => {
      const [registry] = await target.create(1);
      assert.ok(registry);
      const app = freshApp();
      const mine = [apns('u1', ['a']), apns('u1', ['a', 'b']), apns('u1')];
      const theirs = apns('u2', ['a']);
      for (const device of [...mine, theirs]) await registry.put(app, device);
      assert.deepEqual(sorted(await registry.listByUser(app, 'u1')), sorted(mine));
      assert.equal(await registry.removeUser(app, 'u1'), 3);
      assert.equal(await registry.removeUser(app, 'u1'), 0);
      assert.deepEqual(await registry.listByUser(app, 'u1'), []);
      for (const device of mine) assert.equal(await registry.get(app, device.token), undefined);
      assert.deepEqual(await registry.listByUser(app, 'u2'), [theirs]);
      assert.equal(await registry.interestSize(app, 'a'), 1);
      assert.equal(await registry.interestSize(app, 'b'), 0);
    });

    it('answers a batch of users in one call, leaving out users without devices', async () => {
      const [registry] = await target.create(1);
      assert.ok(registry);
      const app = freshApp();
      const users = Array.from({ length: 300 }, (_, i) => `user-${i}`);
      const expected = new Map<string, Device[]>();
      for (const [i, userId] of users.entries()) {
        if (i % 3 === 2) continue;
        const devices = Array.from({ length: (i % 3) + 1 }, () => apns(userId, ['x']));
        for (const device of devices) await registry.put(app, device);
        expected.set(userId, devices);
      }
      const found = await registry.devicesOfUsers(app, [...users, 'nobody']);
      assert.equal(found.size, expected.size);
      for (const [userId, devices] of expected) assert.deepEqual(sorted(found.get(userId) ?? []), sorted(devices), userId);
      assert.equal(found.has('nobody'), false);
      assert.equal((await registry.devicesOfUsers(app, [])).size, 0);
    });

    it(`pages an interest of ${target.largeInterest ?? 5000} devices: each exactly once, and its size`, async () => {
      const [registry] = await target.create(1);
      assert.ok(registry);
      const app = freshApp();
      const total = target.largeInterest ?? 5000;
      const devices = Array.from({ length: total }, (_, i) => apns(`user-${i % 997}`, i % 2 === 0 ? ['all', 'even'] : ['all']));
      for (let i = 0; i < devices.length; i += 200) await Promise.all(devices.slice(i, i + 200).map((d) => registry.put(app, d)));
      assert.equal(await registry.interestSize(app, 'all'), total);
      assert.equal(await registry.interestSize(app, 'even'), Math.ceil(total / 2));
      for (const count of [1000, 333]) {
        const all = await readInterest(registry, app, 'all', count);
        assert.equal(all.length, total, `count ${count}`);
        assert.equal(new Set(all.map((d) => d.token)).size, total);
      }
      const even = await readInterest(registry, app, 'even', 100);
      assert.deepEqual(sorted(even), sorted(devices.filter((_, i) => i % 2 === 0)));
      assert.deepEqual(await registry.interestPage(app, 'none', undefined, 10), { devices: [], cursor: undefined });
    });

    it('paging while the interest changes never loses a device that was there throughout', async () => {
      const [registry] = await target.create(1);
      assert.ok(registry);
      const app = freshApp();
      const stay = Array.from({ length: 1500 }, (_, i) => apns(`s${i}`, ['live']));
      const churn = Array.from({ length: 1500 }, (_, i) => apns(`c${i}`, ['live']));
      // Interleaved, so removed devices sit between the staying ones.
      for (let i = 0; i < stay.length; i += 1) {
        await registry.put(app, stay[i]!);
        await registry.put(app, churn[i]!);
      }
      const seen = new Set<string>();
      let cursor: string | undefined;
      let round = 0;
      do {
        const page = await registry.interestPage(app, 'live', cursor, 100);
        for (const device of page.devices) seen.add(device.token);
        cursor = page.cursor;
        // Between pages: drop some, add new ones, re-register some staying ones with changes.
        const batch = churn.slice(round * 50, round * 50 + 50);
        for (const device of batch) await registry.remove(app, device.token);
        for (let k = 0; k < 20; k += 1) await registry.put(app, apns(`n${round}-${k}`, ['live']));
        const restamped = stay[(round * 37) % stay.length]!;
        await registry.put(app, { ...restamped, userId: `moved-${round}`, interests: ['other', 'live'] });
        round += 1;
      } while (cursor !== undefined);
      for (const device of stay) assert.ok(seen.has(device.token), `lost ${device.token}`);
    });

    it('keeps the user index and interests consistent under concurrent registrations of one token', async () => {
      const [a, b] = await target.create(2);
      assert.ok(a && b);
      const app = freshApp();
      const token = apnsToken();
      const writes = Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? a : b).put(app, { token, userId: `u${i % 5}`, platform: 'apns', interests: [`i${i % 3}`], updatedAt: i }));
      await Promise.all(writes);
      const final = await a.get(app, token);
      assert.ok(final);
      for (let u = 0; u < 5; u += 1) {
        const listed: Device[] = await a.listByUser(app, `u${u}`);
        assert.deepEqual(listed, `u${u}` === final.userId ? [final] : []);
      }
      for (let i = 0; i < 3; i += 1) assert.equal(await a.interestSize(app, `i${i}`), final.interests.includes(`i${i}`) ? 1 : 0);
    });
  });
}
