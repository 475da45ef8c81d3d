/**
 * MediaAPI: the content repository. Bytes never travel over this API (they
 * stream through the public routes); it serves the dashboard's usage figures,
 * the maintenance jobs (retention and clean-up) and, with the federation
 * issue, the FederationAPI's questions about local media.
 */
import { defineApi, type CallContext } from '../../platform/ipc/define.js';

/** What one piece of media is, as admin tools see it (Synapse's `media_info`). */
export interface MediaInfo {
  media_origin: string;
  media_id: string;
  /** The uploader (local media); null for remote media and URL-preview images. */
  user_id: string | null;
  media_type: string;
  media_length: number;
  upload_name: string | null;
  created_ts: number;
  last_access_ts: number;
  quarantined_by: string | null;
  safe_from_quarantine: boolean;
  sha256: string;
}

export interface MediaUsage {
  /** Bytes of distinct content files on disk (identical uploads are stored once). */
  total_bytes: number;
  files: number;
  /** Media ids (several may share one file). */
  media: number;
  local: { media: number; bytes: number };
  remote: { media: number; bytes: number };
  thumbnails: { files: number; bytes: number };
  /** The users who uploaded most, by bytes, largest first (bytes as their quota counts them). */
  top_users: { user_id: string; media: number; bytes: number }[];
  /** Free bytes on the disk that holds the media directory. */
  disk_free_bytes: number | null;
}

export interface RetentionResult {
  deleted_local: number;
  deleted_remote: number;
  bytes_freed: number;
  /** Kept although old: protected, or a user's current avatar. */
  kept: number;
}

export interface CleanupResult {
  /** Thumbnails whose source file is gone (left by a crash between a delete and its file removal). */
  orphan_thumbnails: number;
  /** Content files no media id refers to. */
  orphan_files: number;
  /** Half-written uploads of a process that died. */
  temp_files: number;
  /** `/create` ids never uploaded before they expired. */
  expired_pending: number;
  bytes_freed: number;
}

export interface MediaAPI {
  /** Figures for the dashboard. */
  usage(req: { top?: number }, ctx?: CallContext): Promise<MediaUsage>;
  /** Deletes media by the configured retention (media.retention); run by the `media-retention` job. */
  applyRetention(req: Record<string, never>, ctx?: CallContext): Promise<RetentionResult>;
  /** Removes what deletions and crashes left behind; run by the `media-cleanup` job. */
  cleanup(req: Record<string, never>, ctx?: CallContext): Promise<CleanupResult>;
  /** One piece of media's metadata; null when unknown. */
  queryMedia(req: { origin: string; media_id: string }, ctx?: CallContext): Promise<MediaInfo | null>;
}

export const mediaApi = defineApi<MediaAPI>('mediaapi', {
  usage: { idempotent: true },
  applyRetention: { timeoutMs: 300_000 },
  cleanup: { timeoutMs: 300_000 },
  queryMedia: { idempotent: true },
});
