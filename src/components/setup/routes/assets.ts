/**
 * The wizard's script and style sheet, built by rollup into `dist/setup/`
 * next to the entry point, read once and served with a content hash in
 * their address so that browsers may keep them for a year.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Assets } from '../views/layout.js';

const FAVICON = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="7" fill="#0b7a75"/><g fill="#fff" stroke="#fff" stroke-width="2"><circle cx="16" cy="16" r="4"/><circle cx="7" cy="8" r="2.5"/><circle cx="25" cy="9" r="2.5"/><circle cx="8" cy="24" r="2.5"/><circle cx="24" cy="24" r="2.5"/><path d="M16 16 7 8M16 16l9-7M16 16l-8 8M16 16l8 8"/></g></svg>`;

interface Asset {
  body: Buffer;
  type: string;
  hash: string;
}

/** `dist/setup/` beside the running bundle; NEURITE_WEB_DIR overrides it (tests of the sources). */
export function webDir(): string {
  return process.env.NEURITE_WEB_DIR ?? join(dirname(process.argv[1] ?? '.'), 'setup');
}

export function loadAssets(dir = webDir()): { assets: Assets; routes: (app: FastifyInstance) => Promise<void> } {
  const read = (name: string, type: string): Asset => {
    const p = join(dir, name);
    const body = existsSync(p) ? readFileSync(p) : Buffer.from(type.startsWith('text/css') ? '' : '/* missing: run make build */');
    return { body, type, hash: createHash('sha256').update(body).digest('hex').slice(0, 10) };
  };
  const files: Record<string, Asset> = {
    'app.js': read('app.js', 'text/javascript; charset=utf-8'),
    'style.css': read('style.css', 'text/css; charset=utf-8'),
    'favicon.svg': { body: Buffer.from(FAVICON), type: 'image/svg+xml', hash: 'f' },
  };
  return {
    assets: { css: `/assets/style.css?v=${files['style.css']!.hash}`, js: `/assets/app.js?v=${files['app.js']!.hash}` },
    routes: async (app) => {
      app.get('/assets/:name', async (req, reply) => {
        const a = files[(req.params as { name: string }).name];
        if (!a) return reply.status(404).type('text/plain').send('not found');
        return reply.type(a.type).header('cache-control', 'public, max-age=31536000, immutable').send(a.body);
      });
    },
  };
}
