import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync, verify } from 'node:crypto';
import { ProviderToken, TOKEN_MIN_AGE_MS, TOKEN_RENEW_AFTER_MS } from '../../src/providers/apns/provider-token.js';

const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const START = Date.UTC(2026, 0, 1, 9, 0, 0);

function tokenAt(clock: { now: number }): ProviderToken {
  return new ProviderToken({ key: privateKey, keyId: 'ABC123DEFG', teamId: 'TEAM123456', now: () => clock.now });
}

function decode(jwt: string): { header: unknown; claims: { iss: string; iat: number }; valid: boolean } {
  const [header = '', claims = '', signature = ''] = jwt.split('.');
  const json = (part: string): unknown => JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  const valid = verify('sha256', Buffer.from(`${header}.${claims}`), { key: createPublicKey(privateKey), dsaEncoding: 'ieee-p1363' }, Buffer.from(signature, 'base64url'));
  return { header: json(header), claims: json(claims) as { iss: string; iat: number }, valid };
}

describe('APNs provider token (JWT)', () => {
  it('is an ES256 JWT with kid, iss and iat, signed in raw r||s form', () => {
    const clock = { now: START };
    const jwt = tokenAt(clock).current();
    const { header, claims, valid } = decode(jwt);
    assert.deepEqual(header, { alg: 'ES256', kid: 'ABC123DEFG' });
    assert.deepEqual(claims, { iss: 'TEAM123456', iat: START / 1000 });
    assert.ok(valid);
    assert.equal(Buffer.from(jwt.split('.')[2] ?? '', 'base64url').length, 64);
  });

  it('is reused until 40 minutes, then renewed once', () => {
    const clock = { now: START };
    const token = tokenAt(clock);
    const first = token.current();
    clock.now += TOKEN_RENEW_AFTER_MS - 1;
    assert.equal(token.current(), first);
    clock.now += 1;
    const second = token.current();
    assert.notEqual(second, first);
    assert.equal(decode(second).claims.iat, (START + TOKEN_RENEW_AFTER_MS) / 1000);
    assert.equal(token.current(), second);
    assert.equal(token.generation, 2);
  });

  it('after an ExpiredProviderToken it renews only from 20 minutes on, however often it is asked', () => {
    const clock = { now: START };
    const token = tokenAt(clock);
    const first = token.current();
    clock.now += TOKEN_MIN_AGE_MS - 1;
    assert.equal(token.renewAfterRejection(first), false);
    assert.equal(token.renewAfterRejection(first), false);
    assert.equal(token.current(), first);
    clock.now += 1;
    assert.equal(token.renewAfterRejection(first), true);
    const second = token.current();
    assert.notEqual(second, first);
    // Every other request refused with the old token learns a new one exists, without another renewal.
    for (let i = 0; i < 10; i++) assert.equal(token.renewAfterRejection(first), true);
    assert.equal(token.current(), second);
    assert.equal(token.generation, 2);
    // The new token itself is not renewed again before its own 20 minutes.
    assert.equal(token.renewAfterRejection(second), false);
    assert.ok(token.age() < TOKEN_MIN_AGE_MS);
  });
});
