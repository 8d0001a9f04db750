import type { RouteModule } from '../server.js';

/** Placeholder until the gateway answers channel queries: no channel is occupied. */
export const channelRoutes: RouteModule = (server) => {
  server.get('/apps/:appId/channels', async () => ({ channels: {} }));
};
