/**
 * Who may read what of a room: its state (members see the current state,
 * departed members the state when they left, anyone a world-readable
 * room's) and single events (client-server API "Room History Visibility",
 * server behaviour).
 */
import { MatrixError } from '../../../../core/errors.js';
import type { RoomEvent, StateKeyTuple } from '../../../roomserver/api.js';
import type { ClientApiContext } from '../../context.js';

const HV = 'm.room.history_visibility';
const MEMBER = 'm.room.member';

export type Visibility = 'world_readable' | 'shared' | 'invited' | 'joined';

/** Unset or not understood means `shared`. */
export function visibilityOf(content: Record<string, unknown> | undefined): Visibility {
  const v = content?.history_visibility;
  return v === 'world_readable' || v === 'invited' || v === 'joined' ? v : 'shared';
}

/**
 * The spec's rules for one event, given the visibility and the user's
 * membership at it, and whether the user joined the room at some point
 * after it.
 */
export function allowedBy(visibility: Visibility, membership: string | undefined, joinedLater: boolean): boolean {
  if (visibility === 'world_readable') return true;
  if (membership === 'join') return true;
  if (visibility === 'shared' && joinedLater) return true;
  return visibility === 'invited' && membership === 'invite';
}

/** The room now, after an event, or before it had any state. */
export type StateView = { kind: 'current' } | { kind: 'at'; event_id: string } | { kind: 'before' };

async function worldReadable(cctx: ClientApiContext, roomId: string): Promise<boolean> {
  const [hv] = (await cctx.roomserver.queryCurrentState({ room_id: roomId, keys: [[HV, '']] })).events;
  return visibilityOf(hv?.pdu.content) === 'world_readable';
}

/**
 * Which state of the room the user may read: the current state when joined
 * or the room is world-readable, the state when they left or were banned,
 * otherwise 403 (also for rooms this server does not know: no probing).
 */
export async function stateView(cctx: ClientApiContext, roomId: string, userId: string): Promise<StateView> {
  const m = await cctx.roomserver.queryMembership({ room_id: roomId, user_id: userId });
  if (m.membership === 'join') return { kind: 'current' };
  if (await worldReadable(cctx, roomId)) return { kind: 'current' };
  // A forgotten room's history is closed to the user (spec: POST /forget).
  if (m.forgotten) throw new MatrixError(403, 'M_FORBIDDEN', 'You have forgotten this room');
  if ((m.membership === 'leave' || m.membership === 'ban') && m.event_id) return { kind: 'at', event_id: m.event_id };
  throw new MatrixError(403, 'M_FORBIDDEN', "You aren't a member of the room and weren't previously a member of the room");
}

export async function readState(
  cctx: ClientApiContext,
  roomId: string,
  view: StateView,
  filter: { keys?: StateKeyTuple[]; types?: string[] } = {},
): Promise<RoomEvent[]> {
  if (view.kind === 'current') return (await cctx.roomserver.queryCurrentState({ room_id: roomId, ...filter })).events;
  if (view.kind === 'before') return [];
  return (await cctx.roomserver.queryStateAtEvent({ event_id: view.event_id, after: true, ...filter })).events;
}

/** How far back a departed user's memberships are followed; a family room's history is short. */
const MAX_MEMBERSHIP_STEPS = 50;

/** Whether the user joined the room after an event of this depth: their membership events walked back from the current one. */
async function joinedAfter(cctx: ClientApiContext, roomId: string, userId: string, depth: number): Promise<boolean> {
  let eventId = (await cctx.roomserver.queryMembership({ room_id: roomId, user_id: userId })).event_id;
  for (let i = 0; i < MAX_MEMBERSHIP_STEPS && eventId; i++) {
    const [ev] = (await cctx.roomserver.queryEvents({ event_ids: [eventId] })).events;
    if (!ev || ev.pdu.depth <= depth) return false;
    if (ev.pdu.content.membership === 'join') return true;
    const [prev] = (await cctx.roomserver.queryStateAtEvent({ event_id: eventId, keys: [[MEMBER, userId]] })).events;
    eventId = prev?.event_id ?? null;
  }
  return false;
}

export interface EventAccess {
  visible: boolean;
  /** The user's membership at the event, including the event's own change (`unsigned.membership`). */
  membership: string;
  /** For a state event: the state entry it replaced. */
  replaced?: RoomEvent;
}

/**
 * Whether the user may see the event. A history-visibility event counts
 * with the visibility before or after it, and the user's own membership
 * event with their membership before or after it.
 */
export async function eventAccess(cctx: ClientApiContext, ev: RoomEvent, userId: string): Promise<EventAccess> {
  const { pdu } = ev;
  const isState = typeof pdu.state_key === 'string';
  const keys: StateKeyTuple[] = [[HV, ''], [MEMBER, userId]];
  if (isState) keys.push([pdu.type, pdu.state_key!]);
  const before = (await cctx.roomserver.queryStateAtEvent({ event_id: ev.event_id, keys })).events;
  const at = (type: string, key: string) => before.find((e) => e.pdu.type === type && e.pdu.state_key === key);
  const visBefore = visibilityOf(at(HV, '')?.pdu.content);
  const memBefore = at(MEMBER, userId)?.pdu.content.membership as string | undefined;
  const ownMember = pdu.type === MEMBER && pdu.state_key === userId;
  const memAfter = ownMember ? (pdu.content.membership as string | undefined) : memBefore;

  const cases: [Visibility, string | undefined][] = [[visBefore, memBefore]];
  if (pdu.type === HV && pdu.state_key === '') cases.push([visibilityOf(pdu.content), memBefore]);
  if (ownMember) cases.push([visBefore, memAfter]);

  let visible = cases.some(([v, m]) => allowedBy(v, m, false));
  if (!visible && cases.some(([v]) => v === 'shared')) {
    const later = await joinedAfter(cctx, ev.room_id, userId, pdu.depth);
    visible = cases.some(([v, m]) => allowedBy(v, m, later));
  }
  // A former member who forgot the room sees nothing of it but what the world may (spec: POST /forget).
  if (visible && !cases.some(([v]) => v === 'world_readable')) {
    if ((await cctx.roomserver.queryMembership({ room_id: ev.room_id, user_id: userId })).forgotten) visible = false;
  }
  const replaced = isState ? at(pdu.type, pdu.state_key!) : undefined;
  return { visible, membership: memAfter ?? 'leave', ...(replaced ? { replaced } : {}) };
}
