/**
 * The `media:` section of neurite.yaml (MediaAPI). Defaults suit a board
 * with an SD card: a moderate upload limit, a per-user quota, a disk reserve
 * that uploads may not eat into (LevelDB and the OS need room to write), URL
 * previews off, and the legacy unauthenticated download endpoints frozen.
 */
import { isIP } from 'node:net';

export interface MediaRetention {
  /** Local uploads older than this many days are deleted; 0 keeps them. */
  local_max_age_days: number;
  /** Local uploads nobody fetched for this many days are deleted; 0 keeps them. */
  local_max_idle_days: number;
  /** Cached remote media (and URL-preview images) older than this many days; 0 keeps them. */
  remote_max_age_days: number;
  remote_max_idle_days: number;
}

export interface MediaConfig {
  /** The largest upload, in bytes (`m.upload.size`). */
  max_upload_bytes: number;
  /** What one user may have uploaded in total, in bytes; 0: no quota. */
  user_quota_bytes: number;
  /** Uploads are refused when they would leave less than this free on the media disk. */
  min_free_bytes: number;
  /** Images with more pixels (all frames together) are not thumbnailed: a guard against decompression bombs. */
  max_thumbnail_pixels: number;
  /**
   * The deprecated unauthenticated `/_matrix/media/v3/download` and
   * `/thumbnail`: `frozen` serves only media stored before `frozen_since`
   * (spec v1.11 "freeze"), `open` serves everything.
   */
  unauthenticated: 'frozen' | 'open';
  /** Epoch ms of the freeze; 0: when this server's media store was created. */
  frozen_since: number;
  retention: MediaRetention;
  url_preview: {
    enabled: boolean;
    /** CIDR ranges a preview may reach although they are private, loopback or the board's own (e.g. a LAN wiki). */
    allowed_ranges: string[];
  };
}

export const MEDIA_DEFAULTS: MediaConfig = {
  max_upload_bytes: 50 * 1024 * 1024,
  user_quota_bytes: 2 * 1024 ** 3,
  min_free_bytes: 256 * 1024 * 1024,
  max_thumbnail_pixels: 32_000_000,
  unauthenticated: 'frozen',
  frozen_since: 0,
  retention: { local_max_age_days: 0, local_max_idle_days: 0, remote_max_age_days: 0, remote_max_idle_days: 90 },
  url_preview: { enabled: false, allowed_ranges: [] },
};

type Raw = Record<string, unknown>;
type Fail = (field: string, what: string) => never;

function section(o: Raw, key: string, field: string, fail: Fail): Raw {
  const v = o[key];
  if (v === undefined) return {};
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(field, 'must be a mapping');
  return v as Raw;
}

function count(o: Raw, key: string, field: string, dflt: number, fail: Fail): number {
  const v = o[key] ?? dflt;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) fail(field, 'must be a whole number, 0 or more');
  return v;
}

/** `a.b.c.d/n` or `v6/n`; a bare address means one host. */
export function isCidr(s: string): boolean {
  const [addr, bits, ...rest] = s.split('/');
  if (rest.length > 0 || addr === undefined) return false;
  const family = isIP(addr);
  if (family === 0) return false;
  if (bits === undefined) return true;
  if (!/^\d{1,3}$/.test(bits)) return false;
  return Number(bits) <= (family === 4 ? 32 : 128);
}

export function mediaConfig(m: Raw, fail: Fail): MediaConfig {
  const d = MEDIA_DEFAULTS;
  const r = section(m, 'retention', 'media.retention', fail);
  const p = section(m, 'url_preview', 'media.url_preview', fail);
  const unauth = m.unauthenticated ?? d.unauthenticated;
  if (unauth !== 'frozen' && unauth !== 'open') fail('media.unauthenticated', 'must be frozen or open');
  const previewOn = p.enabled ?? d.url_preview.enabled;
  if (typeof previewOn !== 'boolean') fail('media.url_preview.enabled', 'must be true or false');
  const ranges = p.allowed_ranges ?? [];
  if (!Array.isArray(ranges) || ranges.some((x) => typeof x !== 'string' || !isCidr(x))) {
    fail('media.url_preview.allowed_ranges', 'must be a list of addresses or CIDR ranges (192.168.1.0/24, fd00::/8)');
  }
  const cfg: MediaConfig = {
    max_upload_bytes: count(m, 'max_upload_bytes', 'media.max_upload_bytes', d.max_upload_bytes, fail),
    user_quota_bytes: count(m, 'user_quota_bytes', 'media.user_quota_bytes', d.user_quota_bytes, fail),
    min_free_bytes: count(m, 'min_free_bytes', 'media.min_free_bytes', d.min_free_bytes, fail),
    max_thumbnail_pixels: count(m, 'max_thumbnail_pixels', 'media.max_thumbnail_pixels', d.max_thumbnail_pixels, fail),
    unauthenticated: unauth,
    frozen_since: count(m, 'frozen_since', 'media.frozen_since', d.frozen_since, fail),
    retention: {
      local_max_age_days: count(r, 'local_max_age_days', 'media.retention.local_max_age_days', d.retention.local_max_age_days, fail),
      local_max_idle_days: count(r, 'local_max_idle_days', 'media.retention.local_max_idle_days', d.retention.local_max_idle_days, fail),
      remote_max_age_days: count(r, 'remote_max_age_days', 'media.retention.remote_max_age_days', d.retention.remote_max_age_days, fail),
      remote_max_idle_days: count(r, 'remote_max_idle_days', 'media.retention.remote_max_idle_days', d.retention.remote_max_idle_days, fail),
    },
    url_preview: { enabled: previewOn, allowed_ranges: ranges as string[] },
  };
  if (cfg.max_upload_bytes === 0) fail('media.max_upload_bytes', 'must be more than 0');
  if (cfg.max_thumbnail_pixels === 0) fail('media.max_thumbnail_pixels', 'must be more than 0');
  return cfg;
}
