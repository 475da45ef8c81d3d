/** Server-server API, "Publishing Keys": GET /_matrix/key/v2/server[/{keyId}]. */
import type { FastifyPluginAsync } from 'fastify';
import type { LocalKeys } from '../local-keys.js';

export function keyRoutes(keys: LocalKeys): FastifyPluginAsync {
  return async (app) => {
    app.get('/_matrix/key/v2/server', async () => keys.document());
    // The key id segment is deprecated: servers return every key whatever it names.
    app.get('/_matrix/key/v2/server/:keyId', async () => keys.document());
  };
}
