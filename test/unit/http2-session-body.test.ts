import assert from 'node:assert/strict';
import { createSecureServer } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Http2Session, MAX_RESPONSE_BODY_BYTES } from '../../src/providers/shared/http2-session.js';
import { testCredentials } from '../helpers/certs.js';

describe('HTTP/2 session: response bodies', () => {
  let server: ReturnType<typeof createSecureServer>;
  let session: Http2Session;

  before(async () => {
    const credentials = await testCredentials();
    server = createSecureServer({ cert: credentials.serverCert, key: credentials.serverKey });
    server.on('stream', (stream, headers) => {
      const path = String(headers[':path']);
      stream.resume();
      stream.on('end', () => {
        if (path === '/ok') {
          stream.respond({ ':status': 200 });
          stream.end();
        } else if (path === '/reason') {
          stream.respond({ ':status': 400, 'content-type': 'application/json' });
          // A multi-byte character split across two DATA frames decodes whole.
          const body = Buffer.from(JSON.stringify({ reason: 'BadDeviceToken', note: 'é' }));
          stream.write(body.subarray(0, body.length - 3));
          stream.end(body.subarray(body.length - 3));
        } else {
          // A peer that never stops: megabytes of body.
          stream.respond({ ':status': 500 });
          for (let i = 0; i < 64; i++) stream.write(Buffer.alloc(64 * 1024, 0x61));
          stream.end();
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    session = await Http2Session.open({
      host: '127.0.0.1',
      port: (server.address() as AddressInfo).port,
      tls: { ca: Buffer.from(credentials.caCert) },
      connectTimeoutMs: 10_000,
      pingIntervalMs: 60_000,
      pingTimeoutMs: 10_000,
      onRetired: () => undefined,
      onCapacity: () => undefined,
    });
  });

  after(async () => {
    session?.destroy('stopping');
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const post = (path: string) => {
    session.reserve();
    return session.request({ ':method': 'POST', ':path': path }, Buffer.from('{}'), 30_000);
  };

  it('answers a response without a body with an empty body', async () => {
    assert.deepEqual(await post('/ok').then((r) => (r.kind === 'response' ? [r.status, r.body] : r)), [200, '']);
  });

  it('decodes a body that arrives in pieces as UTF-8 text', async () => {
    const result = await post('/reason');
    assert.equal(result.kind, 'response');
    if (result.kind === 'response') assert.deepEqual(JSON.parse(result.body), { reason: 'BadDeviceToken', note: 'é' });
  });

  it('keeps at most MAX_RESPONSE_BODY_BYTES of a body however much the peer sends, and still ends the request', async () => {
    const result = await post('/flood');
    assert.equal(result.kind, 'response');
    if (result.kind === 'response') {
      assert.equal(result.status, 500);
      assert.equal(Buffer.byteLength(result.body), MAX_RESPONSE_BODY_BYTES);
    }
  });
});
