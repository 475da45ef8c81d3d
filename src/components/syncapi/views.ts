/**
 * The hot, small indexes a sync reads without touching the database: per
 * room its latest position, recent timeline, visibility history, member
 * counts and local members' membership histories; per local user the rooms
 * they have a membership in and when their per-user streams last changed.
 * Loaded from the database at start, then changed only after a consumer's
 * batch commits (so memory never runs ahead of what a restart would load).
 */
import { blocksAllInvites, INVITE_PERMISSION_TYPE, noticesUserOf } from '../../core/invites.js';
import type { Database } from '../../platform/storage/database.js';
import { decodeKey } from '../../platform/storage/keys.js';
import { keys, type AccountDataRecord, type MembershipRecord, type PresenceRecord, type ReceiptRecord, type RoomRecord, type StateEntry } from './storage.js';
import { at, type MembershipPoint, type Visibility, type VisibilityPoint } from './visibility.js';

/** How many recent timeline entries a room keeps in memory. */
const RECENT = 64;

export interface TimelineEntry {
  pos: number;
  event_id: string;
}

export class RoomView {
  /** Position of the room's latest timeline event. */
  latest = 0;
  /** The latest timeline entries, ascending; they cover every position above `coveredFrom`. */
  readonly recent: TimelineEntry[] = [];
  coveredFrom: number;
  readonly hv: VisibilityPoint[] = [];
  /** Local users' membership histories, ascending. */
  readonly local = new Map<string, MembershipPoint[]>();
  joined = 0;
  invited = 0;
  /** Position of the latest membership change of anyone (the summary changed). */
  membersPos = 0;
  /** Heroes computed at `membersPos`: up to six joined or invited members in stream order. */
  heroes: { at: number; ids: string[]; former: string[] } | undefined;
  typing: { pos: number; users: string[] } = { pos: 0, users: [] };
  /** Position of the latest change to the room's state (a sync with a later `since` needs no state delta). */
  lastStateChange = Infinity;
  /** Position of the room's m.room.encryption state event (0 when none): from there on its members share an encrypted room. */
  encryptedPos = 0;
  /** Latest position of a receipt everyone sees. */
  receiptsPos = 0;
  /** user → latest position of their private receipts (only they see them). */
  readonly privateReceipts = new Map<string, number>();

  /** The room has an m.room.encryption state event (device lists follow its members). */
  get encrypted(): boolean {
    return this.encryptedPos > 0;
  }

  constructor(
    readonly id: string,
    readonly version: string,
    coveredFrom: number,
  ) {
    this.coveredFrom = coveredFrom;
  }

  appendTimeline(pos: number, eventId: string): void {
    this.recent.push({ pos, event_id: eventId });
    if (this.recent.length > RECENT) this.coveredFrom = this.recent.shift()!.pos;
    if (pos > this.latest) this.latest = pos;
  }

  /** Local members joined now. */
  *joinedNow(): Iterable<string> {
    for (const [user, hist] of this.local) if (hist[hist.length - 1]?.membership === 'join') yield user;
  }

  /** Local members who receive the room's events: joined or invited now. */
  *audience(): Iterable<string> {
    for (const [user, hist] of this.local) {
      const m = hist[hist.length - 1]?.membership;
      if (m === 'join' || m === 'invite' || m === 'knock') yield user;
    }
  }

  membershipAt(user: string, pos: number): MembershipPoint | undefined {
    return at(this.local.get(user), pos);
  }

  visibilityAt(pos: number): Visibility {
    return at(this.hv, pos)?.vis ?? 'shared';
  }
}

export class UserView {
  /** Rooms the user has (had) a membership in. */
  readonly rooms = new Set<string>();
  accountDataPos = 0;
  ignored = new Set<string>();
  /** `m.invite_permission_config` blocks every invite: the ones the user has are not shown either. */
  blocksInvites = false;
  /** device → latest to-device position. */
  readonly toDevice = new Map<string, number>();
  /** device → a position at or below its oldest to-device message still stored. */
  readonly toDeviceLowest = new Map<string, number>();
  /** Memberships in rooms this server knows only from an invite (over federation). */
  readonly remote = new Map<string, MembershipPoint[]>();

  addRemote(roomId: string, point: MembershipPoint): void {
    this.rooms.add(roomId);
    let hist = this.remote.get(roomId);
    if (!hist) this.remote.set(roomId, (hist = []));
    hist.push(point);
  }
}

export class SyncViews {
  readonly rooms = new Map<string, RoomView>();
  readonly users = new Map<string, UserView>();
  /** Latest device-list change position; the list itself is read from the database. */
  deviceListPos = 0;
  /** Latest presence change position. */
  presencePos = 0;
  /** Every user's latest presence. */
  readonly presence = new Map<string, PresenceRecord>();
  /** Users deactivated with erasure (access.ts serves their events redacted to later joiners). */
  readonly erased = new Set<string>();

  constructor(readonly serverName: string) {}

  user(userId: string): UserView {
    let u = this.users.get(userId);
    if (!u) this.users.set(userId, (u = new UserView()));
    return u;
  }

  /**
   * Whether the user's invite from `inviter` is kept out of sync: an
   * ignored inviter, or every inviter while the user blocks invites (spec,
   * invite permission) except the server notices sender.
   */
  hidesInvite(userId: string, inviter: string): boolean {
    const u = this.users.get(userId);
    if (!u) return false;
    return u.ignored.has(inviter) || (u.blocksInvites && inviter !== noticesUserOf(this.serverName));
  }

