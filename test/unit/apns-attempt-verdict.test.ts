import { beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import type { ApnsApp } from '../../src/providers/apns/apns-app.js';
import type { StreamResult } from '../../src/providers/shared/http2-session.js';
import { ConnectError } from '../../src/providers/shared/connection-errors.js';
import { MAX_UNSENT_WITHOUT_PROGRESS, judgeAttempt } from '../../src/providers/apns/attempt-verdict.js';
import type { AttemptReport, Reporter } from '../../src/providers/apns/attempt-verdict.js';
import type { WorkItem } from '../../src/providers/apns/apns-sender.js';
import type { AttemptVerdict } from '../../src/providers/shared/batch-run.js';
import { CredentialGate } from '../../src/providers/shared/credential-gate.js';
import { ProviderToken } from '../../src/providers/apns/provider-token.js';

const clock = { now: 1_000_000 };
let pool: { answered: number };
let app: ApnsApp;
let item: WorkItem;
let reported: { retries: string[]; invalid: string[]; requests: string[] };
const reporter: Reporter = {
  request: (status, reason) => reported.requests.push(`${status}:${reason}`),
  retry: (reason) => reported.retries.push(reason),
  invalidToken: (token, reason) => reported.invalid.push(`${token}:${reason}`),
  inFlight: () => {},
};

beforeEach(() => {
  pool = { answered: 0 };
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  app = {
    id: 'shop',
    pool: pool as unknown as ApnsApp['pool'],
    gate: new CredentialGate(60_000, () => clock.now),
    token: new ProviderToken({ key: privateKey, keyId: 'ABC123DEFG', teamId: 'TEAM123456', now: () => clock.now }),
    retry: { maxAttempts: 3, backoff: { baseMs: 100, maxMs: 1_000 }, maxInlineWaitMs: 5_000 },
    cooldownMs: 60_000,
  } as unknown as ApnsApp;
  item = { index: 0, token: 'ab'.repeat(32), device: 'ab'.repeat(32), apnsId: 'id-1', attempts: 0, unsentWithoutProgress: 0, answersAtLastUnsent: undefined, lostResends: 0, lostOnce: false, tokenRenewed: false, dueAt: 0 };
  reported = { retries: [], invalid: [], requests: [] };
});

const judge = (report: AttemptReport): AttemptVerdict => judgeAttempt(app, item, report, reporter, () => clock.now, 0.01);
const stream = (result: StreamResult, jwt?: string): AttemptReport => ({ kind: 'stream', result, jwt, session: undefined });
const response = (status: number, body: Record<string, unknown> = {}, headers: Record<string, string> = {}): StreamResult => ({ kind: 'response', status, headers, body: JSON.stringify(body) });

describe('resend rules', () => {
  it('a lost request (Apple may have processed it) is resent once; a second loss hands it back unconfirmed', () => {
    assert.deepEqual(judge(stream({ kind: 'lost', cause: 'ping' })), { kind: 'resend', delayMs: 0 });
    const second = judge(stream({ kind: 'lost', cause: 'timeout' }));
    assert.equal(second.kind, 'outcome');
    assert.ok(second.kind === 'outcome' && second.outcome.type === 'retry' && second.outcome.unconfirmed === true && second.outcome.reason === 'Unconfirmed');
    assert.deepEqual(reported.retries, ['lost']);
  });

  it('once lost, every later hand-back of the token says unconfirmed', () => {
    judge(stream({ kind: 'lost', cause: 'ping' }));
    assert.equal(judge(stream(response(500, { reason: 'InternalServerError' }))).kind, 'resend');
    const last = judge(stream(response(500, { reason: 'InternalServerError' })));
    assert.ok(last.kind === 'outcome' && last.outcome.type === 'retry' && last.outcome.unconfirmed === true, JSON.stringify(last));
  });

  it('never-processed requests are resent at once while the pool gets answers, and count no attempt', () => {
    for (let i = 0; i < 20; i++) {
      pool.answered += 50;
      assert.deepEqual(judge(stream({ kind: 'unsent', cause: 'goaway' })), { kind: 'resend', delayMs: 0 });
    }
    assert.equal(item.attempts, 0);
  });

  it('never-processed requests with no answer in between back off and are handed back after a few', () => {
    const verdicts = Array.from({ length: MAX_UNSENT_WITHOUT_PROGRESS + 1 }, () => judge(stream({ kind: 'unsent', cause: 'refused-stream' })));
    assert.deepEqual(verdicts[0], { kind: 'resend', delayMs: 0 });
    for (const verdict of verdicts.slice(1, -1)) assert.ok(verdict.kind === 'resend' && verdict.delayMs > 0, JSON.stringify(verdict));
    const last = verdicts.at(-1);
    assert.ok(last?.kind === 'outcome' && last.outcome.type === 'retry' && last.outcome.reason === 'Unsent' && last.outcome.unconfirmed === undefined);
  });

  it('a connect failure counts an attempt and waits at least until the pool may connect again', () => {
    const verdict = judge({ kind: 'connect-failed', error: new ConnectError('network', 'ECONNREFUSED'), retryAt: clock.now + 700 });
    assert.ok(verdict.kind === 'resend' && verdict.delayMs >= 700);
    assert.equal(item.attempts, 1);
    const tls = judge({ kind: 'connect-failed', error: new ConnectError('untrusted-server', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'), retryAt: 0 });
    assert.equal(tls.kind, 'resend');
    const done = judge({ kind: 'connect-failed', error: new ConnectError('untrusted-server', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'), retryAt: 0 });
    assert.ok(done.kind === 'outcome' && done.outcome.type === 'retry' && done.outcome.reason === 'TlsUntrustedServer');
    assert.equal(app.gate.open, true);
  });

  it('a refused client certificate closes the gate', () => {
    const verdict = judge({ kind: 'connect-failed', error: new ConnectError('client-certificate-refused', 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED'), retryAt: 0 });
    assert.deepEqual(verdict, { kind: 'outcome', outcome: { type: 'credentials', reason: 'ClientCertificateRefused', afterMs: 60_000 } });
    assert.equal(app.gate.open, false);
  });

  it('ExpiredProviderToken renews the JWT and resends once, when the token is old enough', () => {
    const jwt = app.token?.current() ?? '';
    clock.now += 25 * 60_000;
    assert.deepEqual(judge(stream(response(403, { reason: 'ExpiredProviderToken' }), jwt)), { kind: 'resend', delayMs: 0 });
    assert.notEqual(app.token?.current(), jwt);
    const again = judge(stream(response(403, { reason: 'ExpiredProviderToken' }), app.token?.current()));
    assert.deepEqual(again, { kind: 'outcome', outcome: { type: 'credentials', reason: 'ExpiredProviderToken', status: 403, afterMs: 60_000 } });
  });

  it('invalid tokens are reported; delivery reopens a closed gate', () => {
    app.gate.refuse('BadCertificate', 403);
    const gone = judge(stream(response(410, { reason: 'Unregistered', timestamp: 5 })));
    assert.deepEqual(gone, { kind: 'outcome', outcome: { type: 'rejected', reason: 'Unregistered', status: 410, invalidToken: true, timestamp: 5 } });
    assert.deepEqual(reported.invalid, [`${item.token}:Unregistered`]);
    assert.equal(app.gate.open, true, 'any answer other than a credential refusal proves the credentials work');
    const delivered = judge(stream(response(200, {}, { 'apns-id': 'apple-id' })));
    assert.deepEqual(delivered, { kind: 'outcome', outcome: { type: 'delivered', apnsId: 'apple-id' } });
    assert.deepEqual(reported.requests, ['410:Unregistered', '200:Success']);
  });
});
