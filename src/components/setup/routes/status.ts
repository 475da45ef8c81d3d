/**
 * Whether this data directory is configured and, if it is, where the
 * homeserver answers: for scripts and tests (`/_neurite/setup/status`).
 */
import type { FastifyPluginAsync } from 'fastify';
import type { ComponentContext } from '../../../platform/runtime/component.js';
import { NEURITE_VERSION } from '../../../version.js';

export function statusRoutes(ctx: ComponentContext, phase: () => string): FastifyPluginAsync {
  return async (app) => {
    app.get('/_neurite/setup/status', async () =>
      ctx.configured
        ? { configured: true, setup: phase(), server_name: ctx.config.server_name, client_port: ctx.config.client_port, federation_port: ctx.config.federation_port, version: NEURITE_VERSION }
        : { configured: false, setup: phase(), version: NEURITE_VERSION },
    );
  };
}
