/**
 * The content repository's core: storing an upload (quota, disk reserve,
 * deduplication, one durable batch), finding media for a download (waiting
 * for an id from /create to be uploaded), and deleting media (the file goes
 * with its last media id, thumbnails with it).
 *
 * Files are written before the metadata that names them and removed after
 * the metadata that named them is gone: a crash in between leaves a file
 * nobody refers to, which the clean-up job removes; never a record without
 * its file.
 */
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { MatrixError } from '../../core/errors.js';
import type { MediaConfig } from '../../platform/config/media.js';
import type { WriteOp } from '../../platform/storage/database.js';
import { unlinkQuietly, type MediaFiles } from './files.js';
import { isValidMediaRef, newMediaId } from './ids.js';
import { diskFull, receive, tooLarge } from './ingest.js';
import { Serial } from './serial.js';
import { ops, type MediaKind, type MediaRecord, type MediaStore } from './storage.js';

/** How long an id from /create may wait for its upload (spec recommends 24 hours). */
export const PENDING_LIFETIME_MS = 24 * 3600_000;
/** Ids from /create a user may hold at once before M_LIMIT_EXCEEDED. */
export const MAX_PENDING_PER_USER = 10;
/** The longest a download waits for an upload that has not arrived (spec: servers SHOULD cap timeout_ms). */
export const MAX_WAIT_MS = 60_000;
export const DEFAULT_WAIT_MS = 20_000;
/** last_access_ts is written at most this often per media: downloads must not wear the SD card. */
const ACCESS_GRANULARITY_MS = 3600_000;

export interface RepoDeps {
  store: MediaStore;
  files: MediaFiles;
  serverName: string;
  config: MediaConfig;
  logger: Logger;
  now?: () => number;
}

export interface UploadRequest {
  user_id: string | null;
  kind?: MediaKind;
  /** For PUT /upload/{serverName}/{mediaId}: the id from /create. */
  media_id?: string;
  content_type: string;
  upload_name: string | null;
  /** Content-Length, when the client sent one. */
  declared_length?: number;
  /** A lower limit than media.max_upload_bytes (URL-preview images). */
  limit?: number;
}

export function notFound(what = 'Unknown media'): MatrixError {
  return new MatrixError(404, 'M_NOT_FOUND', what);
}

export class MediaRepository {
  readonly store: MediaStore;
  readonly files: MediaFiles;
  readonly serverName: string;
  readonly config: MediaConfig;
  readonly logger: Logger;
  readonly now: () => number;
  /** Every change of metadata runs here, one at a time. */
  readonly serial = new Serial();
  /** Ids from /create whose PUT is under way. */
  private readonly putting = new Set<string>();
  /** Downloads waiting for an id from /create to be uploaded. */
  private readonly waiters = new Map<string, Set<() => void>>();

  constructor(d: RepoDeps) {
    this.store = d.store;
    this.files = d.files;
    this.serverName = d.serverName;
    this.config = d.config;
    this.logger = d.logger;
    this.now = d.now ?? Date.now;
  }

  // ------------------------------------------------------------ uploads

  /**
   * Refusals that need no body: a declared size over the limit, a quota, a
   * disk that would fill. Answers how many bytes the disk reserve leaves.
   */
  private async admit(userId: string | null, declared: number | undefined, limit: number): Promise<number> {
    if (declared !== undefined && declared > limit) throw tooLarge(limit);
    if (userId !== null) await this.checkQuota(userId, declared ?? 0);
    return this.spaceFor(declared ?? 0);
  }

  private async checkQuota(userId: string, adding: number): Promise<void> {
    const quota = this.config.user_quota_bytes;
    if (quota === 0) return;
    const used = (await this.store.usageOf(userId)).bytes;
    if (used + adding > quota) {
      throw new MatrixError(403, 'M_FORBIDDEN', `This upload would exceed your media quota (${used} of ${quota} bytes used)`);
    }
  }

  /** Bytes an upload may take before it eats into the disk reserve; throws when even `need` does not fit. */
  private async spaceFor(need: number): Promise<number> {
    const free = await this.files.freeBytes();
    if (free === null) return Number.MAX_SAFE_INTEGER;
    const room = free - this.config.min_free_bytes;
    if (room < need || room <= 0) throw diskFull(true);
    return room;
  }

