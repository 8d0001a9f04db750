import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { signQuery } from '../../src/lib/pusher-signing.js';
import { startHeraldProcess } from '../helpers/herald-process.js';
import type { HeraldProcess } from '../helpers/herald-process.js';
import { gatewayTestConfig, testApps } from '../helpers/pusher-clients.js';
import { waitFor } from '../helpers/wait.js';

const { main } = testApps;
/** Below the notification route's 8 MB limit, so only authentication can refuse it early. */
const DECLARED_BYTES = 6.5 * 1024 * 1024;
const FIRST_PART_BYTES = 256 * 1024;

interface EarlyAnswer {
  head: string;
  /** Body bytes the client had written when the answer arrived. */
  bytesSent: number;
  /** Whether the server closed the connection before the body was complete. */
  closed: boolean;
}

/**
 * Declares a 6.5 MB body, sends its first 256 KB and waits: a server that reads the body
 * before authenticating never answers, one that authenticates first answers and hangs up.
 */
async function postPartially(port: number, pathAndQuery: string): Promise<EarlyAnswer> {
  const socket = connect(port, '127.0.0.1');
  let response = '';
  let closed = false;
  socket.setEncoding('latin1');
  socket.on('data', (chunk: string) => (response += chunk));
  socket.on('close', () => (closed = true));
  socket.on('error', () => {}); // a reset after the early answer is the point of the test
  socket.write(`POST ${pathAndQuery} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${DECLARED_BYTES}\r\n\r\n`);
  socket.write(Buffer.alloc(FIRST_PART_BYTES, 0x20));
  try {
    await waitFor(() => response.includes('\r\n\r\n'), { timeoutMs: 5000, what: 'an answer before the body was complete' });
    await waitFor(() => closed, { timeoutMs: 5000, what: 'the server to close the connection' });
  } finally {
    socket.destroy();
  }
  return { head: response.split('\r\n\r\n', 1)[0] ?? '', bytesSent: FIRST_PART_BYTES, closed };
}

describe('HTTP API: requests are authenticated on the request line, before the body is read', () => {
  let herald: HeraldProcess;
  before(async () => {
    herald = await startHeraldProcess({ config: gatewayTestConfig() });
  });
  after(() => herald.stop());

  it('answers a large POST to an unknown app with 404 and closes the connection before the body is sent', async () => {
    const answer = await postPartially(herald.httpPort, '/apps/no-such-app/notifications');
    assert.match(answer.head, /^HTTP\/1\.1 404 /);
    assert.match(answer.head, /\r\nconnection: close/i);
    assert.ok(answer.closed && answer.bytesSent < DECLARED_BYTES);
  });

  it('answers an unsigned large POST with 401 and closes the connection before the body is sent', async () => {
    const answer = await postPartially(herald.httpPort, `/apps/${main.id}/notifications`);
    assert.match(answer.head, /^HTTP\/1\.1 401 /);
    assert.ok(answer.closed && answer.bytesSent < DECLARED_BYTES);
  });

  it('answers a large POST with a wrong signature, or a body but no body_md5, with 401 before the body is sent', async () => {
    const path = `/apps/${main.id}/notifications`;
    const forged = { ...signQuery(main, 'POST', path, '{}'), auth_signature: 'f'.repeat(64) };
    assert.match((await postPartially(herald.httpPort, `${path}?${new URLSearchParams(forged)}`)).head, /^HTTP\/1\.1 401 /);
    // Signed as a request without a body: the body that follows is covered by nothing.
    const withoutMd5 = await postPartially(herald.httpPort, `${path}?${new URLSearchParams(signQuery(main, 'POST', path, undefined))}`);
    assert.match(withoutMd5.head, /^HTTP\/1\.1 401 /);
  });

  it('still reads and checks the body of a signed request: a body that does not match body_md5 is 401, a matching one is served', async () => {
    const path = `/apps/${main.id}/events`;
    const body = JSON.stringify({ name: 'e', channel: 'c', data: '{}' });
    const query = new URLSearchParams(signQuery(main, 'POST', path, body));
    const tampered = await fetch(`${herald.baseUrl}${path}?${query}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: body.replace('"c"', '"d"') });
    assert.equal(tampered.status, 401);
    assert.match(((await tampered.json()) as { error: string }).error, /body_md5 does not match/);
    const good = await fetch(`${herald.baseUrl}${path}?${query}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    assert.equal(good.status, 200);
  });
});
