/**
 * The floor under Herald's signed HTTP rows: the least an HTTP-to-APNs gateway on node
 * can do. fastify takes `POST /apps/{id}/notifications` (the body parsed, nothing
 * checked: no signature, no validation), answers 202 at once, and sends each token as
 * one node:http2 request to the fixture, at most `maxStreams` open. Nothing is durable,
 * nothing is retried, no status is kept. The same load generator drives it as drives
 * Herald, so its throughput ÷ the raw client's is what any gateway built this way could
 * reach on the machine, and Herald's ÷ its own is what durability and the rest cost.
 */
import type { ClientHttp2Session } from 'node:http2';
import Fastify from 'fastify';
import type { FixtureInfo } from './apns-fixture-worker.js';
import { alertHeaders, openFixtureSession } from './apns-fixture-session.js';
import { serveIpc } from './ipc.js';
import { uncheckedApnsPart } from './unchecked-apns-part.js';

interface Send {
  readonly token: string;
  readonly body: string;
}

// One notification of 100,000 tokens is a body of about 7 MB.
const server = Fastify({ logger: false, bodyLimit: 64 * 1024 * 1024 });
let session: ClientHttp2Session | undefined;
let topic = '';
let maxStreams = 1;
let open = 0;
/** Tokens beyond `maxStreams`, sent from `head` on as streams close (never shifted: a broadcast queues 100,000). */
let waiting: Send[] = [];
let head = 0;
let accepted = 0;

function send(next: Send): void {
  if (!session) throw new Error('gateway not started');
  open += 1;
  const stream = session.request(alertHeaders(topic, next.token));
  stream.on('error', () => {});
  stream.resume();
  stream.on('close', () => {
    open -= 1;
    const queued = waiting[head];
    if (!queued) return;
    head += 1;
    if (head === waiting.length) {
      waiting = [];
      head = 0;
    }
    send(queued);
  });
  stream.end(next.body);
}

server.post('/apps/:appId/notifications', async (request, reply) => {
  const { tokens, payload } = uncheckedApnsPart(request.body);
  const body = JSON.stringify(payload);
  for (const token of tokens) {
    if (open < maxStreams) send({ token, body });
    else waiting.push({ token, body });
  }
  const id = `n-${(accepted += 1)}`;
  const { appId } = request.params as { appId: string };
  return reply.code(202).header('location', `/apps/${appId}/notifications/${id}`).send({ id });
});

serveIpc({
  start: async (params: { fixture: FixtureInfo; maxStreams: number }): Promise<number> => {
    session = await openFixtureSession(params.fixture);
    topic = params.fixture.topic;
    maxStreams = params.maxStreams;
    await server.listen({ host: '127.0.0.1', port: 0 });
    const address = server.server.address();
    return typeof address === 'object' && address ? address.port : 0;
  },
  stop: async (): Promise<void> => {
    await server.close();
    session?.close();
  },
});
