import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { AppConfig, AppFcmConfig } from '../../src/config/load.js';
import { makeServiceAccount } from '../fixtures/fcm/service-account-fixture.js';
import { waitFor } from '../helpers/wait.js';
import { APP_ID, fcmAppConfig, registrationTokens, serviceAccountOf, startFcmHarness, tally } from './fcm-harness.js';
import type { FcmHarness } from './fcm-harness.js';

/**
 * FcmProvider.reload takes a reloaded configuration while it sends: apps appear, change
 * their service account or go, and what did not change keeps its connection and access
 * token. (There was no reload: an FCM app added or changed needed a restart, and one
 * added was answered AppNotConfigured.)
 */
describe('FCM credentials swapped by a reload', () => {
  let h: FcmHarness;

  beforeEach(async () => {
    h = await startFcmHarness();
  });
  afterEach(async () => {
    await h?.close();
  });

  /** The app as the next configuration has it: equal in value, new objects, as a reload reads them. */
  const reloaded = (fcm: Partial<AppFcmConfig> = {}): AppConfig => fcmAppConfig(APP_ID, { ...h.fcm, serviceAccount: serviceAccountOf(h.account), ...fcm });

  /** Series of a gauge for the app under provider="fcm": 0 once they were dropped (a gauge at 0 is still 1 series). */
  async function series(name: 'pushCredentialsOk' | 'pushInFlight', app = APP_ID): Promise<number> {
    return (await h.metrics[name].get()).values.filter((v) => v.labels.provider === 'fcm' && v.labels.app === app).length;
  }

  it('serves an app a reload adds, while the unchanged app keeps its connection and access token', async () => {
    assert.deepEqual(tally(await h.send({ tokens: registrationTokens(1, 'before') })), { delivered: 1 });
    const other = makeServiceAccount(h.mock.tokenUri, { projectId: 'herald-other' });
    h.mock.addAccount({ clientEmail: other.clientEmail, projectId: other.projectId, publicKey: other.publicKey });
    const added = fcmAppConfig('android-new', { ...h.fcm, serviceAccount: serviceAccountOf(other) });
    assert.deepEqual(tally(await h.send({ app: 'android-new', tokens: registrationTokens(1, 'early') })), { 'rejected:AppNotConfigured': 1 });
    const { sessionsOpened, tokensIssued } = h.mock;

    h.provider.reload([reloaded(), added]);
    assert.equal(h.provider.serves('android-new'), true);
    const tokens = registrationTokens(2, 'added');
    assert.deepEqual(tally(await h.send({ app: 'android-new', tokens })), { delivered: 2 });
    assert.deepEqual(h.mock.delivered().filter((s) => tokens.includes(s.token ?? '')).map((s) => s.project), ['herald-other', 'herald-other']);
    assert.deepEqual(tally(await h.send({ tokens: registrationTokens(1, 'after') })), { delivered: 1 });
    // One connection and one token for the new project and account; none for the unchanged app.
    assert.equal(h.mock.sessionsOpened, sessionsOpened + 1);
    assert.equal(h.mock.tokensIssued, tokensIssued + 1);
    assert.equal(await series('pushCredentialsOk', 'android-new'), 1);
  });

  it('fetches the next access token with a rotated key, on the same connection', async () => {
    assert.deepEqual(tally(await h.send({ tokens: registrationTokens(1, 'old-key') })), { delivered: 1 });
    // A new key of the same account; the old one is deleted at Google, so only the new key can get a token.
    const rotated = makeServiceAccount(h.mock.tokenUri, { clientEmail: h.account.clientEmail, projectId: h.account.projectId });
    h.mock.addAccount({ clientEmail: rotated.clientEmail, projectId: rotated.projectId, publicKey: rotated.publicKey });
    const grants = h.mock.grants.length;
    const { sessionsOpened } = h.mock;

    h.provider.reload([reloaded({ serviceAccount: serviceAccountOf(rotated) })]);
    assert.deepEqual(tally(await h.send({ tokens: registrationTokens(2, 'new-key') })), { delivered: 2 });
    assert.deepEqual(h.mock.grants.slice(grants), [{ ok: true }], 'one token, granted for an assertion the new key signed');
    assert.equal(h.mock.sessionsOpened, sessionsOpened, 'same project and endpoint: the connection stays');
    assert.equal(await h.metric('fcmTokenRequests', { app: APP_ID, status: 'ok' }), 2);
  });

  it('refuses credentials that do not open, naming app and file or key and never the key, and keeps sending with the running ones', async () => {
    assert.deepEqual(tally(await h.send({ tokens: registrationTokens(1, 'before') })), { delivered: 1 });
    const missingCa = reloaded({ endpoint: { host: '127.0.0.1', port: h.mock.port, ca: `${h.account.path}.missing-ca.pem` } });
    assert.throws(() => h.provider.reload([missingCa]), { code: 'HERALD_CREDENTIALS_INVALID', message: /app android-shop: .*missing-ca\.pem: cannot read the FCM endpoint CA file: ENOENT/ });

    // A key the config edge would have refused: the provider checks it again and shows nothing of it.
    const pem = h.fcm.serviceAccount.privateKey;
    const body = pem.split('\n')[3] ?? '';
    const brokenKey = fcmAppConfig('android-broken', { ...h.fcm, serviceAccount: { ...h.fcm.serviceAccount, privateKey: pem.replace(body, body.replace(/[A-Za-z]/g, '*')) } });
    assert.throws(
      () => h.provider.reload([reloaded(), brokenKey]),
      (err: Error) => {
        assert.match(err.message, /FCM credentials cannot be used:\n {2}- app android-broken: the FCM service account's private_key is not an RSA private key/);
        assert.ok(!err.message.includes(body.slice(10, 40)) && !err.message.includes('PRIVATE KEY'), 'no key text in the message');
        return true;
      },
    );
    assert.equal(h.provider.serves('android-broken'), false);

    const grants = h.mock.grants.length;
    assert.deepEqual(tally(await h.send({ tokens: registrationTokens(2, 'still') })), { delivered: 2 });
    assert.equal(h.mock.grants.length, grants, 'the running access token, unchanged');
  });

  it('stops serving an app a reload removes and drops its gauges', async () => {
    assert.deepEqual(tally(await h.send({ tokens: registrationTokens(1, 'before') })), { delivered: 1 });
    assert.deepEqual([await series('pushCredentialsOk'), await series('pushInFlight')], [1, 1]);

    h.provider.reload([]);
    assert.equal(h.provider.serves(APP_ID), false);
    assert.deepEqual(h.provider.refusedCredentials(), []);
    assert.deepEqual([await series('pushCredentialsOk'), await series('pushInFlight')], [0, 0]);
    assert.deepEqual(tally(await h.send({ tokens: registrationTokens(1, 'after') })), { 'rejected:AppNotConfigured': 1 });
    await waitFor(() => h.mock.sessionsOpen === 0, { what: 'the removed app’s connection closed' });
  });

  it('lets a batch running during a reload finish on the old pool, sends the next on the new one, then closes the old', async () => {
    h.mock.setLatency(150);
    const running = registrationTokens(8, 'running');
    const sending = h.send({ tokens: running, notificationId: 'before' });
    await waitFor(() => h.mock.sends.some((s) => running.includes(s.token ?? '')), { what: 'the first batch at FCM' });
    assert.equal(h.mock.sessionsOpen, 1);

    // Another request timeout is another pool setting: a new pool.
    h.provider.reload([reloaded({ requestTimeoutMs: 9_000 })]);
    const after = registrationTokens(2, 'after');
    assert.deepEqual(tally(await h.send({ tokens: after, notificationId: 'after' })), { delivered: 2 });
    assert.equal(h.mock.sessionsOpened, 2, 'the batch after the reload opened the new pool');

    assert.deepEqual(tally(await sending), { delivered: 8 }, 'every token of the running batch delivered, none handed back');
    assert.equal(h.mock.sends.filter((s) => running.includes(s.token ?? '')).length, 8, 'none sent twice');
    await waitFor(() => h.mock.sessionsOpen === 1, { what: 'the old pool closed once its batch ended' });
  });

  it('lets a batch of an app a reload removes finish, then drops its gauges', async () => {
    h.mock.setLatency(150);
    const running = registrationTokens(4, 'running');
    const sending = h.send({ tokens: running });
    await waitFor(() => h.mock.sends.some((s) => running.includes(s.token ?? '')), { what: 'the batch at FCM' });

    h.provider.reload([]);
    assert.equal(h.provider.serves(APP_ID), false);
    assert.deepEqual(tally(await sending), { delivered: 4 });
    assert.deepEqual([await series('pushCredentialsOk'), await series('pushInFlight')], [0, 0], 'gone, and not brought back by the batch’s last requests');
    await waitFor(() => h.mock.sessionsOpen === 0, { what: 'the pool closed once its batch ended' });
  });
});
