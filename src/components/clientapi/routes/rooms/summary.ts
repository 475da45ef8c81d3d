/**
 * GET /_matrix/client/v1/room_summary/{roomIdOrAlias} (client-server API
 * "Room Summaries", v1.15): a room's summary for those who may see it
 * (room-summaries.ts decides who).
 */
import { MatrixError } from '../../../../core/errors.js';
import type { ClientRoutes } from '../types.js';
import { params } from './common.js';
import { resolveRoom } from './membership.js';
import { roomSummaryFor } from './room-summaries.js';

/**
 * The same answer under MSC3266's unstable paths, which matrix-js-sdk's
 * getRoomSummary still calls (Element Web's invite and room previews).
 */
const UNSTABLE_PATHS = ['/_matrix/client/unstable/im.nheko.summary/summary/:roomIdOrAlias', '/_matrix/client/unstable/im.nheko.summary/rooms/:roomIdOrAlias/summary'];

export const summaryRoutes: ClientRoutes = (app, cctx) => {
  for (const path of ['/_matrix/client/v1/room_summary/:roomIdOrAlias', ...UNSTABLE_PATHS]) {
    app.get(path, { onRequest: cctx.auth.optional }, async (request) => {
      const roomId = await resolveRoom(cctx, params(request).roomIdOrAlias!);
      const view = await roomSummaryFor(cctx, roomId, request.owner?.user_id);
      if (!view || !view.visible) throw new MatrixError(404, 'M_NOT_FOUND', 'Room not found');
      return { ...view.room, ...(view.membership ? { membership: view.membership } : {}) };
    });
  }
};
