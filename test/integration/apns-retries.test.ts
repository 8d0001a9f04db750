import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { RecordedRequest } from '../fixtures/apns/apns-mock.js';
import { testCredentials } from '../helpers/certs.js';
import { APP_ID, deviceTokens, startHarness, tally } from './apns-harness.js';
import type { AuthMode, Harness } from './apns-harness.js';

const requestsFor = (h: Harness, token: string): RecordedRequest[] => h.mock.requests.filter((r) => r.token === token);

for (const mode of ['pem', 'pkcs12', 'token'] as const satisfies readonly AuthMode[]) {
  describe(`APNs retries with ${mode} credentials`, () => {
    let h: Harness;
    before(async () => {
      h = await startHarness({ mode });
    });
    after(() => h.close());

    for (const [status, reason] of [[429, 'TooManyRequests'], [503, 'ServiceUnavailable']] as const) {
      it(`${status} with retry-after 2 is retried no sooner than 2 s after the answer, then delivered`, async () => {
        const [slow, ...others] = deviceTokens(20, `${mode}-${status}`) as [string, ...string[]];
        h.mock.script({ token: slow, times: 1, reply: { status, reason, retryAfterSeconds: 2 } });
        const results = await h.send({ tokens: [slow, ...others] });
        assert.deepEqual(tally(results), { delivered: 20 });
        const [first, second, ...more] = requestsFor(h, slow);
        assert.equal(more.length, 0, 'exactly one resend');
        assert.equal(first?.status, status);
        assert.equal(second?.status, 200);
        const waited = (second?.at ?? 0) - (first?.answeredAt ?? Infinity);
        assert.ok(waited >= 2_000, `resent ${waited} ms after the ${status}`);
        // The rest of the batch did not wait for the slow token.
        for (const token of others) assert.ok((requestsFor(h, token)[0]?.at ?? Infinity) < (second?.at ?? 0));
        assert.equal(await h.metric('apnsRetries', { app: APP_ID, reason }), 1);
        h.mock.clearRules();
      });
    }

    it('500 is retried with growing backoff and handed back after maxAttempts', async () => {
      const [failing, fine] = deviceTokens(2, `${mode}-500`) as [string, string];
      h.mock.script({ token: failing, reply: { status: 500, reason: 'InternalServerError' } });
      const results = await h.send({ tokens: [failing, fine] });
      h.mock.clearRules();
      const outcome = results.find((r) => r.token === failing)?.outcome;
      assert.equal(results.find((r) => r.token === fine)?.outcome.type, 'delivered');
      assert.ok(outcome?.type === 'retry', JSON.stringify(outcome));
      assert.equal(outcome.reason, 'InternalServerError');
      assert.equal(outcome.status, 500);
      // Backoff base 100 ms with jitter: attempt n waits between 50·2^(n-1) and 100·2^(n-1) ms.
      assert.ok(outcome.afterMs !== undefined && outcome.afterMs >= 200 && outcome.afterMs <= 400, `afterMs ${outcome.afterMs}`);
      const attempts = requestsFor(h, failing);
      assert.equal(attempts.length, 3, 'maxAttempts is 3');
      for (let i = 1; i < attempts.length; i++) {
        const gap = (attempts[i]?.at ?? 0) - (attempts[i - 1]?.answeredAt ?? Infinity);
        assert.ok(gap >= 50 * 2 ** (i - 1), `attempt ${i + 1} came ${gap} ms after the previous answer`);
      }
      assert.equal(await h.metric('apnsRetries', { app: APP_ID, reason: 'InternalServerError' }), 2);
      assert.equal(await h.metric('apnsRequests', { app: APP_ID, status: '500', reason: 'InternalServerError' }), 3);
      assert.equal(await h.metric('pushRetries', { provider: 'apns', app: APP_ID, reason: 'InternalServerError' }), 2);
      assert.equal(await h.metric('pushRequests', { provider: 'apns', app: APP_ID, status: '500', reason: 'InternalServerError' }), 3);
    });

    it('a retry-after longer than the batch may wait is handed back to the caller with the delay', async () => {
      const [token] = deviceTokens(1, `${mode}-long-429`) as [string];
      h.mock.script({ token, reply: { status: 429, reason: 'TooManyRequests', retryAfterSeconds: 60 } });
      const results = await h.send({ tokens: [token] });
      h.mock.clearRules();
      const outcome = results[0]?.outcome;
      assert.ok(outcome?.type === 'retry' && outcome.reason === 'TooManyRequests' && (outcome.afterMs ?? 0) >= 60_000, JSON.stringify(outcome));
      assert.equal(requestsFor(h, token).length, 1);
    });
  });
}

describe('APNs 503 Shutdown', () => {
  it('moves the resend to a fresh connection', async () => {
    const h = await startHarness({ mode: 'pem' });
    try {
      const [token] = deviceTokens(1, 'shutdown') as [string];
      h.mock.script({ token, times: 1, reply: { status: 503, reason: 'Shutdown' } });
      const results = await h.send({ tokens: [token] });
      assert.deepEqual(tally(results), { delivered: 1 });
      const [first, second] = requestsFor(h, token);
      assert.notEqual(first?.sessionId, second?.sessionId);
      assert.equal(await h.metric('apnsSessionsReplaced', { app: APP_ID, reason: 'shutdown' }), 1);
    } finally {
      await h.close();
    }
  });
});

