/**
 * The stored notifications: one record per recipient of each notifying
 * event, ('nr', user, room, pos). A user's records in one room give the
 * unread counts of /sync; all of a user's records, merged across rooms by
 * position, give GET /notifications and what the push gateway is sent.
 * The event is the room's timeline entry at the same position.
 *
 * Into a room of 16 every message makes 15 of these, so the value is as
 * small as the usual case allows: 0 for a notification in the main
 * timeline that does not highlight and whose actions are `["notify"]`;
 * otherwise `{ a?: actions, h?: 1, t?: thread root }`.
 *
 * Until 2026-11-27 each notification had a second record, ('nt', user,
 * pos) → { event_id, actions, highlight? } (earlier still with room_id,
 * ts and thread_id), and the count record held 0, 1 (highlight in the
 * main timeline) or { highlight, thread }. Those are still read: a record
 * without `a` takes its actions from its 'nt' record when there is one.
 * The second record was half the keys the SyncAPI wrote per message, and
 * LevelDB's compaction pays per key and byte.
 */
import { MAIN_THREAD } from '../../core/push/thread.js';
import type { Database } from '../../platform/storage/database.js';
import { decodeKey, encodeKey, prefixRange } from '../../platform/storage/keys.js';
import { keys, type NotificationRecord } from './storage.js';

/** ('nr', user, room, pos) → StoredNotification. */
export const notificationKey = (userId: string, roomId: string, pos: number) => encodeKey('nr', userId, roomId, pos);
/** A user's notifications in one room. */
export const roomNotificationRange = (userId: string, roomId: string) => prefixRange('nr', userId, roomId);

interface CompactNotification {
  /** The actions, when they are not just `notify`. */
  a?: unknown[];
  h?: 1;
  /** The thread root, when the event is in a thread. */
  t?: string;
}

/** Before 2026-11-27: the count entry of a notification in a thread (its actions in 'nt'). */
interface LegacyThreadEntry {
  highlight: boolean;
  thread: string;
}

export type StoredNotification = 0 | 1 | CompactNotification | LegacyThreadEntry;

export interface Notification {
  highlight: boolean;
  /** The thread root's event id, or MAIN_THREAD. */
  thread: string;
  /** Undefined in a record from before 2026-11-27: see actionsOf. */
  actions?: unknown[];
}

const isJustNotify = (actions: unknown[]) => actions.length === 1 && actions[0] === 'notify';

export function encodeNotification(n: Required<Notification>): StoredNotification {
  const stored: CompactNotification = {};
  if (!isJustNotify(n.actions)) stored.a = n.actions;
  if (n.highlight) stored.h = 1;
  if (n.thread !== MAIN_THREAD) stored.t = n.thread;
  return stored.a === undefined && stored.h === undefined && stored.t === undefined ? 0 : stored;
}

export function decodeNotification(v: StoredNotification): Notification {
  if (v === 0) return { highlight: false, thread: MAIN_THREAD };
  if (v === 1) return { highlight: true, thread: MAIN_THREAD };
  if ('thread' in v) return { highlight: v.highlight, thread: v.thread };
  const n: Notification = { highlight: v.h === 1, thread: v.t ?? MAIN_THREAD };
  // A compact record always knows its actions: `notify` unless it says otherwise.
  n.actions = v.a ?? ['notify'];
  return n;
}

/**
 * The actions of a notification: its own, or from the 'nt' record a
 * notification from before 2026-11-27 has (what its highlight implies
 * when even that is gone).
 */
export async function actionsOf(db: Database, userId: string, pos: number, n: Notification): Promise<unknown[]> {
  if (n.actions) return n.actions;
  const legacy = await db.get<NotificationRecord>(keys.notification(userId, pos));
  return legacy?.actions ?? (n.highlight ? ['notify', { set_tweak: 'highlight' }] : ['notify']);
}

export interface UserNotification extends Notification {
  roomId: string;
  pos: number;
}

/** The rooms in which the user has notifications: one seek per room. */
async function roomsWithNotifications(db: Database, userId: string): Promise<string[]> {
  const all = prefixRange('nr', userId);
  const rooms: string[] = [];
  let from = { gt: all.gt } as { gt?: string; gte?: string };
  for (;;) {
    const [first] = await db.keys({ ...from, lt: all.lt, limit: 1 });
    if (first === undefined) return rooms;
    const roomId = String(decodeKey(first)[2]);
    rooms.push(roomId);
    from = { gte: roomNotificationRange(userId, roomId).lt };
  }
}

const CHUNK = 32;

/** Reads one room's notifications in chunks, in the merge's order. */
class RoomCursor {
  private rows: UserNotification[] = [];
  private exhausted = false;

  constructor(
    private readonly db: Database,
    private readonly userId: string,
    private readonly roomId: string,
    /** Newest first: positions up to this; oldest first: positions after it. */
    private bound: number,
    private readonly newestFirst: boolean,
  ) {}

  async head(): Promise<UserNotification | undefined> {
    if (this.rows.length === 0 && !this.exhausted) await this.fill();
    return this.rows[0];
  }

  take(): void {
    this.rows.shift();
  }

  private async fill(): Promise<void> {
    const range = roomNotificationRange(this.userId, this.roomId);
    const edge = notificationKey(this.userId, this.roomId, this.bound);
    const found = await this.db.entries<StoredNotification>(
      this.newestFirst ? { gt: range.gt, lte: edge, reverse: true, limit: CHUNK } : { gt: edge, lt: range.lt, limit: CHUNK },
    );
    if (found.length < CHUNK) this.exhausted = true;
    for (const [k, v] of found) this.rows.push({ ...decodeNotification(v), roomId: this.roomId, pos: Number(decodeKey(k)[3]) });
    const last = this.rows[this.rows.length - 1];
    if (last) this.bound = this.newestFirst ? last.pos - 1 : last.pos;
    if (this.newestFirst && this.bound < 0) this.exhausted = true;
  }
}

/**
 * A user's notifications across their rooms in position order: newest
 * first from `upTo` (inclusive), or oldest first after `after`.
 */
export async function* userNotifications(db: Database, userId: string, from: { upTo: number } | { after: number }): AsyncGenerator<UserNotification> {
  const newestFirst = 'upTo' in from;
  const bound = 'upTo' in from ? from.upTo : from.after;
  const cursors = (await roomsWithNotifications(db, userId)).map((roomId) => new RoomCursor(db, userId, roomId, bound, newestFirst));
  for (;;) {
    let best: RoomCursor | undefined;
    let bestRow: UserNotification | undefined;
    for (const c of cursors) {
      const row = await c.head();
      if (row && (!bestRow || (newestFirst ? row.pos > bestRow.pos : row.pos < bestRow.pos))) {
        best = c;
        bestRow = row;
      }
    }
    if (!best || !bestRow) return;
    best.take();
    yield bestRow;
  }
}
