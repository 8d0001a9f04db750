import { createServer } from 'node:http';
import type { IncomingHttpHeaders, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export interface ReceivedWebhook {
  headers: IncomingHttpHeaders;
  rawBody: string;
  /** What the receiver answered (0 when it never answered). */
  answered: number;
}

export type ReceiverMode = { type: 'ok' } | { type: 'status'; status: number } | { type: 'hang' };

/** A real HTTP server on 127.0.0.1:0 that records every POST and answers as told. */
export interface WebhookReceiver {
  readonly url: string;
  readonly received: ReceivedWebhook[];
  /** Requests answered 2xx, i.e. what a webhook consumer actually got. */
  accepted(): ReceivedWebhook[];
  setMode(mode: ReceiverMode): void;
  /** Stops listening (connections refused) until `resume`, which listens on the same port again. */
  pause(): Promise<void>;
  resume(): Promise<void>;
  close(): Promise<void>;
}

export async function startWebhookReceiver(path = '/hook'): Promise<WebhookReceiver> {
  let mode: ReceiverMode = { type: 'ok' };
  const received: ReceivedWebhook[] = [];
  const hanging = new Set<ServerResponse>();
  const sockets = new Set<Socket>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const record: ReceivedWebhook = { headers: req.headers, rawBody: Buffer.concat(chunks).toString('utf8'), answered: 0 };
      received.push(record);
      if (mode.type === 'hang') {
        hanging.add(res);
        return;
      }
      record.answered = mode.type === 'ok' ? 200 : mode.status;
      res.writeHead(record.answered, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const closeServer = async (): Promise<void> => {
    for (const response of hanging) response.destroy();
    hanging.clear();
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return {
    url: `http://127.0.0.1:${port}${path}`,
    received,
    accepted: () => received.filter((r) => r.answered >= 200 && r.answered < 300),
    setMode(next) {
      mode = next;
    },
    async pause() {
      await closeServer();
    },
    async resume() {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, '127.0.0.1', () => {
          server.off('error', reject);
          resolve();
        });
      });
    },
    async close() {
      if (server.listening) await closeServer();
    },
  };
}

/** The events of every accepted POST, in arrival order. */
export function acceptedEvents(receiver: WebhookReceiver): Array<Record<string, unknown>> {
  return receiver.accepted().flatMap((r) => (JSON.parse(r.rawBody) as { events: Array<Record<string, unknown>> }).events);
}
