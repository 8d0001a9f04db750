import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { APP_ID, registrationTokens, startFcmHarness, tally } from './fcm-harness.js';
import type { FcmHarness } from './fcm-harness.js';

describe('FCM error answers', () => {
  let h: FcmHarness;
  before(async () => {
    h = await startFcmHarness();
  });
  after(() => h.close());

  it('UNREGISTERED and INVALID_ARGUMENT about the token are dead tokens; SENDER_ID_MISMATCH too; a bad field is not', async () => {
    const [gone, bad, mismatch, field, fine] = registrationTokens(5, 'rejections') as [string, string, string, string, string];
    h.mock.script({ token: gone, reply: { error: 'UNREGISTERED' } });
    h.mock.script({ token: bad, reply: { error: 'INVALID_ARGUMENT' } });
    h.mock.script({ token: mismatch, reply: { error: 'SENDER_ID_MISMATCH' } });
    h.mock.script({ token: field, reply: { status: 400, body: JSON.stringify({ error: { code: 400, message: "Invalid value at 'message.android.ttl'", status: 'INVALID_ARGUMENT', details: [{ '@type': 'type.googleapis.com/google.rpc.BadRequest', fieldViolations: [{ field: 'message.android.ttl' }] }] } }) } });
    const results = await h.send({ tokens: [gone, bad, mismatch, field, fine] });
    const byToken = new Map(results.map((r) => [r.token, r.outcome]));
    assert.deepEqual(byToken.get(gone), { type: 'rejected', reason: 'Unregistered', status: 404, invalidToken: true, detail: 'Requested entity was not found.' });
    assert.deepEqual(byToken.get(bad), { type: 'rejected', reason: 'InvalidArgument', status: 400, invalidToken: true, detail: 'The registration token is not a valid FCM registration token' });
    assert.deepEqual(byToken.get(mismatch), { type: 'rejected', reason: 'SenderIdMismatch', status: 403, invalidToken: true, detail: 'SenderId mismatch' });
    assert.equal(byToken.get(field)?.type === 'rejected' && byToken.get(field)?.type === 'rejected' ? (byToken.get(field) as { invalidToken: boolean }).invalidToken : undefined, false);
    assert.equal(byToken.get(fine)?.type, 'delivered');
    assert.deepEqual(h.invalidTokens.map((e) => [e.token, e.reason]).sort(), [[bad, 'InvalidArgument'], [gone, 'Unregistered'], [mismatch, 'SenderIdMismatch']].sort());
    assert.equal(await h.metric('pushInvalidTokens', { provider: 'fcm', app: APP_ID, reason: 'Unregistered' }), 1);
    assert.ok(h.provider.health(APP_ID).ok, 'token rejections say nothing against the credentials');
  });

  for (const error of ['QUOTA_EXCEEDED', 'UNAVAILABLE', 'INTERNAL'] as const) {
    it(`${error} is retried inside the batch with backoff, then delivered`, async () => {
      const [token] = registrationTokens(1, `retry-${error}`) as [string];
      h.mock.script({ token, times: 2, reply: { error } });
      const results = await h.send({ tokens: [token] });
      assert.deepEqual(tally(results), { delivered: 1 });
      assert.equal(h.mock.sends.filter((s) => s.token === token).length, 3);
    });
  }

  it('Retry-After in seconds is honoured: the resend waits at least that long', async () => {
    const [token] = registrationTokens(1, 'retry-after') as [string];
    h.mock.script({ token, times: 1, reply: { error: 'QUOTA_EXCEEDED', retryAfter: '1' } });
    const results = await h.send({ tokens: [token] });
    assert.deepEqual(tally(results), { delivered: 1 });
    const [first, second] = h.mock.sends.filter((s) => s.token === token);
    assert.ok(first && second && second.at - first.at >= 1_000, `resent after ${second && first ? second.at - first.at : NaN} ms`);
  });

  it('a Retry-After beyond the inline wait hands the token back as retry with afterMs (HTTP date form)', async () => {
    const [token] = registrationTokens(1, 'retry-date') as [string];
    h.mock.script({ token, reply: { error: 'UNAVAILABLE', retryAfter: new Date(Date.now() + 60_000).toUTCString() } });
    const results = await h.send({ tokens: [token] });
    h.mock.clearRules();
    const outcome = results[0]?.outcome;
    assert.equal(outcome?.type, 'retry');
    assert.ok(outcome?.type === 'retry' && outcome.reason === 'Unavailable' && outcome.status === 503 && (outcome.afterMs ?? 0) >= 55_000, JSON.stringify(outcome));
  });

  it('retryable answers past maxAttempts come back as retry with the last reason', async () => {
    const [token] = registrationTokens(1, 'exhausted') as [string];
    h.mock.script({ token, reply: { error: 'INTERNAL' } });
    const results = await h.send({ tokens: [token] });
    h.mock.clearRules();
    const outcome = results[0]?.outcome;
    assert.ok(outcome?.type === 'retry' && outcome.reason === 'Internal' && outcome.status === 500, JSON.stringify(outcome));
    assert.equal(h.mock.sends.filter((s) => s.token === token).length, 3);
  });

  it('403 PERMISSION_DENIED closes the app: credentials outcome, nothing sent during the cool-down', async () => {
    h.mock.script({ reply: { status: 403, body: JSON.stringify({ error: { code: 403, message: 'Permission denied', status: 'PERMISSION_DENIED' } }) } });
    const results = await h.send({ tokens: registrationTokens(4, 'forbidden') });
    h.mock.clearRules();
    assert.deepEqual(Object.keys(tally(results)), ['credentials:PermissionDenied']);
    const before = h.mock.sends.length;
    const held = await h.send({ tokens: registrationTokens(3, 'in-cooldown') });
    assert.deepEqual(tally(held), { 'credentials:PermissionDenied': 3 });
    assert.ok(held.every((r) => r.outcome.type === 'credentials' && (r.outcome.afterMs ?? 0) > 50_000));
    assert.equal(h.mock.sends.length, before, 'nothing sent while the gate is closed');
    assert.equal(h.provider.health(APP_ID).ok, false);
    assert.equal(await h.metric('pushCredentialsOk', { provider: 'fcm', app: APP_ID }), 0);
    h.clock.offsetMs += 61_000;
    const again = await h.send({ tokens: registrationTokens(2, 'after-cooldown') });
    assert.deepEqual(tally(again), { delivered: 2 });
    assert.equal(h.provider.health(APP_ID).ok, true);
    h.clock.offsetMs -= 61_000;
  });
});
