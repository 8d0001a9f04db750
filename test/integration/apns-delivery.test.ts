import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { PushBatch } from '../../src/providers/provider.js';
import { APP_ID, authModes, deviceTokens, startHarness, tally } from './apns-harness.js';
import type { Harness } from './apns-harness.js';

interface PushTypeCase {
  pushType: string;
  payload: Record<string, unknown>;
  topicSuffix: string;
  priority: string;
  /** The test certificate carries only the app, .voip and .complication topics. */
  tokenOnly?: boolean;
}

const pushTypeCases: PushTypeCase[] = [
  { pushType: 'alert', payload: { aps: { alert: { title: 'Order', body: 'Shipped' }, badge: 3, sound: 'default', 'thread-id': 'orders' }, orderId: 42 }, topicSuffix: '', priority: '10' },
  { pushType: 'background', payload: { aps: { 'content-available': 1 }, sync: 'inbox' }, topicSuffix: '', priority: '5' },
  { pushType: 'voip', payload: { aps: {}, caller: 'Ann' }, topicSuffix: '.voip', priority: '10' },
  { pushType: 'complication', payload: { aps: { 'content-available': 1 }, score: '2-1' }, topicSuffix: '.complication', priority: '10' },
  { pushType: 'mdm', payload: { mdm: 'push-magic-1234' }, topicSuffix: '', priority: '10' },
  { pushType: 'fileprovider', payload: { aps: { 'content-available': 1 }, container: 'docs' }, topicSuffix: '.pushkit.fileprovider', priority: '5', tokenOnly: true },
  { pushType: 'location', payload: { aps: {} }, topicSuffix: '.location-query', priority: '10', tokenOnly: true },
  { pushType: 'liveactivity', payload: { aps: { timestamp: 1_700_000_000, event: 'update', 'content-state': { score: 3 } } }, topicSuffix: '.push-type.liveactivity', priority: '10', tokenOnly: true },
  { pushType: 'pushtotalk', payload: { aps: {} }, topicSuffix: '.voip-ptt', priority: '10', tokenOnly: true },
  { pushType: 'widgets', payload: { aps: { 'content-changed': true } }, topicSuffix: '.push-type.widgets', priority: '5', tokenOnly: true },
];

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

