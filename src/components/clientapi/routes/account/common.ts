/** Small helpers shared by the account routes. */
import type { FastifyRequest, preValidationAsyncHookHandler } from 'fastify';
import { MatrixError } from '../../../../core/errors.js';
import { isValidUserId, parseUserId } from '../../../../core/identifiers.js';
import { clientIp } from '../../../../platform/http/app.js';
import { specBody } from '../../../../platform/http/validate.js';
import type { NewLogin, TokenOwner } from '../../../userapi/api.js';
import { ownerOf } from '../../context.js';

export const V3 = '/_matrix/client/v3';
export const V1 = '/_matrix/client/v1';

export type Body = Record<string, unknown>;

/** The request body as an object (the spec validators ran before, where a route has one). */
export function bodyOf(request: FastifyRequest): Body {
  const b = request.body;
  if (b === undefined || b === null) return {};
  if (typeof b !== 'object' || Array.isArray(b)) throw new MatrixError(400, 'M_BAD_JSON', 'The body must be a JSON object');
  return b as Body;
}

export function queryOf(request: FastifyRequest): Record<string, unknown> {
  return (request.query ?? {}) as Record<string, unknown>;
}

export function paramsOf(request: FastifyRequest): Record<string, string> {
  return request.params as Record<string, string>;
}

/** What a login or registration asks of its device, with where it came from. */
export function newLogin(request: FastifyRequest, body: Body): NewLogin {
  const ua = request.headers['user-agent'];
  return {
    ...(typeof body.device_id === 'string' ? { device_id: body.device_id } : {}),
    ...(typeof body.initial_device_display_name === 'string' ? { display_name: body.initial_device_display_name } : {}),
    ...(body.refresh_token === true ? { refresh_token: true } : {}),
    ip: clientIp(request),
    ...(typeof ua === 'string' ? { user_agent: ua } : {}),
  };
}

/** The login part of a response: tokens only when there are any. */
export function loginResponse(login: { user_id: string; device_id: string; access_token: string; refresh_token?: string; expires_in_ms?: number }, serverName: string) {
  return {
    user_id: login.user_id,
    access_token: login.access_token,
    device_id: login.device_id,
    home_server: serverName,
    ...(login.refresh_token !== undefined ? { refresh_token: login.refresh_token } : {}),
    ...(login.expires_in_ms !== undefined ? { expires_in_ms: login.expires_in_ms } : {}),
  };
}

/** The owner, refusing guests on endpoints the guest access module does not open to them. */
export function fullUser(request: FastifyRequest): TokenOwner {
  const owner = ownerOf(request);
  if (owner.is_guest) throw new MatrixError(403, 'M_GUEST_ACCESS_FORBIDDEN', 'Guest accounts cannot use this endpoint');
  return owner;
}

/** A `{userId}` path parameter that must name the requester (account data, filters, profile changes). */
export function ownUserParam(request: FastifyRequest, owner: TokenOwner): string {
  const userId = paramsOf(request).userId!;
  if (!parseUserId(userId).ok) throw new MatrixError(400, 'M_INVALID_PARAM', `${userId} is not a valid user id`);
  if (userId !== owner.user_id) throw new MatrixError(403, 'M_FORBIDDEN', 'You can only do this for your own account');
  return userId;
}

/** A user id of this server, as admin endpoints take it; 400 M_INVALID_PARAM for anything else. */
export function localUserId(value: unknown, serverName: string): string {
  if (typeof value !== 'string' || !isValidUserId(value) || !value.endsWith(`:${serverName}`)) {
    throw new MatrixError(400, 'M_INVALID_PARAM', `${String(value)} is not a user of this server`);
  }
  return value;
}

/** The spec's body check, with a missing body read as `{}` (clients send none on a first UIA attempt of DELETE). */
export function specBodyOrEmpty(operation: string): preValidationAsyncHookHandler[] {
  return [
    async (request) => {
      if (request.body === undefined || request.body === null) request.body = {};
    },
    specBody('client-server', operation),
  ];
}

/** One rate-limit bucket per account, however the client spells its name. */
export function userLimitKey(user: string): string {
  const name = user.startsWith('@') ? user.slice(1).split(':')[0]! : user;
  return `user:${name.toLowerCase()}`;
}
