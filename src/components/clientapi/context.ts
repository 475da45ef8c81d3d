/**
 * What every ClientAPI route needs: the other components' APIs, the
 * configuration, the access-token check and the rate limiters.
 */
import type { FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { MatrixError } from '../../core/errors.js';
import type { DataPaths } from '../../platform/config/paths.js';
import type { NeuriteConfig } from '../../platform/config/schema.js';
import { accessTokenOf } from '../../platform/http/auth.js';
import { clientIp } from '../../platform/http/app.js';
import { RateLimiter, type RateLimit } from '../../platform/http/rate-limit.js';
import type { Client } from '../../platform/ipc/directory.js';
import type { RoomserverAPI } from '../roomserver/api.js';
import type { TokenOwner, UserAPI } from '../userapi/api.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by `auth.required` / `auth.optional`. */
    owner?: TokenOwner;
  }
}

export interface ClientApiContext {
  serverName: string;
  config: NeuriteConfig;
  /** For files the configuration names (secrets under keys/). */
  paths: DataPaths;
  roomserver: Client<RoomserverAPI>;
  userapi: Client<UserAPI>;
  auth: {
    /** 401 M_MISSING_TOKEN / M_UNKNOWN_TOKEN unless the request carries a valid token. */
    required: preHandlerAsyncHookHandler;
    /** Sets `request.owner` when a valid token is given; refuses an invalid one. */
    optional: preHandlerAsyncHookHandler;
  };
  /** Throws M_LIMIT_EXCEEDED when `key` (a user id or an address) is over the limit. */
  limit(kind: LimitKind, key: string): void;
}

export type LimitKind = 'login' | 'register' | 'send' | 'default';

/** Per user or address; generous enough for a family's clients, tight enough to stop guessing. */
const LIMITS: Record<LimitKind, RateLimit> = {
  login: { perSecond: 0.2, burst: 5 },
  register: { perSecond: 0.1, burst: 3 },
  send: { perSecond: 10, burst: 50 },
  default: { perSecond: 50, burst: 200 },
};

/** The owner of the request's token; throws when there is none (use after auth.required). */
export function ownerOf(request: FastifyRequest): TokenOwner {
  if (!request.owner) throw new MatrixError(401, 'M_MISSING_TOKEN', 'Missing access token');
  return request.owner;
}

export function createClientApiContext(opts: {
  serverName: string;
  config: NeuriteConfig;
  paths: DataPaths;
  roomserver: Client<RoomserverAPI>;
  userapi: Client<UserAPI>;
}): ClientApiContext {
  const limiters = new Map<LimitKind, RateLimiter>();
  const limit = (kind: LimitKind, key: string) => {
    if (!opts.config.rate_limits) return;
    let l = limiters.get(kind);
    if (!l) {
      l = new RateLimiter(LIMITS[kind]);
      limiters.set(kind, l);
    }
    l.check(key);
  };
  const authenticate = async (request: FastifyRequest, required: boolean) => {
    const token = accessTokenOf(request);
    if (token === undefined) {
      if (required) throw new MatrixError(401, 'M_MISSING_TOKEN', 'Missing access token');
      return;
    }
    const ua = request.headers['user-agent'];
    const result = await opts.userapi.queryAccessToken({ token, ip: clientIp(request), ...(typeof ua === 'string' ? { user_agent: ua } : {}) });
    if (!result.owner) throw new MatrixError(401, 'M_UNKNOWN_TOKEN', 'Unknown access token', { soft_logout: result.soft_logout });
    request.owner = result.owner;
  };
  return {
    ...opts,
    auth: {
      required: async (request) => authenticate(request, true),
      optional: async (request) => authenticate(request, false),
    },
    limit,
  };
}
