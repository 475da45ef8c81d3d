/** GET .../media/config and GET .../media/preview_url, authenticated and legacy paths alike (both need a token). */
import type { FastifyInstance } from 'fastify';
import { MatrixError } from '../../../core/errors.js';
import { LEGACY_VERSIONS, one, queryOf, type RouteDeps } from './common.js';

export function configRoutes(app: FastifyInstance, d: RouteDeps): void {
  const prefixes = ['/_matrix/client/v1/media', ...LEGACY_VERSIONS.map((v) => `/_matrix/media/${v}`)];
  for (const prefix of prefixes) {
    app.get(`${prefix}/config`, { preHandler: d.auth.required }, async () => ({ 'm.upload.size': d.config.max_upload_bytes }));

    app.get(`${prefix}/preview_url`, { preHandler: d.auth.required }, async (request) => {
      if (!d.previewer) throw new MatrixError(404, 'M_UNRECOGNIZED', 'URL previews are turned off on this server');
      const url = one(queryOf(request), 'url');
      if (url === undefined || url === '') throw new MatrixError(400, 'M_MISSING_PARAM', 'Missing url');
      return d.previewer.preview(url);
    });
  }
}
