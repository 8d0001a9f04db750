/**
 * The HTTP API baselines: fastify with a JSON POST route that answers {} (events), and
 * one that answers a notification as Herald's does, 202 with its id and `Location`, but
 * keeps nothing. Its own process (started over IPC), like the daemon, so /proc CPU
 * readings compare.
 */
import Fastify from 'fastify';
import { serveIpc } from './ipc.js';

const server = Fastify({ logger: false });
server.post('/apps/:appId/events', async () => ({}));
let accepted = 0;
server.post('/apps/:appId/notifications', async (request, reply) => {
  const id = `n-${(accepted += 1)}`;
  const { appId } = request.params as { appId: string };
  return reply.code(202).header('location', `/apps/${appId}/notifications/${id}`).send({ id });
});

serveIpc({
  listen: async (): Promise<number> => {
    await server.listen({ host: '127.0.0.1', port: 0 });
    const address = server.server.address();
    return typeof address === 'object' && address ? address.port : 0;
  },
});
