/**
 * Notifications: each new event is evaluated against the push rules of
 * every local member it reaches (core/push), and the ones that notify are
 * kept, one record per user, room and event (notification-records.ts: the
 * unread counts of /sync, /notifications, the push gateway). A room's
 * counts are the notifications after the user's
 * read receipt (threaded receipts per thread; the user's own latest event
 * counts as read up to it).
 */
import { roomPowers } from '../../core/auth/power-levels.js';
import { serverNameOf } from '../../core/identifiers.js';
import { MAIN_THREAD, threadOf } from '../../core/push/thread.js';
import { evaluatePushRules, type PushContext, type PushRuleset } from '../../core/push/index.js';
import { roomVersion } from '../../core/room-versions.js';
import type { Client } from '../../platform/ipc/directory.js';
import type { Database } from '../../platform/storage/database.js';
import { decodeKey, encodeKey, prefixRange } from '../../platform/storage/keys.js';
import type { UserAPI } from '../userapi/api.js';
import type { CountSource, NotificationCounts, RoomCounts } from './counts.js';
import type { EventStore } from './events.js';
import type { Tx } from './ingest/tx.js';
import { decodeNotification, encodeNotification, notificationKey, roomNotificationRange, type StoredNotification } from './notification-records.js';
import { keys, type EventRecord, type ReceiptRecord, type StateEntry } from './storage.js';
import type { RoomView, SyncViews } from './views.js';

/** ('own', room, user) → position of the user's latest event in the room (an implicit read receipt). */
const ownKey = (roomId: string, userId: string) => encodeKey('own', roomId, userId);

interface CountEntry {
  highlight: boolean;
  thread: string;
}

interface Unread {
  /** Read up to, per thread ('' = the whole room: unthreaded receipts and the user's own events). */
  read: Map<string, number>;
  /** Unread notifications, ascending by position. */
  entries: (CountEntry & { pos: number })[];
  /**
   * The counts of all of `entries`, both ways (whole room, and per thread),
   * kept as entries arrive: a sync asks for them each time, and a user who
   * never reads a busy room would otherwise have them all counted again on
   * every sync. Dropped when a receipt removes entries; counted again once.
   */
  totals?: { flat: NotificationCounts; byThread: RoomCounts };
}

const zero = (): NotificationCounts => ({ notification_count: 0, highlight_count: 0 });

/** How far a user has read a room: per thread root or MAIN_THREAD, and '' for unthreaded receipts (and their own messages). */
export type ReadPositions = ReadonlyMap<string, number>;

/** Whether what is at `pos` in `thread` is read: an unthreaded receipt covers it, or one in its own thread. */
export function isRead(read: ReadPositions, pos: number, thread: string): boolean {
  return pos <= Math.max(read.get('') ?? 0, read.get(thread) ?? 0);
}

/** Adds one entry to counts: to the room's, or with `perThread` to its thread's when it is in one. */
function tally(into: RoomCounts, e: CountEntry, perThread: boolean): void {
  const c = perThread && e.thread !== MAIN_THREAD ? (into.threads[e.thread] ??= zero()) : into.room;
  c.notification_count++;
  if (e.highlight) c.highlight_count++;
}

function copyCounts(c: RoomCounts): RoomCounts {
  const threads: Record<string, NotificationCounts> = {};
  for (const [id, n] of Object.entries(c.threads)) threads[id] = { ...n };
  return { room: { ...c.room }, threads };
}

export class PushCounter implements CountSource {
  private readonly rules = new Map<string, PushRuleset>();
  private readonly unread = new Map<string, Unread>();
  /** State events push rules look at (create, power levels, members' display names), by state key: read once. */
  private readonly stateCache = new Map<string, EventRecord | null>();
  private readonly generation = new Map<string, number>();

  /** Called once a notification for a user committed (push gateway delivery). */
  onNotified: (userId: string, roomId: string, pos: number) => void = () => {};

  constructor(
    private readonly db: Database,
    private readonly views: SyncViews,
    private readonly events: EventStore,
    private readonly userapi: () => Client<UserAPI>,
  ) {}

  /** Empties the cache of state events (a quiet process; see platform/memory/quiet.ts). */
  dropCached(): void {
    this.stateCache.clear();
  }

  /** A state entry changed (after its commit): what was cached of it is stale. */
  stateChanged(roomId: string, type: string, key: string): void {
    this.stateCache.delete(keys.state(roomId, type, key));
  }

  /** The user's push rules changed (account data `m.push_rules`). */
  rulesChanged(userId: string): void {
    this.rules.delete(userId);
  }

  /** The user's ruleset: from memory once fetched (no promise on that path: it runs per recipient and event). */
  private rulesOf(userId: string): PushRuleset | Promise<PushRuleset> {
    return this.rules.get(userId) ?? this.fetchRules(userId);
  }

