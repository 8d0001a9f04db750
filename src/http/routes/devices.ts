import type { DeviceRegistry } from '../../devices/device-registry.js';
import { MAX_REGISTRATION_BYTES, USER_ID_RULE, deviceToken, parseRegistration } from '../../devices/device-input.js';
import { isValidSigninUserId } from '../../gateway/channels/channel-name.js';
import type { Logger } from '../../log/logger.js';
import { sendError } from '../server.js';
import type { RouteModule } from '../server.js';

export interface DeviceRoutesOptions {
  registry: DeviceRegistry;
  log: Logger;
  now?: () => number;
}

const badToken = 'must be an APNs device token (hex), an FCM registration token or a Web Push device id';

/**
 * The device registry over HTTP (docs/devices.md), signed like the Pusher API:
 * `PUT/GET/DELETE /apps/{id}/devices/{token}`, `GET/DELETE /apps/{id}/users/{userId}/devices`.
 * A refused request changes nothing; Redis errors become the server's 503.
 */
export function deviceRoutes(o: DeviceRoutesOptions): RouteModule {
  const now = o.now ?? Date.now;
  return (server, helpers) => {
    server.put('/apps/:appId/devices/:token', { bodyLimit: MAX_REGISTRATION_BYTES }, async (request, reply) => {
      const app = helpers.appOf(request);
      const { token } = request.params as { token: string };
      const input = parseRegistration(token, request.body, now());
      if (!input.ok) return sendError(reply, 400, input.error, { path: input.path });
      const { created, device } = await o.registry.put(app.id, input.value);
      o.log.debug({ reqId: request.id, app: app.id, platform: device.platform, created }, 'device registered');
      return reply.code(created ? 201 : 200).send(device);
    });

    server.get('/apps/:appId/devices/:token', async (request, reply) => {
      const app = helpers.appOf(request);
      const token = deviceToken((request.params as { token: string }).token);
      if (token === undefined) return sendError(reply, 400, badToken, { path: 'token' });
      const device = await o.registry.get(app.id, token);
      if (!device) return sendError(reply, 404, 'Unknown device');
      return device;
    });

    server.delete('/apps/:appId/devices/:token', async (request, reply) => {
      const app = helpers.appOf(request);
      const token = deviceToken((request.params as { token: string }).token);
      if (token === undefined) return sendError(reply, 400, badToken, { path: 'token' });
      await o.registry.remove(app.id, token);
      return reply.code(204).send();
    });

    server.get('/apps/:appId/users/:userId/devices', async (request, reply) => {
      const app = helpers.appOf(request);
      const { userId } = request.params as { userId: string };
      if (!isValidSigninUserId(userId)) return sendError(reply, 400, USER_ID_RULE, { path: 'userId' });
      return { devices: await o.registry.listByUser(app.id, userId) };
    });

    server.delete('/apps/:appId/users/:userId/devices', async (request, reply) => {
      const app = helpers.appOf(request);
      const { userId } = request.params as { userId: string };
      if (!isValidSigninUserId(userId)) return sendError(reply, 400, USER_ID_RULE, { path: 'userId' });
      const removed = await o.registry.removeUser(app.id, userId);
      o.log.debug({ reqId: request.id, app: app.id, removed }, 'user devices removed');
      return reply.code(204).send();
    });
  };
}
