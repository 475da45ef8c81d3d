/** PUT /rooms/{roomId}/typing/{userId}: the requester starts or stops typing in a room they are joined to. */
import { MatrixError } from '../../../../core/errors.js';
import type { ClientRoutes } from '../types.js';
import { body, memberOwner, ownUser, params, roomIdParam, routeOpts, V3 } from './common.js';

export const typingRoutes: ClientRoutes = (app, cctx) => {
  app.put(`${V3}/rooms/:roomId/typing/:userId`, routeOpts(cctx, 'PUT /rooms/{roomId}/typing/{userId}'), async (request) => {
    const owner = memberOwner(request);
    const p = params(request);
    const roomId = roomIdParam(p.roomId);
    const userId = ownUser(p.userId, owner, 'set typing notifications');
    cctx.limit('default', userId);
    const b = body(request);
    const timeout = b.timeout as number | undefined;
    if (timeout !== undefined && timeout < 0) throw new MatrixError(400, 'M_INVALID_PARAM', 'timeout must not be negative');
    await cctx.eduserver.setTyping({ room_id: roomId, user_id: userId, typing: b.typing === true, ...(timeout !== undefined ? { timeout_ms: timeout } : {}) });
    return {};
  });
};