describe('APNs credential refusal', () => {
  it('stops sending for the app after a 403, reports it, and recovers through one probe after the cool-down', async () => {
    const h = await startHarness({ mode: 'pem', apns: { maxConcurrentStreams: 10 }, provider: { credentialsCooldownMs: 60_000 } });
    try {
      h.mock.script({ reply: { status: 403, reason: 'BadCertificate' } });
      const results = await h.send({ tokens: deviceTokens(1_000, 'refused') });
      assert.deepEqual(tally(results), { 'credentials:BadCertificate': 1_000 });
      assert.ok(h.mock.requests.length <= 10, `${h.mock.requests.length} requests reached the server; the in-flight bound is 10`);
      const first = results[0]?.outcome;
      assert.ok(first?.type === 'credentials' && first.status === 403 && (first.afterMs ?? 0) > 0);
      assert.deepEqual(h.provider.health(APP_ID), { ok: false, detail: 'credentials refused by APNs: BadCertificate' });
      assert.deepEqual(h.provider.refusedCredentials(), [{ app: APP_ID, detail: 'credentials refused by APNs: BadCertificate' }]);
      assert.equal(await h.metric('apnsCredentialsOk', { app: APP_ID }), 0);
      assert.equal(await h.metric('pushCredentialsOk', { provider: 'apns', app: APP_ID }), 0);

      const sentBefore = h.mock.requests.length;
      const again = await h.send({ tokens: deviceTokens(100, 'refused-again') });
      assert.deepEqual(tally(again), { 'credentials:BadCertificate': 100 });
      assert.equal(h.mock.requests.length, sentBefore, 'no request while the gate is closed');

      // The operator fixes the certificate; once the cool-down has passed one probe goes out.
      h.mock.clearRules();
      h.clock.offsetMs += 60_001;
      const recovered = await h.send({ tokens: deviceTokens(100, 'recovered') });
      assert.deepEqual(tally(recovered), { delivered: 100 });
      assert.equal(h.mock.requests.length - sentBefore, 100);
      assert.deepEqual(h.provider.health(APP_ID), { ok: true });
      assert.deepEqual(h.provider.refusedCredentials(), []);
      assert.equal(await h.metric('apnsCredentialsOk', { app: APP_ID }), 1);
      assert.equal(await h.metric('pushCredentialsOk', { provider: 'apns', app: APP_ID }), 1);
    } finally {
      await h.close();
    }
  });

  it('a .p8 key Apple does not know is a credential failure (InvalidProviderToken)', async () => {
    const creds = await testCredentials();
    const bad = await startHarness({ mode: 'token', apns: { token: { key: creds.otherP8Path, keyId: creds.keyId, teamId: creds.teamId } } });
    try {
      const results = await bad.send({ tokens: deviceTokens(50, 'unknown-key') });
      assert.deepEqual(tally(results), { 'credentials:InvalidProviderToken': 50 });
      assert.equal(bad.provider.health(APP_ID).ok, false);
    } finally {
      await bad.close();
    }
  });
});

describe('APNs provider tokens', () => {
  it('an expired JWT is a credential failure, renewed no sooner than 20 minutes, then resent once and delivered', async () => {
    const h = await startHarness({ mode: 'token', apns: { maxConcurrentStreams: 20 } });
    try {
      // Herald's clock runs 70 minutes behind: the JWT it signs is already expired for the server.
      h.clock.offsetMs = -70 * 60_000;
      const refused = await h.send({ tokens: deviceTokens(50, 'stale-jwt') });
      assert.deepEqual(tally(refused), { 'credentials:ExpiredProviderToken': 50 });
      assert.equal(h.mock.jwtsSeen, 1, 'every refusal asked for a renewal, none was allowed before 20 minutes');
      assert.ok(h.mock.requests.length >= 1 && h.mock.requests.every((r) => r.status === 403 && r.reason === 'ExpiredProviderToken'));

      // 25 minutes later (still short of the 40-minute renewal) the cool-down is over: the probe
      // is refused again, the JWT is renewed once and the probe resent with it.
      h.clock.offsetMs += 25 * 60_000;
      const before = h.mock.requests.length;
      const tokens = deviceTokens(30, 'renewed-jwt');
      const results = await h.send({ tokens });
      assert.deepEqual(tally(results), { delivered: 30 });
      assert.equal(h.mock.jwtsSeen, 2);
      const sent = h.mock.requests.slice(before);
      assert.equal(sent.length, 31, 'one resend for the probe, one request per other token');
      assert.equal(sent.filter((r) => r.reason === 'ExpiredProviderToken').length, 1);
      assert.equal(await h.metric('apnsRetries', { app: APP_ID, reason: 'ExpiredProviderToken' }), 1);
    } finally {
      await h.close();
    }
  });
});
