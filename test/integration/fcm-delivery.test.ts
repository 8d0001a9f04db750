import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { APP_ID, registrationTokens, startFcmHarness, tally } from './fcm-harness.js';
import type { FcmHarness } from './fcm-harness.js';

describe('FCM delivery', () => {
  let h: FcmHarness;
  before(async () => {
    h = await startFcmHarness({ fcm: { maxConcurrentStreams: 20 }, mock: { latencyMs: 5 } });
  });
  after(() => h.close());

  it('delivers to every token with one access token, FCM message names as ids, the exact message', async () => {
    const tokens = registrationTokens(300, 'all');
    const results = await h.send({ tokens, priority: 10, collapseId: 'order-42', expiration: Math.floor(Date.now() / 1000) + 600 });
    assert.deepEqual(tally(results), { delivered: 300 });
    assert.deepEqual(new Set(results.map((r) => r.index)).size, 300);
    assert.equal(h.mock.tokensIssued, 1);
    for (const result of results) {
      assert.equal(result.token, tokens[result.index]);
      assert.ok(result.outcome.type === 'delivered' && (result.outcome.messageId ?? '').startsWith(`projects/${h.account.projectId}/messages/`), JSON.stringify(result.outcome));
    }
    const sent = h.mock.delivered().find((s) => s.token === tokens[7]);
    assert.ok(sent);
    const android = sent.message?.android as Record<string, unknown>;
    assert.deepEqual({ ...sent.message, android: undefined }, { token: tokens[7], notification: { title: 'Shipped', body: 'On its way' }, data: { orderId: '42' }, android: undefined });
    assert.equal(android.priority, 'HIGH');
    assert.equal(android.collapse_key, 'order-42');
    assert.match(String(android.ttl), /^(59\d|600)s$/);
    assert.equal(await h.metric('pushRequests', { provider: 'fcm', app: APP_ID, status: '200', reason: 'Success' }), 300);
    assert.equal(await h.metric('apnsRequests', {}), 0, 'only APNs records into herald_apns_*');
  });

  it('never has more requests in flight than maxConcurrentStreams', async () => {
    assert.ok(h.mock.maxInFlight <= 20, `peak ${h.mock.maxInFlight}`);
    assert.ok(h.mock.maxInFlight >= 10, `the window was used: peak ${h.mock.maxInFlight}`);
  });

  it('refuses a message FCM would refuse before sending anything: data values must be strings', async () => {
    const before = h.mock.sends.length;
    const results = await h.send({ tokens: registrationTokens(3, 'bad-data'), fcm: { data: { count: 3 as unknown as string } } });
    assert.deepEqual(tally(results), { 'rejected:InvalidMessage': 3 });
    assert.match(results[0]?.outcome.type === 'rejected' ? results[0].outcome.detail ?? '' : '', /fcm\.data\.count: must be a string/);
    assert.equal(h.mock.sends.length, before);
  });

  it('rejects what cannot be a registration token locally, and sends a duplicate once', async () => {
    const [token] = registrationTokens(1, 'dup') as [string];
    const results = await h.send({ tokens: [token, 'not a token', token] });
    assert.deepEqual(tally(results), { delivered: 1, 'rejected:BadToken': 1, 'rejected:DuplicateToken': 1 });
    assert.equal(h.invalidTokens.filter((e) => e.reason === 'BadToken').length, 1);
  });

  it('abort: tokens not yet sent come back as retry Aborted, none lost', async () => {
    h.mock.setLatency(50);
    const tokens = registrationTokens(200, 'abort');
    const controller = new AbortController();
    const results = [];
    for await (const result of h.provider.send({ app: APP_ID, notificationId: 'n-abort', payload: {}, tokens }, controller.signal)) {
      results.push(result);
      if (results.length === 5) controller.abort();
    }
    h.mock.setLatency(5);
    const counts = tally(results);
    assert.equal(results.length, 200);
    assert.deepEqual(new Set(results.map((r) => r.index)).size, 200);
    assert.ok((counts['retry:Aborted'] ?? 0) >= 150, JSON.stringify(counts));
    assert.equal((counts.delivered ?? 0) + (counts['retry:Aborted'] ?? 0), 200);
  });
});
