import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCheck } from '../../src/cli/check.js';
import { FcmMock } from '../fixtures/fcm/fcm-mock.js';
import { makeServiceAccount } from '../fixtures/fcm/service-account-fixture.js';
import { testCredentials } from '../helpers/certs.js';

describe('herald check with FCM', () => {
  let mock: FcmMock;
  let file: string;
  before(async () => {
    const creds = await testCredentials();
    mock = await FcmMock.start({ credentials: creds });
    const account = makeServiceAccount(mock.tokenUri);
    mock.addAccount({ clientEmail: account.clientEmail, projectId: account.projectId, publicKey: account.publicKey });
    file = join(mkdtempSync(join(tmpdir(), 'herald-fcm-check-')), 'herald.json');
    writeFileSync(file, JSON.stringify({ apps: [{ id: 'shop', key: 'shop-key', secret: 'shop-secret-1', fcm: { serviceAccountFile: account.path, endpoint: { host: '127.0.0.1', port: mock.port, ca: creds.caCertPath } } }] }));
  });
  after(() => mock.close());

  it('exits 0 when the token endpoint grants an access token for the service account', async () => {
    assert.equal(await runCheck({ config: file }), 0);
    assert.deepEqual(mock.grants, [{ ok: true }]);
  });

  it('exits 1 when Google refuses the service account (invalid_grant)', async () => {
    mock.refuseTokenRequests('invalid_grant');
    assert.equal(await runCheck({ config: file }), 1);
    mock.refuseTokenRequests(undefined);
  });
});
