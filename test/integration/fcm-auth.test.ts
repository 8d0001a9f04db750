import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../helpers/wait.js';
import { APP_ID, registrationTokens, startFcmHarness, tally } from './fcm-harness.js';

describe('FCM access tokens', () => {
  it('one token request however many sends start at once, and the assertion is one Google accepts', async () => {
    const h = await startFcmHarness({ fcm: { maxConcurrentStreams: 50 } });
    try {
      const results = await Promise.all([1, 2, 3].map((n) => h.send({ tokens: registrationTokens(40, `burst${n}`) })));
      assert.deepEqual(tally(results.flat()), { delivered: 120 });
      assert.deepEqual(h.mock.grants, [{ ok: true }]);
      assert.equal(await h.metric('fcmTokenRequests', { app: APP_ID, status: 'ok' }), 1);
    } finally {
      await h.close();
    }
  });

  it('refreshes the token 5 minutes before it expires, never sending an expired one', async () => {
    // Tokens of 302 s: the refresh margin is reached 2 s after each grant.
    const h = await startFcmHarness({ mock: { tokenLifetimeS: 302 } });
    try {
      await h.send({ tokens: registrationTokens(2, 'early1') });
      assert.equal(h.mock.tokensIssued, 1);
      let round = 0;
      await waitFor(async () => {
        const results = await h.send({ tokens: registrationTokens(1, `early-round${round++}`) });
        assert.deepEqual(tally(results), { delivered: 1 });
        return h.mock.tokensIssued === 2;
      }, { timeoutMs: 10_000, intervalMs: 100, what: 'a second token grant' });
      assert.ok(round >= 2, 'the first token was reused while it had more than 5 minutes left');
      assert.equal(h.mock.sends.filter((s) => s.status === 401).length, 0, 'no send ever carried an expired token');
    } finally {
      await h.close();
    }
  });

  it('401 from FCM: one refresh, then the same message is sent again and delivered', async () => {
    const h = await startFcmHarness();
    try {
      await h.send({ tokens: registrationTokens(1, 'warm') });
      h.mock.expireTokens();
      const tokens = registrationTokens(5, 'after-expiry');
      const results = await h.send({ tokens });
      assert.deepEqual(tally(results), { delivered: 5 });
      assert.equal(h.mock.tokensIssued, 2, 'one refresh for every 401 of the batch');
      assert.equal(h.mock.sends.filter((s) => s.status === 401).length, 5, 'each message met the expired token once');
      assert.equal(h.mock.delivered().filter((s) => tokens.includes(s.token ?? '')).length, 5);
      assert.equal(await h.metric('pushRetries', { provider: 'fcm', app: APP_ID, reason: 'Unauthenticated' }) >= 1, true);
    } finally {
      await h.close();
    }
  });

  it('401 again after the refresh is a credentials outcome', async () => {
    const h = await startFcmHarness();
    try {
      h.mock.script({ reply: { status: 401, body: JSON.stringify({ error: { code: 401, message: 'Request had invalid authentication credentials.', status: 'UNAUTHENTICATED' } }) } });
      const results = await h.send({ tokens: registrationTokens(1, 'always-401') });
      assert.deepEqual(tally(results), { 'credentials:Unauthenticated': 1 });
      assert.equal(h.mock.tokensIssued, 2);
      assert.equal(h.provider.health(APP_ID).ok, false);
    } finally {
      await h.close();
    }
  });

  it('invalid_grant from the token endpoint is a credentials outcome and sends nothing', async () => {
    const h = await startFcmHarness();
    try {
      h.mock.refuseTokenRequests('invalid_grant');
      const results = await h.send({ tokens: registrationTokens(3, 'no-grant') });
      assert.deepEqual(tally(results), { 'credentials:InvalidGrant': 3 });
      assert.equal(h.mock.sends.length, 0);
      assert.deepEqual(await h.provider.checkCredentials(APP_ID), { kind: 'refused', reason: 'InvalidGrant', status: 400 });
    } finally {
      await h.close();
    }
  });

  it('the mock refuses an assertion signed by another key, as Google does', async () => {
    const h = await startFcmHarness();
    try {
      // Replace the mock's view of the account with a different public key.
      const { makeServiceAccount } = await import('../fixtures/fcm/service-account-fixture.js');
      const stranger = makeServiceAccount(h.mock.tokenUri);
      h.mock.addAccount({ clientEmail: h.account.clientEmail, projectId: h.account.projectId, publicKey: stranger.publicKey });
      const state = await h.provider.checkCredentials(APP_ID);
      assert.equal(state.kind, 'refused');
      assert.deepEqual(h.mock.grants, [{ ok: false, description: 'Invalid JWT Signature.' }]);
    } finally {
      await h.close();
    }
  });
});
