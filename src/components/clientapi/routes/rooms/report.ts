/**
 * Reporting content (client-server API "Reporting content"): a room, an
 * event in a room the reporter is in, or a user, with a reason, kept by the
 * UserAPI for the administrators (dashboard "Reports", Synapse's
 * /_synapse/admin/v1/event_reports). An event that does not exist and one
 * in a room the reporter is not in get the same 404, as the spec asks.
 */
import type { FastifyRequest } from 'fastify';
import { MatrixError } from '../../../../core/errors.js';
import { isValidEventId } from '../../../../core/identifiers.js';
import type { ClientApiContext } from '../../context.js';
import type { ClientRoutes } from '../types.js';
import { body, fullUser, isLocal, params, roomIdParam, userIdParam, V3 } from './common.js';

function reportReason(request: FastifyRequest, required: boolean): string {
  const reason = body(request).reason;
  if (reason === undefined && !required) return '';
  if (typeof reason !== 'string') throw new MatrixError(400, 'M_BAD_JSON', 'reason must be a string (it may be empty)');
  return reason;
}

async function reporter(cctx: ClientApiContext, request: FastifyRequest): Promise<string> {
  const owner = fullUser(request);
  // Reports are cheap to send and cost an administrator's attention: the send limit applies.
  cctx.limit('send', owner.user_id);
  return owner.user_id;
}

export const reportRoutes: ClientRoutes = (app, cctx) => {
  const opts = { onRequest: cctx.auth.required };

  app.post(`${V3}/rooms/:roomId/report`, opts, async (request) => {
    const roomId = roomIdParam(params(request).roomId);
    const who = await reporter(cctx, request);
    const reason = reportReason(request, true);
    if (!(await cctx.roomserver.queryRoom({ room_id: roomId }))) throw new MatrixError(404, 'M_NOT_FOUND', 'There is no such room on this server');
    await cctx.userapi.addReport({ kind: 'room', reporter: who, room_id: roomId, reason });
    return {};
  });

  app.post(`${V3}/rooms/:roomId/report/:eventId`, opts, async (request) => {
    const roomId = roomIdParam(params(request).roomId);
    const eventId = params(request).eventId ?? '';
    const who = await reporter(cctx, request);
    const reason = reportReason(request, false);
    const notFound = new MatrixError(404, 'M_NOT_FOUND', 'The event was not found, or you are not in its room');
    if (!isValidEventId(eventId)) throw notFound;
    const { membership } = await cctx.roomserver.queryMembership({ room_id: roomId, user_id: who });
    if (membership !== 'join') throw notFound;
    const [event] = (await cctx.roomserver.queryEvents({ event_ids: [eventId] })).events;
    if (!event || event.room_id !== roomId) throw notFound;
    await cctx.userapi.addReport({ kind: 'event', reporter: who, room_id: roomId, event_id: eventId, user_id: event.pdu.sender, reason });
    return {};
  });

  app.post(`${V3}/users/:userId/report`, opts, async (request) => {
    const userId = userIdParam(params(request).userId, 'userId');
    const who = await reporter(cctx, request);
    const reason = reportReason(request, true);
    if (isLocal(cctx, userId) && !(await cctx.userapi.queryUser({ user_id: userId }))) throw new MatrixError(404, 'M_NOT_FOUND', 'There is no such user on this server');
    await cctx.userapi.addReport({ kind: 'user', reporter: who, user_id: userId, reason });
    return {};
  });
};
