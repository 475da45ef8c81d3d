/** POST /user_directory/search: local users by id or display name. */
import { clientIp } from '../../../../platform/http/app.js';
import { specBody } from '../../../../platform/http/validate.js';
import { MatrixError } from '../../../../core/errors.js';
import type { ClientRoutes } from '../types.js';
import { bodyOf, fullUser, V3 } from './common.js';

export const userDirectoryRoutes: ClientRoutes = (app, cctx) => {
  app.post(`${V3}/user_directory/search`, { preHandler: cctx.auth.required, preValidation: specBody('client-server', 'POST /user_directory/search') }, async (request) => {
    const owner = fullUser(request);
    cctx.limit('default', clientIp(request));
    const b = bodyOf(request);
    const limit = b.limit ?? 10;
    if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1) throw new MatrixError(400, 'M_INVALID_PARAM', 'limit must be a positive integer');
    return cctx.userapi.searchUserDirectory({ searcher: owner.user_id, search_term: b.search_term as string, limit });
  });
};
