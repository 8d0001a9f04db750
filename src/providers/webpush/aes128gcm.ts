import { createCipheriv, createECDH, hkdfSync, randomBytes } from 'node:crypto';
import type { ECDH } from 'node:crypto';

/**
 * Message encryption for Web Push (RFC 8291) in the aes128gcm content coding
 * (RFC 8188): one record, an ephemeral ECDH key per message, the browser's auth
 * secret mixed in. node:crypto only.
 */

/** RFC 8291 §4: push services must accept a body of 4096 bytes, header included. */
export const MAX_BODY_BYTES = 4096;
/** salt(16) rs(4) idlen(1) keyid(65). */
export const HEADER_BYTES = 86;
const TAG_BYTES = 16;
/** The plaintext that fits: 4096 − header − tag − the padding delimiter. */
export const MAX_PLAINTEXT_BYTES = MAX_BODY_BYTES - HEADER_BYTES - TAG_BYTES - 1;
const RECORD_SIZE = 4096;

const KEY_INFO = Buffer.from('WebPush: info\0', 'latin1');
const CEK_INFO = Buffer.from('Content-Encoding: aes128gcm\0', 'latin1');
const NONCE_INFO = Buffer.from('Content-Encoding: nonce\0', 'latin1');

export interface EncryptInput {
  plaintext: Buffer;
  /** The browser's 65-byte public key (`p256dh`). */
  uaPublic: Buffer;
  /** The browser's 16-byte auth secret. */
  authSecret: Buffer;
  /** Fixed values for test vectors only; a fresh salt and key pair otherwise. */
  salt?: Buffer;
  senderKeys?: ECDH;
}

/** The request body: header and the single record. Throws on a browser key that is not on the curve (callers check first). */
export function encryptAes128gcm(input: EncryptInput): Buffer {
  const { plaintext, uaPublic, authSecret } = input;
  if (plaintext.length > MAX_PLAINTEXT_BYTES) throw new RangeError(`plaintext of ${plaintext.length} bytes exceeds ${MAX_PLAINTEXT_BYTES}`);
  const salt = input.salt ?? randomBytes(16);
  const sender = input.senderKeys ?? ephemeralKeys();
  const asPublic = sender.getPublicKey();
  const sharedSecret = sender.computeSecret(uaPublic);
  // RFC 8291 §3.3: IKM = HKDF(salt = auth, ikm = ECDH secret, info = "WebPush: info\0" || ua_public || as_public, 32).
  const ikm = Buffer.from(hkdfSync('sha256', sharedSecret, authSecret, Buffer.concat([KEY_INFO, uaPublic, asPublic]), 32));
  // RFC 8188 §2.2 / §2.3: the content key and nonce from the message salt.
  const cek = Buffer.from(hkdfSync('sha256', ikm, salt, CEK_INFO, 16));
  const nonce = Buffer.from(hkdfSync('sha256', ikm, salt, NONCE_INFO, 12));
  const cipher = createCipheriv('aes-128-gcm', cek, nonce);
  // A single (last) record: the plaintext, then the delimiter 0x02 and no padding.
  const head = cipher.update(plaintext);
  const delimiter = cipher.update(Buffer.of(0x02));
  cipher.final();
  const header = Buffer.allocUnsafe(HEADER_BYTES);
  salt.copy(header, 0);
  header.writeUInt32BE(RECORD_SIZE, 16);
  header.writeUInt8(asPublic.length, 20);
  asPublic.copy(header, 21);
  return Buffer.concat([header, head, delimiter, cipher.getAuthTag()]);
}

function ephemeralKeys(): ECDH {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  return ecdh;
}
