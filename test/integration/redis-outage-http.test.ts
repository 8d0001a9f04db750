import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { signQuery } from '../../src/lib/pusher-signing.js';
import { startHeraldProcess } from '../helpers/herald-process.js';
import type { HeraldProcess } from '../helpers/herald-process.js';
import { RawClient, dataOf } from '../helpers/pusher-clients.js';
import { startRedis } from '../helpers/redis-server.js';
import type { TestRedis } from '../helpers/redis-server.js';
import { waitFor } from '../helpers/wait.js';

/**
 * A publish over HTTP while Redis was down answered 500 "Internal server error".
 * It must be 503 with a JSON error naming Redis (local subscribers still get the
 * event), and a notification must never be answered 500, nor 202 unless stored.
 */
const app = { id: 'outage-app', key: 'outage-key', secret: 'outage-secret-001' };

interface Answer {
  status: number;
  body: { error?: string; code?: string; id?: string; state?: string };
}

describe('HTTP answers while Redis is down (a publish used to answer 500)', () => {
  let redis: TestRedis;
  let herald: HeraldProcess;
  let subscriber: RawClient;

  async function call(method: 'GET' | 'POST', path: string, body?: object): Promise<Answer> {
    const raw = body === undefined ? undefined : JSON.stringify(body);
    const fullPath = `/apps/${app.id}${path}`;
    const query = new URLSearchParams(signQuery(app, method, fullPath, raw));
    const response = await fetch(`${herald.baseUrl}${fullPath}?${query.toString()}`, {
      method,
      ...(raw === undefined ? {} : { body: raw, headers: { 'content-type': 'application/json' } }),
    });
    assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
    return { status: response.status, body: (await response.json()) as Answer['body'] };
  }

  async function subscribeTo(channel: string): Promise<void> {
    const from = subscriber.mark();
    subscriber.send({ event: 'pusher:subscribe', data: { channel } });
    await subscriber.next((frame) => frame.event === 'pusher_internal:subscription_succeeded' && frame.channel === channel, { from });
  }

  function assertRedisUnavailable(answer: Answer, what: string): void {
    assert.equal(answer.status, 503, `${what}: ${JSON.stringify(answer.body)}`);
    assert.equal(answer.body.code, 'HERALD_REDIS_UNAVAILABLE', what);
    assert.match(answer.body.error ?? '', /Redis is unavailable/, what);
  }

  before(async () => {
    redis = await startRedis();
    herald = await startHeraldProcess({ config: { redis: { url: redis.url }, queue: { prefix: `o${randomUUID().slice(0, 6)}` }, apps: [app] } });
    subscriber = (await RawClient.connect(herald.httpPort, app.key)).client;
    await subscribeTo('news');
    await subscribeTo('cache-news');
    await redis.kill();
    await waitFor(async () => (await fetch(`${herald.baseUrl}/ready`)).status === 503, { what: 'the daemon to notice Redis is gone' });
  });

  after(async () => {
    await subscriber.close();
    await herald.stop();
    await redis.stop();
  });

  it('answers a publish 503 HERALD_REDIS_UNAVAILABLE, and this node’s subscribers still get the event', async () => {
    for (const channel of ['news', 'cache-news']) {
      const from = subscriber.mark();
      const answer = await call('POST', '/events', { name: 'update', channel, data: JSON.stringify({ channel }) });
      assertRedisUnavailable(answer, `publish to ${channel}`);
      const frame = await subscriber.next((f) => f.event === 'update' && f.channel === channel, { from });
      assert.deepEqual(dataOf(frame), { channel });
    }
    const from = subscriber.mark();
    const batch = await call('POST', '/batch_events', { batch: [{ name: 'one', channel: 'news', data: '1' }, { name: 'two', channel: 'news', data: '2' }] });
    assertRedisUnavailable(batch, 'batch publish');
    await subscriber.next((f) => f.event === 'one', { from });
    await subscriber.next((f) => f.event === 'two', { from });
  });

  it('answers a channel query 503 HERALD_REDIS_UNAVAILABLE', async () => {
    assertRedisUnavailable(await call('GET', '/channels'), 'GET /channels');
  });

  it('answers a notification 503 HERALD_REDIS_UNAVAILABLE (never 500, never 202) with the id it chose (a retry without it used to queue twice), and takes it once when Redis is back', async () => {
    const notification = { v: 1, app: app.id, id: randomUUID(), realtime: { channels: ['news'], event: 'notified', data: { n: 1 } } };
    assertRedisUnavailable(await call('POST', '/notifications', notification), 'enqueue');
    assertRedisUnavailable(await call('GET', `/notifications/${notification.id}`), 'status');
    // Without an id the 503 names the one Herald chose, so a retry cannot queue a second notification.
    const unnamed = { v: 1, app: app.id, realtime: { channels: ['news'], event: 'unnamed', data: { n: 2 } } };
    const refused = await call('POST', '/notifications', unnamed);
    assertRedisUnavailable(refused, 'enqueue without an id');
    assert.equal(typeof refused.body.id, 'string', JSON.stringify(refused.body));

    await redis.restart();
    await waitFor(async () => (await fetch(`${herald.baseUrl}/ready`)).status === 200, { what: 'the daemon ready again', timeoutMs: 15_000 });
    // The 503 told the caller to send it again with the same id: it was not stored, so now it is accepted.
    const from = subscriber.mark();
    const again = await call('POST', '/notifications', notification);
    assert.equal(again.status, 202, JSON.stringify(again.body));
    await subscriber.next((f) => f.event === 'notified' && f.channel === 'news', { from });
    const retried = await call('POST', '/notifications', { ...unnamed, id: refused.body.id });
    assert.deepEqual([retried.status, retried.body], [202, { id: refused.body.id }]);
    const retriedAgain = await call('POST', '/notifications', { ...unnamed, id: refused.body.id });
    assert.deepEqual([retriedAgain.status, retriedAgain.body], [200, { id: refused.body.id }]);
  });
});
