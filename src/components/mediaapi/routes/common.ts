/** What the media routes share: their dependencies and the parsing of query parameters and upload headers. */
import type { FastifyRequest } from 'fastify';
import { MatrixError } from '../../../core/errors.js';
import type { MediaConfig } from '../../../platform/config/media.js';
import type { TokenAuth } from '../../../platform/http/auth.js';
import type { UserAPI } from '../../userapi/api.js';
import type { UrlPreviewer } from '../preview/previewer.js';
import { DEFAULT_WAIT_MS, type MediaRepository } from '../repository.js';
import type { Thumbnails } from '../thumbnails.js';

export interface RouteDeps {
  repo: MediaRepository;
  thumbnails: Thumbnails;
  auth: TokenAuth;
  config: MediaConfig;
  /** Media created from this time on is not served by the unauthenticated endpoints (when frozen). */
  frozenSince: number;
  previewer: UrlPreviewer | undefined;
  userapi: () => Pick<UserAPI, 'queryProfile'>;
}

/** Legacy versions of the /_matrix/media paths clients still use. */
export const LEGACY_VERSIONS = ['v3', 'r0', 'v1'] as const;

export type Query = Record<string, string | string[] | undefined>;

export function queryOf(request: FastifyRequest): Query {
  return (request.query ?? {}) as Query;
}

export function one(q: Query, name: string): string | undefined {
  const v = q[name];
  return Array.isArray(v) ? v[0] : v;
}

export function intParam(q: Query, name: string, opts: { required?: boolean; min?: number; max?: number } = {}): number | undefined {
  const v = one(q, name);
  if (v === undefined || v === '') {
    if (opts.required) throw new MatrixError(400, 'M_MISSING_PARAM', `Missing ${name}`);
    return undefined;
  }
  if (!/^-?\d{1,16}$/.test(v)) throw new MatrixError(400, 'M_INVALID_PARAM', `${name} must be an integer`);
  const n = Number(v);
  if ((opts.min !== undefined && n < opts.min) || (opts.max !== undefined && n > opts.max)) {
    const range = opts.max === undefined ? `at least ${opts.min}` : opts.min === undefined ? `at most ${opts.max}` : `between ${opts.min} and ${opts.max}`;
    throw new MatrixError(400, 'M_INVALID_PARAM', `${name} must be ${range}`);
  }
  return n;
}

export function boolParam(q: Query, name: string, dflt: boolean): boolean {
  const v = one(q, name);
  if (v === undefined) return dflt;
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw new MatrixError(400, 'M_INVALID_PARAM', `${name} must be true or false`);
}

/** timeout_ms for media not uploaded yet: 20 s by default, capped by the repository. */
export function waitParam(q: Query): number {
  return intParam(q, 'timeout_ms', { min: 0 }) ?? DEFAULT_WAIT_MS;
}

/** Aborted when the client goes away: a waiting download stops waiting. */
export function abortSignalOf(request: FastifyRequest): AbortSignal {
  const ac = new AbortController();
  request.raw.once('close', () => ac.abort());
  return ac.signal;
}

const TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";
const MEDIA_TYPE = new RegExp(`^${TOKEN}/${TOKEN}(\\s*;.*)?$`);

/** The upload's Content-Type as sent when it looks like one; application/octet-stream otherwise (spec default). */
export function uploadContentType(header: string | undefined): string {
  if (header === undefined) return 'application/octet-stream';
  const v = header.trim();
  if (v.length === 0 || v.length > 255 || !/^[\x20-\x7e]+$/.test(v) || !MEDIA_TYPE.test(v)) return 'application/octet-stream';
  return v;
}

/** The `filename` query parameter: at most 255 bytes, no control characters. */
export function uploadName(q: Query): string | null {
  const v = one(q, 'filename');
  if (v === undefined || v === '') return null;
  if (Buffer.byteLength(v) > 255) throw new MatrixError(400, 'M_INVALID_PARAM', 'filename is longer than 255 bytes');
  if (/[\x00-\x1f\x7f]/.test(v)) throw new MatrixError(400, 'M_INVALID_PARAM', 'filename holds control characters');
  return v;
}

/** Content-Length when the body is not chunked. */
export function declaredLength(request: FastifyRequest): number | undefined {
  if (request.headers['transfer-encoding'] !== undefined) return undefined;
  const v = request.headers['content-length'];
  if (v === undefined || !/^\d{1,16}$/.test(v)) return undefined;
  return Number(v);
}

export function requireUser(request: FastifyRequest, what: string): string {
  const owner = request.owner!;
  if (owner.is_guest) throw new MatrixError(403, 'M_GUEST_ACCESS_FORBIDDEN', `Guests cannot ${what}`);
  return owner.user_id;
}

export function requireAdmin(request: FastifyRequest): string {
  const owner = request.owner!;
  if (!owner.is_admin) throw new MatrixError(403, 'M_FORBIDDEN', 'You are not a server admin');
  return owner.user_id;
}