  room(roomId: string): RoomView | undefined {
    return this.rooms.get(roomId);
  }

  ensureRoom(roomId: string, version: string, pos: number): RoomView {
    let r = this.rooms.get(roomId);
    if (!r) this.rooms.set(roomId, (r = new RoomView(roomId, version, pos - 1)));
    return r;
  }

  /** Rebuilds the views from the database (at start). */
  static async load(db: Database, serverName: string, current: number): Promise<SyncViews> {
    const v = new SyncViews(serverName);
    for (const [k, rec] of await db.entries<RoomRecord>(keys.rooms())) {
      const roomId = String(decodeKey(k)[1]);
      const room = new RoomView(roomId, rec.room_version, current);
      const [last] = await db.keys({ ...keys.timelineRange(roomId), reverse: true, limit: 1 });
      if (last) room.latest = Number(decodeKey(last)[2]);
      const [lastDelta] = await db.keys({ ...keys.deltaRange(roomId), reverse: true, limit: 1 });
      room.lastStateChange = lastDelta ? Number(decodeKey(lastDelta)[2]) : 0;
      v.rooms.set(roomId, room);
    }
    for (const [k, vis] of await db.entries<Visibility>(keys.allVisibility())) {
      const [, roomId, pos] = decodeKey(k);
      v.rooms.get(String(roomId))?.hv.push({ pos: Number(pos), vis });
    }
    for (const [k, rec] of await db.entries<MembershipRecord>(keys.allMemberships())) {
      const [, userId, roomId, pos] = decodeKey(k) as [string, string, string, number];
      const room = v.rooms.get(roomId);
      v.user(userId).rooms.add(roomId);
      if (!room) {
        v.user(userId).addRemote(roomId, { pos, membership: rec.membership, event_id: rec.event_id });
        continue;
      }
      let hist = room.local.get(userId);
      if (!hist) room.local.set(userId, (hist = []));
      hist.push({ pos, membership: rec.membership, event_id: rec.event_id });
    }
    for (const room of v.rooms.values()) {
      room.encryptedPos = (await db.get<StateEntry>(keys.state(room.id, 'm.room.encryption', '')))?.pos ?? 0;
      for (const [, e] of await db.entries<StateEntry>(keys.stateTypeRange(room.id, 'm.room.member'))) {
        if (e.membership === 'join') room.joined++;
        else if (e.membership === 'invite') room.invited++;
        if (e.pos > room.membersPos) room.membersPos = e.pos;
      }
    }
    for (const [k, rec] of await db.entries<AccountDataRecord>(keys.allAccountData())) {
      const [, userId, rid, type] = decodeKey(k) as [string, string, string, string];
      const u = v.user(userId);
      if (rec.pos > u.accountDataPos) u.accountDataPos = rec.pos;
      if (rid === '') applyUserConfig(u, type, rec.content);
    }
    for (const k of await db.keys(keys.allToDevice())) {
      const [, userId, deviceId, pos] = decodeKey(k) as [string, string, string, number];
      const u = v.user(userId);
      if (pos > (u.toDevice.get(deviceId) ?? 0)) u.toDevice.set(deviceId, pos);
      if (!u.toDeviceLowest.has(deviceId)) u.toDeviceLowest.set(deviceId, pos);
    }
    for (const [k, t] of await db.entries<{ pos: number; users: string[] }>(keys.allTyping())) {
      const room = v.rooms.get(String(decodeKey(k)[1]));
      // Typing notifications do not outlive a restart by much; the EDUServer expires them and logs that.
      if (room) room.typing = t;
    }
    for (const [k, r] of await db.entries<ReceiptRecord>(keys.allReceipts())) {
      const [, roomId, type, userId] = decodeKey(k) as [string, string, string, string];
      const room = v.rooms.get(roomId);
      if (!room) continue;
      if (type === 'm.read.private') room.privateReceipts.set(userId, Math.max(r.pos, room.privateReceipts.get(userId) ?? 0));
      else room.receiptsPos = Math.max(room.receiptsPos, r.pos);
    }
    for (const [k, r] of await db.entries<PresenceRecord>(keys.allPresence())) {
      v.presence.set(String(decodeKey(k)[1]), r);
      v.presencePos = Math.max(v.presencePos, r.pos);
    }
    for (const k of await db.keys(keys.allErased())) v.erased.add(String(decodeKey(k)[1]));
    const [dl] = await db.keys({ ...keys.deviceLists(), reverse: true, limit: 1 });
    if (dl) v.deviceListPos = Number(decodeKey(dl)[1]);
    return v;
  }
}

/** What of a user's global account data the views keep: the users they ignore, whether they block invites. */
export function applyUserConfig(u: UserView, type: string, content: Record<string, unknown>): void {
  if (type === 'm.ignored_user_list') u.ignored = ignoredUsers(content);
  else if (type === INVITE_PERMISSION_TYPE) u.blocksInvites = blocksAllInvites(content);
}

/** The users an `m.ignored_user_list` content names. */
export function ignoredUsers(content: Record<string, unknown>): Set<string> {
  const list = content.ignored_users;
  return new Set(list && typeof list === 'object' && !Array.isArray(list) ? Object.keys(list) : []);
}
