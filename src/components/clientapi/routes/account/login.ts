/**
 * Sessions: GET/POST /login (m.login.password with `identifier` or the
 * legacy `user`), POST /refresh, POST /logout, POST /logout/all and
 * GET /account/whoami.
 */
import { MatrixError } from '../../../../core/errors.js';
import { clientIp } from '../../../../platform/http/app.js';
import { specBody } from '../../../../platform/http/validate.js';
import { ownerOf } from '../../context.js';
import type { ClientRoutes } from '../types.js';
import { bodyOf, loginResponse, newLogin, userLimitKey, V3 } from './common.js';
import { passwordUser } from './uia.js';

export const loginRoutes: ClientRoutes = (app, cctx) => {
  app.get(`${V3}/login`, async () => ({ flows: [{ type: 'm.login.password' }] }));

  app.post(`${V3}/login`, { preValidation: specBody('client-server', 'POST /login') }, async (request) => {
    const body = bodyOf(request);
    cctx.limit('login', clientIp(request));
    if (body.type !== 'm.login.password') throw new MatrixError(400, 'M_UNKNOWN', `Unsupported login type ${String(body.type)}`);
    const user = passwordUser(body);
    if (typeof body.password !== 'string') throw new MatrixError(400, 'M_MISSING_PARAM', 'password is required');
    cctx.limit('login', userLimitKey(user));
    const login = await cctx.userapi.loginWithPassword({ user, password: body.password, login: newLogin(request, body) });
    return loginResponse(login, cctx.serverName);
  });

  app.post(`${V3}/refresh`, { preValidation: specBody('client-server', 'POST /refresh') }, async (request) => {
    const body = bodyOf(request);
    cctx.limit('login', clientIp(request));
    return cctx.userapi.refreshToken({ refresh_token: body.refresh_token as string });
  });

  app.post(`${V3}/logout`, { preHandler: cctx.auth.required }, async (request) => {
    const owner = ownerOf(request);
    await cctx.userapi.deleteDevices({ user_id: owner.user_id, device_ids: [owner.device_id] });
    return {};
  });

  app.post(`${V3}/logout/all`, { preHandler: cctx.auth.required }, async (request) => {
    await cctx.userapi.deleteAllDevices({ user_id: ownerOf(request).user_id });
    return {};
  });

  app.get(`${V3}/account/whoami`, { preHandler: cctx.auth.required }, async (request) => {
    const owner = ownerOf(request);
    return { user_id: owner.user_id, device_id: owner.device_id, is_guest: owner.is_guest };
  });
};
