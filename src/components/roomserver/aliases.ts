/**
 * Local room aliases and the published room directory. They live in the
 * roomserver because federation answers alias queries from here too. Every
 * change is one durable batch: an alias a client was told about survives a
 * crash.
 */
import type { JsonObject } from '../../core/canonical-json.js';
import { roomPowers } from '../../core/auth/power-levels.js';
import { MatrixError } from '../../core/errors.js';
import { roomVersion } from '../../core/room-versions.js';
import type { Database, WriteOp } from '../../platform/storage/database.js';
import { decodeKey, prefixRange } from '../../platform/storage/keys.js';
import type { DirectoryVisibility, PerformCreateRoomRequest, RoomAliasRecord, RoomEvent, SendEventRequest } from './api.js';
import { del, keys, put } from './storage.js';

export interface AliasDeps {
  db: Database;
  roomVersionOf(roomId: string): Promise<string | undefined>;
  currentState(roomId: string, types?: string[]): Promise<RoomEvent[]>;
  joinedHosts(roomId: string): Promise<string[]>;
  createRoom(req: PerformCreateRoomRequest): Promise<{ room_id: string }>;
  send(req: SendEventRequest): Promise<{ event_id: string }>;
  serverName: string;
}

const CANONICAL = 'm.room.canonical_alias';

export class RoomAliases {
  /** Aliases being written: a second writer of the same alias fails instead of racing the first. */
  private readonly busy = new Set<string>();

  constructor(private readonly deps: AliasDeps) {}

  get(alias: string): Promise<RoomAliasRecord | undefined> {
    return this.deps.db.get<RoomAliasRecord>(keys.alias(alias));
  }

  async lookup(alias: string): Promise<(RoomAliasRecord & { servers: string[] }) | null> {
    const record = await this.get(alias);
    if (!record) return null;
    const hosts = await this.deps.joinedHosts(record.room_id);
    // This server first: it is the one that certainly knows the room.
    const servers = [this.deps.serverName, ...hosts.filter((h) => h !== this.deps.serverName)];
    return { ...record, servers };
  }

  async forRoom(roomId: string): Promise<string[]> {
    return (await this.deps.db.keys(prefixRange('ral', roomId))).map((k) => String(decodeKey(k)[2]));
  }

  /** Runs `fn` holding `alias`; `taken` is the error when another request or an existing record holds it. */
  private async holding<T>(alias: string, taken: () => MatrixError, fn: () => Promise<T>): Promise<T> {
    if (this.busy.has(alias)) throw taken();
    this.busy.add(alias);
    try {
      if (await this.get(alias)) throw taken();
      return await fn();
    } finally {
      this.busy.delete(alias);
    }
  }

  /**
   * Creates a room with its alias and directory entry. The alias is held
   * before the room exists, so a taken alias creates nothing. The room and
   * the alias are two batches: a crash between them leaves a room whose
   * canonical alias points nowhere, and the client, which got no answer,
   * creates another.
   */
  async createRoom(req: PerformCreateRoomRequest): Promise<{ room_id: string }> {
    const { alias, publish, ...room } = req;
    const create = async () => {
      const { room_id } = await this.deps.createRoom({ ...room, ...(alias ? { canonical_alias: alias } : {}) });
      const ops: WriteOp[] = [];
      if (alias) ops.push(...this.aliasOps(alias, { room_id, creator: req.creator }));
      if (publish) ops.push(put(keys.published(room_id), true));
      if (ops.length > 0) await this.deps.db.write(ops, { durable: true });
      return { room_id };
    };
    if (!alias) return create();
    return this.holding(alias, () => new MatrixError(400, 'M_ROOM_IN_USE', `Room alias ${alias} is already taken`), create);
  }

  async set(alias: string, roomId: string, userId: string, isAdmin: boolean): Promise<void> {
    if (!(await this.deps.roomVersionOf(roomId))) throw new MatrixError(404, 'M_NOT_FOUND', `Unknown room ${roomId}`);
    if (!isAdmin && (await this.membership(roomId, userId)) !== 'join') {
      throw new MatrixError(403, 'M_FORBIDDEN', 'You must be in the room to give it an alias');
    }
    await this.holding(
      alias,
      () => new MatrixError(409, 'M_UNKNOWN', `Room alias ${alias} already exists`),
      () => this.deps.db.write(this.aliasOps(alias, { room_id: roomId, creator: userId }), { durable: true }),
    );
  }

