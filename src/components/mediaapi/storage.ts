/**
 * The MediaAPI's LevelDB: metadata only; the bytes are files (files.ts).
 *
 *   ('media', origin, media_id)          → MediaRecord (local and cached remote alike: the origin tells)
 *   ('by-user', user_id, created, id)    → 1            a local user's uploads, oldest first
 *   ('blob', sha256)                     → BlobRecord   one content file and how many media ids use it
 *   ('thumb', sha256, variant)           → ThumbRecord  a cached thumbnail of that file
 *   ('pending', media_id)                → PendingRecord  an id from /create, not uploaded yet
 *   ('usage', user_id)                   → Usage        what counts against the user's quota
 *   ('meta', 'created')                  → epoch ms      when this media store began (the default freeze)
 *
 * Thumbnails hang off the content hash, not the media id: identical uploads
 * share them, and deleting the last media id of a file finds them by prefix.
 */
import { decodeKey, encodeKey, prefixRange } from '../../platform/storage/keys.js';
import type { Database, WriteOp } from '../../platform/storage/database.js';

export type MediaKind = 'upload' | 'remote' | 'preview';

export interface MediaRecord {
  origin: string;
  media_id: string;
  kind: MediaKind;
  user_id: string | null;
  content_type: string;
  upload_name: string | null;
  size: number;
  sha256: string;
  created_ts: number;
  last_access_ts: number;
  quarantined_by: string | null;
  safe_from_quarantine: boolean;
}

/** What the image decoder said of a file's header, kept so that thumbnails need not ask again. */
export interface ImageProbe {
  format: string;
  width: number;
  /** Height of one frame. */
  height: number;
  pages: number;
}

export interface BlobRecord {
  size: number;
  refs: number;
  created_ts: number;
  /** null: not an image the thumbnailer reads; absent: not probed yet. */
  image?: ImageProbe | null;
}

export interface ThumbRecord {
  file: string;
  content_type: string;
  width: number;
  height: number;
  size: number;
  created_ts: number;
}

export interface PendingRecord {
  user_id: string;
  created_ts: number;
  expires_at: number;
}

export interface Usage {
  bytes: number;
  count: number;
}

const k = {
  media: (origin: string, id: string) => encodeKey('media', origin, id),
  byUser: (user: string, created: number, id: string) => encodeKey('by-user', user, created, id),
  blob: (sha: string) => encodeKey('blob', sha),
  thumb: (sha: string, variant: string) => encodeKey('thumb', sha, variant),
  pending: (id: string) => encodeKey('pending', id),
  usage: (user: string) => encodeKey('usage', user),
  created: encodeKey('meta', 'created'),
};

export class MediaStore {
  constructor(
    readonly db: Database,
    /** The server's name: the origin of every local upload. */
    private readonly localOrigin: string,
  ) {}

  /** When this store began; set on first start. */
  async createdAt(now: number): Promise<number> {
    const ts = await this.db.get<number>(k.created);
    if (ts !== undefined) return ts;
    await this.db.put(k.created, now, { durable: true });
    return now;
  }

  getMedia(origin: string, id: string): Promise<MediaRecord | undefined> {
    return this.db.get<MediaRecord>(k.media(origin, id));
  }

  getBlob(sha: string): Promise<BlobRecord | undefined> {
    return this.db.get<BlobRecord>(k.blob(sha));
  }

  getThumb(sha: string, variant: string): Promise<ThumbRecord | undefined> {
    return this.db.get<ThumbRecord>(k.thumb(sha, variant));
  }

  async thumbsOf(sha: string): Promise<[string, ThumbRecord][]> {
    const rows = await this.db.entries<ThumbRecord>(prefixRange('thumb', sha));
    return rows.map(([key, v]) => [String(decodeKey(key)[2]), v]);
  }

  getPending(id: string): Promise<PendingRecord | undefined> {
    return this.db.get<PendingRecord>(k.pending(id));
  }

