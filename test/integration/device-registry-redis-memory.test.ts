import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, it } from 'node:test';
import { Redis } from 'ioredis';
import { RedisDeviceRegistry } from '../../src/devices/redis-device-registry.js';
import { startRedis } from '../helpers/redis-server.js';
import type { TestRedis } from '../helpers/redis-server.js';

// The Redis memory one APNs device with one interest costs, over 100,000 of them (docs/devices.md).
const DEVICES = 100_000;
const BUDGET_BYTES = 200;

let redis: TestRedis;
let client: Redis;

before(async () => {
  redis = await startRedis();
  client = new Redis(redis.url);
});

after(async () => {
  client?.disconnect();
  await redis?.stop();
});

async function usedMemory(): Promise<number> {
  const info = await client.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)?.[1]);
}

/** MEMORY USAGE of every key under `match`, summed (SAMPLES 0: every element counted). */
async function keyBytes(match: string): Promise<{ keys: number; bytes: number }> {
  let [cursor, keys, bytes] = ['0', 0, 0];
  do {
    const [next, batch] = await client.scan(cursor, 'MATCH', match, 'COUNT', 1000);
    cursor = next;
    for (const key of batch) {
      keys += 1;
      bytes += Number(await client.memory('USAGE', key, 'SAMPLES', 0));
    }
  } while (cursor !== '0');
  return { keys, bytes };
}

it(`stores ${DEVICES.toLocaleString('en')} APNs devices with one interest in at most ${BUDGET_BYTES} bytes each`, async () => {
  const registry = new RedisDeviceRegistry(client, 'mem');
  const before = await usedMemory();
  for (let i = 0; i < DEVICES; i += 1000) {
    await Promise.all(
      Array.from({ length: 1000 }, (_, k) =>
        registry.put('app-1', { token: randomBytes(32).toString('hex'), userId: `user-${i + k}`, platform: 'apns', interests: ['news'], updatedAt: Date.now() }),
      ),
    );
  }
  const grown = (await usedMemory()) - before;
  const { keys, bytes } = await keyBytes('mem:{dev:app-1}:*');
  const perDevice = { usedMemory: grown / DEVICES, keys: bytes / DEVICES };
  console.log(`device registry: ${keys} keys; per device ${perDevice.keys.toFixed(1)} bytes (MEMORY USAGE), ${perDevice.usedMemory.toFixed(1)} bytes (used_memory)`);
  assert.equal(await registry.interestSize('app-1', 'news'), DEVICES);
  assert.ok(perDevice.keys <= BUDGET_BYTES, `MEMORY USAGE ${perDevice.keys.toFixed(1)} bytes per device`);
  assert.ok(perDevice.usedMemory <= BUDGET_BYTES, `used_memory ${perDevice.usedMemory.toFixed(1)} bytes per device`);
});
