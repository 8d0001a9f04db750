import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { signedRequest } from '../../src/client/signed-request.js';
import { PipelineHarness, deviceToken, pushApp } from '../integration/pipeline-harness.js';
import type { PipelineMode } from '../integration/pipeline-harness.js';
import { parsePrometheusText } from '../helpers/prometheus-text.js';
import { waitFor } from '../helpers/wait.js';

const credentials = { app: pushApp.id, key: pushApp.key, secret: pushApp.secret };

// The built daemon, embedded and with Redis: devices registered over HTTP, and pruned when APNs refuses them.
for (const mode of ['memory', 'redis'] as PipelineMode[]) {
  describe(`devices in the daemon (${mode})`, () => {
    let h: PipelineHarness;
    before(async () => {
      h = await PipelineHarness.start(mode);
    });
    after(() => h.stop());

    const call = (method: 'GET' | 'PUT' | 'DELETE', path: string, body?: unknown) => signedRequest(h.herald.baseUrl, credentials, method, path, body === undefined ? {} : { body });

    async function removedCount(reason: string): Promise<number> {
      const text = await (await fetch(`http://127.0.0.1:${h.herald.metricsPort}/metrics`)).text();
      const sample = parsePrometheusText(text).samples.find((s) => s.name === 'herald_devices_removed_total' && s.labels.app === pushApp.id && s.labels.reason === reason);
      return sample?.value ?? 0;
    }

    it('registers, lists and removes devices over HTTP', async () => {
      const token = deviceToken();
      assert.equal((await call('PUT', `/devices/${token}`, { userId: 'ann', platform: 'apns', interests: ['news'] })).status, 201);
      assert.equal((await call('PUT', `/devices/${token}`, { userId: 'ann', platform: 'apns', interests: ['news', 'deals'] })).status, 200);
      const listed = (await call('GET', '/users/ann/devices')).body as { devices: Array<{ token: string; interests: string[] }> };
      assert.deepEqual(listed.devices.map((d) => [d.token, d.interests]), [[token, ['news', 'deals']]]);
      assert.equal((await call('DELETE', '/users/ann/devices')).status, 204);
      assert.equal((await call('GET', `/devices/${token}`)).status, 404);
    });

    it('removes a device APNs answers 410 Unregistered, and counts it', async () => {
      const [gone, kept] = [deviceToken(), deviceToken()];
      h.mock.script({ token: gone, reply: { status: 410, reason: 'Unregistered' } });
      for (const token of [gone, kept]) assert.equal((await call('PUT', `/devices/${token}`, { userId: 'bob', platform: 'apns' })).status, 201);
      const before = await removedCount('Unregistered');
      const sent = await h.api('POST', '/notifications', { v: 1, app: pushApp.id, apns: { tokens: [gone, kept], payload: { aps: { alert: 'hi' } } } });
      assert.equal(sent.status, 202);
      await h.finished(String(sent.body.id));
      await waitFor(async () => (await call('GET', `/devices/${gone}`)).status === 404, { what: 'the refused device to be removed' });
      assert.equal((await call('GET', `/devices/${kept}`)).status, 200);
      assert.equal(await removedCount('Unregistered'), before + 1);
    });
  });
}
