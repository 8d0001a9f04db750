/**
 * The HTTP API baseline: fastify with one JSON POST route that answers {}. Its own
 * process (started over IPC), like the daemon, so /proc CPU readings compare.
 */
import Fastify from 'fastify';
import { serveIpc } from './ipc.js';

const server = Fastify({ logger: false });
server.post('/apps/:appId/events', async () => ({}));

serveIpc({
  listen: async (): Promise<number> => {
    await server.listen({ host: '127.0.0.1', port: 0 });
    const address = server.server.address();
    return typeof address === 'object' && address ? address.port : 0;
  },
});
