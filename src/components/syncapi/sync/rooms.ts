/**
 * The room sections of a /sync answer: joined rooms (timeline, state,
 * ephemeral events, account data, summary, unread counts), left rooms (up
 * to the leave), invites and knocks (stripped state).
 *
 * `state` is the state at the start of the returned timeline: all of it on
 * an initial sync, a newly joined room or `full_state`, else the changes
 * between `since` and the start of the timeline. With `use_state_after`,
 * `state_after` is the same at the end of the timeline instead.
 */
import type { JsonObject, JsonValue } from '../../../core/canonical-json.js';
import { accessFor, serialize, visible, type RoomAccess } from '../access.js';
import type { SyncDeps } from '../deps.js';
import { eventPasses, limitOf, roomPasses, type RoomEventFilter, type SyncFilter } from '../filter.js';
import type { FormatOptions, Viewer } from '../format.js';
import { keys, type EventRecord, type StateEntry, type StrippedRecord } from '../storage.js';
import { splitStateKey, stateKey, type StateMap } from '../state.js';
import { token } from '../tokens.js';
import { decodeKey } from '../../../platform/storage/keys.js';
import { receiptEvent } from '../user-streams.js';
import type { RoomView } from '../views.js';
import type { MembershipPoint } from '../visibility.js';

export const DEFAULT_TIMELINE_LIMIT = 10;
export const MAX_TIMELINE_LIMIT = 500;

export interface SyncRequest {
  viewer: Viewer;
  /** Undefined for an initial sync. */
  since: number | undefined;
  /** The position this answer reaches (its next_batch). */
  to: number;
  filter: SyncFilter;
  fullState: boolean;
  useStateAfter: boolean;
  now: number;
  fmt: FormatOptions;
  deviceKey: string;
}

export type AccountDataEvent = { type: string; content: JsonObject };

interface Timeline {
  events: EventRecord[];
  limited: boolean;
  prevBatch: number;
}

export class RoomSections {
  constructor(private readonly deps: SyncDeps) {}

  private async timeline(req: SyncRequest, a: RoomAccess, after: number, upTo: number): Promise<Timeline> {
    const tf = req.filter.room?.timeline;
    // 0 (below the spec's minimum of 1, but what bots send to skip the backlog, and Synapse honours): no events,
    // limited when there were some, the state section then holds the room as of the end. A timeline filter
    // whose rooms or not_rooms leave this room out holds its events back the same way.
    const limit = roomPasses(tf, a.room.id) ? limitOf(tf, DEFAULT_TIMELINE_LIMIT, MAX_TIMELINE_LIMIT, 0) : 0;
    const shown = await this.currentStateIds(a, after, upTo);
    const scan = await this.deps.timeline.scan(a.room, {
      after,
      upTo,
      reverse: true,
      want: Math.max(limit, 1),
      accept: (rec) => (visible(a, rec) || shown.has(rec.event_id)) && eventPasses(tf, rec.pdu),
    });
    if (limit === 0) return { events: [], limited: scan.events.length > 0, prevBatch: upTo };
    const events = scan.events.reverse();
    const first = events[0];
    // A whole room's history in one timeline gets the answer's own position, as Synapse gives
    // (SyTest and Complement page back, or read /members, from it); otherwise just before its first event.
    const whole = after === 0 && !scan.more;
    return { events, limited: scan.more, prevBatch: first && !whole ? first.pos - 1 : after > 0 ? after : upTo };
  }

  /**
   * State events of (after, upTo] that are still the room's state at upTo:
   * shown in a sync timeline even where history visibility hides their
   * time (a join while the user was away from a `joined` room), as Synapse
   * does. Put in `state` instead, they would be undone by an older event of
   * the same key later in the timeline. Only rooms that were ever `joined`
   * or `invited` can hide anything from a member.
   */
  private async currentStateIds(a: RoomAccess, after: number, upTo: number): Promise<ReadonlySet<string>> {
    if (a.room.lastStateChange <= after || !a.room.hv.some((p) => p.vis === 'joined' || p.vis === 'invited')) return NONE;
    return new Set((await this.deps.state.delta(a.room.id, after, upTo)).values());
  }

  /** Whether the room has a non-empty name or canonical alias now. */
  private async named(roomId: string): Promise<boolean> {
    const entries = await this.deps.db.getMany<StateEntry>([keys.state(roomId, 'm.room.name', ''), keys.state(roomId, 'm.room.canonical_alias', '')]);
    const recs = await this.deps.events.records(entries.filter((e): e is StateEntry => e !== undefined).map((e) => e.event_id));
    return recs.some((r) => (typeof r.pdu.content.name === 'string' && r.pdu.content.name !== '') || (typeof r.pdu.content.alias === 'string' && r.pdu.content.alias !== ''));
  }

