/**
 * What a user may see of a room's events, and events serialised for them:
 * history visibility from the in-memory histories, events of ignored users
 * left out, erased users' events redacted for those who were not in the
 * room when they were sent, the viewer's membership and bundled
 * aggregations added.
 */
import type { JsonObject } from '../../core/canonical-json.js';
import { erasedForm, redactedForViewer } from '../../core/events/erasure.js';
import type { SyncDeps } from './deps.js';
import { formatEvent, type FormatOptions } from './format.js';
import type { EventRecord } from './storage.js';
import { at, canSee, type MembershipPoint } from './visibility.js';
import type { RoomView } from './views.js';

export interface RoomAccess {
  room: RoomView;
  userId: string;
  /** The user's membership history in the room. */
  hist: MembershipPoint[] | undefined;
  ignored: ReadonlySet<string>;
  /** Users deactivated with erasure. */
  erased: ReadonlySet<string>;
}

/**
 * The rooms the user has forgotten (POST /forget; the mark is the
 * Roomserver's), asked in one call. A Roomserver that is away hides nothing.
 */
export async function forgottenRooms(deps: SyncDeps, userId: string): Promise<Set<string>> {
  try {
    const { rooms } = await deps.roomserver().queryRoomsForUser({ user_id: userId, include_forgotten: true }, { timeoutMs: 5000 });
    return new Set(rooms.filter((r) => r.forgotten).map((r) => r.room_id));
  } catch {
    return new Set();
  }
}

export function accessFor(deps: SyncDeps, room: RoomView, userId: string): RoomAccess {
  return { room, userId, hist: room.local.get(userId), ignored: deps.views.users.get(userId)?.ignored ?? new Set(), erased: deps.views.erased };
}

/** Whether the viewer gets only the redacted form of an erased user's event (core/events/erasure.ts). */
export function erasedFor(a: RoomAccess, rec: EventRecord): boolean {
  if (a.erased.size === 0 || !a.erased.has(rec.pdu.sender) || rec.redacted_because) return false;
  return redactedForViewer(rec.pdu, rec.pos > 0 ? at(a.hist, rec.pos)?.membership : undefined);
}

function asSeenBy(a: RoomAccess, rec: EventRecord): EventRecord {
  return erasedFor(a, rec) ? { ...rec, pdu: erasedForm(rec.pdu, rec.room_version) } : rec;
}

/** Whether the user may see the event (visibility rules; ignored users' messages are hidden). */
export function visible(a: RoomAccess, rec: EventRecord): boolean {
  const isState = typeof rec.pdu.state_key === 'string';
  if (!isState && a.ignored.has(rec.pdu.sender)) return false;
  if (rec.pos === 0) return false;
  return canSee(
    {
      pos: rec.pos,
      isVisibilityEvent: rec.pdu.type === 'm.room.history_visibility' && rec.pdu.state_key === '',
      isOwnMembership: rec.pdu.type === 'm.room.member' && rec.pdu.state_key === a.userId,
    },
    a.room.hv,
    a.hist,
  );
}

/** Whether the user may see the event and sees it whole, not in the redacted form erasure gives. */
export function seenWhole(a: RoomAccess, rec: EventRecord): boolean {
  return visible(a, rec) && !erasedFor(a, rec);
}

/** Whether the user can read the room's history at all now: a member, a former member, or a world-readable room. */
export function mayReadRoom(a: RoomAccess, upTo: number): boolean {
  const m = at(a.hist, upTo);
  if (m) return true;
  return a.room.visibilityAt(upTo) === 'world_readable';
}

/** An event's bundled aggregations for the viewer: edits and thread summaries leave out what would be shown redacted. */
export function bundleFor(deps: SyncDeps, a: RoomAccess, rec: EventRecord, fmt: FormatOptions): Promise<JsonObject | undefined> {
  return deps.relations.bundle(rec, fmt, (r) => r.room_id === a.room.id && seenWhole(a, r), a.ignored);
}

/** Events as the viewer sees them, with their membership at each and bundled aggregations. */
export async function serialize(deps: SyncDeps, a: RoomAccess, recs: EventRecord[], fmt: FormatOptions, opts: { bundle?: boolean } = {}): Promise<JsonObject[]> {
  const mayHide = a.room.hv.some((p) => p.vis === 'joined' || p.vis === 'invited');
  return Promise.all(
    recs.map(async (rec) => {
      const membership = rec.pos > 0 ? (at(a.hist, rec.pos)?.membership ?? 'leave') : undefined;
      let shown = asSeenBy(a, rec);
      const relations = opts.bundle === false || shown !== rec ? undefined : await bundleFor(deps, a, rec, fmt);
      if (mayHide && shown.prev && !(await prevSeen(deps, a, shown.prev.event_id))) shown = { ...shown, prev: undefined };
      return formatEvent(shown, fmt, { membership, relations });
    }),
  );
}

/**
 * Whether a state event's predecessor is one the viewer may see: `prev_content`
 * is only for those who could read the previous event (a topic set before a
 * `joined`-only member joined stays theirs not to know).
 */
async function prevSeen(deps: SyncDeps, a: RoomAccess, eventId: string): Promise<boolean> {
  const prev = await deps.events.get(eventId);
  return prev !== undefined && seenWhole(a, prev);
}
