/**
 * The deprecated event streams, which tools and older test suites still
 * call: GET /events (long-poll of room events, typing, receipts, presence
 * and account data, as Synapse's), GET /events/{eventId}, GET /initialSync
 * and GET /rooms/{roomId}/initialSync.
 */
import type { FastifyInstance } from 'fastify';
import type { JsonObject } from '../../../core/canonical-json.js';
import { MatrixError } from '../../../core/errors.js';
import type { TokenAuth, RequestOwner } from '../../../platform/http/auth.js';
import { decodeKey } from '../../../platform/storage/keys.js';
import { accessFor, mayReadRoom, serialize, visible, type RoomAccess } from '../access.js';
import type { SyncDeps } from '../deps.js';
import { roomWakeKey } from '../notifier.js';
import { keys, type AccountDataRecord, type EventRecord, type PresenceRecord } from '../storage.js';
import { MAX_TIMEOUT_MS, presenceContent } from '../sync/engine.js';
import { parseToken, token } from '../tokens.js';
import { currentAccountData, receiptEvent } from '../user-streams.js';
import { at } from '../visibility.js';
import type { RoomView } from '../views.js';
import { boolParam, formatFor, intParam, ownerOf, params, query, readableRoom, roomIdParam, single } from './common.js';
import { hangupSignal, syncSetsPresence } from './sync.js';

const EVENTS_LIMIT = 100;

/** The rooms whose events the user's stream carries: joined ones (or the one asked for, when readable). */
async function streamRooms(deps: SyncDeps, owner: RequestOwner, roomId: string | undefined): Promise<RoomAccess[]> {
  if (roomId !== undefined) return [await readableRoom(deps, roomId, owner.user_id)];
  const out: RoomAccess[] = [];
  for (const id of deps.views.users.get(owner.user_id)?.rooms ?? []) {
    const room = deps.views.room(id);
    if (!room) continue;
    const a = accessFor(deps, room, owner.user_id);
    if (at(a.hist, deps.stream.current)?.membership === 'join') out.push(a);
  }
  return out;
}

/** serialize(), with each event's sender also as `user_id`, as these endpoints' events always carried it (SyTest reads it). */
async function legacySerialize(deps: SyncDeps, a: RoomAccess, recs: EventRecord[], owner: RequestOwner, bundle: boolean): Promise<JsonObject[]> {
  return (await serialize(deps, a, recs, formatFor(owner), { bundle })).map((e) => ({ ...e, user_id: e.sender! }));
}

async function roomMessages(deps: SyncDeps, a: RoomAccess, upTo: number, limit: number, owner: RequestOwner): Promise<JsonObject> {
  const scan = await deps.timeline.scan(a.room, { after: 0, upTo, reverse: true, want: limit, accept: (r) => visible(a, r) });
  const events = scan.events.reverse();
  return {
    chunk: await legacySerialize(deps, a, events, owner, true),
    start: token(events[0] ? events[0].pos - 1 : upTo),
    end: token(upTo),
  };
}

async function roomAccountData(deps: SyncDeps, userId: string, roomId: string): Promise<JsonObject[]> {
  const out: JsonObject[] = [];
  for (const [k, r] of await deps.db.entries<AccountDataRecord>(keys.accountDataOf(userId))) {
    const [, , rid, type] = decodeKey(k) as [string, string, string, string];
    if (rid === roomId) out.push({ type, content: r.content });
  }
  return out;
}

async function visibilityOf(deps: SyncDeps, roomId: string): Promise<string> {
  try {
    return (await deps.roomserver().queryRoomVisibility({ room_id: roomId }))?.visibility ?? 'private';
  } catch {
    return 'private';
  }
}

/** What /initialSync says of one room: its latest messages, its state then, the user's membership. */
async function roomInitial(deps: SyncDeps, owner: RequestOwner, room: RoomView, limit: number): Promise<JsonObject> {
  const a = accessFor(deps, room, owner.user_id);
  const w = deps.stream.current;
  const m = at(a.hist, w);
  const membership = m?.membership ?? 'leave';
  // Members read the room now; those who left read it as it was when they left.
  const upTo = m && (membership === 'leave' || membership === 'ban') && room.visibilityAt(w) !== 'world_readable' ? m.pos : w;
  const stateIds = [...(await deps.state.at(room.id, upTo)).values()];
  const state = await deps.events.records(stateIds);
  const out: JsonObject = {
    room_id: room.id,
    membership,
    messages: membership === 'invite' ? { chunk: [], start: token(upTo), end: token(upTo) } : await roomMessages(deps, a, upTo, limit, owner),
    state: membership === 'invite' ? [] : await legacySerialize(deps, a, state, owner, false),
    visibility: await visibilityOf(deps, room.id),
    account_data: await roomAccountData(deps, owner.user_id, room.id),
  };
  if (membership === 'invite' && m) {
    const inv = await deps.events.get(m.event_id);
    if (inv) out.invite = (await legacySerialize(deps, a, [inv], owner, false))[0]!;
  }
  return out;
}

