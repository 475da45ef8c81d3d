/**
 * POST /_matrix/media/v3/upload, POST /_matrix/media/v1/create and
 * PUT /_matrix/media/v3/upload/{serverName}/{mediaId}.
 *
 * The upload routes live in their own fastify scope whose only content
 * parser hands the body on as the raw stream: the app's JSON parser never
 * sees it and nothing buffers it. Every refusal that needs no body (token,
 * declared size, quota, disk reserve, the id from /create) comes before the
 * first byte is read; a refused body that was not read to the end is not
 * drained: the app's error handler reads a bounded amount more, then closes
 * the connection (src/platform/http/linger.ts).
 */
import type { Readable } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { mxcUri } from '../ids.js';
import { declaredLength, LEGACY_VERSIONS, queryOf, requireUser, uploadContentType, uploadName, type RouteDeps } from './common.js';

/** Content-Type as the client sent it. */
const uploadTypes = new WeakMap<FastifyRequest, string | undefined>();

function bodyOf(request: FastifyRequest): Readable {
  return (request.body as Readable | undefined) ?? request.raw;
}

export function uploadRoutes(d: RouteDeps) {
  return async (scope: FastifyInstance) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
    // The upload's type is data to store, not a parser choice: fastify would
    // refuse one it cannot parse (415) before the route runs.
    scope.addHook('onRequest', async (request) => {
      uploadTypes.set(request, request.headers['content-type']);
      request.headers['content-type'] = 'application/octet-stream';
    });
    const opts = { config: { rawBody: true }, bodyLimit: d.config.max_upload_bytes, preHandler: d.auth.required };

    // A refusal before the body was read to its end lingers, then closes (the app's error handler, linger.ts).
    const upload = async (request: FastifyRequest) => {
      const userId = requireUser(request, 'upload media');
      const q = queryOf(request);
      const rec = await d.repo.upload(bodyOf(request), {
        user_id: userId,
        content_type: uploadContentType(uploadTypes.get(request)),
        upload_name: uploadName(q),
        declared_length: declaredLength(request),
      });
      return { content_uri: mxcUri(rec.origin, rec.media_id) };
    };
    for (const v of LEGACY_VERSIONS) scope.post(`/_matrix/media/${v}/upload`, opts, upload);

    scope.put<{ Params: { serverName: string; mediaId: string } }>('/_matrix/media/v3/upload/:serverName/:mediaId', opts, async (request) => {
      const userId = requireUser(request, 'upload media');
      const q = queryOf(request);
      const name = uploadName(q);
      const end = await d.repo.beginPut(userId, request.params.serverName, request.params.mediaId);
      try {
        await d.repo.upload(bodyOf(request), {
          user_id: userId,
          media_id: request.params.mediaId,
          content_type: uploadContentType(uploadTypes.get(request)),
          upload_name: name,
          declared_length: declaredLength(request),
        });
      } finally {
        end();
      }
      return {};
    });
  };
}

/** POST /_matrix/media/v1/create: a JSON route (its body, if any, is an empty object). */
export function createRoute(app: FastifyInstance, d: RouteDeps): void {
  app.post('/_matrix/media/v1/create', { preHandler: d.auth.required }, async (request) => {
    const userId = requireUser(request, 'upload media');
    const { media_id, expires_at } = await d.repo.createPending(userId);
    return { content_uri: mxcUri(d.repo.serverName, media_id), unused_expires_at: expires_at };
  });
}
