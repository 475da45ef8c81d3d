/**
 * Server-side key backups (spec "Server-side key backups"): versions per
 * user counting up from 1, the newest one not deleted being the current
 * one; sessions per room, replaced only by a better key; `count` and an
 * `etag` that changes whenever the stored keys change.
 */
import { MatrixError } from '../../core/errors.js';
import { isValidRoomId } from '../../core/identifiers.js';
import type { Database, WriteOp } from '../../platform/storage/database.js';
import { decodeKey } from '../../platform/storage/keys.js';
import { MEGOLM_BACKUP_V1, type BackupRooms, type BackupSelector, type BackupVersion, type KeyBackupData } from './api.js';
import { del, keys, put, type BackupRecord } from './storage.js';
import type { KeyedQueue } from '../../platform/storage/keyed-queue.js';

const ALGORITHMS = new Set([MEGOLM_BACKUP_V1]);
const invalid = (msg: string) => new MatrixError(400, 'M_INVALID_PARAM', msg);
const unknownVersion = () => new MatrixError(404, 'M_NOT_FOUND', 'Unknown backup version');

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The spec's rule for two keys of one session: is `a` the one to keep over `b`? */
export function betterKey(a: KeyBackupData, b: KeyBackupData): boolean {
  if (a.is_verified !== b.is_verified) return a.is_verified;
  if (a.first_message_index !== b.first_message_index) return a.first_message_index < b.first_message_index;
  return a.forwarded_count < b.forwarded_count;
}

function checkAuthData(algorithm: unknown, authData: unknown): void {
  if (typeof algorithm !== 'string' || !ALGORITHMS.has(algorithm)) throw invalid(`Unsupported backup algorithm ${String(algorithm)}`);
  if (!isObject(authData)) throw invalid('auth_data must be an object');
  if (typeof authData.public_key !== 'string' || authData.public_key === '') throw invalid('auth_data.public_key is required');
}

function checkSession(roomId: string, sessionId: string, data: unknown): KeyBackupData {
  const where = `${roomId} ${sessionId}`;
  if (!isObject(data)) throw invalid(`${where}: the key data must be an object`);
  const { first_message_index: fmi, forwarded_count: fc, is_verified: verified, session_data: sd } = data;
  if (!Number.isSafeInteger(fmi) || (fmi as number) < 0) throw invalid(`${where}: first_message_index must be a non-negative integer`);
  if (!Number.isSafeInteger(fc) || (fc as number) < 0) throw invalid(`${where}: forwarded_count must be a non-negative integer`);
  if (typeof verified !== 'boolean') throw invalid(`${where}: is_verified must be a boolean`);
  if (!isObject(sd)) throw invalid(`${where}: session_data must be an object`);
  return data as unknown as KeyBackupData;
}

/** A version as clients write it: the decimal number this server handed out. */
function versionNumber(version: string): number | undefined {
  return /^[1-9][0-9]{0,14}$/.test(version) ? Number(version) : undefined;
}

export class Backups {
  constructor(
    private readonly db: Database,
    private readonly locks: KeyedQueue,
  ) {}

  private async record(userId: string, version: string): Promise<[number, BackupRecord] | undefined> {
    const n = versionNumber(version);
    if (n === undefined) return undefined;
    const r = await this.db.get<BackupRecord>(keys.backup(userId, n));
    return r ? [n, r] : undefined;
  }

  /** The existing (not deleted) version, or 404. */
  private async existing(userId: string, version: string): Promise<[number, BackupRecord]> {
    const found = await this.record(userId, version);
    if (!found || found[1].deleted) throw unknownVersion();
    return found;
  }

  private async current(userId: string): Promise<[number, BackupRecord] | undefined> {
    for (const [k, r] of await this.db.entries<BackupRecord>({ ...keys.backupsOf(userId), reverse: true })) {
      if (!r.deleted) return [Number(decodeKey(k)[2]), r];
    }
    return undefined;
  }

  async create(userId: string, algorithm: string, authData: Record<string, unknown>): Promise<{ version: string }> {
    checkAuthData(algorithm, authData);
    return this.locks.run(userId, async () => {
      const n = ((await this.db.get<number>(keys.backupSeq(userId))) ?? 0) + 1;
      const rec: BackupRecord = { algorithm, auth_data: authData, count: 0, etag: 0 };
      await this.db.write([put(keys.backupSeq(userId), n), put(keys.backup(userId, n), rec)], { durable: true });
      return { version: String(n) };
    });
  }

  async query(userId: string, version: string | undefined): Promise<BackupVersion> {
    const found = version === undefined ? await this.current(userId) : await this.existing(userId, version);
    if (!found) throw new MatrixError(404, 'M_NOT_FOUND', 'No current backup version');
    const [n, r] = found;
    return { version: String(n), algorithm: r.algorithm, auth_data: r.auth_data, count: r.count, etag: String(r.etag) };
  }

