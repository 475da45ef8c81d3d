/**
 * POST /keys/upload, /keys/query, /keys/claim (guests too, per the guest
 * access module). The KeyServer checks the keys themselves.
 */
import type { DeviceKeys, OneTimeKeys } from '../../../keyserver/api.js';
import { ownerOf } from '../../context.js';
import type { ClientRoutes } from '../types.js';
import { bodyOf, routeOpts, timeoutOf, V3 } from './common.js';

/** The unstable name (MSC2732) that clients from before v1.2 still send. */
const UNSTABLE_FALLBACK_KEYS = 'org.matrix.msc2732.fallback_keys';

export const deviceKeyRoutes: ClientRoutes = (app, cctx) => {
  app.post(`${V3}/keys/upload`, routeOpts(cctx, 'POST /keys/upload'), async (request) => {
    const owner = ownerOf(request);
    cctx.limit('default', owner.user_id);
    const b = bodyOf(request);
    const fallback = b.fallback_keys ?? b[UNSTABLE_FALLBACK_KEYS];
    return cctx.keyserver.uploadKeys({
      user_id: owner.user_id,
      device_id: owner.device_id,
      ...(b.device_keys !== undefined ? { device_keys: b.device_keys as DeviceKeys } : {}),
      ...(b.one_time_keys !== undefined ? { one_time_keys: b.one_time_keys as OneTimeKeys } : {}),
      ...(fallback !== undefined ? { fallback_keys: fallback as OneTimeKeys } : {}),
    });
  });

  app.post(`${V3}/keys/query`, routeOpts(cctx, 'POST /keys/query'), async (request) => {
    const owner = ownerOf(request);
    cctx.limit('default', owner.user_id);
    const b = bodyOf(request);
    const timeout = timeoutOf(b);
    return cctx.keyserver.queryKeys({ requester: owner.user_id, device_keys: b.device_keys as Record<string, string[]>, ...(timeout !== undefined ? { timeout_ms: timeout } : {}) });
  });

  app.post(`${V3}/keys/claim`, routeOpts(cctx, 'POST /keys/claim'), async (request) => {
    const owner = ownerOf(request);
    cctx.limit('default', owner.user_id);
    const b = bodyOf(request);
    const timeout = timeoutOf(b);
    return cctx.keyserver.claimKeys({
      requester: owner.user_id,
      one_time_keys: b.one_time_keys as Record<string, Record<string, string>>,
      ...(timeout !== undefined ? { timeout_ms: timeout } : {}),
    });
  });
};
