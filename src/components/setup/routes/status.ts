/**
 * The setup port's answer until the wizard exists (issue 6): whether this
 * data directory is configured and, if it is, where the homeserver answers.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { ComponentContext } from '../../../platform/runtime/component.js';
import { NEURITE_VERSION } from '../../../version.js';

export function statusRoutes(ctx: ComponentContext): FastifyPluginAsync {
  const status = () =>
    ctx.configured
      ? { configured: true, server_name: ctx.config.server_name, client_port: ctx.config.client_port, federation_port: ctx.config.federation_port, version: NEURITE_VERSION }
      : { configured: false, version: NEURITE_VERSION };
  return async (app) => {
    app.get('/_neurite/setup/status', async () => status());
    app.get('/', async (_req, reply) => {
      const s = status();
      const body = s.configured
        ? `<p>This Neurite homeserver is <strong>${escapeHtml(String(s.server_name))}</strong>. Sign in from a Matrix client with the homeserver URL of port ${s.client_port} (HTTP on your network) or ${s.federation_port} (HTTPS).</p>`
        : `<p>This device is not set up yet. Run <code>neurite init --data-dir DIR --server-name NAME</code> on it.</p>`;
      reply.type('text/html; charset=utf-8');
      return `<!doctype html><html><head><meta charset="utf-8"><title>Neurite</title></head><body><h1>Neurite</h1>${body}<p>Version ${NEURITE_VERSION}</p></body></html>`;
    });
  };
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
