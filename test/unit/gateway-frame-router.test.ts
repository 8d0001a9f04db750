import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import type { WebSocket } from 'ws';
import type { App } from '../../src/apps/app-store.js';
import { configSchema } from '../../src/config/schema.js';
import type { ClientEvents } from '../../src/gateway/client-events.js';
import { Connection } from '../../src/gateway/connection.js';
import { FrameRouter, handlerOf } from '../../src/gateway/frame-router.js';
import { GatewayMetrics } from '../../src/gateway/gateway-metrics.js';
import type { Signin } from '../../src/gateway/signin.js';
import type { Subscriptions } from '../../src/gateway/subscriptions.js';
import { createLogger } from '../../src/log/logger.js';
import { createMetrics } from '../../src/metrics/metrics.js';

// A handler that throws inside the `ws` message listener used to end the process. The
// router must contain it: count it, log it, and close only that socket with 4100.

const app = (configSchema.parse({ apps: [{ id: 'a', key: 'k', secret: 'secret-secret', enableClientMessages: true }] }).apps ?? [])[0] as unknown as App;

class FakeWs {
  readyState = 1;
  bufferedAmount = 0;
  readonly sent: string[] = [];
  closedWith: { code: number; reason: string } | undefined;
  send(payload: Buffer | string): void {
    this.sent.push(payload.toString());
  }
  close(code: number, reason: string): void {
    this.closedWith = { code, reason };
    this.readyState = 2;
  }
  terminate(): void {
    this.readyState = 3;
  }
}

function setup() {
  const metrics = createMetrics();
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  const log = createLogger({ level: 'debug', format: 'json', destination });
  const ws = new FakeWs();
  const conn = new Connection(ws as unknown as WebSocket, app, '1.2', log, new GatewayMetrics(metrics).forApp(app.id), { maxBufferedBytes: 1 << 20, maxPendingOperations: 10 }, Date.now());
  conn.established = true;
  const failures = async (handler: string): Promise<number> => {
    const metric = (await metrics.registry.getSingleMetric('herald_ws_handler_failures_total')?.get())?.values ?? [];
    return metric.find((v) => v.labels.type === handler)?.value ?? 0;
  };
  return { ws, conn, lines, failures };
}

const boom = (): never => {
  throw new RangeError('Maximum call stack size exceeded');
};
const throwing = {
  subscriptions: { subscribe: boom, unsubscribe: boom } as unknown as Subscriptions,
  signin: { handle: boom } as unknown as Signin,
  clientEvents: { handle: boom } as unknown as ClientEvents,
};

describe('frame router: a failing handler never escapes', () => {
  for (const [event, handler] of [
    ['pusher:subscribe', 'pusher:subscribe'],
    ['pusher:unsubscribe', 'pusher:unsubscribe'],
    ['pusher:signin', 'pusher:signin'],
    ['client-x', 'client_event'],
  ] as const) {
    it(`${event}: the throw is counted, logged, answered and only that socket is closed with 4100`, async () => {
      const { ws, conn, lines, failures } = setup();
      const router = new FrameRouter(throwing.subscriptions, throwing.signin, throwing.clientEvents);
      assert.doesNotThrow(() => router.route(conn, Buffer.from(JSON.stringify({ event, channel: 'private-a', data: {} })), false, Date.now()));
      assert.equal(ws.closedWith?.code, 4100);
      const error = JSON.parse(ws.sent.at(-1) ?? '{}') as { event?: string; data?: { code?: number; message?: string } };
      assert.equal(error.event, 'pusher:error');
      assert.equal(error.data?.code, 4100);
      assert.equal(await failures(handler), 1);
      const logged = lines.map((line) => JSON.parse(line) as { level: number; msg: string; handler?: string; err?: { message?: string } });
      assert.ok(logged.some((l) => l.level === 50 && l.handler === handler && l.err?.message === 'Maximum call stack size exceeded'), 'logged at error with the cause');
      // The socket is closing: nothing more is written to it.
      router.route(conn, Buffer.from('{"event":"pusher:ping"}'), false, Date.now());
      assert.equal(ws.sent.some((s) => s.includes('pusher:pong')), false);
    });
  }

  it('a queued subscription operation that rejects closes the socket the same way', async () => {
    const { ws, conn, failures } = setup();
    conn.serialize(async () => boom());
    await conn.settled();
    assert.equal(ws.closedWith?.code, 4100);
    assert.equal(await failures('subscription'), 1);
  });

  it('labels handlers with a bounded set', () => {
    assert.deepEqual(
      [undefined, 'pusher:ping', 'pusher:subscribe', 'client-anything', 'pusher:teleport', 'x'.repeat(1000)].map(handlerOf),
      ['read', 'pusher:ping', 'pusher:subscribe', 'client_event', 'other', 'other'],
    );
  });
});
