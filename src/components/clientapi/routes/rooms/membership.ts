/**
 * Membership (client-server API "Room membership"): join by id or alias,
 * knock, invite, leave, forget, kick, ban, unban, and the user's joined
 * rooms. The auth rules in the roomserver decide; these routes add the
 * user's profile and refuse requests that would change nothing useful.
 */
import type { FastifyRequest } from 'fastify';
import type { JsonObject } from '../../../../core/canonical-json.js';
import { MatrixError } from '../../../../core/errors.js';
import { ownerOf, refuseIfSuspended, type ClientApiContext } from '../../context.js';
import type { ClientRoutes } from '../types.js';
import { aliasParam, body, eventRoute, fullUser, isLocal, params, profileContent, reasonOf, roomIdParam, userIdParam, V3 } from './common.js';
import { carryOverRoomSettings } from './predecessor-settings.js';
import { refuseBlockedInvite } from '../../invite-permission.js';
import { refuseNoticeInviteRejection } from '../../server-notices.js';

/** A room id, or the room a local alias points to. Remote aliases need federation, which is not here yet. */
export async function resolveRoom(cctx: ClientApiContext, idOrAlias: string): Promise<string> {
  if (idOrAlias.startsWith('#')) {
    const alias = aliasParam(idOrAlias);
    const found = isLocal(cctx, alias) ? await cctx.roomserver.queryRoomAlias({ alias }) : null;
    if (!found) throw new MatrixError(404, 'M_NOT_FOUND', `Room alias ${alias} not found`);
    return found.room_id;
  }
  return roomIdParam(idOrAlias);
}

/** Request keys that are not the member event's to carry: the server sets them, or they are parameters of the request. */
const NOT_CONTENT = new Set(['membership', 'third_party_signed', 'join_authorised_via_users_server']);

/**
 * What a join's body adds to the member event: `reason`, and any other keys
 * the client gives (a per-room display name, or keys of its own, as Synapse
 * keeps them); the profile fills in only what the client left out.
 */
function joinExtras(b: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(b)) if (!NOT_CONTENT.has(k)) out[k] = v;
  if ('reason' in out && typeof out.reason !== 'string') delete out.reason;
  return out;
}

async function join(cctx: ClientApiContext, request: FastifyRequest, roomId: string): Promise<{ room_id: string }> {
  const owner = ownerOf(request);
  refuseIfSuspended(owner, 'join rooms');
  cctx.limit('send', owner.user_id);
  if (owner.is_guest) {
    const [ga] = (await cctx.roomserver.queryCurrentState({ room_id: roomId, keys: [['m.room.guest_access', '']] })).events;
    if (ga?.pdu.content.guest_access !== 'can_join') throw new MatrixError(403, 'M_FORBIDDEN', 'Guests may not join this room');
  }
  const extra = joinExtras(body(request));
  const content: JsonObject = { ...(await profileContent(cctx, owner.user_id)), ...extra };
  // Joining again with the same profile changes nothing: no new event (clients call join on rooms they are in).
  const [current] = (await cctx.roomserver.queryCurrentState({ room_id: roomId, keys: [['m.room.member', owner.user_id]] })).events;
  const c = current?.pdu.content;
  if (c?.membership === 'join' && c.displayname === content.displayname && c.avatar_url === content.avatar_url && Object.keys(extra).length === 0) return { room_id: roomId };
  await cctx.roomserver.performJoin({ room_id: roomId, user_id: owner.user_id, content });
  if (c?.membership !== 'join') await carryOverRoomSettings(cctx, request, owner.user_id, roomId);
  return { room_id: roomId };
}

/** Sends `membership` for `target` as the requesting user. */
async function setMembership(
  cctx: ClientApiContext,
  request: FastifyRequest,
  roomId: string,
  target: string,
  membership: string,
  extra: JsonObject = {},
): Promise<Record<string, never>> {
  const owner = ownerOf(request);
  // Leaving (and declining an invite) stays possible; inviting, knocking, kicking and banning do not.
  if (membership !== 'leave' || target !== owner.user_id) refuseIfSuspended(owner, `${membership === 'leave' ? 'kick' : membership} anyone`);
  cctx.limit('send', owner.user_id);
  await cctx.roomserver.sendEvent({
    room_id: roomId,
    sender: owner.user_id,
    type: 'm.room.member',
    state_key: target,
    content: { ...extra, ...reasonOf(body(request)), membership },
  });
  return {};
}

async function currentMembership(cctx: ClientApiContext, roomId: string, userId: string): Promise<string | null> {
  return (await cctx.roomserver.queryMembership({ room_id: roomId, user_id: userId })).membership;
}

