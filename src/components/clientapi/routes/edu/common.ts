/** What the EDU routes share: the owner (guests only where the spec opens a route to them), ids from paths, bodies. */
import type { FastifyRequest } from 'fastify';
import { MatrixError } from '../../../../core/errors.js';
import { isValidEventId, isValidRoomId, isValidUserId } from '../../../../core/identifiers.js';
import { specBody } from '../../../../platform/http/validate.js';
import type { TokenOwner } from '../../../userapi/api.js';
import { ownerOf, type ClientApiContext } from '../../context.js';

export const V3 = '/_matrix/client/v3';

/** Authenticated before the body is even read, then the body checked against the spec. */
export function routeOpts(cctx: ClientApiContext, operation?: string) {
  return { onRequest: cctx.auth.required, ...(operation ? { preValidation: specBody('client-server', operation) } : {}) };
}

export function params(request: FastifyRequest): Record<string, string> {
  return request.params as Record<string, string>;
}

export function body(request: FastifyRequest): Record<string, unknown> {
  const b = request.body;
  return typeof b === 'object' && b !== null && !Array.isArray(b) ? (b as Record<string, unknown>) : {};
}

/** The owner; the guest access module opens only send-to-device of these routes to guests. */
export function memberOwner(request: FastifyRequest, guestsAllowed = false): TokenOwner {
  const owner = ownerOf(request);
  if (owner.is_guest && !guestsAllowed) throw new MatrixError(403, 'M_GUEST_ACCESS_FORBIDDEN', 'Guests cannot use this endpoint');
  return owner;
}

export function roomIdParam(value: string | undefined): string {
  if (value === undefined || !isValidRoomId(value)) throw new MatrixError(400, 'M_INVALID_PARAM', `${String(value)} is not a valid room id`);
  return value;
}

export function eventIdParam(value: unknown, what = 'event id'): string {
  if (typeof value !== 'string' || !isValidEventId(value)) throw new MatrixError(400, 'M_INVALID_PARAM', `${String(value)} is not a valid ${what}`);
  return value;
}

export function userIdParam(value: string | undefined): string {
  if (value === undefined || !isValidUserId(value)) throw new MatrixError(400, 'M_INVALID_PARAM', `${String(value)} is not a valid user id`);
  return value;
}

/** The user in the path must be the requester (typing, presence updates). */
export function ownUser(value: string | undefined, owner: TokenOwner, what: string): string {
  const userId = userIdParam(value);
  if (userId !== owner.user_id) throw new MatrixError(403, 'M_FORBIDDEN', `You cannot ${what} for another user`);
  return userId;
}