  /** POST /create: an id to upload to later. */
  async createPending(userId: string): Promise<{ media_id: string; expires_at: number }> {
    return this.serial.run(async () => {
      const now = this.now();
      if ((await this.store.pendingOfUser(userId, now)) >= MAX_PENDING_PER_USER) {
        throw new MatrixError(429, 'M_LIMIT_EXCEEDED', 'Too many media ids waiting for their upload', { retry_after_ms: 60_000 });
      }
      const media_id = newMediaId();
      const expires_at = now + PENDING_LIFETIME_MS;
      await this.store.write([ops.putPending(media_id, { user_id: userId, created_ts: now, expires_at })]);
      return { media_id, expires_at };
    });
  }

  /** Checks a PUT to an id from /create before its body is read; the returned function ends the PUT. */
  async beginPut(userId: string, serverName: string, mediaId: string): Promise<() => void> {
    if (serverName !== this.serverName || !isValidMediaRef(serverName, mediaId)) throw notFound('Unknown media id');
    if (await this.store.getMedia(serverName, mediaId)) throw new MatrixError(409, 'M_CANNOT_OVERWRITE_MEDIA', 'Media already uploaded');
    const pending = await this.store.getPending(mediaId);
    if (!pending || pending.expires_at <= this.now()) throw notFound('Unknown or expired media id');
    if (pending.user_id !== userId) throw new MatrixError(403, 'M_FORBIDDEN', 'This media id was created by another user');
    if (this.putting.has(mediaId)) throw new MatrixError(409, 'M_CANNOT_OVERWRITE_MEDIA', 'An upload to this media id is under way');
    this.putting.add(mediaId);
    return () => this.putting.delete(mediaId);
  }

  /** Streams a body to disk and records it. */
  async upload(body: Readable, u: UploadRequest): Promise<MediaRecord> {
    const limit = Math.min(u.limit ?? Infinity, this.config.max_upload_bytes);
    const room = await this.admit(u.user_id, u.declared_length, limit);
    const tmp = this.files.newTempPath();
    const got = await receive(body, tmp, limit, room);
    try {
      return await this.serial.run(async () => {
        if (u.user_id !== null) await this.checkQuota(u.user_id, got.size);
        const mediaId = u.media_id ?? newMediaId();
        if (u.media_id !== undefined) {
          const pending = await this.store.getPending(u.media_id);
          if (!pending || (await this.store.getMedia(this.serverName, u.media_id))) throw notFound('Unknown or expired media id');
        }
        await this.files.commitContent(got.tmpPath, got.sha256);
        const now = this.now();
        const rec: MediaRecord = {
          origin: this.serverName,
          media_id: mediaId,
          kind: u.kind ?? 'upload',
          user_id: u.user_id,
          content_type: u.content_type,
          upload_name: u.upload_name,
          size: got.size,
          sha256: got.sha256,
          created_ts: now,
          last_access_ts: now,
          quarantined_by: null,
          safe_from_quarantine: false,
        };
        const w: WriteOp[] = [ops.putMedia(rec), ...(await this.refOps(rec.sha256, rec.size, +1, now))];
        if (rec.user_id !== null) {
          const usage = await this.store.usageOf(rec.user_id);
          w.push(ops.putByUser({ ...rec, user_id: rec.user_id }), ops.putUsage(rec.user_id, { bytes: usage.bytes + rec.size, count: usage.count + 1 }));
        }
        if (u.media_id !== undefined) w.push(ops.delPending(u.media_id));
        await this.store.write(w);
        this.wake(mediaId);
        return rec;
      });
    } catch (e) {
      // Not renamed yet (refused under the lock): the temp file must not stay.
      await unlinkQuietly(got.tmpPath).catch(() => undefined);
      throw e;
    }
  }

  /** The blob record after `delta` references to it. */
  private async refOps(sha: string, size: number, delta: number, now: number): Promise<WriteOp[]> {
    const blob = await this.store.getBlob(sha);
    const refs = (blob?.refs ?? 0) + delta;
    if (refs <= 0) return [ops.delBlob(sha)];
    return [ops.putBlob(sha, { ...(blob ?? { created_ts: now }), size, refs })];
  }

  // ------------------------------------------------------------ downloads

  /**
   * The media a download names. An id from /create that is not uploaded yet
   * is waited for (up to `waitMs`), then 504 M_NOT_YET_UPLOADED. Media of
   * other servers is not fetched until federation media lands: 404 unless
   * it is cached already.
   */
  async find(origin: string, mediaId: string, waitMs = 0, signal?: AbortSignal): Promise<MediaRecord> {
    if (!isValidMediaRef(origin, mediaId)) throw notFound();
    let rec = await this.store.getMedia(origin, mediaId);
    if (!rec && origin === this.serverName) {
      const pending = await this.store.getPending(mediaId);
      if (pending && pending.expires_at > this.now()) {
        if (waitMs > 0) {
          await this.waitForUpload(mediaId, Math.min(waitMs, MAX_WAIT_MS), signal);
          rec = await this.store.getMedia(origin, mediaId);
        }
        if (!rec) throw new MatrixError(504, 'M_NOT_YET_UPLOADED', 'Content has not yet been uploaded');
      }
    }
    if (!rec) throw notFound(origin === this.serverName ? 'Unknown media' : 'Media from other servers is not available on this server yet');
    if (rec.quarantined_by !== null) throw notFound();
    return rec;
  }

