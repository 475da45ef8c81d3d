/**
 * Image work through sharp (libvips), loaded on first use so that a media
 * process that never thumbnails does not map the library.
 *
 * Hostile input: the header is read first and an image with more pixels
 * than allowed (all frames together) is refused before anything is decoded;
 * libvips also refuses it itself (limitInputPixels); a truncated image fails
 * (failOn: 'truncated'); a render that takes too long is stopped (timeout).
 * Renders run two at a time, so a burst of requests queues instead of
 * taking every core and the memory of a small board.
 */
import type { FailOnOptions, Sharp, SharpOptions } from 'sharp';
import { MatrixError } from '../../core/errors.js';
import type { ImageProbe } from './storage.js';
import { outputSize, type ThumbnailSize } from './thumbnail-size.js';

type SharpFactory = (input?: string | Buffer, options?: SharpOptions) => Sharp;
interface SharpModule {
  (input?: string | Buffer, options?: SharpOptions): Sharp;
  cache(options: boolean): unknown;
  concurrency(n: number): number;
}

/** Formats thumbnails are made of; anything else (SVG, PDF, TIFF, video) gets no thumbnail. */
const READABLE = new Set(['jpeg', 'png', 'gif', 'webp']);
const FAIL_ON: FailOnOptions = 'truncated';
const RENDER_TIMEOUT_SECONDS = 20;
const MAX_PARALLEL = 2;
const MAX_QUEUED = 64;

export function cannotThumbnail(why = 'Cannot generate thumbnails for the requested content'): MatrixError {
  return new MatrixError(400, 'M_UNKNOWN', why);
}

export interface Rendered {
  content_type: string;
  width: number;
  height: number;
  size: number;
}

export class Thumbnailer {
  private sharp: Promise<SharpFactory> | undefined;
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly maxPixels: number,
    private readonly onLoadError: (e: Error) => void = () => undefined,
  ) {}

  private load(): Promise<SharpFactory> {
    this.sharp ??= import('sharp').then(
      (m) => {
        const s = ((m as { default?: SharpModule }).default ?? m) as SharpModule;
        // libvips' operation cache keeps decoded images around: memory a board does not have.
        s.cache(false);
        // One libvips worker thread per image; parallelism comes from MAX_PARALLEL images.
        s.concurrency(1);
        return s as SharpFactory;
      },
      (e: Error) => {
        this.onLoadError(e);
        this.sharp = undefined;
        throw cannotThumbnail('Thumbnails are not available on this server');
      },
    );
    return this.sharp;
  }

  /** Reads the header only; null when it is not an image thumbnails are made of (or not an image at all). */
  async probe(path: string): Promise<ImageProbe | null> {
    const sharp = await this.load();
    try {
      const m = await sharp(path, { failOn: 'none', limitInputPixels: false }).metadata();
      if (!m.format || !READABLE.has(m.format) || !m.width || !m.height) return null;
      // EXIF orientation 5–8 swaps the sides; thumbnails are made upright.
      const w = m.autoOrient?.width ?? m.width;
      const h = m.autoOrient?.height ?? m.height;
      return { format: m.format, width: w, height: h, pages: m.pages ?? 1 };
    } catch {
      return null;
    }
  }

  /** Pixels the decoder would produce for this output (all frames when animated). */
  pixelsToDecode(probe: ImageProbe, animated: boolean): number {
    return probe.width * probe.height * (animated ? probe.pages : 1);
  }

  /** Renders a thumbnail into `out`. Throws a MatrixError for input it will not or cannot handle. */
  async render(src: string, probe: ImageProbe, size: ThumbnailSize, animated: boolean, out: string): Promise<Rendered> {
    if (this.pixelsToDecode(probe, animated) > this.maxPixels) {
      throw new MatrixError(413, 'M_TOO_LARGE', 'The image is too large to thumbnail');
    }
    const sharp = await this.load();
    await this.slot();
    try {
      const target = outputSize(probe.width, probe.height, size);
      let img = sharp(src, {
        animated,
        autoOrient: !animated,
        failOn: FAIL_ON,
        limitInputPixels: this.maxPixels,
        sequentialRead: true,
      })
        .resize({ width: target.width, height: target.height, fit: size.method === 'crop' ? 'cover' : 'fill' })
        .timeout({ seconds: RENDER_TIMEOUT_SECONDS });
      let content_type: string;
      if (animated) {
        // The spec prefers WebP for animated thumbnails.
        img = img.webp({ quality: 80, effort: 2 });
        content_type = 'image/webp';
      } else if (probe.format === 'jpeg') {
        img = img.jpeg({ quality: 80 });
        content_type = 'image/jpeg';
      } else {
        img = img.png({ compressionLevel: 6 });
        content_type = 'image/png';
      }
      const info = await img.toFile(out);
      return { content_type, width: info.width, height: info.pageHeight ?? info.height, size: info.size };
    } catch (e) {
      throw renderError(e);
    } finally {
      this.release();
    }
  }

  private async slot(): Promise<void> {
    if (this.running < MAX_PARALLEL) {
      this.running++;
      return;
    }
    if (this.waiting.length >= MAX_QUEUED) {
      throw new MatrixError(503, 'M_UNKNOWN', 'The server is busy making thumbnails; try again shortly', { retry_after_ms: 2000 });
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.running--;
  }
}

function renderError(e: unknown): MatrixError {
  if (e instanceof MatrixError) return e;
  const msg = (e as Error).message ?? '';
  if (/pixel limit/i.test(msg)) return new MatrixError(413, 'M_TOO_LARGE', 'The image is too large to thumbnail');
  if (/timeout/i.test(msg)) return cannotThumbnail('The image took too long to thumbnail');
  return cannotThumbnail('The image could not be read (corrupt or truncated)');
}