export const membershipRoutes: ClientRoutes = (app, cctx) => {
  const auth = { onRequest: cctx.auth.required };

  app.post(`${V3}/rooms/:roomId/join`, eventRoute(cctx, 'POST /rooms/{roomId}/join', { emptyBody: true }), async (request) =>
    join(cctx, request, roomIdParam(params(request).roomId)),
  );

  // `via` / `server_name` name servers to join through; every room joinable here is on this server.
  app.post(`${V3}/join/:roomIdOrAlias`, eventRoute(cctx, 'POST /join/{roomIdOrAlias}', { emptyBody: true }), async (request) =>
    join(cctx, request, await resolveRoom(cctx, params(request).roomIdOrAlias!)),
  );

  app.post(`${V3}/knock/:roomIdOrAlias`, eventRoute(cctx, 'POST /knock/{roomIdOrAlias}', { emptyBody: true }), async (request) => {
    const owner = fullUser(request);
    const roomId = await resolveRoom(cctx, params(request).roomIdOrAlias!);
    if (!(await cctx.roomserver.queryRoom({ room_id: roomId }))) throw new MatrixError(404, 'M_NOT_FOUND', `Unknown room ${roomId}`);
    await setMembership(cctx, request, roomId, owner.user_id, 'knock', await profileContent(cctx, owner.user_id));
    return { room_id: roomId };
  });

  app.post(`${V3}/rooms/:roomId/invite`, eventRoute(cctx, 'POST /rooms/{roomId}/invite '), async (request) => {
    fullUser(request);
    const roomId = roomIdParam(params(request).roomId);
    const target = userIdParam(body(request).user_id);
    await refuseBlockedInvite(cctx, target);
    return setMembership(cctx, request, roomId, target, 'invite', await profileContent(cctx, target));
  });

  app.post(`${V3}/rooms/:roomId/leave`, eventRoute(cctx, 'POST /rooms/{roomId}/leave', { emptyBody: true }), async (request) => {
    const roomId = roomIdParam(params(request).roomId);
    const owner = ownerOf(request);
    const m = await currentMembership(cctx, roomId, owner.user_id);
    // Leaving a room one has left is done already.
    if (m === 'leave') return {};
    if (m === null) {
      if (!(await cctx.roomserver.queryRoom({ room_id: roomId }))) throw new MatrixError(404, 'M_NOT_FOUND', `Unknown room ${roomId}`);
      throw new MatrixError(403, 'M_FORBIDDEN', 'You are not in this room');
    }
    if (m === 'invite') await refuseNoticeInviteRejection(cctx, roomId, owner.user_id);
    return setMembership(cctx, request, roomId, owner.user_id, 'leave');
  });

  app.post(`${V3}/rooms/:roomId/forget`, auth, async (request) => {
    const owner = fullUser(request);
    const roomId = roomIdParam(params(request).roomId);
    if ((await currentMembership(cctx, roomId, owner.user_id)) === null) throw new MatrixError(404, 'M_NOT_FOUND', 'You have never been in this room');
    await cctx.roomserver.performForget({ room_id: roomId, user_id: owner.user_id });
    return {};
  });

  app.post(`${V3}/rooms/:roomId/kick`, eventRoute(cctx, 'POST /rooms/{roomId}/kick'), async (request) => {
    fullUser(request);
    const roomId = roomIdParam(params(request).roomId);
    const target = userIdParam(body(request).user_id);
    const m = await currentMembership(cctx, roomId, target);
    if (m !== 'join' && m !== 'invite' && m !== 'knock') throw new MatrixError(403, 'M_FORBIDDEN', `${target} is not in the room`);
    return setMembership(cctx, request, roomId, target, 'leave');
  });

  app.post(`${V3}/rooms/:roomId/ban`, eventRoute(cctx, 'POST /rooms/{roomId}/ban'), async (request) => {
    fullUser(request);
    const roomId = roomIdParam(params(request).roomId);
    return setMembership(cctx, request, roomId, userIdParam(body(request).user_id), 'ban');
  });

  app.post(`${V3}/rooms/:roomId/unban`, eventRoute(cctx, 'POST /rooms/{roomId}/unban'), async (request) => {
    fullUser(request);
    const roomId = roomIdParam(params(request).roomId);
    const target = userIdParam(body(request).user_id);
    if ((await currentMembership(cctx, roomId, target)) !== 'ban') throw new MatrixError(403, 'M_FORBIDDEN', `${target} is not banned`);
    return setMembership(cctx, request, roomId, target, 'leave');
  });

  app.get(`${V3}/joined_rooms`, auth, async (request) => {
    const { rooms } = await cctx.roomserver.queryRoomsForUser({ user_id: ownerOf(request).user_id, membership: 'join' });
    return { joined_rooms: rooms.map((r) => r.room_id) };
  });
};
