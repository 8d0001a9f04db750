import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { signedRequest } from '../../src/client/signed-request.js';
import { ApnsMock } from '../fixtures/apns/apns-mock.js';
import { testCredentials } from '../helpers/certs.js';
import type { TestCredentials } from '../helpers/certs.js';
import { startHeraldProcess } from '../helpers/herald-process.js';
import type { HeraldProcess } from '../helpers/herald-process.js';
import { metricValue } from '../helpers/pusher-clients.js';
import { waitFor } from '../helpers/wait.js';

const good = { id: 'tenant-good', key: 'tenant-good-key', secret: 'tenant-good-secret-1' };
const refused = { id: 'tenant-refused', key: 'tenant-refused-key', secret: 'tenant-refused-secret' };

interface ReadyBody {
  ready: boolean;
  checks: Record<string, { ok: boolean; detail?: string }>;
  warnings: Array<{ check: string; app?: string; detail: string }>;
}

describe('readiness does not couple tenants: one app whose APNs key Apple refuses', () => {
  let creds: TestCredentials;
  let mock: ApnsMock;
  let herald: HeraldProcess;

  before(async () => {
    creds = await testCredentials();
    mock = await ApnsMock.start({ credentials: creds, auth: 'token' });
    const endpoint = { host: '127.0.0.1', port: mock.port, ca: creds.caCertPath };
    const apns = (key: string) => ({ topic: creds.bundleId, production: false, endpoint, token: { key, keyId: creds.keyId, teamId: creds.teamId } });
    herald = await startHeraldProcess({
      config: {
        apps: [
          { ...good, apns: apns(creds.p8Path) },
          // Same key id and team, a key Apple does not know: every request is 403 InvalidProviderToken.
          { ...refused, apns: apns(creds.otherP8Path) },
        ],
      },
    });
  });
  after(async () => {
    await herald?.stop();
    await mock?.close();
  });

  const notify = (app: typeof good, id: string) =>
    signedRequest(herald.baseUrl, { app: app.id, key: app.key, secret: app.secret }, 'POST', '/notifications', {
      body: { v: 1, app: app.id, id, apns: { tokens: ['ab'.repeat(32)], payload: { aps: { alert: 'hi' } } } },
    });

  it('keeps /ready at 200 and names the refused app as a warning and in herald_apns_credentials_ok', async () => {
    assert.equal((await notify(refused, 'refused-1')).status, 202);
    await waitFor(async () => (await metricValue(herald.metricsPort, 'herald_apns_credentials_ok', { app: refused.id })) === 0 || undefined, {
      what: 'the refused app’s credential gate to close',
    });
    const res = await fetch(`${herald.baseUrl}/ready`);
    const body = (await res.json()) as ReadyBody;
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.equal(body.ready, true);
    assert.deepEqual(body.warnings, [{ check: 'apns', app: refused.id, detail: 'credentials refused by APNs: InvalidProviderToken' }]);
    assert.equal(await metricValue(herald.metricsPort, 'herald_ready'), 1);
    assert.equal(await metricValue(herald.metricsPort, 'herald_apns_credentials_ok', { app: good.id }), 1);

    // The other tenant is still served by this pod.
    assert.equal((await notify(good, 'good-1')).status, 202);
    await waitFor(() => mock.requests.some((request) => request.status === 200) || undefined, { what: 'the good app’s push to be delivered' });
  });
});