/**
 * Presence in the deprecated endpoints' form: content also names the user
 * (`user_id`), as these endpoints always gave it and older suites look for.
 */
function legacyPresence(userId: string, r: PresenceRecord, now: number): JsonObject {
  return { type: 'm.presence', sender: userId, content: { ...presenceContent(r, now), user_id: userId } };
}

/** The presence of `users`, changed in (after, upTo] (all of it without `after`). */
function presenceOf(deps: SyncDeps, users: Set<string>, after = 0, upTo = Infinity): { pos: number; event: JsonObject }[] {
  if (!deps.presenceEnabled) return [];
  const now = Date.now();
  const out: { pos: number; event: JsonObject }[] = [];
  for (const [userId, r] of deps.views.presence) {
    if (users.has(userId) && r.pos > after && r.pos <= upTo) out.push({ pos: r.pos, event: legacyPresence(userId, r, now) });
  }
  return out;
}

/**
 * What /events carries besides room events, changed in (after, upTo]: each
 * room's typing list and receipts (with their `room_id`), the presence of
 * the rooms' members and the user's own, and the user's account data (of
 * those rooms only, when the stream is one room's), ordered by position.
 */
async function streamEdus(deps: SyncDeps, owner: RequestOwner, rooms: RoomAccess[], oneRoom: boolean, after: number, upTo: number): Promise<JsonObject[]> {
  const out: { pos: number; event: JsonObject }[] = [];
  if ((deps.views.users.get(owner.user_id)?.accountDataPos ?? 0) > after) {
    const ids = new Set(rooms.map((a) => a.room.id));
    for (const item of await currentAccountData(deps, owner.user_id)) {
      if (item.pos <= after || item.pos > upTo || (oneRoom && !ids.has(item.room_id))) continue;
      const { type, content, room_id } = item;
      out.push({ pos: item.pos, event: room_id === '' ? { type, content } : { type, room_id, content } });
    }
  }
  const members = new Set<string>([owner.user_id]);
  for (const { room } of rooms) {
    for (const u of room.joinedNow()) members.add(u);
    if (room.typing.pos > after && room.typing.pos <= upTo) {
      out.push({ pos: room.typing.pos, event: { type: 'm.typing', room_id: room.id, content: { user_ids: room.typing.users } } });
    }
    if (room.receiptsPos > after || (room.privateReceipts.get(owner.user_id) ?? 0) > after) {
      const receipt = await receiptEvent(deps, owner.user_id, room.id, after, upTo);
      if (receipt) out.push({ pos: Math.min(upTo, Math.max(room.receiptsPos, room.privateReceipts.get(owner.user_id) ?? 0)), event: { ...receipt, room_id: room.id } });
    }
  }
  out.push(...presenceOf(deps, members, after, upTo));
  return out.sort((x, y) => x.pos - y.pos).map((x) => x.event);
}

