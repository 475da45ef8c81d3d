/**
 * KeyServerAPI: end-to-end encryption keys. Device keys, one-time and
 * fallback keys, cross-signing keys and signatures, and server-side key
 * backups. The ClientAPI serves `/keys/*` and `/room_keys/*` (after
 * authenticating and checking bodies against the spec) by calling it; the
 * SyncAPI asks it for a device's one-time key counts on every /sync. Whose
 * keys changed reaches consumers through the `key_changes` topic (topics.ts).
 *
 * Users of other servers are answered through the federation later; until
 * then their servers appear in `failures`.
 */
import { defineApi, type CallContext } from '../../platform/ipc/define.js';

export type Signatures = Record<string, Record<string, string>>;

/** A device's identity keys as uploaded (`DeviceKeys`), with `unsigned` only in query answers. */
export interface DeviceKeys {
  user_id: string;
  device_id: string;
  algorithms: string[];
  keys: Record<string, string>;
  signatures: Signatures;
  unsigned?: { device_display_name?: string };
  [extra: string]: unknown;
}

/** A cross-signing key (`CrossSigningKey`). */
export interface CrossSigningKey {
  user_id: string;
  usage: string[];
  /** Exactly one entry, `ed25519:<public key>` → the public key. */
  keys: Record<string, string>;
  signatures?: Signatures;
  [extra: string]: unknown;
}

/** A one-time or fallback key: a signed `KeyObject`, or a bare key string (unsigned algorithms). */
export type OneTimeKey = string | { key: string; signatures: Signatures; fallback?: boolean; [extra: string]: unknown };

/** `<algorithm>:<key id>` → key. */
export type OneTimeKeys = Record<string, OneTimeKey>;

export interface UploadKeysRequest {
  user_id: string;
  device_id: string;
  device_keys?: DeviceKeys;
  one_time_keys?: OneTimeKeys;
  /** `fallback_keys`, or `org.matrix.msc2732.fallback_keys` of older clients. */
  fallback_keys?: OneTimeKeys;
}

/** One-time key counts of a device (the `one_time_key_counts` of /keys/upload, `device_one_time_keys_count` of /sync). */
export interface KeyCounts {
  /** algorithm → unclaimed one-time keys; algorithms without keys are left out. */
  one_time_key_counts: Record<string, number>;
  /** Algorithms whose fallback key has not been given out yet (`device_unused_fallback_key_types`). */
  unused_fallback_key_types: string[];
}

/** Failures per unreachable server: server name → anything (the spec leaves it open). */
export type Failures = Record<string, Record<string, unknown>>;

export interface QueryKeysRequest {
  /** Who asks: decides which signatures (user-signing ones) and whose user-signing key are shown. */
  requester: string;
  /** user id → device ids, or [] for every device. */
  device_keys: Record<string, string[]>;
  /** How long remote servers are waited for. */
  timeout_ms?: number;
}

export interface QueryKeysResponse {
  device_keys: Record<string, Record<string, DeviceKeys>>;
  master_keys: Record<string, CrossSigningKey>;
  self_signing_keys: Record<string, CrossSigningKey>;
  /** Only the requester's own. */
  user_signing_keys: Record<string, CrossSigningKey>;
  failures: Failures;
}

export interface ClaimKeysRequest {
  requester: string;
  /** user id → device id → algorithm. */
  one_time_keys: Record<string, Record<string, string>>;
  timeout_ms?: number;
}

export interface ClaimKeysResponse {
  /** user id → device id → `<algorithm>:<key id>` → key; unknown devices and devices without keys are left out. */
  one_time_keys: Record<string, Record<string, OneTimeKeys>>;
  failures: Failures;
}

export interface CrossSigningKeys {
  master_key?: CrossSigningKey;
  self_signing_key?: CrossSigningKey;
  user_signing_key?: CrossSigningKey;
}

export interface UploadCrossSigningRequest extends CrossSigningKeys {
  user_id: string;
  /**
   * The request passed user-interactive auth. Without it only what needs
   * none is done (MSC3967: a first upload, or the keys already stored), and
   * anything else answers `auth_required` and changes nothing.
   */
  authenticated: boolean;
}

export interface SignatureFailure {
  errcode: string;
  error: string;
}

/** `POST /keys/signatures/upload`: user id → key id (device id or master public key) → the signed object. */
export interface UploadSignaturesRequest {
  user_id: string;
  signatures: Record<string, Record<string, Record<string, unknown>>>;
}

export const MEGOLM_BACKUP_V1 = 'm.megolm_backup.v1.curve25519-aes-sha2';

export interface BackupVersion {
  version: string;
  algorithm: string;
  auth_data: Record<string, unknown>;
  count: number;
  etag: string;
}

/** `KeyBackupData`: one backed-up session. */
export interface KeyBackupData {
  first_message_index: number;
  forwarded_count: number;
  is_verified: boolean;
  session_data: Record<string, unknown>;
}

