import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { generateVapidKeys } from '../fixtures/webpush/vapid-keys.js';
import { runCli } from '../helpers/herald-process.js';

/** `herald check` (the built CLI) on a configuration with one Web Push app whose private key is in `keyText`. */
async function check(keyText: string) {
  const dir = mkdtempSync(join(tmpdir(), 'herald-webpush-check-'));
  const vapid = generateVapidKeys();
  const keyFile = join(dir, 'vapid.key');
  writeFileSync(keyFile, keyText === 'good' ? `${vapid.privateKey}\n` : keyText, { mode: 0o600 });
  const file = join(dir, 'herald.json');
  writeFileSync(file, JSON.stringify({ apps: [{ id: 'browser', key: 'browser-key', secret: 'browser-secret-1', webpush: { vapid: { subject: 'mailto:ops@example.com', publicKey: vapid.publicKey, privateKeyFile: keyFile } } }] }));
  return { ...(await runCli(['check', '--config', file])), vapid, keyFile };
}

describe('herald check with Web Push', () => {
  it('opens the VAPID key file and prints the key and subject, exit 0', async () => {
    const result = await check('good');
    assert.equal(result.code, 0, result.stderr);
    assert.ok(result.stdout.includes(`webpush: VAPID key ${result.vapid.publicKey.slice(0, 12)}…, subject mailto:ops@example.com`), result.stdout);
    assert.ok(!result.stdout.includes(result.vapid.privateKey), 'the private key is never printed');
  });

  it('names the app, the key and the problem when the private key file does not hold the pair’s key, exit 1', async () => {
    const other = generateVapidKeys();
    const result = await check(other.privateKey);
    assert.equal(result.code, 1);
    assert.match(result.stdout, /webpush: NOT USABLE/);
    assert.match(result.stderr, /herald check: Web Push app browser: webpush\.vapid\.privateKeyFile: /);
    assert.ok(!result.stderr.includes(other.privateKey), 'the private key is never printed');
  });
});