  private waitForUpload(mediaId: string, ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      let set = this.waiters.get(mediaId);
      if (!set) this.waiters.set(mediaId, (set = new Set()));
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        set.delete(done);
        if (set.size === 0 && this.waiters.get(mediaId) === set) this.waiters.delete(mediaId);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal?.addEventListener('abort', done);
      set.add(done);
    });
  }

  private wake(mediaId: string): void {
    for (const w of [...(this.waiters.get(mediaId) ?? [])]) w();
  }

  /** Notes a download, at most once an hour per media, not synced (retention by last access). */
  touch(rec: MediaRecord): void {
    const now = this.now();
    if (now - rec.last_access_ts < ACCESS_GRANULARITY_MS) return;
    rec.last_access_ts = now;
    void this.serial
      .run(async () => {
        const cur = await this.store.getMedia(rec.origin, rec.media_id);
        if (cur && now - cur.last_access_ts >= ACCESS_GRANULARITY_MS) await this.store.write([ops.putMedia({ ...cur, last_access_ts: now })], false);
      })
      .catch((e: Error) => this.logger.warn({ err: e.message }, 'could not note a media access'));
  }

  // ------------------------------------------------------------ changes

  /** Changes one record under the lock; null when it is gone. */
  async update(origin: string, mediaId: string, change: (m: MediaRecord) => MediaRecord): Promise<MediaRecord | null> {
    return this.serial.run(async () => {
      const cur = await this.store.getMedia(origin, mediaId);
      if (!cur) return null;
      const next = change(cur);
      await this.store.write([ops.putMedia(next)]);
      return next;
    });
  }

  /**
   * Deletes media records; a content file goes (with its thumbnails) when
   * its last record does. Answers what was deleted and the bytes freed on disk.
   */
  async delete(recs: MediaRecord[]): Promise<{ deleted: MediaRecord[]; bytes_freed: number }> {
    if (recs.length === 0) return { deleted: [], bytes_freed: 0 };
    const removed: string[] = [];
    const result = await this.serial.run(async () => {
      const deleted: MediaRecord[] = [];
      const refDelta = new Map<string, { size: number; delta: number }>();
      const usageDelta = new Map<string, { bytes: number; count: number }>();
      const w: WriteOp[] = [];
      for (const r of recs) {
        const cur = await this.store.getMedia(r.origin, r.media_id);
        if (!cur) continue;
        deleted.push(cur);
        w.push(ops.delMedia(cur));
        const d = refDelta.get(cur.sha256) ?? { size: cur.size, delta: 0 };
        d.delta--;
        refDelta.set(cur.sha256, d);
        if (cur.user_id !== null) {
          w.push(ops.delByUser({ ...cur, user_id: cur.user_id }));
          const u = usageDelta.get(cur.user_id) ?? { bytes: 0, count: 0 };
          u.bytes += cur.size;
          u.count++;
          usageDelta.set(cur.user_id, u);
        }
      }
      let bytes_freed = 0;
      const now = this.now();
      for (const [sha, d] of refDelta) {
        const blobOps = await this.refOps(sha, d.size, d.delta, now);
        w.push(...blobOps);
        if (blobOps[0]?.type === 'del') {
          removed.push(sha);
          bytes_freed += d.size;
          for (const [variant, t] of await this.store.thumbsOf(sha)) {
            w.push(ops.delThumb(sha, variant));
            bytes_freed += t.size;
          }
        }
      }
      for (const [user, d] of usageDelta) {
        const u = await this.store.usageOf(user);
        w.push(ops.putUsage(user, { bytes: Math.max(0, u.bytes - d.bytes), count: u.count - d.count }));
      }
      if (w.length > 0) await this.store.write(w);
      // Inside the lock: an upload of the same content must not find the file about to vanish.
      for (const sha of removed) await this.files.removeContent(sha).catch((e: Error) => this.logger.warn({ err: e.message, sha }, 'could not remove a media file'));
      return { deleted, bytes_freed };
    });
    return result;
  }
}
