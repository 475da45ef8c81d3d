/**
 * POST /user/{userId}/openid/request_token (client-server API "OpenID"):
 * a token for a third party to learn who the user is, through this
 * server's federation API (`/_matrix/federation/v1/openid/userinfo`).
 */
import type { ClientRoutes } from '../types.js';
import { bodyOf, fullUser, ownUserParam, paramsOf, V3 } from './common.js';

export const openIdRoutes: ClientRoutes = (app, cctx) => {
  app.post(`${V3}/user/:userId/openid/request_token`, { preHandler: cctx.auth.required }, async (request) => {
    paramsOf(request);
    const userId = ownUserParam(request, fullUser(request));
    bodyOf(request);
    const t = await cctx.userapi.createOpenIdToken({ user_id: userId });
    return { access_token: t.access_token, token_type: 'Bearer', matrix_server_name: cctx.serverName, expires_in: Math.floor(t.expires_in_ms / 1000) };
  });
};
