import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import { redactConfig } from '../../src/config/redact.js';
import { isHeraldError } from '../../src/errors.js';
import { makeServiceAccount } from '../fixtures/fcm/service-account-fixture.js';

const dir = mkdtempSync(join(tmpdir(), 'herald-fcm-config-'));
const account = makeServiceAccount('https://oauth2.googleapis.com/token', { projectId: 'shop-prod' });

function configWith(fcm: Record<string, unknown>): string {
  const file = join(dir, `herald-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify({ apps: [{ id: 'shop', key: 'shop-key', secret: 'shop-secret-1', fcm }] }));
  return file;
}

function loadError(file: string, env: NodeJS.ProcessEnv = {}): string {
  try {
    loadConfig({ file, env });
  } catch (err) {
    assert.ok(isHeraldError(err, 'HERALD_CONFIG_INVALID'), String(err));
    return err.message;
  }
  assert.fail('the configuration loaded');
}

describe('FCM configuration', () => {
  it('reads the service account from a file, the JSON itself, or an environment variable (and its _FILE form)', () => {
    const fromFile = loadConfig({ file: configWith({ serviceAccountFile: account.path }), env: {} }).apps[0]?.fcm;
    assert.equal(fromFile?.serviceAccount.projectId, 'shop-prod');
    assert.equal(fromFile?.serviceAccount.clientEmail, account.clientEmail);
    assert.equal(fromFile?.maxConcurrentStreams, 500);
    const inline = loadConfig({ file: configWith({ serviceAccountJson: account.json }), env: {} }).apps[0]?.fcm;
    assert.equal(inline?.serviceAccount.tokenUri, 'https://oauth2.googleapis.com/token');
    const env = loadConfig({ file: configWith({ serviceAccountEnv: 'SHOP_FCM_KEY' }), env: { SHOP_FCM_KEY: account.json } }).apps[0]?.fcm;
    assert.equal(env?.serviceAccount.projectId, 'shop-prod');
    const envFile = loadConfig({ file: configWith({ serviceAccountEnv: 'SHOP_FCM_KEY' }), env: { SHOP_FCM_KEY_FILE: account.path } }).apps[0]?.fcm;
    assert.equal(envFile?.serviceAccount.projectId, 'shop-prod');
  });

  it('the private key never appears in the redacted configuration', () => {
    const { config } = { config: loadConfig({ file: configWith({ serviceAccountFile: account.path }), env: {} }) };
    const text = JSON.stringify(redactConfig(config));
    assert.doesNotMatch(text, /BEGIN PRIVATE KEY/);
    assert.match(text, /shop-prod/);
  });

  it('a bad service-account file stops start-up naming the key, the file and the field', () => {
    const broken = JSON.parse(account.json) as Record<string, unknown>;
    const cases: Array<[Record<string, unknown> | string, RegExp]> = [
      [{ ...broken, private_key: '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n' }, /private_key: must be an RSA private key in PEM form/],
      [{ ...broken, type: 'authorized_user' }, /type: must be 'service_account'/],
      [{ ...broken, client_email: undefined }, /client_email: /],
      [{ ...broken, token_uri: 'http://oauth2.googleapis.com/token' }, /token_uri: must be an https URL/],
      ['{"type": "service_account",', /not JSON/],
    ];
    for (const [content, problem] of cases) {
      const file = join(dir, `bad-${Math.random().toString(36).slice(2)}.json`);
      writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
      const message = loadError(configWith({ serviceAccountFile: file }));
      assert.ok(message.includes(`apps[0].fcm.serviceAccountFile: ${resolve(file)}: `), message);
      assert.match(message, problem);
      assert.doesNotMatch(message, /PRIVATE KEY|AAAA/, 'the key is never echoed');
    }
  });

  it('an unreadable file, an unset variable, and no or two sources are named', () => {
    assert.match(loadError(configWith({ serviceAccountFile: join(dir, 'missing.json') })), /apps\[0\]\.fcm\.serviceAccountFile: .*missing\.json: cannot read: ENOENT/);
    assert.match(loadError(configWith({ serviceAccountEnv: 'NOT_SET_ANYWHERE' })), /apps\[0\]\.fcm\.serviceAccountEnv: NOT_SET_ANYWHERE: neither NOT_SET_ANYWHERE nor NOT_SET_ANYWHERE_FILE is set/);
    assert.match(loadError(configWith({})), /apps\[0\]\.fcm: needs one of serviceAccountFile, serviceAccountJson, serviceAccountEnv/);
    assert.match(loadError(configWith({ serviceAccountFile: account.path, serviceAccountJson: account.json })), /apps\[0\]\.fcm\.serviceAccountJson: give one of/);
  });
});
