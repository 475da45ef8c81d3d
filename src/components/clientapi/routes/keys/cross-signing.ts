/**
 * POST /keys/device_signing/upload (user-interactive auth, except for what
 * MSC3967 exempts: the first upload and the keys already stored) and POST
 * /keys/signatures/upload.
 */
import { createHash } from 'node:crypto';
import { canonicalJson } from '../../../../core/canonical-json.js';
import { MatrixError } from '../../../../core/errors.js';
import { parseUserId } from '../../../../core/identifiers.js';
import type { CrossSigningKey, CrossSigningKeys } from '../../../keyserver/api.js';
import { interactiveAuth } from '../account/uia.js';
import type { ClientRoutes } from '../types.js';
import { bodyOf, fullUser, routeOpts, V3 } from './common.js';

const PASSWORD_FLOWS = [['m.login.password']];

export const crossSigningRoutes: ClientRoutes = (app, cctx) => {
  app.post(`${V3}/keys/device_signing/upload`, routeOpts(cctx, 'POST /keys/device_signing/upload'), async (request) => {
    const owner = fullUser(request);
    cctx.limit('default', owner.user_id);
    const b = bodyOf(request);
    const keys: CrossSigningKeys = {};
    for (const field of ['master_key', 'self_signing_key', 'user_signing_key'] as const) {
      if (b[field] !== undefined) keys[field] = b[field] as CrossSigningKey;
    }
    // The keys are checked before any authentication is asked for; what needs none is done at once.
    const first = await cctx.keyserver.uploadCrossSigningKeys({ user_id: owner.user_id, ...keys, authenticated: false });
    if (!first.auth_required) return {};
    const session = await interactiveAuth(cctx, request, b.auth, {
      // The session authorises these keys only.
      bound: `POST /keys/device_signing/upload ${owner.user_id} ${createHash('sha256').update(canonicalJson(keys)).digest('base64')}`,
      flows: PASSWORD_FLOWS,
      userId: owner.user_id,
    });
    await cctx.keyserver.uploadCrossSigningKeys({ user_id: owner.user_id, ...keys, authenticated: true });
    await cctx.userapi.uiaFinish({ session });
    return {};
  });

  app.post(`${V3}/keys/signatures/upload`, routeOpts(cctx, 'POST /keys/signatures/upload'), async (request) => {
    const owner = fullUser(request);
    cctx.limit('default', owner.user_id);
    const b = bodyOf(request);
    // The spec's schema checks only the keys that start with @: every key must be a user id, before anything changes.
    for (const [target, objects] of Object.entries(b)) {
      if (!parseUserId(target).ok) throw new MatrixError(400, 'M_INVALID_PARAM', `${target} is not a user id`);
      if (typeof objects !== 'object' || objects === null || Array.isArray(objects)) throw new MatrixError(400, 'M_BAD_JSON', `${target} must map key ids to signed objects`);
    }
    return cctx.keyserver.uploadSignatures({ user_id: owner.user_id, signatures: b as Record<string, Record<string, Record<string, unknown>>> });
  });
};