  /** Whether the room's m.room.name or m.room.canonical_alias is newer than `since`. */
  private async namingChangedAfter(roomId: string, since: number): Promise<boolean> {
    const entries = await this.deps.db.getMany<StateEntry>([keys.state(roomId, 'm.room.name', ''), keys.state(roomId, 'm.room.canonical_alias', '')]);
    return entries.some((e) => e !== undefined && e.pos > since);
  }

  /** Heroes: up to five other joined or invited members in stream order, else former members. */
  async heroes(room: RoomView, userId: string): Promise<string[]> {
    if (!room.heroes || room.heroes.at !== room.membersPos) {
      const at = room.membersPos;
      const rows = await this.deps.db.entries<StateEntry>(keys.stateTypeRange(room.id, 'm.room.member'));
      const members = rows.map(([k, e]) => ({ user: String(decodeKey(k)[3]), pos: e.pos, membership: e.membership }));
      members.sort((x, y) => x.pos - y.pos);
      const pick = (ms: string[]) => members.filter((m) => ms.includes(m.membership ?? '')).slice(0, 6).map((m) => m.user);
      room.heroes = { at, ids: pick(['join', 'invite']), former: pick(['leave', 'ban']) };
    }
    const active = room.heroes.ids.filter((u) => u !== userId);
    return (active.length > 0 ? active : room.heroes.former.filter((u) => u !== userId)).slice(0, 5);
  }

  /**
   * The state section. `full`: the whole state after `at` (lazy-loading
   * keeps only the members named in `members`); otherwise the changes in
   * (since, at], members of the gap always included.
   */
  private async stateSection(req: SyncRequest, a: RoomAccess, full: boolean, since: number | undefined, at: number, members: Set<string>): Promise<EventRecord[]> {
    const sf: RoomEventFilter | undefined = req.filter.room?.state;
    const lazy = sf?.lazy_load_members === true;
    const redundantToo = sf?.include_redundant_members === true;
    const { state } = this.deps;
    let map: StateMap;
    const gap = new Set<string>();
    if (full || since === undefined) {
      map = lazy ? await state.at(a.room.id, at, { except: 'm.room.member' }) : await state.at(a.room.id, at);
    } else {
      // Most incremental syncs follow a message: no state changed since `since`, nothing to read.
      map = a.room.lastStateChange <= since ? new Map() : await state.delta(a.room.id, since, at);
      for (const k of map.keys()) if (k.startsWith('m.room.member\0')) gap.add(k);
    }
    if (lazy) {
      const wanted = [...members].filter((u) => !map.has(stateKey('m.room.member', u)));
      if (wanted.length > 0) {
        for (const [k, id] of await state.entriesAt(a.room.id, at, wanted.map((u) => ['m.room.member', u]))) map.set(k, id);
      }
    }
    const recs = await this.deps.events.records([...map.values()]);
    const out: EventRecord[] = [];
    for (const rec of recs) {
      const isMember = rec.pdu.type === 'm.room.member';
      const k = stateKey(rec.pdu.type, rec.pdu.state_key ?? '');
      if (isMember && lazy && !gap.has(k)) {
        const user = rec.pdu.state_key!;
        if (!redundantToo && this.deps.lazyMembers.known(req.deviceKey, a.room.id, user, rec.event_id, req.since)) continue;
      }
      if (!(lazy && gap.has(k)) && !eventPasses(sf, rec.pdu)) continue;
      if (!roomPasses(sf, a.room.id)) continue;
      out.push(rec);
    }
    if (lazy) for (const rec of out) if (rec.pdu.type === 'm.room.member') this.deps.lazyMembers.record(req.deviceKey, a.room.id, rec.pdu.state_key!, rec.event_id, req.to);
    return out;
  }

  /**
   * State that changed after the timeline's start by events the user may not
   * see (history visibility, a time away from the room): without it, state
   * plus timeline would not add up to the room's state now. Keys the
   * timeline itself changes are left to it.
   */
  private async hiddenChanges(req: SyncRequest, a: RoomAccess, before: EventRecord[], timeline: EventRecord[], startAt: number): Promise<EventRecord[]> {
    if (a.room.lastStateChange <= startAt) return [];
    const inTimeline = new Set(timeline.filter((e) => typeof e.pdu.state_key === 'string').map((e) => stateKey(e.pdu.type, e.pdu.state_key!)));
    const given = new Set(before.map((e) => e.event_id));
    const sf: RoomEventFilter | undefined = req.filter.room?.state;
    const changed = await this.deps.state.delta(a.room.id, startAt, req.to);
    const ids = [...changed].filter((e): e is [string, string] => e[1] !== undefined && !inTimeline.has(e[0]) && !given.has(e[1])).map(([, id]) => id);
    return (await this.deps.events.records(ids)).filter((rec) => eventPasses(sf, rec.pdu));
  }

