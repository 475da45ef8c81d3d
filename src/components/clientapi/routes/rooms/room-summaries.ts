/**
 * A room's summary and whether a user may see it, shared by the room
 * summary route (`GET /room_summary`, v1.15) and the space hierarchy
 * (`GET /rooms/{roomId}/hierarchy`): both list the same fields
 * (`room_summary.yaml`) and show a room to the same people.
 */
import type { RoomPreview } from '../../../roomserver/api.js';
import type { ClientApiContext } from '../../context.js';

const OPEN_RULES = new Set(['public', 'knock', 'knock_restricted']);

/**
 * Answers "is the user joined to this room?" for the allowed rooms of
 * restricted join rules, remembering the answers: a walk over a space asks
 * the same question for many children restricted to that space.
 */
export type JoinedCheck = (roomId: string) => Promise<boolean>;

export function joinedCheck(cctx: ClientApiContext, userId: string): JoinedCheck {
  const known = new Map<string, Promise<boolean>>();
  return (roomId) => {
    let p = known.get(roomId);
    if (!p) {
      p = cctx.roomserver.queryMembership({ room_id: roomId, user_id: userId }).then((m) => m.membership === 'join');
      known.set(roomId, p);
    }
    return p;
  };
}

/**
 * Anyone may see the summary of a room anyone could join, knock on or
 * read; a user also sees rooms they are in, invited to or knocking on,
 * and restricted rooms whose conditions they meet. Everything else looks
 * absent.
 */
export async function mayPreview(
  cctx: ClientApiContext,
  room: RoomPreview,
  userId: string | undefined,
  membership: string | null,
  joined: JoinedCheck | undefined = userId ? joinedCheck(cctx, userId) : undefined,
): Promise<boolean> {
  if (OPEN_RULES.has(room.join_rule ?? 'public') || room.world_readable) return true;
  if (!userId || !joined) return false;
  if (membership === 'join' || membership === 'invite' || membership === 'knock') return true;
  for (const other of room.allowed_room_ids ?? []) {
    if (await joined(other)) return true;
  }
  return false;
}

export interface SummaryView {
  room: RoomPreview;
  /** The user's membership of the room, null without one (or without a user). */
  membership: string | null;
  /** Whether the user (or an anonymous caller) may see the summary. */
  visible: boolean;
}

/** A room this server knows, as `userId` sees it; null for a room it does not know. */
export async function roomSummaryFor(cctx: ClientApiContext, roomId: string, userId: string | undefined, joined?: JoinedCheck): Promise<SummaryView | null> {
  const room = await cctx.roomserver.queryRoomPreview({ room_id: roomId });
  if (!room) return null;
  const membership = userId ? (await cctx.roomserver.queryMembership({ room_id: roomId, user_id: userId })).membership : null;
  return { room, membership, visible: await mayPreview(cctx, room, userId, membership, joined) };
}
