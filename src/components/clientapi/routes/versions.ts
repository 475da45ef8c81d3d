/** Client-server API: GET /_matrix/client/versions. */
import type { ClientRoutes } from './types.js';

/**
 * The spec versions this server implements. Kept to what really works: the
 * accounts and rooms issue raises it as the client API fills in.
 */
export const SUPPORTED_VERSIONS = ['v1.1', 'v1.2', 'v1.3', 'v1.4', 'v1.5', 'v1.6', 'v1.7', 'v1.8', 'v1.9', 'v1.10', 'v1.11', 'v1.12'];

export const versionsRoutes: ClientRoutes = (app) => {
  app.get('/_matrix/client/versions', async () => ({ versions: SUPPORTED_VERSIONS, unstable_features: {} }));
};
