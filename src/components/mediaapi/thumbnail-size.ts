/**
 * Which thumbnail to make for a request (spec: "Thumbnails"): `scale` keeps
 * the aspect and fits inside the box, `crop` fills the box's aspect; never
 * upscaled, never smaller than asked unless the image is.
 *
 * Requests snap to the sizes the spec recommends when one of them is at
 * least as large as asked, so that the few sizes clients use share one
 * cached file and a client cannot fill the disk with a thumbnail per pixel.
 */

export type ThumbnailMethod = 'crop' | 'scale';

export interface ThumbnailSize {
  width: number;
  height: number;
  method: ThumbnailMethod;
}

export const RECOMMENDED: readonly ThumbnailSize[] = [
  { width: 32, height: 32, method: 'crop' },
  { width: 96, height: 96, method: 'crop' },
  { width: 320, height: 240, method: 'scale' },
  { width: 640, height: 480, method: 'scale' },
  { width: 800, height: 600, method: 'scale' },
];

/** Sides beyond this are not rendered: the original is served instead, or this size. */
export const MAX_SIDE = 1600;

/** The size to render for a request: a recommended one that covers it, or the request itself (capped). */
export function snap(req: ThumbnailSize): ThumbnailSize {
  const covering = RECOMMENDED.filter((s) => s.method === req.method && s.width >= req.width && s.height >= req.height);
  covering.sort((a, b) => a.width * a.height - b.width * b.height);
  if (covering[0]) return covering[0];
  return { width: Math.min(req.width, MAX_SIDE), height: Math.min(req.height, MAX_SIDE), method: req.method };
}

/** Output dimensions for a source of `w`×`h` (one frame). */
export function outputSize(w: number, h: number, size: ThumbnailSize): { width: number; height: number } {
  if (size.method === 'scale') {
    if (w <= size.width && h <= size.height) return { width: w, height: h };
    // Fit inside the box: the tighter side decides.
    const f = Math.min(size.width / w, size.height / h);
    return { width: Math.max(1, Math.round(w * f)), height: Math.max(1, Math.round(h * f)) };
  }
  // The largest region of the source with the box's aspect, scaled down to the box when larger.
  const aspect = size.width / size.height;
  let cw = w;
  let ch = h;
  if (w / h > aspect) cw = Math.max(1, Math.round(h * aspect));
  else ch = Math.max(1, Math.round(w / aspect));
  if (cw <= size.width) return { width: cw, height: ch };
  return { width: size.width, height: size.height };
}

/** The original is the best answer when it fits inside what was asked. */
export function originalFits(w: number, h: number, req: { width: number; height: number }): boolean {
  return w <= req.width && h <= req.height;
}

/** The cache key of a rendered thumbnail. */
export function variantKey(size: ThumbnailSize, animated: boolean): string {
  return `${size.width}x${size.height}-${size.method}${animated ? '-animated' : ''}`;
}
