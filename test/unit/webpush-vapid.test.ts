import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { vapidKeyPair } from '../../src/lib/p256-keys.js';
import { VAPID_LIFETIME_S, VapidSigner } from '../../src/providers/webpush/vapid.js';
import { generateVapidKeys } from '../fixtures/webpush/vapid-keys.js';
import { verifyVapid } from '../fixtures/webpush/vapid-verify.js';

function signer(now: () => number): { signer: VapidSigner; publicKey: string } {
  const keys = generateVapidKeys();
  const pair = vapidKeyPair(keys.publicKey, keys.privateKey);
  assert.ok(pair.ok);
  return { signer: new VapidSigner(pair.keys, 'mailto:ops@example.com', now), publicKey: keys.publicKey };
}

describe('VAPID header', () => {
  it('is an ES256 JWT a push service accepts: aud its origin, exp within 24 h, sub, k the public key', () => {
    const { signer: s, publicKey } = signer(Date.now);
    const check = verifyVapid(s.authorization('https://push.example.net'), 'https://push.example.net', Math.floor(Date.now() / 1000));
    assert.ok(check.ok, check.ok ? '' : check.reason);
    assert.equal(check.k, publicKey);
    assert.equal(check.claims.sub, 'mailto:ops@example.com');
    assert.ok(check.claims.exp - Date.now() / 1000 <= 24 * 3600);
    assert.equal(verifyVapid(s.authorization('https://push.example.net'), 'https://other.example.net', Math.floor(Date.now() / 1000)).ok, false);
  });

  it('is signed once per origin and reused until an hour before expiry, then renewed', () => {
    let now = Date.UTC(2026, 11, 5);
    const { signer: s } = signer(() => now);
    const first = s.authorization('https://a.example');
    assert.equal(s.authorization('https://a.example'), first);
    assert.notEqual(s.authorization('https://b.example'), first);
    now += (VAPID_LIFETIME_S - 3600 - 1) * 1000;
    assert.equal(s.authorization('https://a.example'), first);
    now += 2000;
    const renewed = s.authorization('https://a.example');
    assert.notEqual(renewed, first);
    assert.ok(verifyVapid(renewed, 'https://a.example', Math.floor(now / 1000)).ok);
    s.forget('https://a.example');
    now += 1000;
    assert.notEqual(s.authorization('https://a.example'), renewed);
  });
});
