/**
 * Access tokens on client requests: `Authorization: Bearer <token>`, or the
 * deprecated `access_token` query parameter that older clients still send.
 */
import type { FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { MatrixError } from '../../core/errors.js';
import { clientIp } from './app.js';

/** Who made a request, as the UserAPI says of its access token. */
export interface RequestOwner {
  user_id: string;
  device_id: string;
  is_guest: boolean;
  is_admin: boolean;
  /** Locked or suspended by an admin (spec v1.18 "Account moderation"). */
  locked?: boolean;
  suspended?: boolean;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the `required` / `optional` hooks of `tokenAuth`. */
    owner?: RequestOwner;
  }
}

/** What the UserAPI says of a token. */
export type TokenAnswer =
  | {
      owner: RequestOwner;
      /** When the token stops working (epoch ms), for one that expires. */
      expires_at?: number;
    }
  | { owner: null; soft_logout: boolean };

/** Checks a token (the UserAPI's queryAccessToken). */
export type TokenCheck = (req: { token: string; ip?: string; user_agent?: string }) => Promise<TokenAnswer>;

export interface TokenAuth {
  /** 401 M_MISSING_TOKEN / M_UNKNOWN_TOKEN unless the request carries a valid token. */
  required: preHandlerAsyncHookHandler;
  /** Sets `request.owner` when a valid token is given; refuses an invalid one. */
  optional: preHandlerAsyncHookHandler;
}

const LOGOUT_PATH = /^\/_matrix\/client\/[^/]+\/logout(?:\/all)?(?:\?|$)/;

/** The access-token hooks every public component with client routes uses. */
export function tokenAuth(check: TokenCheck): TokenAuth {
  const authenticate = async (request: FastifyRequest, required: boolean) => {
    const token = accessTokenOf(request);
    if (token === undefined) {
      if (required) throw new MatrixError(401, 'M_MISSING_TOKEN', 'Missing access token');
      return;
    }
    const ua = request.headers['user-agent'];
    const result = await check({ token, ip: clientIp(request), ...(typeof ua === 'string' ? { user_agent: ua } : {}) });
    if (!result.owner) throw new MatrixError(401, 'M_UNKNOWN_TOKEN', 'Unknown access token', { soft_logout: result.soft_logout });
    // A locked account can only log out; its tokens stay valid for when the lock is lifted.
    if (result.owner.locked && !LOGOUT_PATH.test(request.url)) {
      throw new MatrixError(401, 'M_USER_LOCKED', 'This account has been locked by an administrator of this server', { soft_logout: true });
    }
    request.owner = result.owner;
  };
  return {
    required: async (request) => authenticate(request, true),
    optional: async (request) => authenticate(request, false),
  };
}

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
