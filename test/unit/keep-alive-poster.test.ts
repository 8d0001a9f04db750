import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import { KeepAlivePoster } from '../../bench/lib/keep-alive-poster.js';

/** A TCP server that answers each request head with what `answer` writes, so a test controls every byte. */
async function rawServer(answer: (socket: Socket, request: string) => void): Promise<{ server: Server; baseUrl: string; connections: () => number }> {
  let connections = 0;
  const server = createServer((socket) => {
    connections += 1;
    let pending = '';
    socket.on('data', (chunk: Buffer) => {
      pending += chunk.toString('latin1');
      for (;;) {
        const headEnd = pending.indexOf('\r\n\r\n');
        if (headEnd < 0) return;
        const length = Number(/\r\ncontent-length: *(\d+)/i.exec(pending.slice(0, headEnd))?.[1] ?? 0);
        if (pending.length < headEnd + 4 + length) return;
        const request = pending.slice(0, headEnd + 4 + length);
        pending = pending.slice(headEnd + 4 + length);
        answer(socket, request);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { server, baseUrl: `http://127.0.0.1:${port}`, connections: () => connections };
}

// The APNs bench's signed-HTTP rows rest on this client reading every answer right.
describe('the bench keep-alive poster', () => {
  const servers: Server[] = [];
  after(() => {
    for (const server of servers) server.close();
  });

  it('sends requests one after another on one connection and reads each answer by its Content-Length, also when it arrives in pieces', async () => {
    const seen: string[] = [];
    const { server, baseUrl, connections } = await rawServer((socket, request) => {
      seen.push(request);
      const body = JSON.stringify({ id: `n${seen.length}` });
      const head = `HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`;
      // Head and body in separate writes, the body itself in two.
      socket.write(head);
      setImmediate(() => {
        socket.write(body.slice(0, 3));
        setImmediate(() => socket.write(body.slice(3)));
      });
    });
    servers.push(server);
    const poster = await KeepAlivePoster.open(baseUrl);
    try {
      assert.deepEqual(await poster.post('/apps/a/notifications?x=1', '{"v":1}'), { status: 202, body: '{"id":"n1"}' });
      assert.deepEqual(await poster.post('/apps/a/notifications?x=2', '{"v":2,"é":1}'), { status: 202, body: '{"id":"n2"}' });
    } finally {
      poster.close();
    }
    assert.equal(connections(), 1);
    assert.match(seen[0] ?? '', /^POST \/apps\/a\/notifications\?x=1 HTTP\/1\.1\r\n/);
    // The server reads bytes as latin1: decoded as UTF-8, the body is what was posted, and its length counts bytes.
    assert.match(Buffer.from(seen[1] ?? '', 'latin1').toString('utf8'), /\r\ncontent-length: 14\r\n\r\n\{"v":2,"é":1\}$/);
  });

  it('refuses an answer it cannot read (chunked) and a second request while one is under way', async () => {
    const { server, baseUrl } = await rawServer((socket) => {
      socket.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n');
    });
    servers.push(server);
    const poster = await KeepAlivePoster.open(baseUrl);
    try {
      const first = poster.post('/a', '{}');
      await assert.rejects(poster.post('/b', '{}'), /one request at a time/);
      await assert.rejects(first, /an answer this client does not read: HTTP\/1\.1 200 OK/);
      await assert.rejects(poster.post('/c', '{}'), /an answer this client does not read/, 'a connection that failed stays failed');
    } finally {
      poster.close();
    }
  });

  it('rejects the request under way when the server closes the connection', async () => {
    const { server, baseUrl } = await rawServer((socket) => socket.destroy());
    servers.push(server);
    const poster = await KeepAlivePoster.open(baseUrl);
    await assert.rejects(poster.post('/a', '{}'), /connection closed/);
    poster.close();
  });
});