for (const mode of authModes) {
  describe(`APNs delivery with ${mode} credentials`, () => {
    let h: Harness;
    before(async () => {
      h = await startHarness({ mode });
    });
    after(() => h.close());

    for (const c of pushTypeCases.filter((c) => mode === 'token' || !c.tokenOnly)) {
      it(`sends ${c.pushType} pushes with Apple's headers and the exact payload`, async () => {
        const tokens = deviceTokens(3, `${mode}-${c.pushType}`);
        const from = h.mock.requests.length;
        const results = await h.send({ tokens, pushType: c.pushType, payload: c.payload });
        assert.deepEqual(tally(results), { delivered: 3 });
        const recorded = h.mock.requests.slice(from);
        assert.equal(recorded.length, 3);
        for (const result of results) {
          const request = recorded.find((r) => r.token === result.token);
          assert.ok(request, `request for ${result.token}`);
          assert.equal(request.method, 'POST');
          assert.equal(request.path, `/3/device/${result.token}`);
          assert.equal(request.headers['apns-push-type'], c.pushType);
          assert.equal(request.headers['apns-topic'], `${h.creds.bundleId}${c.topicSuffix}`);
          assert.equal(request.headers['apns-priority'], c.priority);
          assert.match(request.headers['apns-id'] ?? '', uuid);
          assert.deepEqual(result.outcome, { type: 'delivered', apnsId: request.headers['apns-id'] });
          assert.equal(request.headers['apns-expiration'], undefined);
          assert.equal(request.headers['apns-collapse-id'], undefined);
          if (mode === 'token') assert.match(request.headers.authorization ?? '', /^bearer [\w-]+\.[\w-]+\.[\w-]+$/);
          else assert.equal(request.headers.authorization, undefined);
          // Apple's headers and nothing else: no content-type or content-length to encode per request.
          const names = Object.keys(request.headers).filter((name) => !name.startsWith(':')).sort();
          assert.deepEqual(names, ['apns-id', 'apns-priority', 'apns-push-type', 'apns-topic', ...(mode === 'token' ? ['authorization'] : [])].sort());
          assert.deepEqual(request.payload, c.payload);
        }
      });
    }

    it('sends expiration, collapse id and an explicit priority as given', async () => {
      const [token] = deviceTokens(1, `${mode}-headers`) as [string];
      const from = h.mock.requests.length;
      const results = await h.send({ tokens: [token], expiration: 0, collapseId: 'score-update', priority: 5 });
      assert.deepEqual(tally(results), { delivered: 1 });
      const [request] = h.mock.requests.slice(from);
      assert.equal(request?.headers['apns-expiration'], '0');
      assert.equal(request?.headers['apns-collapse-id'], 'score-update');
      assert.equal(request?.headers['apns-priority'], '5');
    });

    it('reports 410 and BadDeviceToken as invalid tokens with their timestamp, and other 4xx as plain rejections', async () => {
      const [gone, expired, bad, notForTopic, badTopic, tooLarge, fine] = deviceTokens(7, `${mode}-rejections`) as [string, string, string, string, string, string, string];
      h.mock.script({ token: gone, reply: { status: 410, reason: 'Unregistered', timestamp: 1_700_000_000_000 } });
      h.mock.script({ token: expired, reply: { status: 410, reason: 'ExpiredToken' } });
      h.mock.script({ token: bad, reply: { status: 400, reason: 'BadDeviceToken' } });
      h.mock.script({ token: notForTopic, reply: { status: 400, reason: 'DeviceTokenNotForTopic' } });
      h.mock.script({ token: badTopic, reply: { status: 400, reason: 'BadTopic' } });
      h.mock.script({ token: tooLarge, reply: { status: 413, reason: 'PayloadTooLarge' } });
      const eventsBefore = h.invalidTokens.length;
      const from = h.mock.requests.length;
      const results = await h.send({ tokens: [gone, expired, bad, notForTopic, badTopic, tooLarge, fine], notificationId: 'n-410' });
      h.mock.clearRules();
      const outcome = (token: string) => results.find((r) => r.token === token)?.outcome;
      assert.deepEqual(outcome(gone), { type: 'rejected', reason: 'Unregistered', status: 410, invalidToken: true, timestamp: 1_700_000_000_000 });
      const expiredOutcome = outcome(expired);
      assert.ok(expiredOutcome?.type === 'rejected' && expiredOutcome.invalidToken && typeof expiredOutcome.timestamp === 'number', JSON.stringify(expiredOutcome));
      assert.deepEqual(outcome(bad), { type: 'rejected', reason: 'BadDeviceToken', status: 400, invalidToken: true });
      assert.deepEqual(outcome(notForTopic), { type: 'rejected', reason: 'DeviceTokenNotForTopic', status: 400, invalidToken: true });
      assert.deepEqual(outcome(badTopic), { type: 'rejected', reason: 'BadTopic', status: 400, invalidToken: false });
      assert.deepEqual(outcome(tooLarge), { type: 'rejected', reason: 'PayloadTooLarge', status: 413, invalidToken: false });
      assert.equal(outcome(fine)?.type, 'delivered');
      // Permanent answers are never retried.
      assert.equal(h.mock.requests.length - from, 7);

      const events = h.invalidTokens.slice(eventsBefore);
      assert.deepEqual(
        events.map((e) => [e.token, e.reason, e.app, e.notificationId]).sort(),
        [[gone, 'Unregistered'], [expired, 'ExpiredToken'], [bad, 'BadDeviceToken'], [notForTopic, 'DeviceTokenNotForTopic']].map(([t, r]) => [t, r, APP_ID, 'n-410']).sort(),
      );
      assert.equal(events.find((e) => e.token === gone)?.timestamp, 1_700_000_000_000);
      assert.equal(await h.metric('apnsInvalidTokens', { app: APP_ID, reason: 'Unregistered' }), 1);
      assert.equal(await h.metric('apnsRequests', { app: APP_ID, status: '410' }), 2);
      // The same requests under herald_push_* with provider="apns", the family every provider records into.
      assert.equal(await h.metric('pushInvalidTokens', { provider: 'apns', app: APP_ID, reason: 'Unregistered' }), 1);
      assert.equal(await h.metric('pushRequests', { provider: 'apns', app: APP_ID, status: '410', reason: 'Unregistered' }), 1);
      assert.equal(await h.metric('pushRequests', { provider: 'apns', app: APP_ID, status: '410' }), 2);
      const apnsTotal = await h.metric('apnsRequests', { app: APP_ID });
      assert.ok(apnsTotal >= 7);
      assert.equal(await h.metric('pushRequests', { provider: 'apns', app: APP_ID }), apnsTotal);
    });

    it('normalizes decorated tokens and refuses malformed ones, duplicates and bad payloads without a request', async () => {
      const [clean] = deviceTokens(1, `${mode}-decorated`) as [string];
      const decorated = `<${clean.toUpperCase().replace(/(.{8})/g, '$1 ').trim()}>`;
      const from = h.mock.requests.length;
      const eventsBefore = h.invalidTokens.length;
      const results = await h.send({ tokens: [decorated, 'not-hex', 'abc', clean, ''] });
      assert.deepEqual(results.map((r) => [r.index, r.token, r.outcome.type === 'delivered' ? 'delivered' : r.outcome.reason]).sort(), [
        [0, decorated, 'delivered'],
        [1, 'not-hex', 'BadDeviceToken'],
        [2, 'abc', 'BadDeviceToken'],
        [3, clean, 'DuplicateToken'],
        [4, '', 'BadDeviceToken'],
      ]);
      assert.deepEqual(h.mock.requests.slice(from).map((r) => r.path), [`/3/device/${clean}`]);
      assert.deepEqual(h.invalidTokens.slice(eventsBefore).map((e) => e.token).sort(), ['', 'abc', 'not-hex']);

      const invalid: Array<[Partial<PushBatch>, string]> = [
        [{ payload: { aps: { alert: 'x'.repeat(4100) } } }, 'PayloadTooLarge'],
        [{ pushType: 'background', payload: { aps: { 'content-available': 1, alert: 'hi' } } }, 'BadPayload'],
        [{ pushType: 'background', priority: 10, payload: { aps: { 'content-available': 1 } } }, 'BadPriority'],
        [{ collapseId: 'é'.repeat(33) }, 'BadCollapseId'],
        [{ pushType: 'telegram' }, 'InvalidPushType'],
        [{ payload: { aps: { badge: -1 } } }, 'BadPayload'],
      ];
      for (const [batch, reason] of invalid) {
        const refused = await h.send({ ...batch, tokens: deviceTokens(2, `${mode}-invalid`) });
        assert.deepEqual(tally(refused), { [`rejected:${reason}`]: 2 }, reason);
      }
      assert.equal(h.mock.requests.length - from, 1, 'nothing but the one valid token reached the server');
    });
  });
}

describe('APNs delivery edge cases', () => {
  it('a certificate without the push type\'s topic gets Apple\'s TopicDisallowed as a plain rejection', async () => {
    const h = await startHarness({ mode: 'pem' });
    try {
      const results = await h.send({ tokens: deviceTokens(2, 'location'), pushType: 'location', payload: { aps: {} } });
      assert.deepEqual(tally(results), { 'rejected:TopicDisallowed': 2 });
      assert.equal(h.invalidTokens.length, 0);
    } finally {
      await h.close();
    }
  });

  it('an app without APNs credentials gets a rejection per token, not an exception', async () => {
    const h = await startHarness({ mode: 'pem' });
    try {
      const results: string[] = [];
      for await (const r of h.provider.send({ app: 'unknown', notificationId: 'n', tokens: deviceTokens(2), payload: { aps: {} } }, new AbortController().signal)) {
        results.push(r.outcome.type === 'rejected' ? r.outcome.reason : r.outcome.type);
      }
      assert.deepEqual(results, ['AppNotConfigured', 'AppNotConfigured']);
      assert.equal(h.provider.serves('unknown'), false);
      assert.equal(h.provider.serves(APP_ID), true);
    } finally {
      await h.close();
    }
  });
});