  private async fetchRules(userId: string): Promise<PushRuleset> {
    const r = (await this.userapi().queryPushRules({ user_id: userId })) as PushRuleset;
    this.rules.set(userId, r);
    if (this.rules.size > 5000) this.rules.delete(this.rules.keys().next().value!);
    return r;
  }

  /**
   * Unread state is loaded from the database once per user and room, then
   * kept up to date here as notifications and receipts commit: a sync reads
   * its counts from memory. An update that lands while a load is under way
   * makes that load's result too old to keep.
   */
  private touch(userId: string, roomId: string): Unread | undefined {
    const key = `${userId}\0${roomId}`;
    this.generation.set(key, (this.generation.get(key) ?? 0) + 1);
    return this.unread.get(key);
  }

  private added(userId: string, roomId: string, entry: CountEntry & { pos: number }): void {
    const u = this.touch(userId, roomId);
    if (!u || isRead(u.read, entry.pos, entry.thread)) return;
    u.entries.push(entry);
    if (u.totals) {
      tally({ room: u.totals.flat, threads: {} }, entry, false);
      tally(u.totals.byThread, entry, true);
    }
  }

  /** The user read the room (thread '') or a thread up to a position. */
  private readTo(userId: string, roomId: string, thread: string, pos: number): void {
    const u = this.touch(userId, roomId);
    if (!u || pos <= (u.read.get(thread) ?? 0)) return;
    u.read.set(thread, pos);
    u.entries = u.entries.filter((e) => e.pos > pos || (thread !== '' && e.thread !== thread));
    u.totals = undefined;
  }

  /**
   * Evaluates a new event for its local recipients (joined members other
   * than the sender, and a local user it invites) and records the
   * notifications in the batch.
   */
  async evaluate(tx: Tx, rec: EventRecord, room: RoomView | undefined): Promise<void> {
    const { pdu } = rec;
    const sender = pdu.sender;
    const recipients = new Set<string>();
    if (room) for (const [u, hist] of room.local) if (u !== sender && hist[hist.length - 1]?.membership === 'join') recipients.add(u);
    if (pdu.type === 'm.room.member' && pdu.content.membership === 'invite' && typeof pdu.state_key === 'string' && (room?.local.has(pdu.state_key) || this.isLocal(pdu.state_key))) {
      recipients.add(pdu.state_key);
    }
    // The sender's own event reads the room up to it.
    if (this.isLocal(sender)) {
      tx.put(ownKey(rec.room_id, sender), rec.pos);
      tx.after(() => this.readTo(sender, rec.room_id, '', rec.pos));
    }
    recipients.delete(sender);
    if (recipients.size === 0) return;
    const version = roomVersion(rec.room_version);
    const stateEvent = (type: string, key: string): EventRecord | undefined | Promise<EventRecord | undefined> => {
      const csKey = keys.state(rec.room_id, type, key);
      const cached = tx.wrote(csKey) ? undefined : this.stateCache.get(csKey);
      if (cached !== undefined) return cached ?? undefined;
      return this.readState(tx, csKey);
    };
    const [create, power] = await Promise.all([stateEvent('m.room.create', ''), stateEvent('m.room.power_levels', '')]);
    const powers = version ? roomPowers(create?.pdu, power?.pdu, version) : undefined;
    const thread = await threadOf(pdu, async (id) => (await tx.get<EventRecord>(keys.event(id)))?.pdu ?? (await this.events.get(id))?.pdu);
    const event = { ...pdu, room_id: rec.room_id, event_id: rec.event_id };
    const isState = typeof pdu.state_key === 'string';
    const notified: { userId: string; highlight: boolean }[] = [];
    for (const userId of recipients) {
      // A message of someone the recipient ignores is never shown to them: it does not count either.
      if (!isState && this.views.users.get(userId)?.ignored.has(sender)) continue;
      let ruleset: PushRuleset;
      try {
        // Awaited only when not in memory: an await costs a turn of the microtask queue per recipient.
        const r = this.rulesOf(userId);
        ruleset = r instanceof Promise ? await r : r;
      } catch {
        // The UserAPI is away: this event does not count for this user rather than holding up everyone's sync.
        continue;
      }
      const m = stateEvent('m.room.member', userId);
      const member = m instanceof Promise ? await m : m;
      const displayName = member?.pdu.content.displayname;
      const ctx: PushContext = { user_id: userId, room_id: rec.room_id, member_count: room?.joined ?? 0 };
      if (typeof displayName === 'string') ctx.display_name = displayName;
      if (powers) ctx.powers = powers;
      const result = evaluatePushRules(ruleset, event, ctx);
      if (!result.notify) continue;
      tx.put(notificationKey(userId, rec.room_id, rec.pos), encodeNotification({ actions: result.actions, highlight: result.highlight, thread }));
      notified.push({ userId, highlight: result.highlight });
    }
    if (notified.length === 0) return;
    tx.after(() => {
      for (const { userId, highlight } of notified) {
        this.added(userId, rec.room_id, { pos: rec.pos, highlight, thread });
        this.onNotified(userId, rec.room_id, rec.pos);
      }
    });
  }

