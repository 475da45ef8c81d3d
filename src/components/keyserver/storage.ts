/**
 * The KeyServer's LevelDB layout. Every key starts with a short tag:
 *
 *   ('dk', user, device)                       → DeviceKeys as uploaded (self-signed)
 *   ('otk', user, device, algorithm, seq, id)  → OneTimeKey; seq orders uploads, oldest first
 *   ('otkid', user, device, algorithm, id)     → seq of that key (duplicate ids are found by id)
 *   ('fbk', user, device, algorithm)           → FallbackKey: one per algorithm
 *   ('csk', user, usage)                       → CrossSigningKey as uploaded (master, self_signing, user_signing)
 *   ('sig', user, key id, signer, signer key)  → a signature uploaded through /keys/signatures/upload
 *                                                 (key id: a device id or a master public key)
 *   ('bkseq', user)                            → the last backup version number handed out
 *   ('bkv', user, version)                     → BackupRecord (kept, marked deleted, after deletion)
 *   ('bk', user, version, room, session)       → KeyBackupData
 *
 * and the log's own keys (producer.ts).
 */
import { encodeKey, prefixRange } from '../../platform/storage/keys.js';
import type { WriteOp } from '../../platform/storage/database.js';
import type { OneTimeKey } from './api.js';

export interface FallbackKey {
  key_id: string;
  key: OneTimeKey;
  /** Given out by a claim since it was uploaded. */
  used: boolean;
}

export interface BackupRecord {
  algorithm: string;
  auth_data: Record<string, unknown>;
  count: number;
  /** Changes with every change of the keys (the backup's `etag`). */
  etag: number;
  deleted?: boolean;
}

export type CrossSigningUsage = 'master' | 'self_signing' | 'user_signing';

export const keys = {
  deviceKeys: (user: string, device: string) => encodeKey('dk', user, device),
  deviceKeysOf: (user: string) => prefixRange('dk', user),

  otk: (user: string, device: string, algorithm: string, seq: number, id: string) => encodeKey('otk', user, device, algorithm, seq, id),
  otksOf: (user: string, device: string) => prefixRange('otk', user, device),
  otksOfAlgorithm: (user: string, device: string, algorithm: string) => prefixRange('otk', user, device, algorithm),
  otkId: (user: string, device: string, algorithm: string, id: string) => encodeKey('otkid', user, device, algorithm, id),
  otkIdsOf: (user: string, device: string) => prefixRange('otkid', user, device),

  fallback: (user: string, device: string, algorithm: string) => encodeKey('fbk', user, device, algorithm),
  fallbacksOf: (user: string, device: string) => prefixRange('fbk', user, device),

  crossSigning: (user: string, usage: CrossSigningUsage) => encodeKey('csk', user, usage),

  signature: (user: string, keyId: string, signer: string, signerKey: string) => encodeKey('sig', user, keyId, signer, signerKey),
  signaturesOn: (user: string, keyId: string) => prefixRange('sig', user, keyId),

  backupSeq: (user: string) => encodeKey('bkseq', user),
  backup: (user: string, version: number) => encodeKey('bkv', user, version),
  backupsOf: (user: string) => prefixRange('bkv', user),
  backupKey: (user: string, version: number, room: string, session: string) => encodeKey('bk', user, version, room, session),
  backupKeysOf: (user: string, version: number) => prefixRange('bk', user, version),
  backupKeysOfRoom: (user: string, version: number, room: string) => prefixRange('bk', user, version, room),
};

export const put = (key: string, value: unknown): WriteOp => ({ type: 'put', key, value });
export const del = (key: string): WriteOp => ({ type: 'del', key });
