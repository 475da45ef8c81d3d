/**
 * GET/PUT /presence/{userId}/status. Anyone may read the presence of
 * themselves and of the users they share a joined room with; a local user
 * who does not exist is 404. With presence turned off in the configuration
 * every user reads as offline and updates change nothing.
 */
import { MatrixError } from '../../../../core/errors.js';
import { serverNameOf } from '../../../../core/identifiers.js';
import type { ClientApiContext } from '../../context.js';
import type { PresenceState } from '../../../eduserver/topics.js';
import type { ClientRoutes } from '../types.js';
import { body, memberOwner, ownUser, params, routeOpts, userIdParam, V3 } from './common.js';

async function sharesRoom(cctx: ClientApiContext, a: string, b: string): Promise<boolean> {
  const [ra, rb] = await Promise.all([a, b].map((u) => cctx.roomserver.queryRoomsForUser({ user_id: u, membership: 'join' })));
  const ids = new Set(ra!.rooms.map((r) => r.room_id));
  return rb!.rooms.some((r) => ids.has(r.room_id));
}

export const presenceRoutes: ClientRoutes = (app, cctx) => {
  app.get(`${V3}/presence/:userId/status`, routeOpts(cctx), async (request) => {
    const owner = memberOwner(request);
    const userId = userIdParam(params(request).userId);
    if (!cctx.config.presence) return { presence: 'offline' };
    if (userId !== owner.user_id) {
      if (serverNameOf(userId) === cctx.serverName && !(await cctx.userapi.queryProfile({ user_id: userId }))) {
        throw new MatrixError(404, 'M_NOT_FOUND', `Unknown user ${userId}`);
      }
      if (!(await sharesRoom(cctx, owner.user_id, userId))) throw new MatrixError(403, 'M_FORBIDDEN', 'You are not allowed to see their presence');
    }
    const [view] = (await cctx.eduserver.queryPresence({ user_ids: [userId] })).presence;
    if (!view) return { presence: 'offline' };
    const { user_id: _, ...shown } = view;
    return shown;
  });

  app.put(`${V3}/presence/:userId/status`, routeOpts(cctx, 'PUT /presence/{userId}/status'), async (request) => {
    const owner = memberOwner(request);
    const userId = ownUser(params(request).userId, owner, 'set the presence');
    cctx.limit('default', userId);
    const b = body(request);
    await cctx.eduserver.setPresence({
      user_id: userId,
      presence: b.presence as PresenceState,
      status_msg: typeof b.status_msg === 'string' ? b.status_msg : null,
      source: 'client',
    });
    return {};
  });
};
