import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, it } from 'node:test';
import Pusher from 'pusher';
import { StaticAppStore } from '../../src/apps/app-store.js';
import { loadConfig } from '../../src/config/load.js';
import { signQuery } from '../../src/lib/pusher-signing.js';
import { HttpServer } from '../../src/http/server.js';
import { deadlineAfter } from '../../src/lib/deadline.js';
import { silentLogger } from '../../src/log/logger.js';
import { createMetrics } from '../../src/metrics/metrics.js';

const base = loadConfig({ env: {}, file: undefined }).apps[0]!;
const app = { ...base, id: 'one', key: 'key-one', secret: 'secret-one' };

/** A request exactly as written: fetch keeps `//` too, but this leaves no doubt about the request line. */
function rawHttp(port: number, method: string, target: string, body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method, path: target, headers: body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('HTTP paths with repeated slashes (clients that build `host/` + `/apps/…`)', () => {
  const server = new HttpServer({ host: '127.0.0.1', port: 0, maxBodyBytes: 2048, apps: new StaticAppStore([app]), log: silentLogger(), metrics: createMetrics({ defaults: false }) });
  server.addRoutes((f, helpers) => {
    f.post('/apps/:appId/events', async (request) => ({ app: helpers.appOf(request).id, body: request.body }));
    f.get('/apps/:appId/channels/:name', async (request) => ({ name: (request.params as { name: string }).name }));
    f.get('/health', async () => ({ ok: true }));
  });
  before(() => server.start());
  after(() => server.stop(deadlineAfter(2000)));

  it('routes and verifies a request the pusher SDK sends as //apps/… (it signs the merged path)', async () => {
    // host with a trailing slash: the SDK's URL becomes http://host:port//apps/one/events.
    const sdk = new Pusher({ appId: app.id, key: app.key, secret: app.secret, host: `127.0.0.1:${server.port}/`, useTLS: false });
    const res = await sdk.post({ path: '/events', body: { hello: 'world' } as unknown as string });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { app: 'one', body: { hello: 'world' } });
  });

  it('accepts a signature over the merged path and one over the path as sent; refuses one over another path', async () => {
    const body = JSON.stringify({ a: 1 });
    for (const [sent, signed] of [
      ['//apps/one/events', '/apps/one/events'],
      ['//apps/one/events', '//apps/one/events'],
      ['/apps//one///events', '/apps/one/events'],
    ] as const) {
      const query = new URLSearchParams(signQuery(app, 'POST', signed, body, {}));
      const res = await rawHttp(server.port, 'POST', `${sent}?${query}`, body);
      assert.equal(res.status, 200, `${sent} signed as ${signed}: ${res.body}`);
    }
    const query = new URLSearchParams(signQuery(app, 'POST', '/apps/one/other', body, {}));
    assert.equal((await rawHttp(server.port, 'POST', `//apps/one/events?${query}`, body)).status, 401);
  });

  it('merges slashes in the path only, not in the query string or a parameter', async () => {
    const query = new URLSearchParams(signQuery(app, 'GET', '/apps/one/channels/c', undefined, { filter: 'a//b' }));
    const res = await rawHttp(server.port, 'GET', `//apps//one/channels//c?${query}`);
    assert.equal(res.status, 200, res.body);
    assert.deepEqual(JSON.parse(res.body), { name: 'c' });
    assert.equal((await rawHttp(server.port, 'GET', '//health')).status, 200);
  });
});