  async update(userId: string, version: string, algorithm: string, authData: Record<string, unknown>): Promise<void> {
    if (typeof algorithm !== 'string') throw invalid('algorithm is required');
    await this.locks.run(userId, async () => {
      const [n, r] = await this.existing(userId, version);
      if (algorithm !== r.algorithm) throw invalid('The algorithm of a backup cannot change');
      checkAuthData(algorithm, authData);
      await this.db.write([put(keys.backup(userId, n), { ...r, auth_data: authData } satisfies BackupRecord)], { durable: true });
    });
  }

  async delete(userId: string, version: string): Promise<void> {
    await this.locks.run(userId, async () => {
      const found = await this.record(userId, version);
      if (!found) throw unknownVersion();
      const [n, r] = found;
      if (r.deleted) return;
      const ops: WriteOp[] = (await this.db.keys(keys.backupKeysOf(userId, n))).map(del);
      // The record stays, marked: deleting it again succeeds, and its number is never handed out again.
      ops.push(put(keys.backup(userId, n), { algorithm: r.algorithm, auth_data: {}, count: 0, etag: r.etag + 1, deleted: true } satisfies BackupRecord));
      await this.db.write(ops, { durable: true });
    });
  }

  async put(userId: string, version: string, rooms: BackupRooms): Promise<{ etag: string; count: number }> {
    if (!isObject(rooms)) throw invalid('rooms must be an object');
    // Everything is checked before anything is stored.
    const incoming: [string, string, KeyBackupData][] = [];
    for (const [roomId, room] of Object.entries(rooms)) {
      if (!isValidRoomId(roomId)) throw invalid(`${roomId} is not a room id`);
      if (!isObject(room) || !isObject(room.sessions)) throw invalid(`${roomId}: sessions must be an object`);
      for (const [sessionId, data] of Object.entries(room.sessions)) {
        if (sessionId === '') throw invalid(`${roomId}: a session id must not be empty`);
        incoming.push([roomId, sessionId, checkSession(roomId, sessionId, data)]);
      }
    }
    return this.locks.run(userId, async () => {
      const cur = await this.current(userId);
      if (!cur) throw unknownVersion();
      const [n, r] = cur;
      if (versionNumber(version) !== n) {
        throw new MatrixError(403, 'M_WRONG_ROOM_KEYS_VERSION', 'Keys can only be stored in the current backup version', { current_version: String(n) });
      }
      const ops: WriteOp[] = [];
      let count = r.count;
      for (const [roomId, sessionId, data] of incoming) {
        const k = keys.backupKey(userId, n, roomId, sessionId);
        const old = await this.db.get<KeyBackupData>(k);
        if (old && !betterKey(data, old)) continue;
        if (!old) count++;
        ops.push(put(k, data));
      }
      if (ops.length === 0) return { etag: String(r.etag), count };
      const next: BackupRecord = { ...r, count, etag: r.etag + 1 };
      ops.push(put(keys.backup(userId, n), next));
      await this.db.write(ops, { durable: true });
      return { etag: String(next.etag), count };
    });
  }

  async get(sel: BackupSelector): Promise<{ rooms: BackupRooms }> {
    const [n] = await this.existing(sel.user_id, sel.version);
    const rooms: BackupRooms = {};
    if (sel.room_id !== undefined && sel.session_id !== undefined) {
      const data = await this.db.get<KeyBackupData>(keys.backupKey(sel.user_id, n, sel.room_id, sel.session_id));
      if (!data) throw new MatrixError(404, 'M_NOT_FOUND', 'Key not found');
      rooms[sel.room_id] = { sessions: { [sel.session_id]: data } };
      return { rooms };
    }
    const range = sel.room_id !== undefined ? keys.backupKeysOfRoom(sel.user_id, n, sel.room_id) : keys.backupKeysOf(sel.user_id, n);
    for await (const [k, data] of this.db.iterate<KeyBackupData>(range)) {
      const [, , , roomId, sessionId] = decodeKey(k) as [string, string, number, string, string];
      (rooms[roomId] ??= { sessions: {} }).sessions[sessionId] = data;
    }
    return { rooms };
  }

  async deleteKeys(sel: BackupSelector): Promise<{ etag: string; count: number }> {
    return this.locks.run(sel.user_id, async () => {
      const [n, r] = await this.existing(sel.user_id, sel.version);
      let doomed: string[];
      if (sel.room_id !== undefined && sel.session_id !== undefined) {
        const k = keys.backupKey(sel.user_id, n, sel.room_id, sel.session_id);
        doomed = (await this.db.has(k)) ? [k] : [];
      } else {
        doomed = await this.db.keys(sel.room_id !== undefined ? keys.backupKeysOfRoom(sel.user_id, n, sel.room_id) : keys.backupKeysOf(sel.user_id, n));
      }
      if (doomed.length === 0) return { etag: String(r.etag), count: r.count };
      const next: BackupRecord = { ...r, count: r.count - doomed.length, etag: r.etag + 1 };
      await this.db.write([...doomed.map(del), put(keys.backup(sel.user_id, n), next)], { durable: true });
      return { etag: String(next.etag), count: next.count };
    });
  }
}
