/**
 * GET /preview_url: the OpenGraph data of a page (or of an image), its image
 * stored as media so that clients fetch it from this server. Off unless
 * media.url_preview.enabled; the address policy keeps it off the board's
 * networks. Answers are kept an hour in memory.
 */
import type { IncomingMessage } from 'node:http';
import { MatrixError } from '../../../core/errors.js';
import { mxcUri } from '../ids.js';
import type { MediaRepository } from '../repository.js';
import type { Thumbnailer } from '../thumbnailer.js';
import type { AddressPolicy } from './addresses.js';
import { guardedGet, previewableUrl, readHead } from './fetch.js';
import { decodePage, openGraph } from './opengraph.js';

const TIMEOUT_MS = 10_000;
/** The head of a page is what holds its metadata. */
const MAX_PAGE_BYTES = 1024 * 1024;
const MAX_IMAGE_BYTES = 10 * 1024 * 1024;
const CACHE_MS = 3600_000;
const CACHE_ENTRIES = 256;

export type Preview = Record<string, string | number>;

export class UrlPreviewer {
  private readonly cache = new Map<string, { at: number; preview: Preview }>();

  constructor(
    private readonly repo: MediaRepository,
    private readonly thumbnailer: Thumbnailer,
    private readonly policy: AddressPolicy,
  ) {}

  async preview(raw: string): Promise<Preview> {
    const url = previewableUrl(raw).toString();
    const now = this.repo.now();
    const hit = this.cache.get(url);
    if (hit && now - hit.at < CACHE_MS) return hit.preview;
    const preview = await this.fetchPreview(url);
    this.cache.delete(url);
    this.cache.set(url, { at: now, preview });
    // Oldest first in a Map: drop from the front.
    while (this.cache.size > CACHE_ENTRIES) this.cache.delete(this.cache.keys().next().value!);
    return preview;
  }

  private async fetchPreview(url: string): Promise<Preview> {
    const signal = AbortSignal.timeout(TIMEOUT_MS);
    const { url: finalUrl, response } = await guardedGet(url, this.policy, signal, 'text/html, image/*;q=0.9, */*;q=0.1');
    const type = (response.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type.startsWith('image/')) {
      return (await this.storeImage(response, type)) ?? {};
    }
    if (type !== 'text/html' && type !== 'application/xhtml+xml') {
      response.destroy();
      return {};
    }
    const page = decodePage(await readHead(response, MAX_PAGE_BYTES), response.headers['content-type']);
    const og: Preview = openGraph(page, finalUrl);
    const imageUrl = og['og:image'];
    delete og['og:image'];
    if (typeof imageUrl === 'string') {
      const image = await this.fetchImage(imageUrl, signal).catch(() => undefined);
      if (image) Object.assign(og, image);
    }
    return og;
  }

  private async fetchImage(url: string, signal: AbortSignal): Promise<Preview | undefined> {
    const { response } = await guardedGet(url, this.policy, signal, 'image/*');
    const type = (response.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (!type.startsWith('image/')) {
      response.destroy();
      return undefined;
    }
    return this.storeImage(response, type);
  }

  /** Stores an image as media of no user (a cached copy of outside content: retention treats it as remote). */
  private async storeImage(response: IncomingMessage, type: string): Promise<Preview | undefined> {
    const length = Number(response.headers['content-length']);
    try {
      const rec = await this.repo.upload(response, {
        user_id: null,
        kind: 'preview',
        content_type: type,
        upload_name: null,
        limit: MAX_IMAGE_BYTES,
        ...(Number.isSafeInteger(length) ? { declared_length: length } : {}),
      });
      const out: Preview = { 'og:image': mxcUri(rec.origin, rec.media_id), 'og:image:type': type, 'matrix:image:size': rec.size };
      const probe = await this.thumbnailer.probe(this.repo.files.contentPath(rec.sha256)).catch(() => null);
      if (probe) {
        out['og:image:width'] = probe.width;
        out['og:image:height'] = probe.height;
      }
      return out;
    } catch (e) {
      if (e instanceof MatrixError && e.status === 507) throw e;
      return undefined;
    } finally {
      response.destroy();
    }
  }
}
