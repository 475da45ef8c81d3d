/**
 * Thumbnails of stored media: rendered once per (content hash, size,
 * method, animated) and kept beside the content; the same request later is
 * a file read. Concurrent requests for one thumbnail share one render.
 */
import { stat } from 'node:fs/promises';
import type { MediaRepository } from './repository.js';
import { ops, type ImageProbe, type MediaRecord } from './storage.js';
import { cannotThumbnail, type Thumbnailer } from './thumbnailer.js';
import { originalFits, RECOMMENDED, snap, variantKey, type ThumbnailSize } from './thumbnail-size.js';
import { unlinkQuietly } from './files.js';

/** Thumbnails one file may keep; past that, only the recommended sizes are kept and others rendered per request. */
const MAX_VARIANTS = 24;

export interface ThumbnailRequest extends ThumbnailSize {
  animated: boolean;
}

export interface ServedFile {
  path: string;
  content_type: string;
  size: number;
  /** Set when the original is served because it is no larger than asked. */
  original: boolean;
  /** Removes a file that was rendered for this response only. */
  dispose?: () => void;
}

const EXTENSION: Record<string, string> = { 'image/png': 'png', 'image/jpeg': 'jpg', 'image/webp': 'webp' };

export class Thumbnails {
  private readonly inflight = new Map<string, Promise<ServedFile>>();

  constructor(
    private readonly repo: MediaRepository,
    private readonly thumbnailer: Thumbnailer,
  ) {}

  async get(rec: MediaRecord, req: ThumbnailRequest): Promise<ServedFile> {
    const probe = await this.probe(rec.sha256);
    if (!probe) throw cannotThumbnail();
    // animated=true on a still image behaves as false (spec).
    const animated = req.animated && probe.pages > 1;
    const still = probe.pages === 1 || animated;
    if (still && originalFits(probe.width, probe.height, req)) {
      return { path: this.repo.files.contentPath(rec.sha256), content_type: `image/${probe.format}`, size: rec.size, original: true };
    }
    const size = snap(req);
    const variant = variantKey(size, animated);
    const cached = await this.cached(rec.sha256, variant);
    if (cached) return cached;
    const key = `${rec.sha256}/${variant}`;
    let p = this.inflight.get(key);
    if (!p) {
      p = this.render(rec.sha256, probe, size, animated, variant).finally(() => this.inflight.delete(key));
      this.inflight.set(key, p);
    }
    return p;
  }

  private async cached(sha: string, variant: string): Promise<ServedFile | undefined> {
    const t = await this.repo.store.getThumb(sha, variant);
    if (!t) return undefined;
    const path = this.repo.files.thumbPath(sha, t.file);
    // A record whose file is gone (removed by hand, lost in a crash) is rendered again.
    if (!(await this.repo.files.exists(path))) return undefined;
    return { path, content_type: t.content_type, size: t.size, original: false };
  }

  /** The header facts of a file, read once and kept in its blob record. */
  private async probe(sha: string): Promise<ImageProbe | null> {
    const blob = await this.repo.store.getBlob(sha);
    if (!blob) throw cannotThumbnail();
    if (blob.image !== undefined) return blob.image;
    const image = await this.thumbnailer.probe(this.repo.files.contentPath(sha));
    await this.repo.serial.run(async () => {
      const cur = await this.repo.store.getBlob(sha);
      if (cur) await this.repo.store.write([ops.putBlob(sha, { ...cur, image })], false);
    });
    return image;
  }

  private async render(sha: string, probe: ImageProbe, size: ThumbnailSize, animated: boolean, variant: string): Promise<ServedFile> {
    const tmp = this.repo.files.newTempPath();
    let r;
    try {
      r = await this.thumbnailer.render(this.repo.files.contentPath(sha), probe, size, animated, tmp);
    } catch (e) {
      await unlinkQuietly(tmp).catch(() => undefined);
      throw e;
    }
    const recommended = RECOMMENDED.some((s) => s.width === size.width && s.height === size.height && s.method === size.method);
    const kept = recommended || (await this.repo.store.thumbsOf(sha)).length < MAX_VARIANTS;
    if (!kept) {
      const size2 = (await stat(tmp)).size;
      return { path: tmp, content_type: r.content_type, size: size2, original: false, dispose: () => void unlinkQuietly(tmp).catch(() => undefined) };
    }
    const file = `${variant}.${EXTENSION[r.content_type] ?? 'bin'}`;
    const committed = await this.repo.serial.run(async () => {
      // The media may have been deleted while this rendered: then the thumbnail goes too.
      if (!(await this.repo.store.getBlob(sha))) return false;
      await this.repo.files.commitFile(tmp, this.repo.files.thumbPath(sha, file));
      // Derived data: a record lost in a power cut only means one more render.
      await this.repo.store.write(
        [ops.putThumb(sha, variant, { file, content_type: r.content_type, width: r.width, height: r.height, size: r.size, created_ts: this.repo.now() })],
        false,
      );
      return true;
    });
    if (!committed) {
      await unlinkQuietly(tmp).catch(() => undefined);
      throw cannotThumbnail('The media was deleted');
    }
    return { path: this.repo.files.thumbPath(sha, file), content_type: r.content_type, size: r.size, original: false };
  }
}