  /** A state entry as this batch sees it, cached when the batch did not write it. */
  private async readState(tx: Tx, csKey: string): Promise<EventRecord | undefined> {
    const e = await tx.get<StateEntry>(csKey);
    const ev = e ? ((await tx.get<EventRecord>(keys.event(e.event_id))) ?? (await this.events.get(e.event_id))) : undefined;
    if (!tx.wrote(csKey)) {
      this.stateCache.set(csKey, ev ?? null);
      if (this.stateCache.size > 20_000) this.stateCache.delete(this.stateCache.keys().next().value!);
    }
    return ev;
  }

  private isLocal(userId: string): boolean {
    return serverNameOf(userId) === this.views.serverName;
  }

  /** A receipt moved (after its commit): unthreaded receipts have thread ''. */
  receiptMoved(userId: string, roomId: string, thread: string, eventPos: number): void {
    this.readTo(userId, roomId, thread, eventPos);
  }

  /** How far the user has read the room, per thread ('' = the whole room): a new map on each call. */
  async readPositions(userId: string, roomId: string): Promise<Map<string, number>> {
    const out = new Map<string, number>([['', (await this.db.get<number>(ownKey(roomId, userId))) ?? 0]]);
    for (const type of ['m.read', 'm.read.private']) {
      for (const [k, r] of await this.db.entries<ReceiptRecord>(prefixRange('rc', roomId, type, userId))) {
        const thread = String(decodeKey(k)[4]);
        out.set(thread, Math.max(out.get(thread) ?? 0, r.event_pos));
      }
    }
    return out;
  }

  private async unreadOf(userId: string, roomId: string): Promise<Unread> {
    const key = `${userId}\0${roomId}`;
    const hit = this.unread.get(key);
    if (hit) return hit;
    const gen = this.generation.get(key) ?? 0;
    const read = await this.readPositions(userId, roomId);
    const all = read.get('') ?? 0;
    const range = roomNotificationRange(userId, roomId);
    const entries: Unread['entries'] = [];
    for (const [k, v] of await this.db.entries<StoredNotification>({ gt: notificationKey(userId, roomId, all), lt: range.lt })) {
      const pos = Number(decodeKey(k)[3]);
      const e = decodeNotification(v);
      if (isRead(read, pos, e.thread)) continue;
      entries.push({ highlight: e.highlight, thread: e.thread, pos });
    }
    const u: Unread = { read, entries };
    // Something committed while this was read: answer with it, keep nothing.
    if ((this.generation.get(key) ?? 0) !== gen) return u;
    this.unread.set(key, u);
    if (this.unread.size > 20_000) {
      const oldest = this.unread.keys().next().value!;
      this.unread.delete(oldest);
    }
    return u;
  }

  /** Unread notifications across the rooms the user is joined to: the badge a push gateway shows. */
  async unreadTotal(userId: string): Promise<number> {
    let n = 0;
    for (const roomId of this.views.users.get(userId)?.rooms ?? []) {
      const hist = this.views.room(roomId)?.local.get(userId);
      if (hist?.[hist.length - 1]?.membership !== 'join') continue;
      n += (await this.counts(userId, roomId, Infinity, false)).room.notification_count;
    }
    return n;
  }

  async counts(userId: string, roomId: string, upTo: number, perThread: boolean): Promise<RoomCounts> {
    const u = await this.unreadOf(userId, roomId);
    const last = u.entries[u.entries.length - 1];
    // Usually nothing unread lies past the sync's end: the kept totals answer.
    if (last && last.pos <= upTo) {
      u.totals ??= this.totalsOf(u.entries);
      return copyCounts(perThread ? u.totals.byThread : { room: u.totals.flat, threads: {} });
    }
    const out: RoomCounts = { room: zero(), threads: {} };
    for (const e of u.entries) {
      if (e.pos > upTo) break;
      tally(out, e, perThread);
    }
    return out;
  }

  private totalsOf(entries: readonly CountEntry[]): NonNullable<Unread['totals']> {
    const flat: RoomCounts = { room: zero(), threads: {} };
    const byThread: RoomCounts = { room: zero(), threads: {} };
    for (const e of entries) {
      tally(flat, e, false);
      tally(byThread, e, true);
    }
    return { flat: flat.room, byThread };
  }
}
