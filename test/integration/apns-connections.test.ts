import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EventBus } from '../../src/events.js';
import { silentLogger } from '../../src/log/logger.js';
import { createMetrics } from '../../src/metrics/metrics.js';
import { ApnsProvider } from '../../src/providers/apns/apns-provider.js';
import type { PushResult } from '../../src/providers/provider.js';
import { ApnsMock } from '../fixtures/apns/apns-mock.js';
import { testCredentials } from '../helpers/certs.js';
import { waitFor } from '../helpers/wait.js';
import { APP_ID, appConfig, deviceTokens, startHarness, tally } from './apns-harness.js';
import type { AuthMode, Harness } from './apns-harness.js';

/** Every token delivered once in the results, accepted once by the server, and the two agree. */
function assertExactlyOnce(results: readonly PushResult[], tokens: readonly string[], mock: ApnsMock): void {
  assert.equal(results.length, tokens.length);
  assert.deepEqual(tally(results), { delivered: tokens.length });
  const accepted = mock.accepted().map((r) => r.token);
  assert.equal(new Set(accepted).size, accepted.length, 'no token accepted twice');
  assert.deepEqual([...accepted].sort(), [...tokens].sort());
  const apnsIds = new Map(mock.accepted().map((r) => [r.token, r.apnsId]));
  for (const { token, outcome } of results) assert.equal(outcome.type === 'delivered' ? outcome.apnsId : undefined, apnsIds.get(token));
}

async function withHarness(options: Parameters<typeof startHarness>[0], run: (h: Harness) => Promise<void>): Promise<void> {
  const h = await startHarness(options);
  try {
    await run(h);
  } finally {
    await h.close();
  }
}

for (const mode of ['pem', 'token'] as const satisfies readonly AuthMode[]) {
  describe(`APNs connections with ${mode} credentials`, () => {
    it('GOAWAY after 50 streams during a 1,000-token batch loses nothing and delivers no token twice', async () => {
      await withHarness({ mode, mock: { goawayAfterStreams: 50 } }, async (h) => {
        const tokens = deviceTokens(1_000, `${mode}-goaway`);
        const results = await h.send({ tokens });
        assertExactlyOnce(results, tokens, h.mock);
        assert.ok(h.mock.goaways.length >= 19, `${h.mock.goaways.length} GOAWAYs`);
        const refused = h.mock.requests.filter((r) => r.reply === 'goaway-refused');
        assert.ok(refused.length > 0, 'some requests went out above the last stream id');
        for (const r of refused) {
          const goaway = h.mock.goaways.find((g) => g.sessionId === r.sessionId);
          assert.ok(goaway && r.streamId > goaway.lastStreamId, 'only streams above GOAWAY\'s last id were refused');
        }
        assert.ok((await h.metric('apnsSessionsReplaced', { app: APP_ID, reason: 'goaway' })) >= 19);
      });
    });

    it('a scripted GOAWAY mid-batch resends the unprocessed streams exactly once', async () => {
      await withHarness({ mode, mock: { latencyMs: 5 } }, async (h) => {
        const tokens = deviceTokens(300, `${mode}-scripted-goaway`);
        h.mock.script({ token: tokens[120] as string, times: 1, reply: { goaway: true } });
        const results = await h.send({ tokens });
        assertExactlyOnce(results, tokens, h.mock);
        assert.equal(h.mock.goaways.length, 1);
        assert.ok(h.mock.sessionsOpened >= 2);
      });
    });

    it('a stalled connection is detected by ping, replaced, and the batch completes', async () => {
      // A PING timeout of 2 s (interval and timeout alike): shorter, a loaded machine's pauses
      // retire live sessions too, and their answered requests are resent.
      await withHarness({ mode, mock: { latencyMs: 2 }, apns: { pingIntervalMs: 2_000 } }, async (h) => {
        const tokens = deviceTokens(600, `${mode}-stall`);
        const results: PushResult[] = [];
        for await (const result of h.provider.send({ app: APP_ID, notificationId: 'n-stall', tokens, payload: { aps: { alert: 'x' } } }, new AbortController().signal)) {
          results.push(result);
          // Kill the peer while about a hundred requests are in flight on it.
          if (results.length === 100) h.mock.setOptions({ stallSession: true, latencyMs: 0 });
        }
        assertExactlyOnce(results, tokens, h.mock);
        assert.ok(h.mock.sessionsOpened >= 2);
        assert.ok((await h.metric('apnsSessionsReplaced', { app: APP_ID, reason: 'ping' })) >= 1);
        const resent = await h.metric('apnsRetries', { app: APP_ID, reason: 'lost' });
        assert.ok(resent > 0, 'requests in flight on the dead session were resent');
      });
    });

    it('a session that acknowledges pings but stops answering requests is retired', async () => {
      await withHarness({ mode, apns: { requestTimeoutMs: 1_500 } }, async (h) => {
        const tokens = deviceTokens(200, `${mode}-zombie`);
        // The first 100 requests are never answered; each is resent once, on a fresh session.
        h.mock.script({ times: 100, reply: { stall: true } });
        const results = await h.send({ tokens });
        assertExactlyOnce(results, tokens, h.mock);
        assert.equal(h.mock.requests.length, 300);
        assert.ok((await h.metric('apnsSessionsReplaced', { app: APP_ID, reason: 'stalled' })) >= 1);
      });
    });

    it('never has more requests in flight than the server allows: 10,000 tokens under a limit of 100', async () => {
      await withHarness({ mode, mock: { maxConcurrentStreams: 100, latencyMs: 1 }, apns: { maxConcurrentStreams: 1_000 } }, async (h) => {
        const tokens = deviceTokens(10_000, `${mode}-limit`);
        const results = await h.send({ tokens });
        assertExactlyOnce(results, tokens, h.mock);
        assert.ok(h.mock.maxInFlight <= 100, `server saw ${h.mock.maxInFlight} streams at once`);
        assert.ok(h.mock.maxInFlight >= 50, `the bound was used (${h.mock.maxInFlight})`);
        assert.equal(h.mock.requests.length, 10_000);
      });
    });
  });
}

