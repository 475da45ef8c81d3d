/**
 * One room of a sliding sync answer. A room new to the connection (or
 * whose membership changed, or whose room config grew) is sent whole,
 * `initial: true`: its latest `timeline_limit` visible events, the current
 * state `required_state` selects, name, avatar, heroes, counts. A room the
 * connection already has gets only what changed since it was last sent:
 * new events (`num_live`), changed state that `required_state` selects,
 * changed counts, bump stamp and DM flag; nothing at all when nothing did.
 * Visibility, formatting, counts and heroes are the v2 sync's own.
 */
import type { JsonObject } from '../../../core/canonical-json.js';
import { accessFor, serialize, visible, type RoomAccess } from '../access.js';
import type { SyncDeps } from '../deps.js';
import type { FormatOptions } from '../format.js';
import { splitStateKey, stateKey, type StateMap } from '../state.js';
import type { EventRecord } from '../storage.js';
import type { RoomSections } from '../sync/rooms.js';
import { token } from '../tokens.js';
import type { SentRoom } from './connections.js';
import type { RoomConfig } from './request.js';
import { covers, wants, type StateSpec } from './required-state.js';
import type { Candidate, RoomFacts } from './room-list.js';

export interface RoomContext {
  deps: SyncDeps;
  sections: RoomSections;
  facts: RoomFacts;
  userId: string;
  /** The answer's stream position. */
  w: number;
  /** The position the connection's previous answer reached (undefined on its first request). */
  from: number | undefined;
  fmt: FormatOptions;
}

export interface RoomOutcome {
  /** undefined: nothing to send for this room. */
  out: JsonObject | undefined;
  sent: SentRoom;
  initial: boolean;
}

const noMembers: ReadonlyMap<string, string> = new Map();

/** The state `spec` selects at position `at` (lazy members aside). */
async function selectedState(deps: SyncDeps, roomId: string, at: number, spec: StateSpec): Promise<StateMap> {
  if (spec.all || spec.anyType.size > 0) {
    const all = await deps.state.at(roomId, at);
    for (const k of [...all.keys()]) if (!wants(spec, ...splitStateKey(k))) all.delete(k);
    return all;
  }
  const out: StateMap = new Map();
  const pairs: [string, string][] = [];
  for (const [type, keys] of spec.types) {
    if (keys === '*') for (const [k, id] of await deps.state.at(roomId, at, { only: type })) out.set(k, id);
    else for (const k of keys) pairs.push([type, k]);
  }
  if (pairs.length > 0) for (const [k, id] of await deps.state.entriesAt(roomId, at, pairs)) out.set(k, id);
  for (const k of [...out.keys()]) if (!wants(spec, ...splitStateKey(k))) out.delete(k);
  return out;
}

/** Users whose member events lazy-loading needs for these events: senders, and targets of member events. */
function lazyUsers(events: EventRecord[]): Set<string> {
  const out = new Set<string>();
  for (const e of events) {
    out.add(e.pdu.sender);
    if (e.pdu.type === 'm.room.member' && typeof e.pdu.state_key === 'string') out.add(e.pdu.state_key);
  }
  return out;
}

function nameOf(rec: EventRecord | undefined): string | null {
  const n = rec?.pdu.content.name;
  return typeof n === 'string' && n !== '' ? n : null;
}

function avatarOf(rec: EventRecord | undefined): string | null {
  const u = rec?.pdu.content.url;
  return typeof u === 'string' && u !== '' ? u : null;
}

async function heroes(ctx: RoomContext, a: RoomAccess, at: number): Promise<JsonObject[]> {
  const ids = await ctx.sections.heroes(a.room, ctx.userId);
  if (ids.length === 0) return [];
  const members = await ctx.deps.state.entriesAt(a.room.id, at, ids.map((u) => ['m.room.member', u]));
  const recs = new Map((await ctx.deps.events.records([...members.values()])).map((r) => [r.pdu.state_key, r]));
  return ids.map((user_id) => {
    const c = recs.get(user_id)?.pdu.content;
    const h: JsonObject = { user_id };
    if (typeof c?.displayname === 'string') h.displayname = c.displayname;
    if (typeof c?.avatar_url === 'string') h.avatar_url = c.avatar_url;
    return h;
  });
}

/**
 * A declined or withdrawn invite (or a ban before joining): the user's own
 * member event, in the timeline and, when asked for, in required_state.
 * Clients learn the membership from that event alone (MSC4186 has no
 * membership field; matrix-rust-sdk takes a room without invite_state and
 * without the event for joined, and Element X would list it as such).
 */
