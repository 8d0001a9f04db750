import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { Server } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { answersPing, launchRedis } from '../helpers/redis-launch.js';

/** The test helpers' redis-server start: a port taken between choosing it and binding it. */
describe('launchRedis', () => {
  let taken: Server;
  let takenPort = 0;

  before(async () => {
    // Listening, never answering PING: what another test's server on "our" port looks like.
    taken = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const address = taken.address();
    takenPort = typeof address === 'object' && address ? address.port : 0;
  });

  after(async () => {
    await new Promise<void>((resolve) => taken.close(() => resolve()));
  });

  it('starts again on new ports when the server exits because its port was taken', async () => {
    const attempts: number[] = [];
    const { child, ports } = await launchRedis(1, ([port], attempt) => {
      attempts.push(attempt);
      return ['--port', String(attempt === 1 ? takenPort : port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
    }, 'redis-server');
    try {
      assert.deepEqual(attempts, [1, 2]);
      assert.notEqual(ports[0], takenPort);
      assert.equal(await answersPing(ports[0] as number), true);
    } finally {
      await new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      });
    }
  });

  it('gives up after five exits and says what the server printed', async () => {
    let calls = 0;
    await assert.rejects(
      launchRedis(1, () => {
        calls += 1;
        return ['--port', String(takenPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
      }, 'redis-server'),
      /redis-server exited 5 times without answering; its last output: .*(Address already in use|Could not create server TCP listening socket)/s,
    );
    assert.equal(calls, 5);
  });
});
