import assert from 'node:assert/strict';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startHeraldProcess } from '../helpers/herald-process.js';
import type { HeraldProcess } from '../helpers/herald-process.js';
import { answerProblem, send, sendRaw, signedPath } from './fuzz-http.js';
import type { FuzzApp } from './fuzz-http.js';
import { leakedSecrets } from './fuzz-secrets.js';

// Targeted hostile cases at the HTTP boundary: replayed and misdirected signatures,
// oversized headers, and slow clients that try to hold sockets open (slowloris).

const app: FuzzApp = { id: 'edge', key: 'edge-key', secret: 'sEcReT-edge-4e5f6a7b8c9d0e1f' };
const other: FuzzApp = { id: 'other', key: 'other-key', secret: 'sEcReT-other-a1b2c3d4e5f6a7b8' };
const secrets = [app.secret, other.secret];
const HEADERS_TIMEOUT_MS = 1_000;
const REQUEST_TIMEOUT_MS = 2_000;

let herald: HeraldProcess;
before(async () => {
  herald = await startHeraldProcess({
    config: {
      server: { headersTimeoutMs: HEADERS_TIMEOUT_MS, requestTimeoutMs: REQUEST_TIMEOUT_MS },
      log: { level: 'debug' },
      apps: [app, other],
    },
  });
});
after(async () => {
  assert.equal(await herald.stop(), 0);
  assert.deepEqual(leakedSecrets(herald.lines.join('\n'), secrets), [], 'no secret in any log line');
});

const event = JSON.stringify({ name: 'edge-event', channel: 'edge-channel', data: '{}' });
const json = { 'content-type': 'application/json' };
const now = () => Math.floor(Date.now() / 1000);

async function publish(path: string, body = event) {
  const answer = await send(herald.httpPort, { method: 'POST', path, body, headers: json });
  assert.equal(answerProblem({ method: 'POST', path }, answer, secrets), undefined);
  return { status: answer.status, error: answer.status >= 400 ? String((JSON.parse(answer.text) as { error: string }).error) : '' };
}

describe('signed requests', () => {
  it('a request signed now is accepted, and the same request replayed within the window too (Pusher has no nonce)', async () => {
    const path = signedPath(app, 'POST', `/apps/${app.id}/events`, event, {});
    assert.equal((await publish(path)).status, 200);
    assert.equal((await publish(path)).status, 200);
  });

  it('replayed outside the 600 s window, or stamped over a minute ahead, is refused with 401 naming the timestamp', async () => {
    for (const skew of [-600, -601, -3600, -1_000_000_000]) {
      const answer = await publish(signedPath(app, 'POST', `/apps/${app.id}/events`, event, {}, now() + skew));
      assert.equal(answer.status, 401, `skew ${skew}`);
      assert.match(answer.error, /Timestamp expired/);
    }
    for (const skew of [90, 600, 601]) {
      const answer = await publish(signedPath(app, 'POST', `/apps/${app.id}/events`, event, {}, now() + skew));
      assert.equal(answer.status, 401, `skew ${skew}`);
      assert.match(answer.error, /Timestamp in the future/);
    }
    assert.equal((await publish(signedPath(app, 'POST', `/apps/${app.id}/events`, event, {}, now() - 590))).status, 200, 'inside the window');
  });

  it("another app's signature is refused: its key, its secret with our key, its path, or a body changed after signing", async () => {
    const cases = {
      'key and secret of the other app': signedPath(other, 'POST', `/apps/${app.id}/events`, event, {}),
      'our key, the other secret': signedPath({ ...app, secret: other.secret }, 'POST', `/apps/${app.id}/events`, event, {}),
      'signed for the other app path': signedPath(app, 'POST', `/apps/${other.id}/events`, event, {}).replace(`/apps/${other.id}/`, `/apps/${app.id}/`),
    };
    for (const [what, path] of Object.entries(cases)) {
      const answer = await publish(path);
      assert.equal(answer.status, 401, what);
      assert.match(answer.error, /auth_key|signature/, what);
    }
    const tampered = await publish(signedPath(app, 'POST', `/apps/${app.id}/events`, event, {}), event.replace('edge-event', 'evil-event'));
    assert.equal(tampered.status, 401);
    assert.match(tampered.error, /body_md5/);
  });
});

