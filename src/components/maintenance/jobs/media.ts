/**
 * Media jobs: retention (media.retention: local uploads and cached remote
 * media by age and last access) and clean-up (thumbnails of deleted
 * content, files no record names, dead temp files, expired /create ids).
 * The MediaAPI does the work; these say when and report what it did.
 */
import { mediaApi } from '../../mediaapi/api.js';
import type { JobDefinition } from './types.js';

const mib = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;

export const mediaRetention: JobDefinition = {
  name: 'media-retention',
  description: 'Deletes media past the configured age or idle time (local uploads, cached remote media, URL-preview images).',
  schedule: '23 3 * * *',
  async run({ ctx, signal }) {
    const r = await ctx.apis.get(mediaApi).applyRetention({}, { signal, timeoutMs: 300_000 });
    return `${r.deleted_local} local and ${r.deleted_remote} remote media deleted, ${mib(r.bytes_freed)} freed; ${r.kept} kept (protected or avatars)`;
  },
};

export const mediaCleanup: JobDefinition = {
  name: 'media-cleanup',
  description: 'Removes thumbnails of deleted media, files no media refers to, half-written uploads and expired upload ids.',
  schedule: '53 4 * * *',
  async run({ ctx, signal }) {
    const r = await ctx.apis.get(mediaApi).cleanup({}, { signal, timeoutMs: 300_000 });
    return `${r.orphan_thumbnails} orphan thumbnails, ${r.orphan_files} orphan files, ${r.temp_files} temp files, ${r.expired_pending} expired upload ids removed; ${mib(r.bytes_freed)} freed`;
  },
};
