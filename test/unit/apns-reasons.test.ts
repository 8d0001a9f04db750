import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { classifyResponse, reasonLabel } from '../../src/providers/apns/reasons.js';
import { parseRetryAfter } from '../../src/providers/shared/retry-after.js';
import type { AnswerOutcome } from '../../src/providers/apns/reasons.js';

const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);
const answer = (status: number, body?: Record<string, unknown>, headers: Record<string, string> = {}): AnswerOutcome =>
  classifyResponse({ status, headers, body: body ? JSON.stringify(body) : '' }, NOW);

describe('APNs reason table', () => {
  it('200 is delivered with Apple\'s apns-id', () => {
    assert.deepEqual(answer(200, undefined, { 'apns-id': 'A-1' }), { type: 'delivered', apnsId: 'A-1' });
  });

  it('410 Unregistered and ExpiredToken are invalid tokens with the timestamp', () => {
    assert.deepEqual(answer(410, { reason: 'Unregistered', timestamp: 1_700_000_000_000 }), { type: 'rejected', reason: 'Unregistered', status: 410, invalidToken: true, timestamp: 1_700_000_000_000 });
    assert.deepEqual(answer(410, { reason: 'ExpiredToken', timestamp: '1700000000000' }), { type: 'rejected', reason: 'ExpiredToken', status: 410, invalidToken: true, timestamp: 1_700_000_000_000 });
    assert.deepEqual(answer(410), { type: 'rejected', reason: 'Unregistered', status: 410, invalidToken: true });
  });

  it('400 BadDeviceToken and DeviceTokenNotForTopic are invalid tokens; other 4xx are plain rejections', () => {
    for (const reason of ['BadDeviceToken', 'DeviceTokenNotForTopic']) {
      assert.deepEqual(answer(400, { reason }), { type: 'rejected', reason, status: 400, invalidToken: true });
    }
    for (const [status, reason] of [[400, 'BadTopic'], [400, 'TopicDisallowed'], [400, 'PayloadEmpty'], [404, 'BadPath'], [405, 'MethodNotAllowed'], [413, 'PayloadTooLarge']] as const) {
      assert.deepEqual(answer(status, { reason }), { type: 'rejected', reason, status, invalidToken: false });
    }
  });

  it('403 is a credential failure, except ExpiredProviderToken which asks for a renewed JWT', () => {
    for (const reason of ['BadCertificate', 'BadCertificateEnvironment', 'Forbidden', 'InvalidProviderToken', 'MissingProviderToken', 'UnrelatedKeyIdInToken']) {
      assert.deepEqual(answer(403, { reason }), { type: 'credentials', reason, status: 403 });
    }
    assert.deepEqual(answer(403, { reason: 'ExpiredProviderToken' }), { type: 'expired-provider-token', status: 403 });
  });

  it('429, 500 and 503 are retry outcomes with the retry-after delay; Shutdown retires the connection', () => {
    assert.deepEqual(answer(429, { reason: 'TooManyRequests' }, { 'retry-after': '2' }), { type: 'retry', reason: 'TooManyRequests', status: 429, retryAfterMs: 2_000, retireSession: false });
    assert.deepEqual(answer(429, { reason: 'TooManyProviderTokenUpdates' }), { type: 'retry', reason: 'TooManyProviderTokenUpdates', status: 429, retireSession: false });
    assert.deepEqual(answer(500, { reason: 'InternalServerError' }), { type: 'retry', reason: 'InternalServerError', status: 500, retireSession: false });
    assert.deepEqual(answer(503, { reason: 'Shutdown' }, { 'retry-after': '5' }), { type: 'retry', reason: 'Shutdown', status: 503, retryAfterMs: 5_000, retireSession: true });
    assert.deepEqual(answer(502), { type: 'retry', reason: 'Status502', status: 502, retireSession: false });
  });

  it('keeps the reason of a 500 and survives bodies that are not JSON', () => {
    assert.equal((answer(500, { reason: 'InternalServerError' }) as { reason: string }).reason, 'InternalServerError');
    assert.deepEqual(classifyResponse({ status: 500, headers: {}, body: '<html>oops' }, NOW), { type: 'retry', reason: 'InternalServerError', status: 500, retireSession: false });
    assert.deepEqual(classifyResponse({ status: 400, headers: {}, body: '"BadTopic"' }, NOW), { type: 'rejected', reason: 'Status400', status: 400, invalidToken: false });
  });

  it('IdleTimeout is about the connection: retry on a fresh one', () => {
    assert.deepEqual(answer(400, { reason: 'IdleTimeout' }), { type: 'retry', reason: 'IdleTimeout', status: 400, retireSession: true });
  });

  it('parses retry-after in seconds or as an HTTP date', () => {
    assert.equal(parseRetryAfter('0', NOW), 0);
    assert.equal(parseRetryAfter(' 120 ', NOW), 120_000);
    assert.equal(parseRetryAfter(new Date(NOW + 30_000).toUTCString(), NOW), 30_000);
    assert.equal(parseRetryAfter(new Date(NOW - 30_000).toUTCString(), NOW), 0);
    assert.equal(parseRetryAfter('soon', NOW), undefined);
    assert.equal(parseRetryAfter(undefined, NOW), undefined);
  });

  it('bounds metric labels to Apple\'s documented reasons', () => {
    assert.equal(reasonLabel('BadDeviceToken'), 'BadDeviceToken');
    assert.equal(reasonLabel('SomethingNew'), 'Other');
    assert.equal(reasonLabel('Status502'), 'Other');
  });
});
