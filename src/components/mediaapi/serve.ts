/**
 * Sends a media file safely (spec: "Serving inline content"): the stored
 * Content-Type, `inline` only for types that cannot run script, the file
 * name in Content-Disposition, a sandboxing Content-Security-Policy and
 * nosniff; single byte ranges (seeking in audio and video); ETag and 304
 * (content is immutable). The file is opened before anything is answered,
 * so a deletion in between is a 404, and a download under way keeps its
 * file even when the media is deleted meanwhile.
 */
import { open } from 'node:fs/promises';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { notFound } from './repository.js';

/** Content types served with `Content-Disposition: inline` (spec list). */
export const INLINE_TYPES = new Set([
  'text/css', 'text/plain', 'text/csv', 'application/json', 'application/ld+json',
  'image/jpeg', 'image/gif', 'image/png', 'image/apng', 'image/webp', 'image/avif',
  'video/mp4', 'video/webm', 'video/ogg', 'video/quicktime',
  'audio/mp4', 'audio/webm', 'audio/aac', 'audio/mpeg', 'audio/ogg', 'audio/wave', 'audio/wav', 'audio/x-wav', 'audio/x-pn-wav', 'audio/flac', 'audio/x-flac',
]);

/** The spec's recommended policy. */
export const MEDIA_CSP = "sandbox; default-src 'none'; script-src 'none'; plugin-types application/pdf; style-src 'unsafe-inline'; object-src 'self';";

export function baseType(contentType: string): string {
  return contentType.split(';')[0]!.trim().toLowerCase();
}

/** `inline` or `attachment` by the type, with the file name when there is one (RFC 6266, RFC 8187 for non-ASCII). */
export function contentDisposition(contentType: string, fileName: string | null, forceInline = false): string {
  const disposition = forceInline || INLINE_TYPES.has(baseType(contentType)) ? 'inline' : 'attachment';
  if (fileName === null || fileName === '') return disposition;
  if (/^[\x20-\x7e]*$/.test(fileName)) return `${disposition}; filename="${fileName.replace(/["\\]/g, '\\$&')}"`;
  const encoded = encodeURIComponent(fileName).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `${disposition}; filename*=utf-8''${encoded}`;
}

export interface FileToSend {
  path: string;
  contentType: string;
  disposition: string;
  etag: string;
}

interface ByteRange {
  start: number;
  end: number;
}

/** One `bytes=` range; undefined for none or several (then the whole file is sent), null when unsatisfiable. */
export function parseRange(header: string | undefined, size: number): ByteRange | undefined | null {
  if (header === undefined) return undefined;
  const m = /^bytes=\s*(\d*)\s*-\s*(\d*)\s*$/.exec(header);
  if (!m) return undefined;
  const [, a, b] = m;
  if (a === '' && b === '') return undefined;
  if (a === '') {
    const n = Number(b);
    if (n === 0) return null;
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(a);
  const end = b === '' ? size - 1 : Math.min(Number(b), size - 1);
  if (start >= size || end < start) return null;
  return { start, end };
}

export async function sendFile(request: FastifyRequest, reply: FastifyReply, f: FileToSend): Promise<FastifyReply> {
  const fh = await open(f.path, 'r').catch(() => {
    throw notFound();
  });
  let handedOver = false;
  try {
    const size = (await fh.stat()).size;
    reply.header('content-type', f.contentType);
    reply.header('content-disposition', f.disposition);
    reply.header('content-security-policy', MEDIA_CSP);
    reply.header('cross-origin-resource-policy', 'cross-origin');
    reply.header('x-content-type-options', 'nosniff');
    // Authenticated content: a shared cache must not keep it for others.
    reply.header('cache-control', 'private, max-age=86400');
    reply.header('etag', f.etag);
    reply.header('accept-ranges', 'bytes');
    if (request.headers['if-none-match'] === f.etag) {
      return reply.status(304).send();
    }
    const ifRange = request.headers['if-range'];
    const range = ifRange === undefined || ifRange === f.etag ? parseRange(request.headers.range, size) : undefined;
    if (range === null) {
      reply.header('content-range', `bytes */${size}`);
      reply.header('content-type', 'application/json');
      return reply.status(416).send({ errcode: 'M_UNKNOWN', error: 'The requested range is outside the content' });
    }
    const { start, end } = range ?? { start: 0, end: size - 1 };
    if (range) {
      reply.status(206);
      reply.header('content-range', `bytes ${start}-${end}/${size}`);
    }
    reply.header('content-length', String(size === 0 ? 0 : end - start + 1));
    if (request.method === 'HEAD') {
      // fastify's HEAD handling would read a stream to its end, or say Content-Length: 0 without one.
      reply.hijack();
      reply.raw.writeHead(reply.statusCode, reply.getHeaders() as Record<string, string>);
      reply.raw.end();
      return reply;
    }
    if (size === 0) return reply.send();
    handedOver = true;
    return reply.send(fh.createReadStream({ start, end, autoClose: true }));
  } finally {
    if (!handedOver) await fh.close().catch(() => undefined);
  }
}
