/**
 * Room history: GET /rooms/{roomId}/messages (pagination in both
 * directions) and GET /rooms/{roomId}/context/{eventId}, under the history
 * visibility rules (a user who left sees the room up to their leave).
 */
import type { FastifyInstance } from 'fastify';
import type { JsonObject } from '../../../core/canonical-json.js';
import { MatrixError } from '../../../core/errors.js';
import type { TokenAuth } from '../../../platform/http/auth.js';
import { serialize, visible, type RoomAccess } from '../access.js';
import type { SyncDeps } from '../deps.js';
import { eventPasses, limitOf, roomPasses, type RoomEventFilter } from '../filter.js';
import type { FormatOptions } from '../format.js';
import type { EventRecord } from '../storage.js';
import { stateKey } from '../state.js';
import { requireToken, token } from '../tokens.js';
import { at } from '../visibility.js';
import { enumParam, formatFor, intParam, ownerOf, params, query, readableRoom, roomEventFilterParam, roomIdParam, single } from './common.js';

const MAX_LIMIT = 1000;

/**
 * The last position the user may read: everything for members and
 * world-readable rooms; up to their leave for those who left (a scan
 * bound only: each event is still checked).
 */
export function readableUpTo(deps: SyncDeps, a: RoomAccess): number {
  const w = deps.stream.current;
  const m = at(a.hist, w);
  if (!m || m.membership === 'join' || m.membership === 'invite' || m.membership === 'knock') return w;
  if (a.room.visibilityAt(w) === 'world_readable') return w;
  return m.pos;
}

/** Member events of the events' senders (lazy-loading), as of position `pos`. */
export async function lazyMemberState(deps: SyncDeps, a: RoomAccess, recs: EventRecord[], pos: number, f: RoomEventFilter | undefined): Promise<EventRecord[]> {
  if (f?.lazy_load_members !== true || recs.length === 0) return [];
  const senders = [...new Set(recs.map((r) => r.pdu.sender))];
  const found = await deps.state.entriesAt(a.room.id, pos, senders.map((s) => ['m.room.member', s]));
  // A sender's member event stays in `state` even when the chunk holds it too: clients read members from `state` (as Synapse gives them).
  return deps.events.records([...found.values()]);
}

/** The full state after `pos`, or only the senders' members when lazy-loading. */
async function stateAt(deps: SyncDeps, a: RoomAccess, recs: EventRecord[], pos: number, f: RoomEventFilter | undefined): Promise<EventRecord[]> {
  if (f?.lazy_load_members === true) {
    const nonMembers = await deps.state.at(a.room.id, pos, { except: 'm.room.member' });
    const members = await lazyMemberState(deps, a, recs, pos, f);
    const rest = await deps.events.records([...nonMembers.values()]);
    return [...rest.filter((r) => eventPasses(f, r.pdu)), ...members];
  }
  const all = await deps.state.at(a.room.id, pos);
  return (await deps.events.records([...all.values()])).filter((r) => eventPasses(f, r.pdu));
}

