/**
 * Account data: GET/PUT /user/{userId}/account_data/{type} and
 * /user/{userId}/rooms/{roomId}/account_data/{type}, for the requester only.
 */
import { MatrixError } from '../../../../core/errors.js';
import { isValidRoomId } from '../../../../core/identifiers.js';
import { specBody } from '../../../../platform/http/validate.js';
import type { ClientRoutes } from '../types.js';
import { bodyOf, fullUser, ownUserParam, paramsOf, V3 } from './common.js';

function roomParam(roomId: string | undefined): { room_id?: string } {
  if (roomId === undefined) return {};
  if (!isValidRoomId(roomId)) throw new MatrixError(400, 'M_INVALID_PARAM', `${roomId} is not a valid room id`);
  return { room_id: roomId };
}

export const accountDataRoutes: ClientRoutes = (app, cctx) => {
  for (const path of [`${V3}/user/:userId/account_data/:type`, `${V3}/user/:userId/rooms/:roomId/account_data/:type`]) {
    const perRoom = path.includes(':roomId');
    const operation = perRoom ? 'PUT /user/{userId}/rooms/{roomId}/account_data/{type}' : 'PUT /user/{userId}/account_data/{type}';

    app.get(path, { preHandler: cctx.auth.required }, async (request) => {
      const userId = ownUserParam(request, fullUser(request));
      const p = paramsOf(request);
      const found = await cctx.userapi.queryAccountData({ user_id: userId, ...roomParam(p.roomId), type: p.type! });
      if (!found) throw new MatrixError(404, 'M_NOT_FOUND', 'Account data not found');
      return found.content;
    });

    app.put(path, { preHandler: cctx.auth.required, preValidation: specBody('client-server', operation) }, async (request) => {
      const userId = ownUserParam(request, fullUser(request));
      const p = paramsOf(request);
      await cctx.userapi.setAccountData({ user_id: userId, ...roomParam(p.roomId), type: p.type!, content: bodyOf(request) });
      return {};
    });
  }
};
