/**
 * Access tokens on client requests: `Authorization: Bearer <token>`, or the
 * deprecated `access_token` query parameter that older clients still send.
 */
import type { FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { MatrixError } from '../../core/errors.js';

export function accessTokenOf(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (typeof header === 'string') {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    return m ? m[1] : undefined;
  }
  const q = (request.query as Record<string, unknown> | undefined)?.access_token;
  return typeof q === 'string' && q !== '' ? q : undefined;
}

/**
 * A preHandler that requires a valid token. `verify` returns who the token
 * belongs to, or undefined for an unknown, expired or revoked token.
 */
export function requireAccessToken<P>(
  verify: (token: string, request: FastifyRequest) => Promise<P | undefined>,
  attach: (request: FastifyRequest, principal: P) => void,
): preHandlerAsyncHookHandler {
  return async (request) => {
    const token = accessTokenOf(request);
    if (token === undefined) throw new MatrixError(401, 'M_MISSING_TOKEN', 'Missing access token');
    const principal = await verify(token, request);
    if (principal === undefined) throw new MatrixError(401, 'M_UNKNOWN_TOKEN', 'Unknown access token', { soft_logout: false });
    attach(request, principal);
  };
}
