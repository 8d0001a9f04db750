import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Pusher from 'pusher';
import { StaticAppStore } from '../../src/apps/app-store.js';
import { loadConfig } from '../../src/config/load.js';
import { signQuery } from '../../src/lib/pusher-signing.js';
import { HttpServer } from '../../src/http/server.js';
import { deadlineAfter } from '../../src/lib/deadline.js';
import { silentLogger } from '../../src/log/logger.js';
import { createMetrics } from '../../src/metrics/metrics.js';

const config = loadConfig({
  env: {},
  file: undefined,
});
const base = config.apps[0]!;
const apps = new StaticAppStore([
  { ...base, id: 'one', key: 'key-one', secret: 'secret-one' },
  { ...base, id: 'two', key: 'key-two', secret: 'secret-two' },
  { ...base, id: 'off', key: 'key-off', secret: 'secret-off', enabled: false },
]);

describe('HTTP server: signed routes, errors and limits', () => {
  const metrics = createMetrics({ defaults: false });
  const server = new HttpServer({ host: '127.0.0.1', port: 0, maxBodyBytes: 2048, apps, log: silentLogger(), metrics });
  const received: unknown[] = [];
  server.addRoutes((f, helpers) => {
    f.post('/apps/:appId/echo', async (request) => {
      received.push(request.body);
      return { app: helpers.appOf(request).id, body: request.body };
    });
    f.get('/apps/:appId/ping', async (request) => ({ app: helpers.appOf(request).id }));
    f.get('/boom', async () => {
      throw new Error('secret internals');
    });
  });
  let url = '';
  before(async () => {
    await server.start();
    url = `http://127.0.0.1:${server.port}`;
  });
  after(() => server.stop(deadlineAfter(2000)));

  const sdk = (appId: string, key: string, secret: string) =>
    new Pusher({ appId, key, secret, host: '127.0.0.1', port: String(server.port), useTLS: false });

  async function raw(method: string, path: string, query: Record<string, string>, body?: string, headers: Record<string, string> = {}) {
    const qs = new URLSearchParams(query).toString();
    const res = await fetch(`${url}${path}?${qs}`, { method, ...(body === undefined ? {} : { body }), headers: { 'content-type': 'application/json', ...headers } });
    return { status: res.status, json: (await res.json()) as { error?: string } };
  }

  it('passes a request signed by the pusher SDK to the handler with its app', async () => {
    const res = await sdk('one', 'key-one', 'secret-one').post({ path: '/echo', body: { hello: 'world' } as unknown as string }) // the SDK JSON-encodes the body itself, whatever its typings say;
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { app: 'one', body: { hello: 'world' } });
    const get = await sdk('two', 'key-two', 'secret-two').get({ path: '/ping', params: { filter_by_prefix: 'x' } });
    assert.deepEqual(await get.json(), { app: 'two' });
  });

  it("refuses another app's signature, a stale timestamp, missing params and a tampered body", async () => {
    const body = '{"a":1}';
    const good = signQuery({ key: 'key-one', secret: 'secret-one' }, 'POST', '/apps/one/echo', body);
    const before = received.length;
    const cases: Array<[Promise<{ status: number; json: { error?: string } }>, number, RegExp]> = [
      [raw('POST', '/apps/two/echo', good, body), 401, /auth_key/],
      [raw('POST', '/apps/one/echo', signQuery({ key: 'key-one', secret: 'secret-one' }, 'POST', '/apps/one/echo', body, {}, Math.floor(Date.now() / 1000) - 700), body), 401, /Timestamp expired/],
      [raw('POST', '/apps/one/echo', { ...good, auth_signature: '' }, body), 401, /required/],
      [raw('POST', '/apps/one/echo', good, '{"a":2}'), 401, /body_md5/],
      [raw('POST', '/apps/one/echo', signQuery({ key: 'key-one', secret: 'wrong-secret' }, 'POST', '/apps/one/echo', body), body), 401, /Invalid signature/],
      [raw('POST', '/apps/nope/echo', good, body), 404, /Unknown app id/],
      [raw('POST', '/apps/off/echo', signQuery({ key: 'key-off', secret: 'secret-off' }, 'POST', '/apps/off/echo', body), body), 403, /disabled/],
    ];
    for (const [pending, status, pattern] of cases) {
      const res = await pending;
      assert.equal(res.status, status, JSON.stringify(res.json));
      assert.match(res.json.error ?? '', pattern);
    }
    assert.equal(received.length, before, 'no refused request reached the handler');
  });

  it('answers bad bodies with 400, 413 and 415 as JSON errors', async () => {
    const bad = '{"a":';
    const notJson = await raw('POST', '/apps/one/echo', signQuery({ key: 'key-one', secret: 'secret-one' }, 'POST', '/apps/one/echo', bad), bad);
    assert.equal(notJson.status, 400);
    assert.match(notJson.json.error ?? '', /not valid JSON/);
    const big = JSON.stringify({ data: 'x'.repeat(4096) });
    const tooBig = await raw('POST', '/apps/one/echo', signQuery({ key: 'key-one', secret: 'secret-one' }, 'POST', '/apps/one/echo', big), big);
    assert.equal(tooBig.status, 413);
    assert.match(tooBig.json.error ?? '', /larger than the limit/);
    const text = 'hello';
    const wrongType = await raw('POST', '/apps/one/echo', signQuery({ key: 'key-one', secret: 'secret-one' }, 'POST', '/apps/one/echo', text), text, { 'content-type': 'text/plain' });
    assert.equal(wrongType.status, 415);
  });

  it('hides handler failures behind a 500 JSON error and keeps serving', async () => {
    const res = await fetch(`${url}/boom`);
    assert.equal(res.status, 500);
    assert.deepEqual(await res.json(), { error: 'Internal server error' });
    const missing = await fetch(`${url}/nowhere`);
    assert.equal(missing.status, 404);
    assert.match(((await missing.json()) as { error: string }).error, /No route/);
    const again = await sdk('one', 'key-one', 'secret-one').get({ path: '/ping', params: {} });
    assert.equal(again.status, 200);
  });

  it('counts requests by route template and status, never by raw path', async () => {
    const text = await metrics.registry.getSingleMetricAsString('herald_http_requests_total');
    assert.match(text, /route="\/apps\/:appId\/echo",method="POST",status="401"/);
    assert.doesNotMatch(text, /route="\/apps\/one/);
  });
});