  async usageOf(user: string): Promise<Usage> {
    return (await this.db.get<Usage>(k.usage(user))) ?? { bytes: 0, count: 0 };
  }

  /** A user's uploads, oldest first. */
  async mediaOfUser(user: string): Promise<MediaRecord[]> {
    const keys = await this.db.keys(prefixRange('by-user', user));
    if (keys.length === 0) return [];
    const recs = await this.db.getMany<MediaRecord>(keys.map((key) => k.media(this.localOrigin, String(decodeKey(key)[3]))));
    return recs.filter((r): r is MediaRecord => r !== undefined);
  }

  async pendingOfUser(user: string, now: number): Promise<number> {
    let n = 0;
    for await (const [, p] of this.db.iterate<PendingRecord>(prefixRange('pending'))) if (p.user_id === user && p.expires_at > now) n++;
    return n;
  }

  iterateMedia(origin?: string): AsyncGenerator<[string, MediaRecord]> {
    return this.db.iterate<MediaRecord>(origin === undefined ? prefixRange('media') : prefixRange('media', origin));
  }

  iterateBlobs(): AsyncGenerator<[string, BlobRecord]> {
    return this.db.iterate<BlobRecord>(prefixRange('blob'));
  }

  async allThumbs(): Promise<{ sha: string; variant: string; thumb: ThumbRecord }[]> {
    const rows = await this.db.entries<ThumbRecord>(prefixRange('thumb'));
    return rows.map(([key, thumb]) => {
      const parts = decodeKey(key);
      return { sha: String(parts[1]), variant: String(parts[2]), thumb };
    });
  }

  async allPending(): Promise<[string, PendingRecord][]> {
    const rows = await this.db.entries<PendingRecord>(prefixRange('pending'));
    return rows.map(([key, p]) => [String(decodeKey(key)[1]), p]);
  }

  async allUsage(): Promise<[string, Usage][]> {
    const rows = await this.db.entries<Usage>(prefixRange('usage'));
    return rows.map(([key, u]) => [String(decodeKey(key)[1]), u]);
  }

  /** Blob hashes as stored (for the orphan sweep). */
  async blobHashes(): Promise<Set<string>> {
    const keys = await this.db.keys(prefixRange('blob'));
    return new Set(keys.map((key) => String(decodeKey(key)[1])));
  }

  write(ops: WriteOp[], durable = true): Promise<void> {
    return this.db.write(ops, { durable });
  }
}

/** Write operations, gathered by the repository into one batch per change. */
export const ops = {
  putMedia: (m: MediaRecord): WriteOp => ({ type: 'put', key: k.media(m.origin, m.media_id), value: m }),
  delMedia: (m: MediaRecord): WriteOp => ({ type: 'del', key: k.media(m.origin, m.media_id) }),
  putByUser: (m: MediaRecord & { user_id: string }): WriteOp => ({ type: 'put', key: k.byUser(m.user_id, m.created_ts, m.media_id), value: 1 }),
  delByUser: (m: MediaRecord & { user_id: string }): WriteOp => ({ type: 'del', key: k.byUser(m.user_id, m.created_ts, m.media_id) }),
  putBlob: (sha: string, b: BlobRecord): WriteOp => ({ type: 'put', key: k.blob(sha), value: b }),
  delBlob: (sha: string): WriteOp => ({ type: 'del', key: k.blob(sha) }),
  putThumb: (sha: string, variant: string, t: ThumbRecord): WriteOp => ({ type: 'put', key: k.thumb(sha, variant), value: t }),
  delThumb: (sha: string, variant: string): WriteOp => ({ type: 'del', key: k.thumb(sha, variant) }),
  putPending: (id: string, p: PendingRecord): WriteOp => ({ type: 'put', key: k.pending(id), value: p }),
  delPending: (id: string): WriteOp => ({ type: 'del', key: k.pending(id) }),
  putUsage: (user: string, u: Usage): WriteOp =>
    u.count <= 0 ? { type: 'del', key: k.usage(user) } : { type: 'put', key: k.usage(user), value: u },
};
