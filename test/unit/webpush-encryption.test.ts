import assert from 'node:assert/strict';
import { createECDH, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { MAX_BODY_BYTES, MAX_PLAINTEXT_BYTES, encryptAes128gcm } from '../../src/providers/webpush/aes128gcm.js';
import { decryptAes128gcm } from '../fixtures/webpush/decrypt.js';

/** RFC 8291 Appendix A, every value as the RFC prints it. */
const rfc = {
  plaintext: 'When I grow up, I want to be a watermelon',
  asPublic: 'BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8',
  asPrivate: 'yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw',
  uaPublic: 'BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4',
  uaPrivate: 'q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94',
  salt: 'DGv6ra1nlYgDCS1FRnbzlw',
  authSecret: 'BTBZMqHH6r4Tts7J_aSIgg',
  body:
    'DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27ml' +
    'mlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPT' +
    'pK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN',
};
const b = (text: string): Buffer => Buffer.from(text, 'base64url');

function browser(): { uaPublic: Buffer; uaPrivate: Buffer; authSecret: Buffer } {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  return { uaPublic: ecdh.getPublicKey(), uaPrivate: ecdh.getPrivateKey(), authSecret: randomBytes(16) };
}

describe('Web Push encryption (RFC 8291, aes128gcm)', () => {
  it('produces the RFC 8291 Appendix A body byte for byte', () => {
    const sender = createECDH('prime256v1');
    sender.setPrivateKey(b(rfc.asPrivate));
    assert.equal(sender.getPublicKey().toString('base64url'), rfc.asPublic);
    const body = encryptAes128gcm({ plaintext: Buffer.from(rfc.plaintext), uaPublic: b(rfc.uaPublic), authSecret: b(rfc.authSecret), salt: b(rfc.salt), senderKeys: sender });
    assert.equal(body.toString('base64url'), rfc.body);
  });

  it('the independent decryptor reads the RFC body with the browser private key', () => {
    const opened = decryptAes128gcm(b(rfc.body), b(rfc.uaPrivate), b(rfc.authSecret));
    assert.deepEqual(opened, { ok: true, plaintext: Buffer.from(rfc.plaintext) });
  });

  it('a fresh salt and sender key per message: same input, different bodies, both readable', () => {
    const ua = browser();
    const plaintext = Buffer.from('{"title":"Shipped"}');
    const first = encryptAes128gcm({ plaintext, ...ua });
    const second = encryptAes128gcm({ plaintext, ...ua });
    assert.notDeepEqual(first.subarray(0, 86), second.subarray(0, 86));
    for (const body of [first, second]) assert.deepEqual(decryptAes128gcm(body, ua.uaPrivate, ua.authSecret), { ok: true, plaintext });
  });

  it('fits the largest plaintext in 4096 bytes and refuses one byte more', () => {
    const ua = browser();
    const body = encryptAes128gcm({ plaintext: Buffer.alloc(MAX_PLAINTEXT_BYTES, 0x61), ...ua });
    assert.equal(body.length, MAX_BODY_BYTES);
    assert.equal(MAX_PLAINTEXT_BYTES, 3993);
    assert.throws(() => encryptAes128gcm({ plaintext: Buffer.alloc(MAX_PLAINTEXT_BYTES + 1), ...ua }), RangeError);
  });

  it('a wrong auth secret or a flipped bit does not decrypt', () => {
    const ua = browser();
    const body = encryptAes128gcm({ plaintext: Buffer.from('hello'), ...ua });
    assert.equal(decryptAes128gcm(body, ua.uaPrivate, randomBytes(16)).ok, false);
    const flipped = Buffer.from(body);
    flipped[flipped.length - 1] = (flipped[flipped.length - 1] as number) ^ 1;
    assert.equal(decryptAes128gcm(flipped, ua.uaPrivate, ua.authSecret).ok, false);
  });
});
