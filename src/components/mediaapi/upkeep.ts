/**
 * The work behind the maintenance jobs and the dashboard: media usage,
 * retention by age and last access (media.retention), and the clean-up of
 * what deletions and crashes leave behind.
 */
import type { MediaConfig } from '../../platform/config/media.js';
import type { CleanupResult, MediaUsage, RetentionResult } from './api.js';
import { unlinkQuietly } from './files.js';
import type { MediaRepository } from './repository.js';
import { ops, type MediaRecord } from './storage.js';

const DAY_MS = 86_400_000;
/** Files younger than this may belong to an upload or render under way: the sweep leaves them. */
const SWEEP_GRACE_MS = 3600_000;

export class MediaUpkeep {
  constructor(
    private readonly repo: MediaRepository,
    private readonly config: MediaConfig,
    private readonly isAvatar: () => (m: MediaRecord) => Promise<boolean>,
  ) {}

  async usage(top = 10): Promise<MediaUsage> {
    let total_bytes = 0;
    let files = 0;
    for await (const [, b] of this.repo.store.iterateBlobs()) {
      total_bytes += b.size;
      files++;
    }
    const local = { media: 0, bytes: 0 };
    const remote = { media: 0, bytes: 0 };
    for await (const [, m] of this.repo.store.iterateMedia()) {
      const side = m.origin === this.repo.serverName ? local : remote;
      side.media++;
      side.bytes += m.size;
    }
    const thumbnails = { files: 0, bytes: 0 };
    for (const t of await this.repo.store.allThumbs()) {
      thumbnails.files++;
      thumbnails.bytes += t.thumb.size;
    }
    const users = (await this.repo.store.allUsage()).map(([user_id, u]) => ({ user_id, media: u.count, bytes: u.bytes }));
    users.sort((a, b) => b.bytes - a.bytes || (a.user_id < b.user_id ? -1 : 1));
    return {
      total_bytes,
      files,
      media: local.media + remote.media,
      local,
      remote,
      thumbnails,
      top_users: users.slice(0, Math.max(0, Math.min(top, 100))),
      disk_free_bytes: await this.repo.files.freeBytes(),
    };
  }

  /**
   * Deletes local uploads past media.retention's age or idle limits, and
   * cached remote media and URL-preview images past theirs. Protected media
   * and users' current avatars stay.
   */
  async applyRetention(): Promise<RetentionResult> {
    const r = this.config.retention;
    const now = this.repo.now();
    const expired = (m: MediaRecord, maxAgeDays: number, maxIdleDays: number) =>
      (maxAgeDays > 0 && m.created_ts < now - maxAgeDays * DAY_MS) || (maxIdleDays > 0 && m.last_access_ts < now - maxIdleDays * DAY_MS);
    const isAvatar = this.isAvatar();
    const victims: MediaRecord[] = [];
    let kept = 0;
    for await (const [, m] of this.repo.store.iterateMedia()) {
      const uploaded = m.origin === this.repo.serverName && m.kind === 'upload';
      if (!(uploaded ? expired(m, r.local_max_age_days, r.local_max_idle_days) : expired(m, r.remote_max_age_days, r.remote_max_idle_days))) continue;
      if (m.safe_from_quarantine || (uploaded && (await isAvatar(m)))) {
        kept++;
        continue;
      }
      victims.push(m);
    }
    const { deleted, bytes_freed } = await this.repo.delete(victims);
    const deleted_local = deleted.filter((m) => m.origin === this.repo.serverName && m.kind === 'upload').length;
    return { deleted_local, deleted_remote: deleted.length - deleted_local, bytes_freed, kept };
  }

  /**
   * Thumbnails of content that is gone, content files no record names,
   * temp files of uploads that died with their process, and /create ids
   * that expired unused.
   */
  async cleanup(): Promise<CleanupResult> {
    const { repo } = this;
    const now = repo.now();
    const out: CleanupResult = { orphan_thumbnails: 0, orphan_files: 0, temp_files: 0, expired_pending: 0, bytes_freed: 0 };

    const expired = (await repo.store.allPending()).filter(([, p]) => p.expires_at <= now);
    if (expired.length > 0) await repo.store.write(expired.map(([id]) => ops.delPending(id)));
    out.expired_pending = expired.length;

    for (const t of await repo.files.tempFiles()) {
      if (now - t.mtimeMs < SWEEP_GRACE_MS) continue;
      await unlinkQuietly(t.path);
      out.temp_files++;
      out.bytes_freed += t.size;
    }

    // Under the lock: an upload must not commit a file between the check and the removal.
    await repo.serial.run(async () => {
      const blobs = await repo.store.blobHashes();
      const orphanThumbs = (await repo.store.allThumbs()).filter((t) => !blobs.has(t.sha));
      if (orphanThumbs.length > 0) await repo.store.write(orphanThumbs.map((t) => ops.delThumb(t.sha, t.variant)), false);
      for (const sha of await repo.files.thumbnailShas()) {
        if (blobs.has(sha)) continue;
        const size = await repo.files.treeSize(repo.files.thumbDirOf(sha));
        await repo.files.removeThumbnails(sha);
        out.orphan_thumbnails += size.files;
        out.bytes_freed += size.bytes;
      }
      for await (const f of repo.files.contentFiles()) {
        if (blobs.has(f.sha) || now - f.mtimeMs < SWEEP_GRACE_MS) continue;
        await unlinkQuietly(f.path);
        out.orphan_files++;
        out.bytes_freed += f.size;
      }
    });
    return out;
  }
}
