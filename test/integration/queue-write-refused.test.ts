import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { metricValue } from '../helpers/pusher-clients.js';
import { waitFor } from '../helpers/wait.js';
import { PipelineHarness, deviceToken, pushApp } from './pipeline-harness.js';

const alert = { aps: { alert: { title: 'Hi' } } };

interface ReadyBody {
  ready: boolean;
  checks: Record<string, { ok: boolean; detail?: string }>;
}

/**
 * A `notification-batches:wait` key of the wrong type (as a POST with id "wait" once wrote under `notifications`)
 * made every enqueue fail with WRONGTYPE while /ready stayed green and no metric moved.
 * Such refusals are counted by reason and turn readiness off until writes work again.
 */
describe('a notifications queue that refuses every write (WRONGTYPE used to leave /ready green)', () => {
  let h: PipelineHarness;
  let redis: Redis;

  before(async () => {
    h = await PipelineHarness.start('redis');
    redis = new Redis(h.redis?.url ?? '');
  });

  after(async () => {
    redis.disconnect();
    await h.stop();
  });

  async function ready(): Promise<{ status: number; body: ReadyBody }> {
    const res = await fetch(`${h.herald.baseUrl}/ready`);
    return { status: res.status, body: (await res.json()) as ReadyBody };
  }

  it('counts the refusals by reason, turns /ready not ready, and is ready again once the key is repaired', async () => {
    assert.equal((await ready()).status, 200);
    const waitKey = `${h.prefix}:notification-batches:wait`;
    await redis.del(waitKey);
    await redis.hset(waitKey, 'not', 'a list');
    for (let i = 0; i < 3; i += 1) {
      const answer = await h.api('POST', '/notifications', { v: 1, app: pushApp.id, apns: { tokens: [deviceToken()], payload: alert } });
      assert.equal(answer.status, 503, JSON.stringify(answer.body));
      assert.equal(typeof answer.body.id, 'string');
    }
    assert.ok((await metricValue(h.herald.metricsPort, 'herald_queue_enqueue_failures_total', { queue: 'notification-batches', reason: 'WRONGTYPE' })) >= 3);
    const refused = await waitFor(async () => {
      const answer = await ready();
      return answer.status === 503 ? answer : undefined;
    }, { what: '/ready to turn not ready' });
    assert.equal(refused.body.ready, false);
    assert.match(JSON.stringify(refused.body.checks), /WRONGTYPE|wrong type/);

    await redis.del(waitKey);
    // No write comes in while the node is out of the load balancer: readiness must recover by itself.
    await waitFor(async () => (await ready()).status === 200, { what: '/ready to recover', timeoutMs: 20_000 });
    const token = deviceToken();
    const answer = await h.api('POST', '/notifications', { v: 1, app: pushApp.id, apns: { tokens: [token], payload: alert } });
    assert.equal(answer.status, 202, JSON.stringify(answer.body));
    assert.equal((await h.finished(String(answer.body.id))).apns.sent, 1);
  });
});
