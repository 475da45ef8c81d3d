/** What the key routes share: authentication first, then the spec's body check. */
import type { FastifyRequest } from 'fastify';
import { MatrixError } from '../../../../core/errors.js';
import { isValidRoomId } from '../../../../core/identifiers.js';
import { specBody } from '../../../../platform/http/validate.js';
import type { ClientApiContext } from '../../context.js';
import { queryOf } from '../account/common.js';

export { bodyOf, fullUser, paramsOf, V3 } from '../account/common.js';

export function routeOpts(cctx: ClientApiContext, operation?: string) {
  return { onRequest: cctx.auth.required, ...(operation ? { preValidation: specBody('client-server', operation) } : {}) };
}

/** The remote-server wait a client asked for (`timeout`, ms). */
export function timeoutOf(body: Record<string, unknown>): number | undefined {
  return typeof body.timeout === 'number' && Number.isFinite(body.timeout) ? body.timeout : undefined;
}

/** The `version` query parameter the /room_keys/keys routes require. */
export function versionParam(request: FastifyRequest): string {
  const v = queryOf(request).version;
  if (typeof v !== 'string' || v === '') throw new MatrixError(400, 'M_MISSING_PARAM', 'The version query parameter is required');
  return v;
}

export function roomParam(value: string | undefined): string {
  if (value === undefined || !isValidRoomId(value)) throw new MatrixError(400, 'M_INVALID_PARAM', `${String(value)} is not a valid room id`);
  return value;
}
