/**
 * Room aliases and the published room directory (client-server API "Room
 * aliases", "Published room directory"). The roomserver keeps both; these
 * routes check ids, who asks, and which server an alias belongs to.
 */
import { MatrixError } from '../../../../core/errors.js';
import { specBody } from '../../../../platform/http/validate.js';
import type { DirectoryVisibility, PublicRoomsRequest, PublicRoomsResponse } from '../../../roomserver/api.js';
import type { ClientApiContext } from '../../context.js';
import type { ClientRoutes } from '../types.js';
import { visibilityOf } from './access.js';
import { aliasParam, body, fullUser, isLocal, params, query, roomIdParam, V3 } from './common.js';

function localAlias(cctx: ClientApiContext, value: unknown): string {
  const alias = aliasParam(value);
  if (!isLocal(cctx, alias)) throw new MatrixError(400, 'M_INVALID_PARAM', `Room aliases of other servers cannot be changed here: ${alias}`);
  return alias;
}

/** Other servers' directories need federation, which is not here yet. */
function checkServer(cctx: ClientApiContext, server: unknown): void {
  if (server === undefined || server === cctx.serverName) return;
  if (typeof server !== 'string') throw new MatrixError(400, 'M_INVALID_PARAM', 'server may be given once');
  throw new MatrixError(502, 'M_UNKNOWN', `Cannot reach ${server}: this server does not federate yet`);
}

function limitParam(v: unknown): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !/^[0-9]{1,9}$/.test(v)) throw new MatrixError(400, 'M_INVALID_PARAM', 'limit must be a positive integer');
  return Number(v);
}

export const directoryRoutes: ClientRoutes = (app, cctx) => {
  const auth = { onRequest: cctx.auth.required };

  app.put(
    `${V3}/directory/room/:roomAlias`,
    { ...auth, preValidation: specBody('client-server', 'PUT /directory/room/{roomAlias}') },
    async (request) => {
      const owner = fullUser(request);
      const alias = localAlias(cctx, params(request).roomAlias);
      const roomId = roomIdParam(body(request).room_id);
      await cctx.roomserver.setRoomAlias({ alias, room_id: roomId, user_id: owner.user_id, is_admin: owner.is_admin });
      return {};
    },
  );

  app.get(`${V3}/directory/room/:roomAlias`, async (request) => {
    const alias = aliasParam(params(request).roomAlias);
    const found = isLocal(cctx, alias) ? await cctx.roomserver.queryRoomAlias({ alias }) : null;
    if (!found) throw new MatrixError(404, 'M_NOT_FOUND', `Room alias ${alias} not found`);
    return { room_id: found.room_id, servers: found.servers };
  });

  app.delete(`${V3}/directory/room/:roomAlias`, auth, async (request) => {
    const owner = fullUser(request);
    const alias = aliasParam(params(request).roomAlias);
    if (!isLocal(cctx, alias)) throw new MatrixError(404, 'M_NOT_FOUND', `Room alias ${alias} not found`);
    await cctx.roomserver.removeRoomAlias({ alias, user_id: owner.user_id, is_admin: owner.is_admin });
    return {};
  });

  app.get(`${V3}/rooms/:roomId/aliases`, auth, async (request) => {
    const owner = fullUser(request);
    const roomId = roomIdParam(params(request).roomId);
    if (!owner.is_admin) {
      const { membership } = await cctx.roomserver.queryMembership({ room_id: roomId, user_id: owner.user_id });
      if (membership !== 'join') {
        const [hv] = (await cctx.roomserver.queryCurrentState({ room_id: roomId, keys: [['m.room.history_visibility', '']] })).events;
        if (visibilityOf(hv?.pdu.content) !== 'world_readable') throw new MatrixError(403, 'M_FORBIDDEN', 'You are not a member of the room');
      }
    }
    return cctx.roomserver.queryRoomAliases({ room_id: roomId });
  });

  app.get(`${V3}/directory/list/room/:roomId`, async (request) => {
    const roomId = roomIdParam(params(request).roomId);
    const found = await cctx.roomserver.queryRoomVisibility({ room_id: roomId });
    if (!found) throw new MatrixError(404, 'M_NOT_FOUND', 'Room not found');
    return found;
  });

  app.put(
    `${V3}/directory/list/room/:roomId`,
    { ...auth, preValidation: specBody('client-server', 'PUT /directory/list/room/{roomId}') },
    async (request) => {
      const owner = fullUser(request);
      const roomId = roomIdParam(params(request).roomId);
      const visibility = (body(request).visibility as DirectoryVisibility | undefined) ?? 'public';
      await cctx.roomserver.setRoomVisibility({ room_id: roomId, visibility, user_id: owner.user_id, is_admin: owner.is_admin });
      return {};
    },
  );

  const list = async (req: PublicRoomsRequest): Promise<PublicRoomsResponse> => cctx.roomserver.queryPublicRooms(req);

  // The spec lets anyone list the directory without a token.
  app.get(`${V3}/publicRooms`, { onRequest: cctx.auth.optional }, async (request) => {
    const q = query(request);
    checkServer(cctx, q.server);
    const limit = limitParam(q.limit);
    if (Array.isArray(q.since)) throw new MatrixError(400, 'M_INVALID_PARAM', 'since may be given once');
    return list({ ...(limit !== undefined ? { limit } : {}), ...(q.since !== undefined ? { since: q.since } : {}) });
  });

  app.post(`${V3}/publicRooms`, { ...auth, preValidation: specBody('client-server', 'POST /publicRooms') }, async (request) => {
    checkServer(cctx, query(request).server);
    const b = body(request) as PublicRoomsRequest & { third_party_instance_id?: string };
    // No application service bridges networks here: a third-party network's directory is empty.
    if (b.third_party_instance_id !== undefined) return { chunk: [], total_room_count_estimate: 0 };
    return list({
      ...(b.limit !== undefined ? { limit: b.limit } : {}),
      ...(b.since !== undefined ? { since: b.since } : {}),
      ...(b.filter ? { filter: b.filter } : {}),
    });
  });
};
