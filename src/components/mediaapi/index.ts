/**
 * MediaAPI: the content repository. Uploads stream to disk under
 * `<data-dir>/media/`, content-addressed (identical files are stored once),
 * with metadata in the component's LevelDB; downloads and thumbnails are
 * served through authenticated media (spec v1.11) and, frozen, through the
 * deprecated unauthenticated paths; URL previews when turned on; Synapse's
 * admin endpoints for media; usage, retention and clean-up for the
 * dashboard and the maintenance jobs.
 *
 * Remote media: records are keyed by origin server, so cached copies of
 * other servers' media fit the same store (kind `remote`). Fetching them
 * (`/_matrix/federation/v1/media/download`) arrives with federation; until
 * then other servers' media ids answer 404 M_NOT_FOUND.
 */
import { tokenAuth } from '../../platform/http/auth.js';
import { tokenCheckFor } from '../../platform/http/token-cache.js';
import type { ComponentContext, ComponentInstance } from '../../platform/runtime/component.js';
import { userApi } from '../userapi/api.js';
import { MediaAdmin, mediaInfo } from './admin.js';
import { mediaApi, type MediaAPI } from './api.js';
import { avatarCheck } from './avatars.js';
import { MediaFiles } from './files.js';
import { AddressPolicy } from './preview/addresses.js';
import { UrlPreviewer } from './preview/previewer.js';
import { MediaRepository } from './repository.js';
import { mediaRoutes } from './routes/index.js';
import { MediaStore } from './storage.js';
import { Thumbnailer } from './thumbnailer.js';
import { Thumbnails } from './thumbnails.js';
import { MediaUpkeep } from './upkeep.js';

export async function start(ctx: ComponentContext): Promise<ComponentInstance> {
  const config = ctx.config.media;
  // Metadata is small and read by key: a small cache does.
  const db = await ctx.openDatabase({ cacheSize: 1024 * 1024, writeBufferSize: 512 * 1024, maxOpenFiles: 32 });
  const store = new MediaStore(db, ctx.config.server_name);
  const files = new MediaFiles(ctx.paths.mediaDir);
  await files.init();
  const repo = new MediaRepository({ store, files, serverName: ctx.config.server_name, config, logger: ctx.logger });
  const thumbnailer = new Thumbnailer(config.max_thumbnail_pixels, (e) => ctx.logger.error({ err: e.message }, 'sharp could not be loaded: no thumbnails'));
  const thumbnails = new Thumbnails(repo, thumbnailer);
  const userapi = () => ctx.apis.get(userApi);
  const upkeep = new MediaUpkeep(repo, config, () => avatarCheck(userapi()));
  const admin = new MediaAdmin(repo);
  const frozenSince = config.frozen_since > 0 ? config.frozen_since : await store.createdAt(Date.now());
  const previewer = config.url_preview.enabled ? new UrlPreviewer(repo, thumbnailer, new AddressPolicy(config.url_preview.allowed_ranges)) : undefined;

  const api: MediaAPI = {
    usage: async (req) => upkeep.usage(typeof req?.top === 'number' ? req.top : undefined),
    applyRetention: async () => upkeep.applyRetention(),
    cleanup: async () => upkeep.cleanup(),
    queryMedia: async (req) => {
      const rec = await store.getMedia(String(req?.origin ?? ''), String(req?.media_id ?? ''));
      return rec ? mediaInfo(rec) : null;
    },
  };
  ctx.apis.provide(mediaApi, api);

  const auth = tokenAuth(tokenCheckFor(ctx, (req) => userapi().queryAccessToken(req)));
  return {
    routes: mediaRoutes({ repo, thumbnails, auth, config, frozenSince, previewer, userapi }, admin),
    health: () => ({ url_preview: config.url_preview.enabled, unauthenticated: config.unauthenticated }),
  };
}