  private lazyMembers(req: SyncRequest, a: RoomAccess, timeline: EventRecord[], heroes: string[], includeSelf: boolean): Set<string> {
    const out = new Set<string>();
    if (req.filter.room?.state?.lazy_load_members !== true) return out;
    for (const e of timeline) out.add(e.pdu.sender);
    for (const h of heroes) out.add(h);
    if (includeSelf) out.add(a.userId);
    return out;
  }

  private async ephemeral(req: SyncRequest, room: RoomView, since: number | undefined): Promise<JsonObject[]> {
    const ef = req.filter.room?.ephemeral;
    if (!roomPasses(ef, room.id)) return [];
    const out: JsonObject[] = [];
    // An initial sync gives the typing list of every room that has had one, empty or not (as Synapse
    // does; SyTest's "Typing can be explicitly stopped" waits for the empty list from an initial sync).
    if (room.typing.pos > (since ?? 0) && room.typing.pos <= req.to && eventPasses(ef, { type: 'm.typing' })) {
      out.push({ type: 'm.typing', content: { user_ids: room.typing.users } });
    }
    const receiptsChanged = room.receiptsPos > (since ?? 0) || (room.privateReceipts.get(req.viewer.user_id) ?? 0) > (since ?? 0);
    if (receiptsChanged && eventPasses(ef, { type: 'm.receipt' })) {
      const receipt = await receiptEvent(this.deps, req.viewer.user_id, room.id, since);
      if (receipt) out.push(receipt);
    }
    return out;
  }

  private roomAccountData(req: SyncRequest, roomId: string, data: AccountDataEvent[] | undefined): JsonObject[] {
    const af = req.filter.room?.account_data;
    if (!data || !roomPasses(af, roomId)) return [];
    return data.filter((d) => eventPasses(af, { type: d.type })).map((d) => ({ type: d.type, content: d.content }));
  }

  private async stateOut(req: SyncRequest, a: RoomAccess, recs: EventRecord[]): Promise<JsonObject[]> {
    return serialize(this.deps, a, recs, req.fmt, { bundle: false });
  }

  /** A joined room, or undefined when nothing in it changed since `since` (incremental). */
  async joined(req: SyncRequest, room: RoomView, newly: boolean, accountData: AccountDataEvent[] | undefined): Promise<JsonObject | undefined> {
    const since = newly ? undefined : req.since;
    const a = accessFor(this.deps, room, req.viewer.user_id);
    const full = since === undefined || req.fullState;
    if (since !== undefined && !req.fullState) {
      const changed =
        room.latest > since || room.typing.pos > since || room.receiptsPos > since || (room.privateReceipts.get(a.userId) ?? 0) > since || accountData !== undefined;
      if (!changed) return undefined;
    }
    const tl = await this.timeline(req, a, since ?? 0, req.to);
    // Also when the room's name or alias changed: one that loses both needs heroes from now on.
    const summaryNeeded = since === undefined || room.membersPos > since || (room.lastStateChange > since && (await this.namingChangedAfter(room.id, since)));
    // Heroes name a room that has no name of its own (neither m.room.name nor a canonical alias).
    const heroes = summaryNeeded && !(await this.named(room.id)) ? await this.heroes(room, a.userId) : undefined;
    const members = this.lazyMembers(req, a, tl.events, heroes ?? [], full);
    const startAt = tl.events.length > 0 ? tl.events[0]!.pos - 1 : req.to;
    const out: JsonObject = {};
    if (req.useStateAfter) {
      const after = await this.stateSection(req, a, full, since, req.to, members);
      out.state_after = { events: await this.stateOut(req, a, after) };
    } else {
      const before = await this.stateSection(req, a, full, since, startAt, members);
      const hidden = await this.hiddenChanges(req, a, before, tl.events, startAt);
      const replaced = new Set(hidden.map((e) => stateKey(e.pdu.type, e.pdu.state_key ?? '')));
      const kept = replaced.size === 0 ? before : before.filter((e) => !replaced.has(stateKey(e.pdu.type, e.pdu.state_key ?? '')));
      out.state = { events: await this.stateOut(req, a, [...kept, ...hidden]) };
    }
    out.timeline = {
      events: await serialize(this.deps, a, tl.events, req.fmt, { bundle: true }),
      // A room joined since the token is always limited, as Synapse marks it (Complement checks): the client has none of it yet.
      limited: tl.limited || (newly && req.since !== undefined),
      prev_batch: token(tl.prevBatch),
    };
    if (summaryNeeded) {
      out.summary = { ...(heroes ? { 'm.heroes': heroes } : {}), 'm.joined_member_count': room.joined, 'm.invited_member_count': room.invited };
    }
    out.ephemeral = { events: await this.ephemeral(req, room, since) };
    out.account_data = { events: this.roomAccountData(req, room.id, accountData) };
    // What changed was all filtered out (an ignored user's message, a type the filter leaves out): no entry, as Synapse does.
    if (!full && nothingIn(out)) return undefined;
    const perThread = req.filter.room?.timeline?.unread_thread_notifications === true;
    const counts = await this.deps.counts.counts(a.userId, room.id, req.to, perThread);
    out.unread_notifications = counts.room as unknown as JsonObject;
    if (perThread && Object.keys(counts.threads).length > 0) out.unread_thread_notifications = counts.threads as unknown as JsonObject;
    return out;
  }