describe('APNs connection pool', () => {
  it('opens the configured number of connections and keeps the app bound below the config limit', async () => {
    await withHarness({ mode: 'pem', mock: { latencyMs: 2 }, apns: { connections: 2, maxConcurrentStreams: 30 } }, async (h) => {
      const tokens = deviceTokens(2_000, 'two-connections');
      const results = await h.send({ tokens });
      assertExactlyOnce(results, tokens, h.mock);
      assert.equal(h.mock.sessionsOpened, 2);
      assert.deepEqual(new Set(h.mock.requests.map((r) => r.sessionId)).size, 2);
      assert.ok(h.mock.maxInFlight <= 30, `${h.mock.maxInFlight} in flight; config says 30`);
    });
  });

  it('apps sharing a certificate share connections; a refusal for one app does not block the other', async () => {
    const creds = await testCredentials();
    const mock = await ApnsMock.start({ credentials: creds, auth: 'certificate' });
    const shop = { ...appConfig(creds, 'pem', mock.port), id: 'shop', key: 'shop-key' };
    const outlet = { ...appConfig(creds, 'pkcs12', mock.port), id: 'outlet', key: 'outlet-key' };
    const provider = new ApnsProvider({ apps: [shop, outlet], log: silentLogger(), metrics: createMetrics({ defaults: false }), events: new EventBus() });
    await provider.start();
    const send = async (app: string, tokens: string[]): Promise<Record<string, number>> => {
      const results: PushResult[] = [];
      for await (const r of provider.send({ app, notificationId: 'n', tokens, payload: { aps: { alert: 'x' } } }, new AbortController().signal)) results.push(r);
      return tally(results);
    };
    try {
      assert.deepEqual(await send('shop', deviceTokens(50, 'shop')), { delivered: 50 });
      assert.deepEqual(await send('outlet', deviceTokens(50, 'outlet')), { delivered: 50 });
      assert.equal(mock.sessionsOpened, 1, 'one certificate, one connection');

      const [refused] = deviceTokens(1, 'shop-refused') as [string];
      mock.script({ token: refused, reply: { status: 403, reason: 'Forbidden' } });
      assert.deepEqual(await send('shop', [refused]), { 'credentials:Forbidden': 1 });
      assert.equal(provider.health('shop').ok, false);
      assert.deepEqual(await send('shop', deviceTokens(5, 'shop-later')), { 'credentials:Forbidden': 5 });
      assert.deepEqual(await send('outlet', deviceTokens(50, 'outlet-later')), { delivered: 50 });
      assert.deepEqual(provider.health('outlet'), { ok: true });
      assert.deepEqual(provider.refusedCredentials(), [{ app: 'shop', detail: 'credentials refused by APNs: Forbidden' }], 'shop alone is named; outlet is not');
    } finally {
      await provider.close(AbortSignal.timeout(2_000));
      await mock.close();
    }
  });

  it('a limit lowered by the server at run time is respected', async () => {
    await withHarness({ mode: 'pem', mock: { latencyMs: 2 } }, async (h) => {
      await h.send({ tokens: deviceTokens(10, 'warm-up') });
      h.mock.setOptions({ maxConcurrentStreams: 7 });
      // Let the new SETTINGS arrive: a round trip on the same session orders it before the batch.
      await h.send({ tokens: deviceTokens(1, 'settings-ack') });
      const peakBefore = h.mock.maxInFlight;
      const tokens = deviceTokens(500, 'lowered');
      const results = await h.send({ tokens });
      assert.deepEqual(tally(results), { delivered: 500 });
      assert.ok(peakBefore <= 10);
      assert.ok(h.mock.maxInFlight <= Math.max(peakBefore, 7), `server saw ${h.mock.maxInFlight} at once`);
    });
  });

  it('a consumer that stops pulling stops the sending: tokens are taken lazily', async () => {
    await withHarness({ mode: 'pem', mock: { latencyMs: 2 }, apns: { maxConcurrentStreams: 20 } }, async (h) => {
      const tokens = deviceTokens(1_000, 'back-pressure');
      const iterator = h.provider.send({ app: APP_ID, notificationId: 'n-slow', tokens, payload: { aps: { alert: 'x' } } }, new AbortController().signal)[Symbol.asyncIterator]();
      for (let i = 0; i < 10; i++) assert.equal((await iterator.next()).done, false);
      // Paused: whatever was in flight finishes, and nothing new starts.
      await waitFor(async () => (await h.metric('apnsInFlight', { app: APP_ID })) === 0 && h.mock.requests.every((r) => r.reply === 'answered'), { what: 'in-flight requests to finish' });
      const sentWhilePaused = h.mock.requests.length;
      assert.ok(sentWhilePaused <= 10 + 20 + 20, `${sentWhilePaused} requests for 10 results pulled with a bound of 20`);
      let rest = 0;
      for (let next = await iterator.next(); !next.done; next = await iterator.next()) rest += 1;
      assert.equal(rest + 10, 1_000);
      assert.equal(h.mock.requests.length, 1_000);
    });
  });

  it('an aborted batch hands every unsent token back as retry and still reports those in flight', async () => {
    await withHarness({ mode: 'pem', mock: { latencyMs: 5 }, apns: { maxConcurrentStreams: 20 } }, async (h) => {
      const tokens = deviceTokens(1_000, 'aborted');
      const controller = new AbortController();
      const results: PushResult[] = [];
      for await (const result of h.provider.send({ app: APP_ID, notificationId: 'n-abort', tokens, payload: { aps: { alert: 'x' } } }, controller.signal)) {
        results.push(result);
        if (results.length === 100) controller.abort();
      }
      assert.equal(results.length, 1_000);
      assert.equal(new Set(results.map((r) => r.index)).size, 1_000);
      const counts = tally(results);
      assert.equal((counts.delivered ?? 0) + (counts['retry:Aborted'] ?? 0), 1_000);
      assert.equal(h.mock.accepted().length, counts.delivered, 'every accepted request is reported delivered');
    });
  });
});
