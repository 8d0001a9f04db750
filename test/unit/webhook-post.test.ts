import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { postWebhook } from '../../src/webhooks/webhook-post.js';
import type { WebhookJob } from '../../src/webhooks/webhook-job.js';

describe('webhook POST', () => {
  const received: Array<{ url: string | undefined; authorization: string | undefined }> = [];
  const server = createServer((req, res) => {
    received.push({ url: req.url, authorization: req.headers.authorization });
    req.resume();
    req.on('end', () => res.end('ok'));
  });
  let port = 0;

  before(async () => {
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as AddressInfo).port;
  });
  after(() => server.close());

  const job = (url: string): WebhookJob => ({ v: 1, app: 'a', url, body: '{"time_ms":1,"events":[]}', key: 'k', signature: 's', createdAt: 1, events: [] });

  it('delivers to a URL with user:password as Basic authorization (fetch refuses such URLs as they are)', async () => {
    const outcome = await postWebhook(job(`http://hook%20user:p%40ss@127.0.0.1:${port}/hook?x=1`), {}, 5_000, new AbortController().signal);
    assert.deepEqual(outcome, { ok: true, status: 200 });
    const last = received.at(-1);
    assert.equal(last?.url, '/hook?x=1');
    assert.equal(last?.authorization, `Basic ${Buffer.from('hook user:p@ss').toString('base64')}`);
  });

  it('keeps a configured authorization header over the URL credentials', async () => {
    const outcome = await postWebhook(job(`http://u:p@127.0.0.1:${port}/`), { Authorization: 'Bearer t' }, 5_000, new AbortController().signal);
    assert.equal(outcome.ok, true);
    assert.equal(received.at(-1)?.authorization, 'Bearer t');
  });

  it('sends no authorization for a URL without credentials', async () => {
    await postWebhook(job(`http://127.0.0.1:${port}/plain`), {}, 5_000, new AbortController().signal);
    assert.equal(received.at(-1)?.authorization, undefined);
  });
});
