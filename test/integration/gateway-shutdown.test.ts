import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startHeraldProcess } from '../helpers/herald-process.js';
import type { HeraldProcess } from '../helpers/herald-process.js';
import { RawClient, connected, gatewayTestConfig, pusherClient, testApps } from '../helpers/pusher-clients.js';
import type { PusherClient } from '../helpers/pusher-clients.js';
import { waitFor } from '../helpers/wait.js';

const { main } = testApps;

describe('gateway shutdown', () => {
  it('closes sockets with 4200 on SIGTERM, and pusher-js reconnects to the next process on the same port', async () => {
    const first = await startHeraldProcess({ config: gatewayTestConfig({ activityTimeoutSeconds: 30 }) });
    const port = first.httpPort;
    let client: PusherClient | undefined;
    let second: HeraldProcess | undefined;
    try {
      client = pusherClient(port, main);
      const before = await connected(client);
      const errors: unknown[] = [];
      client.connection.bind('error', (error: unknown) => errors.push(error));
      const rawClient = await RawClient.connect(port, main.key);
      const exit = first.stop('SIGTERM');
      const closed = await rawClient.client.closed;
      assert.equal(closed.code, 4200);
      assert.equal((rawClient.client.frames.at(-1)?.data as { code: number }).code, 4200);
      assert.equal(await exit, 0);
      assert.match(JSON.stringify(errors[0]), /"code":4200/, 'pusher-js saw the 4200');
      // pusher-js reconnects at once and keeps retrying; an attempt cut off by the exiting
      // process is only abandoned after its transport timeout (15 s), hence the long wait.
      second = await startHeraldProcess({ config: { ...gatewayTestConfig({ activityTimeoutSeconds: 30 }), server: { port } } });
      const watched = client;
      await waitFor(() => watched.connection.state === 'connected' && watched.connection.socket_id !== before, {
        timeoutMs: 30_000,
        what: 'pusher-js to reconnect after 4200',
      });
    } finally {
      client?.disconnect();
      await first.stop();
      await second?.stop();
    }
  });
});
