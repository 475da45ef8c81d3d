/**
 * Account management: POST /account/password and POST /account/deactivate
 * (both with the user's password through UIA), GET /account/3pid (no
 * third-party identifiers are kept: an empty list).
 */
import { MatrixError } from '../../../../core/errors.js';
import { specBody } from '../../../../platform/http/validate.js';
import { ownerOf } from '../../context.js';
import type { ClientRoutes } from '../types.js';
import { bodyOf, fullUser, V3 } from './common.js';
import { interactiveAuth } from './uia.js';

const PASSWORD_FLOWS = [['m.login.password']];

export const accountManagementRoutes: ClientRoutes = (app, cctx) => {
  const auth = { preHandler: cctx.auth.required };

  app.post(`${V3}/account/password`, { ...auth, preValidation: specBody('client-server', 'POST /account/password') }, async (request) => {
    const owner = fullUser(request);
    const b = bodyOf(request);
    const password = b.new_password as string;
    // Checked before authentication: a password that cannot be set fails first.
    if (password === '') throw new MatrixError(400, 'M_WEAK_PASSWORD', 'The password must not be empty');
    if (password.length > 512) throw new MatrixError(400, 'M_INVALID_PARAM', 'A password is at most 512 characters');
    const session = await interactiveAuth(cctx, request, b.auth, { bound: `POST /account/password ${owner.user_id}`, flows: PASSWORD_FLOWS, userId: owner.user_id });
    await cctx.userapi.setPassword({ user_id: owner.user_id, new_password: password, logout_devices: b.logout_devices !== false, keep_device_id: owner.device_id });
    await cctx.userapi.uiaFinish({ session });
    return {};
  });

  app.post(`${V3}/account/deactivate`, { ...auth, preValidation: specBody('client-server', 'POST /account/deactivate') }, async (request) => {
    const owner = fullUser(request);
    const b = bodyOf(request);
    const session = await interactiveAuth(cctx, request, b.auth, { bound: `POST /account/deactivate ${owner.user_id}`, flows: PASSWORD_FLOWS, userId: owner.user_id });
    await cctx.userapi.deactivateAccount({ user_id: owner.user_id, erase: b.erase === true });
    await cctx.userapi.uiaFinish({ session });
    // No third-party identifiers are bound anywhere: nothing to unbind.
    return { id_server_unbind_result: 'success' };
  });

  app.get(`${V3}/account/3pid`, auth, async (request) => {
    ownerOf(request);
    return { threepids: [] };
  });
};
