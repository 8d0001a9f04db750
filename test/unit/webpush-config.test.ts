import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { stringify } from 'yaml';
import { loadConfig } from '../../src/config/load.js';
import { redactConfig } from '../../src/config/redact.js';
import { isHeraldError } from '../../src/errors.js';
import { generateVapidKeys } from '../fixtures/webpush/vapid-keys.js';

const dir = mkdtempSync(join(tmpdir(), 'herald-webpush-config-'));
let counter = 0;

function load(webpush: unknown): ReturnType<typeof loadConfig> {
  const path = join(dir, `c${counter++}.yaml`);
  writeFileSync(path, stringify({ apps: [{ id: 'a1', key: 'k1', secret: 'secret-one', webpush }] }));
  return loadConfig({ file: path, env: {} });
}

function refused(webpush: unknown, ...patterns: RegExp[]): string {
  let message = '';
  assert.throws(
    () => load(webpush),
    (err: unknown) => {
      assert.ok(isHeraldError(err, 'HERALD_CONFIG_INVALID'), String(err));
      message = err.message;
      for (const pattern of patterns) assert.match(err.message, pattern);
      return true;
    },
  );
  return message;
}

describe('webpush configuration', () => {
  const keys = generateVapidKeys();
  const other = generateVapidKeys();

  it('takes a matching key pair and fills the defaults', () => {
    const app = load({ vapid: { subject: 'mailto:ops@example.com', ...keys } }).apps[0];
    assert.equal(app?.webpush?.allowPrivateEndpoints, false);
    assert.equal(app?.webpush?.maxInFlight, 100);
    assert.equal(app?.webpush?.defaultTtlSeconds, 2_419_200);
  });

  it('names the private key that does not belong to the public key, without echoing it', () => {
    const message = refused({ vapid: { subject: 'https://example.com/contact', publicKey: keys.publicKey, privateKey: other.privateKey } }, /apps\[0\]\.webpush\.vapid\.privateKey: does not belong to publicKey/);
    assert.ok(!message.includes(other.privateKey));
  });

  it('names a public key that is not a P-256 point, and a private key of the wrong length', () => {
    refused({ vapid: { subject: 'mailto:ops@example.com', publicKey: Buffer.alloc(65, 4).toString('base64url'), privateKey: keys.privateKey } }, /webpush\.vapid\.publicKey: is not a point on the P-256 curve/);
    refused({ vapid: { subject: 'mailto:ops@example.com', publicKey: keys.publicKey.slice(0, 40), privateKey: keys.privateKey } }, /webpush\.vapid\.publicKey: must be a 65-byte/);
    const message = refused({ vapid: { subject: 'mailto:ops@example.com', publicKey: keys.publicKey, privateKey: 'c2hvcnQ' } }, /webpush\.vapid\.privateKey: must be the 32-byte P-256 private scalar, got 5 bytes/);
    assert.ok(!message.includes('c2hvcnQ'));
  });

  it('refuses a subject that is neither mailto: nor https, and both or neither private key forms', () => {
    refused({ vapid: { subject: 'http://example.com', ...keys } }, /webpush\.vapid\.subject: must be a mailto: address or an https:\/\/ URL/);
    refused({ vapid: { subject: 'mailto:ops@example.com', publicKey: keys.publicKey } }, /webpush\.vapid\.privateKey: give privateKey or privateKeyFile/);
    refused({ vapid: { subject: 'mailto:ops@example.com', ...keys, privateKeyFile: '/x' } }, /give privateKey or privateKeyFile/);
  });

  it('keeps the private key out of the redacted form', () => {
    const config = load({ vapid: { subject: 'mailto:ops@example.com', ...keys } });
    const text = JSON.stringify(redactConfig(config));
    assert.ok(!text.includes(keys.privateKey));
    assert.ok(text.includes(keys.publicKey));
  });
});