export function historyRoutes(app: FastifyInstance, deps: SyncDeps, auth: TokenAuth): void {
  app.get('/_matrix/client/v3/rooms/:roomId/messages', { onRequest: auth.required }, async (request) => {
    const owner = ownerOf(request);
    const roomId = roomIdParam(params(request).roomId);
    const q = query(request);
    const dir = enumParam(q, 'dir', ['b', 'f'] as const, 'f')!;
    const fromText = single(q, 'from');
    const toText = single(q, 'to');
    const from = fromText === undefined || fromText === '' ? undefined : requireToken(fromText, 'from');
    const to = toText === undefined || toText === '' ? undefined : requireToken(toText, 'to');
    const filter = roomEventFilterParam(q);
    const limit = Math.min(intParam(q, 'limit') ?? limitOf(filter, 10, MAX_LIMIT), MAX_LIMIT);
    const a = await readableRoom(deps, roomId, owner.user_id);
    const upper = readableUpTo(deps, a);
    const fmt = formatFor(owner);
    const accept = (rec: EventRecord) => visible(a, rec) && eventPasses(filter, rec.pdu);
    // A filter whose rooms or not_rooms leave this room out matches none of its events: no page, and no `end` to page on from.
    if (limit === 0 || !roomPasses(filter, roomId)) return { chunk: [], start: token(from ?? (dir === 'b' ? upper : 0)) };

    let scan;
    let start: number;
    if (dir === 'b') {
      start = from ?? upper;
      scan = await deps.timeline.scan(a.room, { after: to ?? 0, upTo: Math.min(start, upper), reverse: true, want: limit, accept });
    } else {
      start = from ?? 0;
      scan = await deps.timeline.scan(a.room, { after: start, upTo: Math.min(to ?? upper, upper), reverse: false, want: limit, accept });
    }
    const out: JsonObject = {
      start: token(start),
      chunk: await serialize(deps, a, scan.events, fmt, { bundle: true }),
    };
    if (scan.more && scan.last !== undefined) out.end = token(dir === 'b' ? scan.last - 1 : scan.last);
    // Backwards, a page that reached the start still gets an end, just before its oldest event: the next
    // page is then empty and has none. Synapse answers so, and SyTest pages on until `end` is gone after
    // a page with events; clients stop either way.
    else if (dir === 'b' && scan.events.length > 0) out.end = token(scan.events[scan.events.length - 1]!.pos - 1);
    // Forwards to the live edge of a room the user still sees: later events will come, so the client keeps a
    // token to ask for them (as Synapse answers); `end` is left out only where history ends for them.
    else if (dir === 'f' && to === undefined && upper === deps.stream.current && scan.events.length > 0) out.end = token(upper);
    const newest = scan.events.reduce((m, e) => Math.max(m, e.pos), 0);
    const state = await lazyMemberState(deps, a, scan.events, newest, filter);
    if (state.length > 0) out.state = await serialize(deps, a, state, fmt, { bundle: false });
    return out;
  });

  app.get('/_matrix/client/v3/rooms/:roomId/context/:eventId', { onRequest: auth.required }, async (request) => {
    const owner = ownerOf(request);
    const roomId = roomIdParam(params(request).roomId);
    const eventId = params(request).eventId!;
    const q = query(request);
    const limit = Math.min(intParam(q, 'limit') ?? 10, MAX_LIMIT);
    const filter = roomEventFilterParam(q);
    const notFound = () => new MatrixError(404, 'M_NOT_FOUND', 'Event not found');
    // As /messages (and Synapse): 403 for a room the user cannot read; within it, an event not there or hidden is 404.
    const a = await readableRoom(deps, roomId, owner.user_id);
    const rec = await deps.events.get(eventId);
    if (!rec || rec.room_id !== roomId || rec.pos === 0 || rec.pos > deps.stream.current || !visible(a, rec)) throw notFound();
    const upper = readableUpTo(deps, a);
    const fmt: FormatOptions = formatFor(owner);
    const accept = (r: EventRecord) => visible(a, r) && eventPasses(filter, r.pdu);
    // The filter applies to events_before, events_after and state, not to the event itself: one
    // whose rooms or not_rooms leave this room out leaves those three empty.
    const shown = roomPasses(filter, roomId);
    const beforeLimit = shown ? Math.floor(limit / 2) : 0;
    const afterLimit = shown ? limit - beforeLimit : 0;
    const before = beforeLimit > 0 ? await deps.timeline.scan(a.room, { after: 0, upTo: rec.pos - 1, reverse: true, want: beforeLimit, accept }) : undefined;
    const after = afterLimit > 0 ? await deps.timeline.scan(a.room, { after: rec.pos, upTo: upper, reverse: false, want: afterLimit, accept }) : undefined;
    const beforeEvents = before?.events ?? [];
    const afterEvents = after?.events ?? [];
    const oldest = beforeEvents[beforeEvents.length - 1];
    const newest = afterEvents[afterEvents.length - 1];
    const lastPos = newest?.pos ?? rec.pos;
    const state = shown ? await stateAt(deps, a, [...beforeEvents, rec, ...afterEvents], lastPos, filter) : [];
    return {
      start: token(oldest ? oldest.pos - 1 : rec.pos - 1),
      end: token(lastPos),
      event: (await serialize(deps, a, [rec], fmt, { bundle: true }))[0]!,
      events_before: await serialize(deps, a, beforeEvents, fmt, { bundle: true }),
      events_after: await serialize(deps, a, afterEvents, fmt, { bundle: true }),
      state: await serialize(deps, a, dedupeState(state), fmt, { bundle: false }),
    };
  });
}

function dedupeState(recs: EventRecord[]): EventRecord[] {
  const byKey = new Map<string, EventRecord>();
  for (const r of recs) byKey.set(stateKey(r.pdu.type, r.pdu.state_key ?? ''), r);
  return [...byKey.values()];
}
