/**
 * GET /_matrix/client/v1/mutual_rooms?user_id=…: the rooms the requester
 * and another user are both joined to, in room id order, a page at a time.
 * (Remote users: the rooms this server knows them to be in, which covers
 * every room the requester is in.)
 */
import { MatrixError } from '../../../../core/errors.js';
import { isValidUserId } from '../../../../core/identifiers.js';
import type { ClientRoutes } from '../types.js';
import { fullUser, query } from './common.js';

const PAGE = 100;

export const mutualRoomRoutes: ClientRoutes = (app, cctx) => {
  app.get('/_matrix/client/v1/mutual_rooms', { onRequest: cctx.auth.required }, async (request) => {
    const me = fullUser(request).user_id;
    const q = query(request);
    const other = q.user_id;
    if (typeof other !== 'string' || other === '') throw new MatrixError(400, 'M_INVALID_PARAM', 'user_id is required');
    if (!isValidUserId(other)) throw new MatrixError(400, 'M_INVALID_PARAM', `${other} is not a valid user id`);
    if (other === me) throw new MatrixError(400, 'M_INVALID_PARAM', 'Ask about another user, not yourself');
    let from = 0;
    if (q.from !== undefined) {
      const m = typeof q.from === 'string' ? /^m(\d{1,9})$/.exec(q.from) : null;
      if (!m) throw new MatrixError(400, 'M_INVALID_PARAM', 'from is not a token of this endpoint');
      from = Number(m[1]);
    }
    const [mine, theirs] = await Promise.all([
      cctx.roomserver.queryRoomsForUser({ user_id: me, membership: 'join' }),
      cctx.roomserver.queryRoomsForUser({ user_id: other, membership: 'join' }),
    ]);
    const theirIds = new Set(theirs.rooms.map((r) => r.room_id));
    const shared = mine.rooms.map((r) => r.room_id).filter((id) => theirIds.has(id)).sort();
    const joined = shared.slice(from, from + PAGE);
    return { joined, count: shared.length, ...(from + PAGE < shared.length ? { next_batch: `m${from + PAGE}` } : {}) };
  });
};
