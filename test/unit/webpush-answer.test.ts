import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { judgeAnswer, parseRetryAfter } from '../../src/providers/webpush/answer.js';
import { checkEndpointUrl, isForbiddenAddress } from '../../src/providers/webpush/endpoint-guard.js';
import { openSubscription } from '../../src/providers/webpush/subscription.js';

const response = (status: number, extra: { location?: string; retryAfter?: string; body?: string } = {}) =>
  judgeAnswer({ kind: 'response', status, location: extra.location, retryAfter: extra.retryAfter, body: extra.body ?? '' }, Date.UTC(2026, 11, 5));

describe('Web Push answers', () => {
  it('maps statuses', () => {
    assert.deepEqual(response(201, { location: 'https://p/m/1' }), { type: 'delivered', messageId: 'https://p/m/1' });
    assert.deepEqual(response(202), { type: 'delivered', messageId: undefined });
    assert.deepEqual(response(404, { body: 'no such\nsubscription' }), { type: 'rejected', reason: 'NotFound', invalidToken: true, status: 404, detail: 'no such subscription' });
    assert.deepEqual(response(410), { type: 'rejected', reason: 'Gone', invalidToken: true, status: 410 });
    assert.deepEqual(response(301), { type: 'rejected', reason: 'Redirected', invalidToken: false, status: 301, detail: 'push services do not redirect; redirects are not followed' });
    assert.deepEqual(response(503, { retryAfter: '7' }), { type: 'retry', reason: 'ServiceUnavailable', status: 503, unconfirmed: false, retryAfterMs: 7000 });
    assert.deepEqual(response(500), { type: 'retry', reason: 'ServerError', status: 500, unconfirmed: false });
    assert.deepEqual(response(403), { type: 'credentials', reason: 'VapidRefused', status: 403 });
    assert.deepEqual(judgeAnswer({ kind: 'failed', cause: 'timeout', sent: true, detail: '' }, 0), { type: 'retry', reason: 'Timeout', unconfirmed: true });
  });

  it('reads Retry-After as seconds or an HTTP date, capped at an hour', () => {
    const now = Date.UTC(2026, 11, 5, 12);
    assert.equal(parseRetryAfter('120', now), 120_000);
    assert.equal(parseRetryAfter(new Date(now + 30_000).toUTCString(), now), 30_000);
    assert.equal(parseRetryAfter('999999', now), 3_600_000);
    assert.equal(parseRetryAfter('soon', now), undefined);
    assert.equal(parseRetryAfter(undefined, now), undefined);
  });
});

describe('Web Push endpoint guard', () => {
  it('knows the forbidden ranges, v4 and v6, mapped in both spellings', () => {
    for (const ip of ['127.0.0.1', '10.0.0.1', '172.31.255.255', '192.168.0.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '::1', '::', 'fc00::1', 'fd12::1', 'fe80::1', '::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:a00:1', '64:ff9b::a00:1']) {
      assert.equal(isForbiddenAddress(ip), true, ip);
    }
    for (const ip of ['8.8.8.8', '142.250.1.1', '2a00:1450:4001::1', '::ffff:808:808', '172.32.0.1', '100.128.0.1']) assert.equal(isForbiddenAddress(ip), false, ip);
  });

  it('judges the URL: https only unless private endpoints are allowed', () => {
    assert.equal(checkEndpointUrl(new URL('https://fcm.googleapis.com/fcm/send/x'), false).ok, true);
    assert.equal(checkEndpointUrl(new URL('http://fcm.googleapis.com/fcm/send/x'), false).ok, false);
    assert.equal(checkEndpointUrl(new URL('http://127.0.0.1:8080/x'), true).ok, true);
    assert.equal(checkEndpointUrl(new URL('ftp://fcm.googleapis.com/x'), true).ok, false);
    assert.equal(checkEndpointUrl(new URL('https://[::ffff:10.0.0.1]/x'), false).ok, false);
  });

  it('checks subscriptions with a path', () => {
    assert.deepEqual(openSubscription({ endpoint: 'not a url', keys: {} }), { ok: false, path: 'endpoint', message: 'must be a URL' });
    assert.deepEqual(openSubscription({ endpoint: 'https://u:p@push.example/x', keys: {} }), { ok: false, path: 'endpoint', message: 'must not carry credentials' });
    assert.deepEqual(openSubscription({ endpoint: 'https://push.example/x', keys: { p256dh: 'a+b', auth: 'x' } }), { ok: false, path: 'keys.p256dh', message: 'must be base64url' });
    assert.deepEqual(openSubscription(null), { ok: false, path: '', message: 'must be an object {endpoint, keys: {p256dh, auth}}' });
  });
});
