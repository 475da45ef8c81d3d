/**
 * Downloads and thumbnails: the authenticated endpoints (spec v1.11,
 * /_matrix/client/v1/media/...) and the deprecated unauthenticated ones
 * (/_matrix/media/v3/...), which are frozen: they serve only media stored
 * before the freeze (media.unauthenticated, media.frozen_since), and 404
 * M_NOT_FOUND for the rest, as the spec describes.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { MatrixError } from '../../../core/errors.js';
import { notFound } from '../repository.js';
import { contentDisposition, sendFile } from '../serve.js';
import type { MediaRecord } from '../storage.js';
import { abortSignalOf, boolParam, intParam, LEGACY_VERSIONS, one, queryOf, waitParam, type RouteDeps } from './common.js';

type MediaParams = { serverName: string; mediaId: string; fileName?: string };

/** Thumbnail sides clients may ask for; larger asks are rendered within MAX_SIDE (thumbnail-size.ts) or answered with the original. */
const MAX_ASK = 10_000;

export function downloadRoutes(app: FastifyInstance, d: RouteDeps): void {
  const frozen = (rec: MediaRecord) => d.config.unauthenticated === 'frozen' && rec.created_ts >= d.frozenSince;

  const find = async (request: FastifyRequest<{ Params: MediaParams }>, legacy: boolean): Promise<MediaRecord> => {
    const q = queryOf(request);
    // allow_remote=false (legacy): this server never fetches remote media yet, so it changes nothing.
    if (legacy) boolParam(q, 'allow_remote', true);
    const rec = await d.repo.find(request.params.serverName, request.params.mediaId, waitParam(q), abortSignalOf(request));
    if (legacy && frozen(rec)) throw notFound('Media uploaded after the freeze of unauthenticated media is only served at /_matrix/client/v1/media/download');
    return rec;
  };

  const download = (legacy: boolean) => async (request: FastifyRequest<{ Params: MediaParams }>, reply: FastifyReply) => {
    const rec = await find(request, legacy);
    d.repo.touch(rec);
    return sendFile(request, reply, {
      path: d.repo.files.contentPath(rec.sha256),
      contentType: rec.content_type,
      disposition: contentDisposition(rec.content_type, request.params.fileName ?? rec.upload_name),
      etag: `"${rec.sha256}"`,
    });
  };

  const thumbnail = (legacy: boolean) => async (request: FastifyRequest<{ Params: MediaParams }>, reply: FastifyReply) => {
    const q = queryOf(request);
    const width = intParam(q, 'width', { required: true, min: 1, max: MAX_ASK })!;
    const height = intParam(q, 'height', { required: true, min: 1, max: MAX_ASK })!;
    const method = one(q, 'method') ?? 'scale';
    if (method !== 'crop' && method !== 'scale') throw new MatrixError(400, 'M_INVALID_PARAM', 'method must be crop or scale');
    const animated = boolParam(q, 'animated', false);
    const rec = await find(request, legacy);
    d.repo.touch(rec);
    const served = await d.thumbnails.get(rec, { width, height, method, animated });
    if (served.dispose) reply.raw.once('close', served.dispose);
    const ext = served.content_type.split('/')[1] ?? 'bin';
    return sendFile(request, reply, {
      path: served.path,
      contentType: served.content_type,
      // Thumbnails are always inline (spec), and their types are all safe.
      disposition: contentDisposition(served.content_type, `thumbnail.${ext === 'jpeg' ? 'jpg' : ext}`, true),
      etag: `"${rec.sha256}-${served.original ? 'original' : `${width}x${height}-${method}${animated ? '-a' : ''}`}"`,
    });
  };

  for (const [prefix, legacy] of [['/_matrix/client/v1/media', false], ...LEGACY_VERSIONS.map((v) => [`/_matrix/media/${v}`, true] as const)] as const) {
    const opts = legacy ? {} : { preHandler: d.auth.required };
    app.get<{ Params: MediaParams }>(`${prefix}/download/:serverName/:mediaId`, opts, download(legacy));
    app.get<{ Params: MediaParams }>(`${prefix}/download/:serverName/:mediaId/:fileName`, opts, download(legacy));
    app.get<{ Params: MediaParams }>(`${prefix}/thumbnail/:serverName/:mediaId`, opts, thumbnail(legacy));
  }
}
