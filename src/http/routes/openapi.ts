import { openApiDocumentText } from '../openapi/openapi-document.js';
import type { RouteModule } from '../server.js';

/** `GET /openapi.json`, unsigned: the OpenAPI 3.1 document of every route (schema/openapi.json). */
export function openApiRoutes(): RouteModule {
  // Built once: it depends on nothing but the code.
  const text = openApiDocumentText();
  return (server) => {
    server.get('/openapi.json', async (_request, reply) => reply.code(200).type('application/json').send(text));
  };
}
