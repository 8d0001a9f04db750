import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { RedisDeviceRegistry } from '../../src/devices/redis-device-registry.js';
import { CHECKPOINT_WINDOW } from '../../src/notifications/pipeline/send-budget.js';
import { ApnsMock } from '../fixtures/apns/apns-mock.js';
import { testCredentials } from '../helpers/certs.js';
import { startRedis } from '../helpers/redis-server.js';
import type { TestRedis } from '../helpers/redis-server.js';
import { waitFor } from '../helpers/wait.js';
import { PipelineHarness, deviceToken, pushApp } from '../integration/pipeline-harness.js';

const DEVICES = 50_000;
const MAX_STREAMS = 100;
/** What a kill can leave unrecorded (see crash-resume.test.ts). */
const IN_FLIGHT_BOUND = MAX_STREAMS + CHECKPOINT_WINDOW;

// An interest is resolved once and its tokens recorded before the first push: a kill
// mid-send loses nothing, and the restarted worker sends to the recorded list, not a new one.
describe('a worker killed with SIGKILL while sending to a 50,000-device interest', () => {
  let redis: TestRedis;
  let mock: ApnsMock;
  let h: PipelineHarness;
  let client: Redis;
  let registry: RedisDeviceRegistry;
  before(async () => {
    redis = await startRedis();
    mock = await ApnsMock.start({ credentials: await testCredentials(), auth: 'certificate', latencyMs: 5 });
    h = await PipelineHarness.start('redis', { redis, mock, queue: { chunkSize: 500, concurrency: 4 }, apns: { maxConcurrentStreams: MAX_STREAMS, connections: 1 } });
    client = new Redis(redis.url);
    registry = new RedisDeviceRegistry(client, `${h.prefix}k`);
  });
  after(async () => {
    client?.disconnect();
    await h.stop();
    await mock.close();
    await redis.stop();
  });

  async function subscribe(tokens: readonly string[]): Promise<void> {
    for (let from = 0; from < tokens.length; from += 500) {
      await Promise.all(tokens.slice(from, from + 500).map((token, i) => registry.put(pushApp.id, { token, userId: `u${from + i}`, platform: 'apns', interests: ['everyone'], updatedAt: Date.now() })));
    }
  }

  it('resumes on restart: every subscribed device once, none added after the resolution, re-sent only within the in-flight bound', async () => {
    const tokens = Array.from({ length: DEVICES }, () => deviceToken());
    await subscribe(tokens);
    const res = await h.api('POST', '/notifications', { v: 1, app: pushApp.id, id: 'crash-interest', to: { interests: ['everyone'] }, alert: { title: 'hello' } });
    assert.equal(res.status, 202);

    await waitFor(() => mock.requests.length >= DEVICES / 4, { timeoutMs: 120_000, what: 'a quarter of the devices sent' });
    await h.herald.stop('SIGKILL');
    const sentBeforeKill = mock.requests.length;
    assert.ok(sentBeforeKill < DEVICES, `killed mid-send (${sentBeforeKill} of ${DEVICES} sent)`);
    // Registered after the resolution was recorded: the resumed notification must not reach it.
    const late = Array.from({ length: 20 }, () => deviceToken());
    await subscribe(late);

    await h.startDaemon();
    const status = await h.finished('crash-interest', 180_000);
    assert.deepEqual({ state: status.state, sent: status.apns.sent, failed: status.apns.failed, pending: status.apns.pending }, { state: 'completed', sent: DEVICES, failed: 0, pending: 0 });

    const seen = new Map<string, number>();
    for (const request of mock.requests) seen.set(request.token, (seen.get(request.token) ?? 0) + 1);
    const missing = tokens.filter((token) => !seen.has(token)).length;
    const twice = [...seen.values()].filter((count) => count > 1).length;
    console.log(`crash-interest: ${sentBeforeKill} requests before the kill; tokens seen twice: ${twice}; in-flight bound: ${IN_FLIGHT_BOUND}; missing: ${missing}`);
    assert.equal(missing, 0, 'every subscribed device reached APNs');
    assert.equal(late.filter((token) => seen.has(token)).length, 0, 'devices added after the resolution are not in it');
    assert.equal([...seen.values()].filter((count) => count > 2).length, 0);
    assert.ok(twice <= IN_FLIGHT_BOUND, `${twice} tokens sent twice, more than the in-flight bound ${IN_FLIGHT_BOUND}`);
  });
});
