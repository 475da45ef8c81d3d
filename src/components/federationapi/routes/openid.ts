/**
 * Server-server API: GET /_matrix/federation/v1/openid/userinfo: who an
 * OpenID token (from the client-server request_token) belongs to. Called
 * by third parties with the token alone, so no X-Matrix signature.
 */
import type { FastifyPluginAsync } from 'fastify';
import { MatrixError } from '../../../core/errors.js';
import type { Client } from '../../../platform/ipc/directory.js';
import type { UserAPI } from '../../userapi/api.js';

export function openIdRoutes(users: () => Client<UserAPI>): FastifyPluginAsync {
  return async (app) => {
    app.get('/_matrix/federation/v1/openid/userinfo', async (request) => {
      const token = (request.query as Record<string, unknown>).access_token;
      if (typeof token !== 'string' || token === '') throw new MatrixError(401, 'M_UNKNOWN_TOKEN', 'An OpenID access_token is required');
      const owner = await users().queryOpenIdToken({ token });
      if (!owner) throw new MatrixError(401, 'M_UNKNOWN_TOKEN', 'The OpenID token is unknown or expired');
      return { sub: owner.user_id };
    });
  };
}
