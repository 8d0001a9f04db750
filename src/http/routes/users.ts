import type { GatewayPublisher } from '../../gateway/publisher.js';
import { sendError } from '../server.js';
import type { RouteModule } from '../server.js';

/** POST /apps/{id}/users/{user_id}/terminate_connections: closes the user's signed-in sockets on every node. */
export function userRoutes(publisher: GatewayPublisher): RouteModule {
  return (server, helpers) => {
    server.post('/apps/:appId/users/:userId/terminate_connections', async (request, reply) => {
      const app = helpers.appOf(request);
      const { userId } = request.params as { userId: string };
      const done = await publisher.terminateUserConnections(app, userId);
      if (!done) return sendError(reply, 400, 'user_id must be 1 to 128 channel-name characters');
      return {};
    });
  };
}