async function ownLeave(ctx: RoomContext, c: Candidate, cfg: RoomConfig, out: JsonObject): Promise<void> {
  if (!c.room) return;
  const rec = await ctx.deps.events.get(c.m.event_id);
  if (!rec) return;
  const [ev] = await serialize(ctx.deps, accessFor(ctx.deps, c.room, ctx.userId), [rec], ctx.fmt, { bundle: false });
  if (!ev) return;
  if (wants(cfg.required_state, 'm.room.member', ctx.userId)) out.required_state = [ev];
  if (cfg.timeline_limit > 0) {
    out.timeline = [ev];
    out.limited = false;
    out.num_live = ctx.from !== undefined && rec.pos > ctx.from ? 1 : 0;
    out.prev_batch = token(rec.pos - 1);
  }
}

export async function roomResult(ctx: RoomContext, c: Candidate, cfg: RoomConfig, prev: SentRoom | undefined): Promise<RoomOutcome> {
  const { deps, userId } = ctx;
  const hist = c.room?.local.get(userId);
  const everJoined = hist?.some((p) => p.membership === 'join' && p.pos <= c.m.pos) === true;
  const isDm = await ctx.facts.isDm(c);
  const base: SentRoom = {
    at: ctx.w,
    membership: c.m.membership,
    timeline_limit: cfg.timeline_limit,
    required_state: cfg.required_state,
    members: noMembers,
    bump: c.bump,
    joined: c.room?.joined ?? 0,
    invited: c.room?.invited ?? 0,
    notification_count: 0,
    highlight_count: 0,
    is_dm: isDm,
  };
  const sameMembership = prev !== undefined && prev.membership === c.m.membership && prev.at >= c.m.pos;

  if (!c.room || !everJoined) {
    // An invite, a knock, or a room left without ever joining it: nothing of the room but what the invite carried.
    if (sameMembership) return { out: undefined, sent: { ...prev!, at: ctx.w }, initial: false };
    const out: JsonObject = { initial: true, membership: c.m.membership, bump_stamp: c.bump };
    if (c.stripped) out.invite_state = c.stripped.state;
    if (isDm) out.is_dm = true;
    const name = c.stripped?.state.find((e) => e.type === 'm.room.name' && (e.state_key ?? '') === '');
    const n = (name?.content as JsonObject | undefined)?.name;
    if (typeof n === 'string' && n !== '') out.name = n;
    if (c.m.membership === 'leave' || c.m.membership === 'ban') await ownLeave(ctx, c, cfg, out);
    return { out, sent: base, initial: true };
  }

  const a = accessFor(deps, c.room, userId);
  const joined = c.m.membership === 'join';
  // Who left sees the room up to their leave.
  const upTo = joined ? ctx.w : Math.min(c.m.pos, ctx.w);
  const grew = prev !== undefined && (cfg.timeline_limit > prev.timeline_limit || !covers(prev.required_state, cfg.required_state));
  const initial = !sameMembership || grew;
  const counts = async () => (joined ? (await deps.counts.counts(userId, c.roomId, ctx.w, false)).room : { notification_count: 0, highlight_count: 0 });

  if (initial) {
    const scan = await deps.timeline.scan(c.room, { after: 0, upTo, reverse: true, want: cfg.timeline_limit, accept: (rec) => visible(a, rec) });
    const events = scan.events.reverse();
    const state = await selectedState(deps, c.roomId, upTo, cfg.required_state);
    const members = new Map<string, string>();
    if (cfg.required_state.lazy) {
      const wanted = [...lazyUsers(events)].filter((u) => !state.has(stateKey('m.room.member', u)));
      for (const [k, id] of await deps.state.entriesAt(c.roomId, upTo, wanted.map((u) => ['m.room.member', u]))) state.set(k, id);
    }
    const stateRecs = await deps.events.records([...state.values()]);
    for (const r of stateRecs) if (r.pdu.type === 'm.room.member') members.set(r.pdu.state_key!, r.event_id);
    const named = await deps.state.entriesAt(c.roomId, upTo, [['m.room.name', ''], ['m.room.avatar', '']]);
    const [nameRec, avatarRec] = await Promise.all([named.get(stateKey('m.room.name', '')), named.get(stateKey('m.room.avatar', ''))].map((id) => (id ? deps.events.get(id) : undefined)));
    const n = await counts();
    const out: JsonObject = { initial: true, membership: c.m.membership };
    const name = nameOf(nameRec);
    if (name !== null) out.name = name;
    else {
      const h = await heroes(ctx, a, upTo);
      if (h.length > 0) out.heroes = h;
    }
    const avatar = avatarOf(avatarRec);
    if (avatar !== null) out.avatar = avatar;
    out.required_state = await serialize(deps, a, stateRecs, ctx.fmt, { bundle: false });
    out.timeline = await serialize(deps, a, events, ctx.fmt, { bundle: true });
    out.prev_batch = token(events[0] ? events[0].pos - 1 : upTo);
    out.limited = scan.more;
    out.num_live = ctx.from === undefined ? 0 : events.filter((e) => e.pos > ctx.from!).length;
    out.joined_count = c.room.joined;
    out.invited_count = c.room.invited;
    out.notification_count = n.notification_count;
    out.highlight_count = n.highlight_count;
    out.bump_stamp = c.bump;
    if (isDm) out.is_dm = true;
    return { out, sent: { ...base, members, ...n }, initial: true };
  }

  // Incremental: what changed since the connection last had the room.
  const p = prev!;
  const since = p.at;
  const out: JsonObject = {};
  const sent: SentRoom = { ...p, at: ctx.w, timeline_limit: cfg.timeline_limit, required_state: cfg.required_state, bump: c.bump, is_dm: isDm };
  const room = c.room;
  let events: EventRecord[] = [];
  let limited = false;
  if (Math.min(room.latest, upTo) > since) {
    const scan = await deps.timeline.scan(room, { after: since, upTo, reverse: true, want: cfg.timeline_limit, accept: (rec) => visible(a, rec) });
    events = scan.events.reverse();
    limited = scan.more;
    if (events.length > 0 || limited) {
      out.timeline = await serialize(deps, a, events, ctx.fmt, { bundle: true });
      out.limited = limited;
      out.num_live = events.length;
      out.prev_batch = token(events[0] ? events[0].pos - 1 : upTo);
    }
  }
  const spec = cfg.required_state;
  const state: StateMap = room.lastStateChange > since ? await deps.state.delta(room.id, since, upTo) : new Map();
  const chosen: StateMap = new Map();
  for (const [k, id] of state) {
    const [type, key] = splitStateKey(k);
    // Lazy-loading sends every membership change of a gapless timeline.
    if (wants(spec, type, key) || (spec.lazy && type === 'm.room.member' && !limited)) chosen.set(k, id);
  }
  let members = p.members;
  if (spec.lazy) {
    const wanted = [...lazyUsers(events)].filter((u) => !chosen.has(stateKey('m.room.member', u)));
    const found = await deps.state.entriesAt(room.id, upTo, wanted.map((u) => ['m.room.member', u]));
    for (const [k, id] of found) if (p.members.get(splitStateKey(k)[1]) !== id) chosen.set(k, id);
  }
  if (chosen.size > 0) {
    const recs = await deps.events.records([...chosen.values()]);
    if (spec.lazy) {
      const m = new Map(p.members);
      for (const r of recs) if (r.pdu.type === 'm.room.member') m.set(r.pdu.state_key!, r.event_id);
      members = m;
    }
    out.required_state = await serialize(deps, a, recs, ctx.fmt, { bundle: false });
  }
  sent.members = members;
  const nameId = state.get(stateKey('m.room.name', ''));
  if (nameId) out.name = nameOf(await deps.events.get(nameId));
  const avatarId = state.get(stateKey('m.room.avatar', ''));
  if (avatarId) out.avatar = avatarOf(await deps.events.get(avatarId));
  if (room.joined !== p.joined || room.invited !== p.invited) {
    out.joined_count = sent.joined = room.joined;
    out.invited_count = sent.invited = room.invited;
  }
  if (room.membersPos > since && room.membersPos <= upTo) {
    const current = await deps.state.entriesAt(room.id, upTo, [['m.room.name', '']]);
    const id = current.get(stateKey('m.room.name', ''));
    if (nameOf(id ? await deps.events.get(id) : undefined) === null) {
      const h = await heroes(ctx, a, upTo);
      if (h.length > 0) out.heroes = h;
    }
  }
  if (joined && (Math.min(room.latest, upTo) > since || room.receiptsPos > since || (room.privateReceipts.get(userId) ?? 0) > since)) {
    const n = await counts();
    if (n.notification_count !== p.notification_count || n.highlight_count !== p.highlight_count) {
      out.notification_count = sent.notification_count = n.notification_count;
      out.highlight_count = sent.highlight_count = n.highlight_count;
    }
  }
  if (isDm !== p.is_dm) out.is_dm = isDm;
  if (Object.keys(out).length === 0 && c.bump === p.bump) return { out: undefined, sent, initial: false };
  if (c.bump !== p.bump) out.bump_stamp = c.bump;
  if (Object.keys(out).length === 0) return { out: undefined, sent, initial: false };
  return { out, sent, initial: false };
}
