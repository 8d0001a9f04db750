import type { RouteModule } from '../server.js';
import type { Readiness } from '../readiness.js';

export function healthRoutes(readiness: Readiness): RouteModule {
  return (server) => {
    server.get('/health', async () => ({ status: 'ok' }));
    server.get('/ready', async (_request, reply) => {
      const report = readiness.report();
      return reply.code(report.ready ? 200 : 503).send(report);
    });
  };
}
