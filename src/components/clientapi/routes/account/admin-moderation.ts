/**
 * Account moderation for server admins (client-server API v1.18):
 * GET and PUT /_matrix/client/v1/admin/lock/{userId} and …/suspend/{userId}.
 * The UserAPI keeps the flags and refuses an admin's own account and other
 * admins' (403); what a lock or a suspension does is enforced where requests
 * arrive (platform/http/auth.ts for locks, refuseIfSuspended in the routes).
 */
import type { FastifyRequest } from 'fastify';
import { MatrixError } from '../../../../core/errors.js';
import type { UserSummary } from '../../../userapi/api.js';
import type { ClientRoutes } from '../types.js';
import { requireAdmin } from './admin-registration-tokens.js';
import { bodyOf, fullUser, localUserId, paramsOf } from './common.js';

const FLAGS = { lock: 'locked', suspend: 'suspended' } as const;

export const adminModerationRoutes: ClientRoutes = (app, cctx) => {
  const admin = { preHandler: [cctx.auth.required, async (request: FastifyRequest) => requireAdmin(request)] };
  const target = async (request: FastifyRequest): Promise<UserSummary> => {
    const userId = localUserId(paramsOf(request).userId ?? '', cctx.serverName);
    const user = await cctx.userapi.queryUser({ user_id: userId });
    if (!user || user.deactivated) throw new MatrixError(404, 'M_NOT_FOUND', `There is no active user ${userId}`);
    return user;
  };

  for (const [path, flag] of Object.entries(FLAGS)) {
    const url = `/_matrix/client/v1/admin/${path}/:userId`;
    app.get(url, admin, async (request) => ({ [flag]: (await target(request))[flag] }));
    app.put(url, admin, async (request) => {
      const by = fullUser(request).user_id;
      const user = await target(request);
      const value = bodyOf(request)[flag];
      if (typeof value !== 'boolean') throw new MatrixError(400, 'M_BAD_JSON', `The body must hold ${flag}: true or false`);
      const after = await cctx.userapi.setUserModeration({ user_id: user.user_id, by, [flag]: value });
      return { [flag]: after[flag] };
    });
  }
};
