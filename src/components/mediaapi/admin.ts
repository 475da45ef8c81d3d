/**
 * What the Synapse-compatible admin endpoints do to media: list a user's
 * uploads, delete, quarantine (kept on disk, served to nobody), protect
 * (exempt from quarantine and retention), purge the remote cache, and
 * per-user statistics. Formats follow Synapse's admin API, which admin tools
 * (synapse-admin) read.
 */
import { MatrixError } from '../../core/errors.js';
import type { MediaInfo } from './api.js';
import { notFound, type MediaRepository } from './repository.js';
import type { MediaRecord } from './storage.js';

/** An entry of `GET /_synapse/admin/v1/users/{userId}/media`. */
export type UserMediaEntry = Omit<MediaInfo, 'media_origin' | 'user_id' | 'sha256'>;

export const USER_MEDIA_ORDER = ['media_id', 'upload_name', 'created_ts', 'last_access_ts', 'media_length', 'media_type', 'quarantined_by', 'safe_from_quarantine'] as const;
export type UserMediaOrder = (typeof USER_MEDIA_ORDER)[number];

export interface Page {
  from: number;
  limit: number;
  dir: 'f' | 'b';
}

export function mediaInfo(m: MediaRecord): MediaInfo {
  return {
    media_origin: m.origin,
    media_id: m.media_id,
    user_id: m.user_id,
    media_type: m.content_type,
    media_length: m.size,
    upload_name: m.upload_name,
    created_ts: m.created_ts,
    last_access_ts: m.last_access_ts,
    quarantined_by: m.quarantined_by,
    safe_from_quarantine: m.safe_from_quarantine,
    sha256: m.sha256,
  };
}

function userEntry(m: MediaRecord): UserMediaEntry {
  const { media_origin: _o, user_id: _u, sha256: _s, ...entry } = mediaInfo(m);
  return entry;
}

function compare(a: unknown, b: unknown): number {
  if (a === b) return 0;
  if (a === null || a === undefined) return -1;
  if (b === null || b === undefined) return 1;
  return a < b ? -1 : 1;
}

export class MediaAdmin {
  constructor(private readonly repo: MediaRepository) {}

  private get local(): string {
    return this.repo.serverName;
  }

  /** A page of a user's uploads, ordered as asked (ties by creation), with the total. */
  async userMedia(userId: string, order: UserMediaOrder, page: Page): Promise<{ records: MediaRecord[]; entries: UserMediaEntry[]; total: number; next_token?: number }> {
    const all = await this.repo.store.mediaOfUser(userId);
    const field = order === 'media_length' ? 'size' : order === 'media_type' ? 'content_type' : order;
    all.sort((a, b) => compare(a[field as keyof MediaRecord], b[field as keyof MediaRecord]) || a.created_ts - b.created_ts || compare(a.media_id, b.media_id));
    if (page.dir === 'b') all.reverse();
    const records = all.slice(page.from, page.from + page.limit);
    const next = page.from + records.length;
    return { records, entries: records.map(userEntry), total: all.length, ...(next < all.length ? { next_token: next } : {}) };
  }

  async info(origin: string, mediaId: string): Promise<MediaRecord> {
    const rec = await this.repo.store.getMedia(origin, mediaId);
    if (!rec) throw notFound();
    return rec;
  }

  async deleteLocal(origin: string, mediaId: string): Promise<string[]> {
    if (origin !== this.local) throw new MatrixError(400, 'M_INVALID_PARAM', 'Can only delete local media');
    const rec = await this.info(origin, mediaId);
    const { deleted } = await this.repo.delete([rec]);
    return deleted.map((m) => m.media_id);
  }

  /**
   * Local media last accessed before `beforeTs` and larger than `sizeGt`,
   * except protected media and, with keepProfiles, users' current avatars.
   */
  async deleteLocalBefore(beforeTs: number, sizeGt: number, keepProfiles: boolean, isAvatar: (m: MediaRecord) => Promise<boolean>): Promise<string[]> {
    const victims: MediaRecord[] = [];
    for await (const [, m] of this.repo.store.iterateMedia(this.local)) {
      if (m.last_access_ts >= beforeTs || m.size <= sizeGt || m.safe_from_quarantine) continue;
      if (keepProfiles && (await isAvatar(m))) continue;
      victims.push(m);
    }
    const { deleted } = await this.repo.delete(victims);
    return deleted.map((m) => m.media_id);
  }

  /** Cached remote media last accessed before `beforeTs`. */
  async purgeRemote(beforeTs: number): Promise<number> {
    const victims: MediaRecord[] = [];
    for await (const [, m] of this.repo.store.iterateMedia()) {
      if (m.origin !== this.local && m.last_access_ts < beforeTs) victims.push(m);
    }
    return (await this.repo.delete(victims)).deleted.length;
  }

  async setQuarantine(origin: string, mediaId: string, by: string | null): Promise<void> {
    // Synapse answers {} for unknown media too; so does this.
    await this.repo.update(origin, mediaId, (m) => ({ ...m, quarantined_by: by }));
  }

  /** Quarantines a user's uploads except protected ones; answers how many changed. */
  async quarantineUser(userId: string, by: string): Promise<number> {
    let n = 0;
    for (const m of await this.repo.store.mediaOfUser(userId)) {
      if (m.safe_from_quarantine || m.quarantined_by !== null) continue;
      if (await this.repo.update(m.origin, m.media_id, (cur) => (cur.safe_from_quarantine ? cur : { ...cur, quarantined_by: by }))) n++;
    }
    return n;
  }

  async setProtected(mediaId: string, safe: boolean): Promise<void> {
    const changed = await this.repo.update(this.local, mediaId, (m) => ({ ...m, safe_from_quarantine: safe }));
    if (!changed) throw notFound();
  }

  /** Per-user totals of local uploads, optionally only those created in [fromTs, untilTs). */
  async userStats(fromTs: number | undefined, untilTs: number | undefined): Promise<Map<string, { media_count: number; media_length: number }>> {
    const out = new Map<string, { media_count: number; media_length: number }>();
    if (fromTs === undefined && untilTs === undefined) {
      for (const [user, u] of await this.repo.store.allUsage()) out.set(user, { media_count: u.count, media_length: u.bytes });
      return out;
    }
    for await (const [, m] of this.repo.store.iterateMedia(this.local)) {
      if (m.user_id === null) continue;
      if ((fromTs !== undefined && m.created_ts < fromTs) || (untilTs !== undefined && m.created_ts >= untilTs)) continue;
      const s = out.get(m.user_id) ?? { media_count: 0, media_length: 0 };
      s.media_count++;
      s.media_length += m.size;
      out.set(m.user_id, s);
    }
    return out;
  }
}
