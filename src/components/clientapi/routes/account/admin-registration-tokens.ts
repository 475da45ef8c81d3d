/**
 * Registration tokens as Synapse's admin API manages them, for admins:
 * GET /_synapse/admin/v1/registration_tokens[?valid=true|false],
 * POST .../new, GET/PUT/DELETE .../{token}.
 */
import type { FastifyRequest } from 'fastify';
import { MatrixError } from '../../../../core/errors.js';
import { ownerOf } from '../../context.js';
import type { ClientRoutes } from '../types.js';
import { bodyOf, paramsOf, queryOf } from './common.js';

export const ADMIN_V1 = '/_synapse/admin/v1';

export function requireAdmin(request: FastifyRequest): void {
  if (!ownerOf(request).is_admin) throw new MatrixError(403, 'M_FORBIDDEN', 'You are not a server admin');
}

/** Fields of an admin body that must be numbers (or null) when present. */
function nullableNumbers(b: Record<string, unknown>, fields: string[]): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  for (const f of fields) {
    if (!(f in b)) continue;
    const v = b[f];
    if (v !== null && (typeof v !== 'number' || !Number.isSafeInteger(v))) throw new MatrixError(400, 'M_INVALID_PARAM', `${f} must be an integer or null`);
    out[f] = v as number | null;
  }
  return out;
}

export const registrationTokenRoutes: ClientRoutes = (app, cctx) => {
  const admin = { preHandler: [cctx.auth.required, async (request: FastifyRequest) => requireAdmin(request)] };
  const base = `${ADMIN_V1}/registration_tokens`;

  app.get(base, admin, async (request) => {
    const valid = queryOf(request).valid;
    if (valid !== undefined && valid !== 'true' && valid !== 'false') throw new MatrixError(400, 'M_INVALID_PARAM', 'valid must be true or false');
    return cctx.userapi.listRegistrationTokens(valid === undefined ? {} : { valid: valid === 'true' });
  });

  app.post(`${base}/new`, admin, async (request) => {
    const b = bodyOf(request);
    if (b.token !== undefined && typeof b.token !== 'string') throw new MatrixError(400, 'M_INVALID_PARAM', 'token must be a string');
    if (b.length !== undefined && (typeof b.length !== 'number' || !Number.isSafeInteger(b.length))) throw new MatrixError(400, 'M_INVALID_PARAM', 'length must be an integer');
    return cctx.userapi.createRegistrationToken({
      ...(typeof b.token === 'string' ? { token: b.token } : {}),
      ...(typeof b.length === 'number' ? { length: b.length } : {}),
      ...nullableNumbers(b, ['uses_allowed', 'expiry_time']),
    });
  });

  app.get(`${base}/:token`, admin, async (request) => cctx.userapi.getRegistrationToken({ token: paramsOf(request).token! }));

  app.put(`${base}/:token`, admin, async (request) => {
    const b = bodyOf(request);
    return cctx.userapi.updateRegistrationToken({ token: paramsOf(request).token!, ...nullableNumbers(b, ['uses_allowed', 'expiry_time']) });
  });

  app.delete(`${base}/:token`, admin, async (request) => {
    await cctx.userapi.deleteRegistrationToken({ token: paramsOf(request).token! });
    return {};
  });
};