/** room id → { sessions: session id → data } */
export type BackupRooms = Record<string, { sessions: Record<string, KeyBackupData> }>;

/** Where in a backup: everything, one room, or one session of one room. */
export interface BackupSelector {
  user_id: string;
  version: string;
  room_id?: string;
  session_id?: string;
}

export interface KeyServerAPI {
  /**
   * `POST /keys/upload` for the requester's device. Device keys must be the
   * device's, self-signed, and the same as any stored before (400
   * M_INVALID_PARAM otherwise); one-time and fallback keys must be signed by
   * the device's ed25519 key, and a key id already stored must carry the
   * same key. Nothing is stored unless everything passes.
   */
  uploadKeys(req: UploadKeysRequest, ctx?: CallContext): Promise<{ one_time_key_counts: Record<string, number> }>;
  /** A device's one-time key counts and unused fallback key algorithms (for /sync). */
  queryKeyCounts(req: { user_id: string; device_id: string }, ctx?: CallContext): Promise<KeyCounts>;
  /** `POST /keys/query`. */
  queryKeys(req: QueryKeysRequest, ctx?: CallContext): Promise<QueryKeysResponse>;
  /**
   * `POST /keys/claim`: for each device, its oldest one-time key of the
   * algorithm (given out once, never again), else its fallback key (marked
   * used, given out again until replaced).
   */
  claimKeys(req: ClaimKeysRequest, ctx?: CallContext): Promise<ClaimKeysResponse>;

  /**
   * `POST /keys/device_signing/upload`. 400 M_INVALID_SIGNATURE when a
   * self-signing or user-signing key is not signed by the master key, 400
   * M_MISSING_PARAM when there is no master key to check them with, 403
   * M_FORBIDDEN when a public key equals one of the user's device ids.
   * Everything is checked first; then, unless `authenticated`, a request
   * that needs user-interactive auth (MSC3967: anything but a first upload
   * or the keys already stored) answers `auth_required` and changes nothing.
   */
  uploadCrossSigningKeys(req: UploadCrossSigningRequest, ctx?: CallContext): Promise<{ auth_required: boolean }>;
  /** `POST /keys/signatures/upload`: each signature checked on its own; the refused ones in `failures`. */
  uploadSignatures(req: UploadSignaturesRequest, ctx?: CallContext): Promise<{ failures: Record<string, Record<string, SignatureFailure>> }>;

  /** `POST /room_keys/version`: a new backup, which becomes the current one. */
  createBackup(req: { user_id: string; algorithm: string; auth_data: Record<string, unknown> }, ctx?: CallContext): Promise<{ version: string }>;
  /** `GET /room_keys/version[/{version}]`: the current backup without `version`; 404 M_NOT_FOUND when there is none. */
  queryBackup(req: { user_id: string; version?: string }, ctx?: CallContext): Promise<BackupVersion>;
  /** `PUT /room_keys/version/{version}`: only `auth_data` changes; the algorithm must stay. */
  updateBackup(req: { user_id: string; version: string; algorithm: string; auth_data: Record<string, unknown> }, ctx?: CallContext): Promise<void>;
  /** `DELETE /room_keys/version/{version}` with its keys; deleting a deleted backup succeeds. */
  deleteBackup(req: { user_id: string; version: string }, ctx?: CallContext): Promise<void>;
  /**
   * `PUT /room_keys/keys[...]` into the current backup (403
   * M_WRONG_ROOM_KEYS_VERSION with `current_version` otherwise). A session
   * already stored is replaced only by a better key: verified over
   * unverified, then lower `first_message_index`, then lower `forwarded_count`.
   */
  putBackupKeys(req: { user_id: string; version: string; rooms: BackupRooms }, ctx?: CallContext): Promise<{ etag: string; count: number }>;
  /** `GET /room_keys/keys[...]` of any existing backup. */
  queryBackupKeys(req: BackupSelector, ctx?: CallContext): Promise<{ rooms: BackupRooms }>;
  /** `DELETE /room_keys/keys[...]`. */
  deleteBackupKeys(req: BackupSelector, ctx?: CallContext): Promise<{ etag: string; count: number }>;
}

export const keyServerApi = defineApi<KeyServerAPI>('keyserver', {
  // Idempotent: the same keys uploaded again change nothing.
  uploadKeys: { idempotent: true },
  queryKeyCounts: { idempotent: true },
  queryKeys: { idempotent: true },
  // Not idempotent: a retry would give out another one-time key.
  claimKeys: {},
  uploadCrossSigningKeys: { idempotent: true },
  uploadSignatures: { idempotent: true },
  createBackup: {},
  queryBackup: { idempotent: true },
  updateBackup: { idempotent: true },
  deleteBackup: { idempotent: true },
  putBackupKeys: { idempotent: true },
  queryBackupKeys: { idempotent: true },
  deleteBackupKeys: { idempotent: true },
});
