/** The MediaAPI's public routes, as one fastify plugin. */
import type { FastifyInstance } from 'fastify';
import type { MediaAdmin } from '../admin.js';
import { adminRoutes } from './admin.js';
import type { RouteDeps } from './common.js';
import { configRoutes } from './config.js';
import { downloadRoutes } from './download.js';
import { createRoute, uploadRoutes } from './upload.js';

export function mediaRoutes(d: RouteDeps, admin: MediaAdmin) {
  return async (app: FastifyInstance) => {
    // Upload routes get a scope of their own: their bodies are streams, not JSON.
    await app.register(uploadRoutes(d));
    createRoute(app, d);
    downloadRoutes(app, d);
    configRoutes(app, d);
    adminRoutes(app, d, admin);
  };
}