export function legacyRoutes(app: FastifyInstance, deps: SyncDeps, auth: TokenAuth): void {
  app.get('/_matrix/client/v3/events', { onRequest: auth.required }, async (request, reply) => {
    const owner = ownerOf(request);
    const q = query(request);
    const roomId = single(q, 'room_id');
    if (roomId !== undefined) roomIdParam(roomId);
    // The guest access module opens /events to guests only "as used for room previews": with a room.
    if (owner.is_guest && roomId === undefined) throw new MatrixError(403, 'M_GUEST_ACCESS_FORBIDDEN', 'Guests may only read the events of one room (room_id)');
    const fromText = single(q, 'from');
    const timeoutMs = Math.min(intParam(q, 'timeout') ?? 30_000, MAX_TIMEOUT_MS);
    // Not in the spec's definition of /events, but Synapse's took it, and older clients send it.
    const limit = Math.max(1, Math.min(intParam(q, 'limit') ?? EVENTS_LIMIT, EVENTS_LIMIT));
    // A client polling the stream is online, as with /sync's default; a stream's start is past it.
    await syncSetsPresence(deps, owner.user_id, 'online', !fromText);
    const parsed = fromText ? parseToken(fromText) : undefined;
    // No token (or not ours): the stream starts now.
    const from = parsed !== undefined && parsed <= deps.stream.current ? parsed : deps.stream.current;
    const deadline = Date.now() + timeoutMs;
    const signal = hangupSignal(reply);
    for (;;) {
      const w = deps.stream.current;
      const chunk: EventRecord[] = [];
      const byEvent = new Map<string, RoomAccess>();
      let cut = false;
      const rooms = await streamRooms(deps, owner, roomId);
      for (const a of rooms) {
        if (a.room.latest <= from) continue;
        const scan = await deps.timeline.scan(a.room, { after: from, upTo: w, reverse: false, want: limit, accept: (r) => visible(a, r) });
        cut ||= scan.more;
        for (const e of scan.events) {
          chunk.push(e);
          byEvent.set(e.event_id, a);
        }
      }
      chunk.sort((x, y) => x.pos - y.pos);
      const page = chunk.slice(0, limit);
      const end = page.length === chunk.length && !cut ? w : page[page.length - 1]!.pos;
      const edus = await streamEdus(deps, owner, rooms, roomId !== undefined, from, end);
      const left = deadline - Date.now();
      if (page.length > 0 || edus.length > 0 || left <= 0 || signal.aborted) {
        const events: JsonObject[] = [];
        for (const e of page) events.push((await legacySerialize(deps, byEvent.get(e.event_id)!, [e], owner, false))[0]!);
        return { start: token(from), end: token(end), chunk: [...events, ...edus] };
      }
      // One room (perhaps peeked at, not joined): its own events wake the wait.
      const key = roomId !== undefined ? roomWakeKey(roomId) : owner.user_id;
      if (!(await deps.notifier.wait(key, w, left, signal))) return { start: token(from), end: token(w), chunk: [] };
    }
  });

  app.get('/_matrix/client/v3/events/:eventId', { onRequest: auth.required }, async (request) => {
    const owner = ownerOf(request);
    const rec = await deps.events.get(params(request).eventId!);
    const room = rec ? deps.views.room(rec.room_id) : undefined;
    const a = room ? accessFor(deps, room, owner.user_id) : undefined;
    if (!rec || !a || rec.pos === 0 || rec.pos > deps.stream.current || !mayReadRoom(a, deps.stream.current) || !visible(a, rec)) {
      throw new MatrixError(404, 'M_NOT_FOUND', 'Event not found');
    }
    return (await legacySerialize(deps, a, [rec], owner, true))[0];
  });

  app.get('/_matrix/client/v3/initialSync', { onRequest: auth.required }, async (request) => {
    const owner = ownerOf(request);
    const q = query(request);
    const limit = Math.max(0, Math.min(intParam(q, 'limit') ?? 10, 100));
    const archived = boolParam(q, 'archived');
    await syncSetsPresence(deps, owner.user_id, 'online', true);
    const w = deps.stream.current;
    const rooms: JsonObject[] = [];
    const shared = new Set<string>([owner.user_id]);
    // Not in the spec's schema: Synapse's answer has them, and SyTest reads them.
    const receipts: JsonObject[] = [];
    for (const id of deps.views.users.get(owner.user_id)?.rooms ?? []) {
      const room = deps.views.room(id);
      if (!room) continue;
      const point = at(room.local.get(owner.user_id), w);
      const m = point?.membership;
      if (!m || ((m === 'leave' || m === 'ban') && !archived)) continue;
      if (m === 'invite') {
        const inviter = (await deps.events.get(point!.event_id))?.pdu.sender;
        if (inviter !== undefined && deps.views.hidesInvite(owner.user_id, inviter)) continue;
      }
      rooms.push(await roomInitial(deps, owner, room, limit));
      if (m !== 'join') continue;
      for (const u of room.joinedNow()) shared.add(u);
      const receipt = await receiptEvent(deps, owner.user_id, room.id, undefined);
      if (receipt) receipts.push({ ...receipt, room_id: room.id });
    }
    const accountData: JsonObject[] = [];
    for (const [k, r] of await deps.db.entries<AccountDataRecord>(keys.accountDataOf(owner.user_id))) {
      const [, , rid, type] = decodeKey(k) as [string, string, string, string];
      if (rid === '') accountData.push({ type, content: r.content });
    }
    return { end: token(w), rooms, presence: presenceOf(deps, shared).map((p) => p.event), account_data: accountData, receipts };
  });

  app.get('/_matrix/client/v3/rooms/:roomId/initialSync', { onRequest: auth.required }, async (request) => {
    const owner = ownerOf(request);
    const roomId = roomIdParam(params(request).roomId);
    // `limit` is not in the spec's definition of this endpoint; Synapse's took it, as /initialSync does.
    const limit = Math.min(intParam(query(request), 'limit') ?? 10, 100);
    await syncSetsPresence(deps, owner.user_id, 'online', true);
    const a = await readableRoom(deps, roomId, owner.user_id);
    const out = await roomInitial(deps, owner, a.room, limit);
    // What the room is like now is for its members; one who left reads it as it was.
    const member = out.membership === 'join';
    out.presence = member ? presenceOf(deps, new Set(a.room.joinedNow())).map((p) => p.event) : [];
    const receipt = member ? await receiptEvent(deps, owner.user_id, roomId, undefined) : undefined;
    out.receipts = receipt ? [{ ...receipt, room_id: roomId }] : [];
    return out;
  });
}