  /** A room the user left or was banned from: its timeline up to the leave. */
  async left(req: SyncRequest, room: RoomView, leave: MembershipPoint, sinceRoom: number | undefined, accountData: AccountDataEvent[] | undefined): Promise<JsonObject> {
    const a = accessFor(this.deps, room, req.viewer.user_id);
    const upTo = Math.min(leave.pos, req.to);
    const tl = await this.timeline(req, a, sinceRoom ?? 0, upTo);
    const full = sinceRoom === undefined || req.fullState;
    const members = this.lazyMembers(req, a, tl.events, [], full);
    const startAt = tl.events.length > 0 ? tl.events[0]!.pos - 1 : upTo;
    const out: JsonObject = {};
    if (req.useStateAfter) out.state_after = { events: await this.stateOut(req, a, await this.stateSection(req, a, full, sinceRoom, upTo, members)) };
    else out.state = { events: await this.stateOut(req, a, await this.stateSection(req, a, full, sinceRoom, startAt, members)) };
    out.timeline = { events: await serialize(this.deps, a, tl.events, req.fmt, { bundle: true }), limited: tl.limited, prev_batch: token(tl.prevBatch) };
    out.account_data = { events: this.roomAccountData(req, room.id, accountData) };
    return out;
  }

  /** A room the user left without ever joining it: their own membership event, nothing of the room. */
  async leftUnjoined(req: SyncRequest, room: RoomView, leave: MembershipPoint): Promise<JsonObject> {
    const a = accessFor(this.deps, room, req.viewer.user_id);
    const rec = await this.deps.events.get(leave.event_id);
    const events = rec && rec.pos > 0 && rec.pos <= req.to ? await serialize(this.deps, a, [rec], req.fmt, { bundle: false }) : [];
    return { timeline: { events, limited: false, prev_batch: token(leave.pos - 1) }, [req.useStateAfter ? 'state_after' : 'state']: { events: [] }, account_data: { events: [] } };
  }

  /** An invite or knock: the stripped state kept when it arrived. */
  async stripped(req: SyncRequest, roomId: string, kind: 'invite' | 'knock'): Promise<JsonObject | undefined> {
    const rec = await this.deps.db.get<StrippedRecord>(keys.stripped(req.viewer.user_id, roomId));
    if (!rec) return undefined;
    const own = rec.state.find((e) => e.type === 'm.room.member' && e.state_key === req.viewer.user_id);
    // Invites from ignored users, and any while the user blocks invites, are not shown.
    if (kind === 'invite' && own && this.deps.views.hidesInvite(req.viewer.user_id, String(own.sender))) return undefined;
    const events = rec.state;
    return kind === 'invite' ? { invite_state: { events } } : { knock_state: { events } };
  }
}

export { splitStateKey };

const NONE: ReadonlySet<string> = new Set();

/** An incremental room entry that carries nothing: no events in any section and a timeline that was not cut. */
function nothingIn(out: JsonObject): boolean {
  const empty = (section: JsonValue | undefined) => ((section as { events?: unknown[] } | undefined)?.events?.length ?? 0) === 0;
  const timeline = out.timeline as { limited?: boolean };
  return empty(out.timeline) && timeline.limited !== true && empty(out.state) && empty(out.state_after) && empty(out.ephemeral) && empty(out.account_data);
}