describe('oversized headers', () => {
  it('a 20 KB header, or 300 headers, get 431 with a JSON error; the server keeps serving', async () => {
    // Raw: the server answers and closes before the client finishes sending, which an
    // HTTP client library reports as a hang-up instead of showing the answer.
    const headers = {
      'one 20 KB header': `X-Big: ${'a'.repeat(20_000)}\r\n`,
      '300 headers': Array.from({ length: 300 }, (_, i) => `X-H${i}: ${'b'.repeat(60)}\r\n`).join(''),
    };
    for (const [what, lines] of Object.entries(headers)) {
      const answer = await sendRaw(herald.httpPort, Buffer.from(`GET /health HTTP/1.1\r\nHost: x\r\n${lines}\r\n`));
      assert.equal(answer.status, 431, `${what}: ${answer.text.slice(0, 100)}`);
      assert.match(answer.text, /content-type: application\/json\r\n\r\n\{"error":/i, what);
    }
    assert.equal((await send(herald.httpPort, { method: 'GET', path: '/health' })).status, 200);
  });
});

interface SlowClient {
  socket: Socket;
  answer: Promise<string>;
}

/** A client that connects, then trickles `trickle` once every 100 ms — or sends nothing at all. */
function slowClient(port: number, prelude: string, trickle: string | undefined): SlowClient {
  const socket = connect(port, '127.0.0.1');
  let received = '';
  let timer: NodeJS.Timeout | undefined;
  socket.on('connect', () => {
    socket.write(prelude);
    if (trickle !== undefined) timer = setInterval(() => socket.writable && socket.write(trickle), 100);
  });
  socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
  socket.on('error', () => {});
  const answer = new Promise<string>((resolve, reject) => {
    const guard = setTimeout(() => reject(new Error(`slow client still open after 20 s; got ${JSON.stringify(received)}`)), 20_000);
    socket.on('close', () => {
      clearInterval(timer);
      clearTimeout(guard);
      resolve(received);
    });
  });
  return { socket, answer };
}

describe('slow HTTP clients (slowloris)', () => {
  it('idle, slow-header and slow-body connections are answered 408 and closed, while normal requests are served', async () => {
    const port = herald.httpPort;
    const kinds = {
      idle: () => slowClient(port, '', undefined),
      'slow headers': () => slowClient(port, 'GET /health HTTP/1.1\r\nHost: x\r\n', 'X'),
      // Signed, so it passes the request-line check and its body is read (and times out).
      'slow body': () => slowClient(port, `POST ${signedPath(app, 'POST', `/apps/${app.id}/events`, ' '.repeat(100_000), {})} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n`, ' '),
    };
    const clients = Object.entries(kinds).flatMap(([kind, open]) => Array.from({ length: 100 }, () => ({ kind, client: open() })));
    const during = await send(port, { method: 'POST', path: signedPath(app, 'POST', `/apps/${app.id}/events`, event, {}), body: event, headers: json });
    assert.equal(during.status, 200, 'served while 300 slow clients hold connections');

    const outcomes = new Map<string, number>();
    for (const { kind, client } of clients) {
      const answer = await client.answer;
      const status = /^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 'closed';
      outcomes.set(`${kind} ${status}`, (outcomes.get(`${kind} ${status}`) ?? 0) + 1);
      if (status !== 'closed') assert.match(answer, /\r\n\r\n\{"error":/, `${kind}: a JSON error body`);
    }
    console.log(`slow clients: ${JSON.stringify(Object.fromEntries(outcomes))}`);
    assert.equal(outcomes.get('idle 408'), 100);
    assert.equal(outcomes.get('slow headers 408'), 100);
    assert.equal(outcomes.get('slow body 408'), 100);
    assert.equal(herald.child.exitCode, null);
    assert.equal((await send(port, { method: 'GET', path: '/health' })).status, 200);
  });
});
