/** Filters: POST /user/{userId}/filter and GET /user/{userId}/filter/{filterId}. */
import { MatrixError } from '../../../../core/errors.js';
import { specBody } from '../../../../platform/http/validate.js';
import { ownerOf } from '../../context.js';
import type { ClientRoutes } from '../types.js';
import { bodyOf, ownUserParam, paramsOf, V3 } from './common.js';

export const filterRoutes: ClientRoutes = (app, cctx) => {
  // Guests may sync, and syncing takes filters: they are not refused here.
  app.post(`${V3}/user/:userId/filter`, { preHandler: cctx.auth.required, preValidation: specBody('client-server', 'POST /user/{userId}/filter') }, async (request) => {
    const userId = ownUserParam(request, ownerOf(request));
    return cctx.userapi.putFilter({ user_id: userId, filter: bodyOf(request) });
  });

  app.get(`${V3}/user/:userId/filter/:filterId`, { preHandler: cctx.auth.required }, async (request) => {
    const userId = ownUserParam(request, ownerOf(request));
    const filter = await cctx.userapi.queryFilter({ user_id: userId, filter_id: paramsOf(request).filterId! });
    if (!filter) throw new MatrixError(404, 'M_NOT_FOUND', 'Unknown filter');
    return filter;
  });
};
