/**
 * POST /rooms/{roomId}/receipt/{receiptType}/{eventId} and POST
 * /rooms/{roomId}/read_markers: receipts and the fully read marker of the
 * requester. `m.fully_read` as a receipt type is the read markers API with
 * only that marker (spec).
 */
import { MatrixError } from '../../../../core/errors.js';
import type { ClientRoutes } from '../types.js';
import { body, eventIdParam, memberOwner, params, roomIdParam, routeOpts, V3 } from './common.js';

export const receiptRoutes: ClientRoutes = (app, cctx) => {
  app.post(`${V3}/rooms/:roomId/receipt/:receiptType/:eventId`, routeOpts(cctx, 'POST /rooms/{roomId}/receipt/{receiptType}/{eventId}'), async (request) => {
    const owner = memberOwner(request);
    const p = params(request);
    const roomId = roomIdParam(p.roomId);
    const type = p.receiptType;
    if (type !== 'm.read' && type !== 'm.read.private' && type !== 'm.fully_read') {
      throw new MatrixError(400, 'M_INVALID_PARAM', 'The receipt type must be m.read, m.read.private or m.fully_read');
    }
    const eventId = eventIdParam(p.eventId);
    const threadId = body(request).thread_id as string | undefined;
    cctx.limit('default', owner.user_id);
    if (type === 'm.fully_read') {
      if (threadId !== undefined) throw new MatrixError(400, 'M_INVALID_PARAM', 'm.fully_read markers have no thread_id');
      await cctx.eduserver.setReadMarkers({ room_id: roomId, user_id: owner.user_id, fully_read: eventId });
    } else {
      await cctx.eduserver.sendReceipt({ room_id: roomId, user_id: owner.user_id, receipt_type: type, event_id: eventId, ...(threadId !== undefined ? { thread_id: threadId } : {}) });
    }
    return {};
  });

  app.post(`${V3}/rooms/:roomId/read_markers`, routeOpts(cctx, 'POST /rooms/{roomId}/read_markers'), async (request) => {
    const owner = memberOwner(request);
    const roomId = roomIdParam(params(request).roomId);
    const b = body(request);
    const marker = (field: string) => (b[field] === undefined ? undefined : eventIdParam(b[field], `${field} event id`));
    const fullyRead = marker('m.fully_read');
    const read = marker('m.read');
    const readPrivate = marker('m.read.private');
    cctx.limit('default', owner.user_id);
    await cctx.eduserver.setReadMarkers({
      room_id: roomId,
      user_id: owner.user_id,
      ...(fullyRead !== undefined ? { fully_read: fullyRead } : {}),
      ...(read !== undefined ? { read } : {}),
      ...(readPrivate !== undefined ? { read_private: readPrivate } : {}),
    });
    return {};
  });
};
