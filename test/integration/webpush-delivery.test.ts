import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { PushOutcome } from '../../src/providers/provider.js';
import { startHarness } from './webpush-harness.js';
import type { WebPushHarness } from './webpush-harness.js';
import { waitFor } from '../helpers/wait.js';

describe('Web Push delivery against a push service that decrypts like a browser', () => {
  let h: WebPushHarness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    await h.close();
  });

  it('delivers to 50 subscriptions; every browser reads the plaintext; VAPID verified by the service', async () => {
    const subs = Array.from({ length: 50 }, () => h.mock.subscribe({ applicationServerKey: h.vapid.publicKey }));
    const data = JSON.stringify({ title: 'Shipped', body: 'Order 1234 is on its way', emoji: 'ü📦' });
    const results = await h.send(subs, { data, ttl: 3600, urgency: 'high', topic: 'order-1234' });
    assert.equal(results.length, 50);
    for (const [index, result] of results.entries()) {
      assert.equal(result.outcome.type, 'delivered', JSON.stringify(result));
      const messages = h.mock.messagesFor(subs[index]?.id as string);
      assert.equal(messages.length, 1);
      const [message] = messages;
      assert.equal(message?.plaintext, data);
      assert.equal(message?.ttl, 3600);
      assert.equal(message?.urgency, 'high');
      assert.equal(message?.topic, 'order-1234');
      assert.equal(message?.claims.aud, h.mock.origin);
      assert.equal(message?.claims.sub, 'mailto:ops@example.com');
      assert.equal((result.outcome as Extract<PushOutcome, { messageId: string }>).messageId, `${h.mock.origin}/message/${message?.messageId}`);
    }
    assert.deepEqual(h.mock.undecryptable, []);
    assert.deepEqual(h.mock.refused, []);
    // One JWT per origin, reused: every message carried the same claims.
    assert.equal(new Set(h.mock.received.map((m) => m.claims.exp)).size, 1);
    assert.ok(h.mock.received[0] && h.mock.received[0].claims.exp - Date.now() / 1000 <= 24 * 3600);
    // Keep-alive: far fewer connections than requests.
    assert.ok(h.mock.connections <= 100, `connections ${h.mock.connections}`);
    assert.equal(await h.metric('pushRequests', { provider: 'webpush', app: 'app1', status: '201', reason: 'Created' }), 50);
  });

  it('without web.data sends the JSON of payload, with the TTL from expiration', async () => {
    const sub = h.mock.subscribe();
    const expiration = Math.floor(Date.now() / 1000) + 600;
    const [result] = await h.send([sub], {}, { payload: { orderId: 1234 }, expiration });
    assert.equal(result?.outcome.type, 'delivered');
    const [message] = h.mock.messagesFor(sub.id);
    assert.equal(message?.plaintext, '{"orderId":1234}');
    assert.ok(message && message.ttl > 590 && message.ttl <= 600, String(message?.ttl));
    assert.equal(message?.urgency, 'normal');
  });

  it('maps each push-service answer to its outcome', async () => {
    const subs = Array.from({ length: 6 }, () => h.mock.subscribe());
    const [notFound, gone, tooLarge, badRequest, unauthorized, forbidden] = subs.map((s) => s.id) as [string, string, string, string, string, string];
    h.mock.script(notFound, { status: 404 });
    h.mock.script(gone, { status: 410 });
    h.mock.script(tooLarge, { status: 413 });
    h.mock.script(badRequest, { status: 400, body: 'bad \u0000 thing' });
    h.mock.script(unauthorized, { status: 401 });
    h.mock.script(forbidden, { status: 403 });
    const results = await h.send(subs, { data: 'x' });
    const outcomes = results.map((r) => r.outcome);
    assert.deepEqual(outcomes[0], { type: 'rejected', reason: 'NotFound', invalidToken: true, status: 404, detail: 'scripted 404' });
    assert.deepEqual(outcomes[1], { type: 'rejected', reason: 'Gone', invalidToken: true, status: 410, detail: 'scripted 410' });
    assert.deepEqual(outcomes[2], { type: 'rejected', reason: 'PayloadTooLarge', invalidToken: false, status: 413, detail: 'scripted 413' });
    assert.deepEqual(outcomes[3], { type: 'rejected', reason: 'BadRequest', invalidToken: false, status: 400, detail: 'bad thing' });
    assert.deepEqual(outcomes[4], { type: 'credentials', reason: 'VapidRefused', status: 401, detail: 'scripted 401' });
    assert.deepEqual(outcomes[5], { type: 'credentials', reason: 'VapidRefused', status: 403, detail: 'scripted 403' });
    assert.deepEqual(h.invalid.map((e) => [e.token, e.reason]).sort(), [['t0', 'NotFound'], ['t1', 'Gone']]);
  });

  it('a subscription made with another applicationServerKey is refused 403 by the service: credentials for that token only', async () => {
    const mismatched = h.mock.subscribe({ applicationServerKey: Buffer.alloc(65, 1).toString('base64url') });
    const fine = h.mock.subscribe({ applicationServerKey: h.vapid.publicKey });
    const results = await h.send([mismatched, fine], { data: 'hello' });
    assert.equal(results[0]?.outcome.type, 'credentials');
    assert.equal(results[1]?.outcome.type, 'delivered');
    assert.equal(h.provider.health('app1').ok, true);
  });

  it('an unsubscribed browser answers 410 and the subscription is reported invalid', async () => {
    const sub = h.mock.subscribe();
    h.mock.unsubscribe(sub.id);
    const [result] = await h.send([sub], { data: 'hello' });
    assert.deepEqual(result?.outcome, { type: 'rejected', reason: 'Gone', invalidToken: true, status: 410, detail: 'subscription expired or unsubscribed' });
  });

  it('refuses data that would not fit 4096 bytes before sending anything, naming the sizes', async () => {
    const sub = h.mock.subscribe();
    const fits = await h.send([sub], { data: 'a'.repeat(3993) });
    assert.equal(fits[0]?.outcome.type, 'delivered');
    const before = h.mock.attempts.get(sub.id);
    const [result] = await h.send([sub], { data: 'a'.repeat(3994) });
    assert.deepEqual(result?.outcome, {
      type: 'rejected',
      reason: 'PayloadTooLarge',
      invalidToken: false,
      detail: 'data of 3994 bytes encrypts to 4097 bytes; Web Push allows 4096 (data of at most 3993 bytes)',
    });
    assert.equal(h.mock.attempts.get(sub.id), before);
  });

  it('refuses bad subscriptions, unknown tokens, duplicates and bad headers as values', async () => {
    const sub = h.mock.subscribe();
    const badKey = { endpoint: sub.json.endpoint, keys: { p256dh: Buffer.alloc(65, 4).toString('base64url'), auth: sub.json.keys.auth } };
    const shortAuth = { endpoint: sub.json.endpoint, keys: { p256dh: sub.json.keys.p256dh, auth: 'AAAA' } };
    const results = await h.send([sub, badKey, shortAuth, sub], { data: 'x' });
    assert.equal(results[0]?.outcome.type, 'delivered');
    assert.deepEqual(results[1]?.outcome, { type: 'rejected', reason: 'BadSubscription', invalidToken: true, detail: 'keys.p256dh: is not a point on the P-256 curve' });
    assert.deepEqual(results[2]?.outcome, { type: 'rejected', reason: 'BadSubscription', invalidToken: true, detail: 'keys.auth: must be 16 bytes, got 3' });
    assert.deepEqual(results[3]?.outcome, { type: 'rejected', reason: 'DuplicateSubscription', invalidToken: false, detail: 'same endpoint as tokens[0]; sent once' });
    const unknown: PushOutcome[] = [];
    for await (const r of h.provider.send({ app: 'app1', notificationId: 'u', tokens: ['nope'], payload: {}, web: { subscriptions: new Map() } }, new AbortController().signal)) unknown.push(r.outcome);
    assert.equal(unknown[0]?.type === 'rejected' && unknown[0].reason, 'UnknownSubscription');
    const [topic] = await h.send([sub], { data: 'x', topic: 'has spaces' });
    assert.equal(topic?.outcome.type === 'rejected' && topic.outcome.reason, 'BadTopic');
  });

  it('honours Retry-After: a short one inside the batch, a long one handed back as retry with afterMs', async () => {
    const soon = h.mock.subscribe();
    const later = h.mock.subscribe();
    const unavailable = h.mock.subscribe();
    h.mock.script(soon.id, { status: 429, retryAfter: '1' });
    h.mock.script(later.id, { status: 429, retryAfter: '120' });
    h.mock.script(unavailable.id, { status: 503 }, { status: 500 });
    const started = Date.now();
    const results = await h.send([soon, later, unavailable], { data: 'x' });
    assert.equal(results[0]?.outcome.type, 'delivered');
    assert.ok(Date.now() - started >= 1_000, 'the 429 with Retry-After: 1 was not sent again before a second had passed');
    assert.equal(h.mock.attempts.get(soon.id), 2);
    const handedBack = results[1]?.outcome;
    assert.equal(handedBack?.type, 'retry');
    assert.ok(handedBack?.type === 'retry' && handedBack.reason === 'TooManyRequests' && handedBack.status === 429 && (handedBack.afterMs ?? 0) >= 120_000);
    assert.equal(h.mock.attempts.get(later.id), 1);
    assert.equal(results[2]?.outcome.type, 'delivered');
    assert.equal(h.mock.attempts.get(unavailable.id), 3);
    assert.equal(await h.metric('pushRetries', { provider: 'webpush', app: 'app1', reason: 'ServiceUnavailable' }), 1);
  });

  it('gives up after maxAttempts and hands the token back as retry', async () => {
    const sub = h.mock.subscribe();
    h.mock.script(sub.id, ...Array.from({ length: 10 }, () => ({ status: 503 })));
    const [result] = await h.send([sub], { data: 'x' });
    assert.equal(result?.outcome.type, 'retry');
    assert.equal(h.mock.attempts.get(sub.id), 5);
    await waitFor(() => h.mock.inFlight === 0);
  });
});
