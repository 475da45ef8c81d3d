/**
 * GET /_matrix/client/v1/room_summary/{roomIdOrAlias} (client-server API
 * "Room Summaries", v1.15): a room's summary for those who may see it.
 */
import { MatrixError } from '../../../../core/errors.js';
import type { RoomPreview } from '../../../roomserver/api.js';
import type { ClientApiContext } from '../../context.js';
import type { ClientRoutes } from '../types.js';
import { params } from './common.js';
import { resolveRoom } from './membership.js';

const OPEN_RULES = new Set(['public', 'knock', 'knock_restricted']);

/**
 * Anyone may see the summary of a room anyone could join, knock on or
 * read; a user also sees rooms they are in, invited to or knocking on,
 * and restricted rooms whose conditions they meet. Everything else looks
 * absent.
 */
async function mayPreview(cctx: ClientApiContext, room: RoomPreview, userId: string | undefined, membership: string | null): Promise<boolean> {
  if (OPEN_RULES.has(room.join_rule ?? 'public') || room.world_readable) return true;
  if (!userId) return false;
  if (membership === 'join' || membership === 'invite' || membership === 'knock') return true;
  for (const other of room.allowed_room_ids ?? []) {
    if ((await cctx.roomserver.queryMembership({ room_id: other, user_id: userId })).membership === 'join') return true;
  }
  return false;
}

export const summaryRoutes: ClientRoutes = (app, cctx) => {
  app.get('/_matrix/client/v1/room_summary/:roomIdOrAlias', { onRequest: cctx.auth.optional }, async (request) => {
    const roomId = await resolveRoom(cctx, params(request).roomIdOrAlias!);
    const room = await cctx.roomserver.queryRoomPreview({ room_id: roomId });
    const userId = request.owner?.user_id;
    const membership = room && userId ? (await cctx.roomserver.queryMembership({ room_id: roomId, user_id: userId })).membership : null;
    if (!room || !(await mayPreview(cctx, room, userId, membership))) throw new MatrixError(404, 'M_NOT_FOUND', 'Room not found');
    return { ...room, ...(membership ? { membership } : {}) };
  });
};
