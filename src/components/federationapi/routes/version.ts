/** Server-server API: GET /_matrix/federation/v1/version. */
import type { FastifyPluginAsync } from 'fastify';
import { NEURITE_VERSION } from '../../../version.js';

export const versionRoutes: FastifyPluginAsync = async (app) => {
  app.get('/_matrix/federation/v1/version', async () => ({ server: { name: 'Neurite', version: NEURITE_VERSION } }));
};