  async remove(alias: string, userId: string, isAdmin: boolean): Promise<void> {
    const record = await this.get(alias);
    if (!record) throw new MatrixError(404, 'M_NOT_FOUND', `Room alias ${alias} not found`);
    const allowed = isAdmin || record.creator === userId || (await this.maySend(record.room_id, userId, CANONICAL));
    if (!allowed) throw new MatrixError(403, 'M_FORBIDDEN', 'Only the alias creator, a room moderator who may set the canonical alias, or an admin may delete it');
    await this.deps.db.write([del(keys.alias(alias)), del(keys.roomAlias(record.room_id, alias))], { durable: true });
    await this.dropFromCanonical(record.room_id, alias, userId);
  }

  /** Room upgrades: the old room's aliases, directory entry and canonical alias go to the new room. */
  async move(from: string, to: string, userId: string): Promise<void> {
    const aliases = await this.forRoom(from);
    const published = await this.deps.db.has(keys.published(from));
    const ops: WriteOp[] = [];
    for (const alias of aliases) {
      const record = await this.get(alias);
      ops.push(del(keys.roomAlias(from, alias)), ...this.aliasOps(alias, { room_id: to, creator: record?.creator ?? userId }));
    }
    if (published) ops.push(del(keys.published(from)), put(keys.published(to), true));
    if (ops.length > 0) await this.deps.db.write(ops, { durable: true });

    const canonical = (await this.deps.currentState(from, [CANONICAL])).find((e) => e.pdu.state_key === '');
    if (canonical && Object.keys(canonical.pdu.content).length > 0) {
      // Best effort: the upgrader may lack the power in either room.
      await this.deps.send({ room_id: to, sender: userId, type: CANONICAL, state_key: '', content: canonical.pdu.content }).catch(() => undefined);
      await this.deps.send({ room_id: from, sender: userId, type: CANONICAL, state_key: '', content: {} }).catch(() => undefined);
    }
  }

  async visibility(roomId: string): Promise<DirectoryVisibility | null> {
    if (!(await this.deps.roomVersionOf(roomId))) return null;
    return (await this.deps.db.has(keys.published(roomId))) ? 'public' : 'private';
  }

  async setVisibility(roomId: string, visibility: DirectoryVisibility, userId: string, isAdmin: boolean): Promise<void> {
    if (!(await this.deps.roomVersionOf(roomId))) throw new MatrixError(404, 'M_NOT_FOUND', `Unknown room ${roomId}`);
    if (!isAdmin && !(await this.maySend(roomId, userId, CANONICAL))) {
      throw new MatrixError(403, 'M_FORBIDDEN', 'Only a room member who may set the canonical alias, or an admin, may change its directory visibility');
    }
    const op = visibility === 'public' ? put(keys.published(roomId), true) : del(keys.published(roomId));
    await this.deps.db.write([op], { durable: true });
  }

  async publishedRooms(): Promise<string[]> {
    return (await this.deps.db.keys(prefixRange('pub'))).map((k) => String(decodeKey(k)[1]));
  }

  private aliasOps(alias: string, record: RoomAliasRecord): WriteOp[] {
    return [put(keys.alias(alias), record), put(keys.roomAlias(record.room_id, alias), true)];
  }

  private async membership(roomId: string, userId: string): Promise<unknown> {
    const member = (await this.deps.currentState(roomId, ['m.room.member'])).find((e) => e.pdu.state_key === userId);
    return member?.pdu.content.membership;
  }

  /** A joined member whose power level reaches the level for sending this state event type. */
  private async maySend(roomId: string, userId: string, type: string): Promise<boolean> {
    const versionId = await this.deps.roomVersionOf(roomId);
    const version = versionId ? roomVersion(versionId) : undefined;
    if (!version) return false;
    const state = await this.deps.currentState(roomId, ['m.room.create', 'm.room.power_levels', 'm.room.member']);
    const get = (t: string, k = '') => state.find((e) => e.pdu.type === t && e.pdu.state_key === k)?.pdu;
    if (get('m.room.member', userId)?.content.membership !== 'join') return false;
    const powers = roomPowers(get('m.room.create'), get('m.room.power_levels'), version);
    return powers.userLevel(userId) >= powers.eventLevel(type, true);
  }

  /** The spec lets servers keep m.room.canonical_alias in step with deletions; done where the user may. */
  private async dropFromCanonical(roomId: string, alias: string, userId: string): Promise<void> {
    const canonical = (await this.deps.currentState(roomId, [CANONICAL])).find((e) => e.pdu.state_key === '');
    if (!canonical) return;
    const content = { ...canonical.pdu.content } as JsonObject;
    let changed = false;
    if (content.alias === alias) {
      delete content.alias;
      changed = true;
    }
    if (Array.isArray(content.alt_aliases) && content.alt_aliases.includes(alias)) {
      content.alt_aliases = content.alt_aliases.filter((a) => a !== alias);
      changed = true;
    }
    if (!changed) return;
    await this.deps.send({ room_id: roomId, sender: userId, type: CANONICAL, state_key: '', content }).catch(() => undefined);
  }
}
