import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { PushResult } from '../../src/providers/provider.js';
import { startHarness } from './webpush-harness.js';
import type { WebPushHarness } from './webpush-harness.js';
import { waitFor } from '../helpers/wait.js';

describe('Web Push endpoint guard (SSRF)', () => {
  let h: WebPushHarness;
  after(async () => {
    await h.close();
  });

  it('refuses private, loopback, link-local, CGNAT, unique-local and mapped addresses, and names resolving to them', async () => {
    h = await startHarness({ webpush: { allowPrivateEndpoints: false } });
    const real = h.mock.subscribe();
    const port = new URL(h.mock.origin).port;
    const keys = real.json.keys;
    const endpoints = [
      real.json.endpoint, // https://127.0.0.1:<port>/push/<id>
      'https://10.1.2.3/push/x',
      'https://172.16.0.1/push/x',
      'https://192.168.1.1/push/x',
      'https://169.254.169.254/latest/meta-data',
      'https://100.64.0.1/push/x',
      'https://0.0.0.0/push/x',
      'https://[::1]/push/x',
      'https://[fc00::1]/push/x',
      'https://[fe80::1]/push/x',
      'https://[::ffff:127.0.0.1]/push/x',
      'https://[::ffff:a9fe:a9fe]/push/x',
      'http://push.example.com/push/x',
    ];
    const results = await h.send(endpoints.map((endpoint) => ({ endpoint, keys })), { data: 'x' });
    for (const [index, result] of results.entries()) {
      assert.equal(result.outcome.type, 'rejected', endpoints[index]);
      assert.ok(result.outcome.type === 'rejected' && result.outcome.reason === 'ForbiddenEndpoint' && result.outcome.invalidToken, `${endpoints[index]}: ${JSON.stringify(result.outcome)}`);
    }
    // A host name is judged on what it resolves to, at connect time.
    const [byName] = await h.send([{ endpoint: `https://localhost:${port}/push/${real.id}`, keys }], { data: 'x' });
    assert.equal(byName?.outcome.type, 'rejected');
    assert.ok(byName?.outcome.type === 'rejected' && byName.outcome.reason === 'ForbiddenEndpoint' && /localhost resolves to (127\.0\.0\.1|::1)/.test(byName.outcome.detail ?? ''), JSON.stringify(byName?.outcome));
    assert.equal(h.mock.attempts.size, 0, 'nothing reached the push service');
    await h.close();
  });

  it('bounds the requests in flight per app across batches, and sends every token', async () => {
    h = await startHarness({ webpush: { maxInFlight: 4 } });
    h.mock.latencyMs = 30;
    const subs = Array.from({ length: 40 }, () => h.mock.subscribe());
    const [first, second] = await Promise.all([h.send(subs.slice(0, 20), { data: 'a' }), h.send(subs.slice(20), { data: 'b' })]);
    assert.ok([...(first ?? []), ...(second ?? [])].every((r) => r.outcome.type === 'delivered'));
    assert.equal(h.mock.received.length, 40);
    assert.equal(h.mock.inFlightPeak, 4);
    await h.close();
  });

  it('abort: requests in flight are still reported, unsent tokens come back as retry Aborted', async () => {
    h = await startHarness({ webpush: { maxInFlight: 2 } });
    h.mock.latencyMs = 300;
    const subs = Array.from({ length: 10 }, () => h.mock.subscribe());
    const controller = new AbortController();
    const sending = h.send(subs, { data: 'x' }, {}, controller.signal);
    await waitFor(() => h.mock.inFlight === 2, { what: 'two requests at the push service' });
    controller.abort();
    const results: PushResult[] = await sending;
    assert.equal(results.length, 10);
    const delivered = results.filter((r) => r.outcome.type === 'delivered');
    const aborted = results.filter((r) => r.outcome.type === 'retry' && r.outcome.reason === 'Aborted');
    assert.equal(delivered.length, 2);
    assert.equal(aborted.length, 8);
    assert.equal(h.mock.received.length, 2);
    assert.deepEqual(results.map((r) => r.index), [...Array(10).keys()]);
  });
});
