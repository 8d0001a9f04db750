import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Pusher from 'pusher';
import { startHeraldProcess } from '../helpers/herald-process.js';
import type { HeraldProcess } from '../helpers/herald-process.js';

describe('the daemon on its defaults', () => {
  let herald: HeraldProcess;
  before(async () => {
    herald = await startHeraldProcess();
  });
  after(async () => {
    await herald.stop();
  });

  it('answers /health and /ready unsigned', async () => {
    const health = await fetch(`${herald.baseUrl}/health`);
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { status: 'ok' });
    const ready = await fetch(`${herald.baseUrl}/ready`);
    assert.equal(ready.status, 200);
    assert.equal(((await ready.json()) as { ready: boolean }).ready, true);
  });

  it('serves process metrics on the metrics port', async () => {
    const res = await fetch(`http://127.0.0.1:${herald.metricsPort}/metrics`);
    assert.equal(res.status, 200);
    const text = await res.text();
    assert.match(text, /^process_cpu_user_seconds_total \d/m);
    assert.match(text, /^herald_build_info\{version="[^"]+"\} 1$/m);
  });

  it('lets a request signed by the pusher SDK reach the channels handler', async () => {
    const sdk = new Pusher({ appId: 'app-id', key: 'app-key', secret: 'app-secret', host: '127.0.0.1', port: String(herald.httpPort), useTLS: false });
    const res = await sdk.get({ path: '/channels', params: {} });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { channels: {} });
  });

  it('refuses a request signed with the wrong secret with 401 and a JSON error', async () => {
    const sdk = new Pusher({ appId: 'app-id', key: 'app-key', secret: 'not-the-secret', host: '127.0.0.1', port: String(herald.httpPort), useTLS: false });
    await assert.rejects(sdk.get({ path: '/channels', params: {} }), (err: { status?: number; body?: string }) => {
      assert.equal(err.status, 401);
      assert.match(JSON.parse(err.body ?? '{}').error, /Invalid signature/);
      return true;
    });
  });

  it('prints the demo credentials', () => {
    const banner = herald.lines.join('\n');
    assert.match(banner, /app id \/ key \/ secret app-id \/ app-key \/ app-secret/);
  });
});
