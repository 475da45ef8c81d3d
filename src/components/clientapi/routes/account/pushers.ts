/** Pushers: GET /pushers and POST /pushers/set (stored by the UserAPI; the SyncAPI sends to their push gateways). */
import { specBody } from '../../../../platform/http/validate.js';
import type { PusherChange } from '../../../userapi/api.js';
import type { ClientRoutes } from '../types.js';
import { bodyOf, fullUser, V3 } from './common.js';

export const pusherRoutes: ClientRoutes = (app, cctx) => {
  app.get(`${V3}/pushers`, { preHandler: cctx.auth.required }, async (request) => {
    const { pushers } = await cctx.userapi.queryPushers({ user_id: fullUser(request).user_id });
    // pushkey_ts is for the push gateway; the client-server API's pusher has no such field.
    return { pushers: pushers.map(({ pushkey_ts: _ts, ...p }) => p) };
  });

  app.post(`${V3}/pushers/set`, { preHandler: cctx.auth.required, preValidation: specBody('client-server', 'POST /pushers/set') }, async (request) => {
    const owner = fullUser(request);
    const { append, ...pusher } = bodyOf(request);
    await cctx.userapi.setPusher({ user_id: owner.user_id, device_id: owner.device_id, pusher: pusher as unknown as PusherChange, append: append === true });
    return {};
  });
};
