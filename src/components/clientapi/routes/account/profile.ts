/**
 * Profiles: GET /profile/{userId}, GET/PUT/DELETE /profile/{userId}/{keyName}.
 * Reads need no token; a user changes only their own profile, and a guest
 * only their display name (guest access module).
 */
import type { FastifyRequest } from 'fastify';
import { MatrixError } from '../../../../core/errors.js';
import { parseUserId } from '../../../../core/identifiers.js';
import { specBody } from '../../../../platform/http/validate.js';
import type { ClientApiContext } from '../../context.js';
import { ownerOf, refuseIfSuspended } from '../../context.js';
import type { ClientRoutes } from '../types.js';
import { bodyOf, ownUserParam, paramsOf, V3 } from './common.js';

/** The profile of a user of this server; profiles of other servers need federation, which is not here yet. */
async function fieldsOf(cctx: ClientApiContext, request: FastifyRequest): Promise<Record<string, unknown>> {
  const userId = paramsOf(request).userId!;
  const parsed = parseUserId(userId);
  if (!parsed.ok) throw new MatrixError(400, 'M_INVALID_PARAM', `${userId} is not a valid user id`);
  const fields = parsed.value.serverName === cctx.serverName ? await cctx.userapi.queryProfileFields({ user_id: userId }) : null;
  if (!fields) throw new MatrixError(404, 'M_NOT_FOUND', 'Profile not found');
  return fields;
}

function changeable(request: FastifyRequest): { userId: string; field: string } {
  const owner = ownerOf(request);
  const userId = ownUserParam(request, owner);
  const field = paramsOf(request).keyName!;
  refuseIfSuspended(owner, 'change its profile');
  if (owner.is_guest && field !== 'displayname') throw new MatrixError(403, 'M_GUEST_ACCESS_FORBIDDEN', 'Guests may only change their display name');
  return { userId, field };
}

export const profileRoutes: ClientRoutes = (app, cctx) => {
  app.get(`${V3}/profile/:userId`, async (request) => fieldsOf(cctx, request));

  app.get(`${V3}/profile/:userId/:keyName`, async (request) => {
    const field = paramsOf(request).keyName!;
    const fields = await fieldsOf(cctx, request);
    if (!(field in fields)) throw new MatrixError(404, 'M_NOT_FOUND', `The profile has no ${field}`);
    return { [field]: fields[field] };
  });

  app.put(
    `${V3}/profile/:userId/:keyName`,
    { preHandler: cctx.auth.required, preValidation: specBody('client-server', 'PUT /profile/{userId}/{keyName}') },
    async (request) => {
      const { userId, field } = changeable(request);
      const b = bodyOf(request);
      if (!(field in b)) throw new MatrixError(400, 'M_MISSING_PARAM', `The body must hold ${field}`);
      if (Object.keys(b).length > 1) throw new MatrixError(400, 'M_BAD_JSON', `The body must hold ${field} and nothing else`);
      await cctx.userapi.setProfileField({ user_id: userId, field, value: b[field] });
      return {};
    },
  );

  app.delete(`${V3}/profile/:userId/:keyName`, { preHandler: cctx.auth.required }, async (request) => {
    const { userId, field } = changeable(request);
    await cctx.userapi.setProfileField({ user_id: userId, field });
    return {};
  });
};
