/**
 * What every ClientAPI route needs: the other components' APIs, the
 * configuration, the access-token check and the rate limiters.
 */
import type { FastifyRequest } from 'fastify';
import { MatrixError } from '../../core/errors.js';
import type { DataPaths } from '../../platform/config/paths.js';
import type { NeuriteConfig } from '../../platform/config/schema.js';
import { tokenAuth, type TokenAuth, type TokenCheck } from '../../platform/http/auth.js';
import { RateLimiter, type RateLimit } from '../../platform/http/rate-limit.js';
import type { Client } from '../../platform/ipc/directory.js';
import { IpcError } from '../../platform/ipc/errors.js';
import type { EduServerAPI } from '../eduserver/api.js';
import type { KeyServerAPI } from '../keyserver/api.js';
import type { RoomserverAPI } from '../roomserver/api.js';
import type { SyncAPIInternal } from '../syncapi/api.js';
import type { TokenOwner, UserAPI } from '../userapi/api.js';

export interface ClientApiContext {
  serverName: string;
  config: NeuriteConfig;
  /** For files the configuration names (secrets under keys/). */
  paths: DataPaths;
  roomserver: Client<RoomserverAPI>;
  userapi: Client<UserAPI>;
  eduserver: Client<EduServerAPI>;
  keyserver: Client<KeyServerAPI>;
  /** Resolves sync tokens where an endpoint takes one as a point in a room (`/members?at=`). */
  syncapi: Client<SyncAPIInternal>;
  auth: TokenAuth;
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

/**
 * A suspended account (spec "Account suspension") keeps reading, leaving,
 * redacting its own events and managing its devices and keys; what would
 * reach other people anew (joins, invites, messages, profile changes) is
 * refused with 403 M_USER_SUSPENDED.
 */
export function refuseIfSuspended(owner: TokenOwner, what: string): void {
  if (owner.suspended) throw new MatrixError(403, 'M_USER_SUSPENDED', `This account is suspended by an administrator of this server: it cannot ${what}`);
}

export function createClientApiContext(opts: {
  serverName: string;
  config: NeuriteConfig;
  paths: DataPaths;
  roomserver: Client<RoomserverAPI>;
  userapi: Client<UserAPI>;
  eduserver: Client<EduServerAPI>;
  /** Absent where a test mounts only route groups that never call them. */
  keyserver?: Client<KeyServerAPI>;
  syncapi?: Client<SyncAPIInternal>;
  /** How tokens are checked, when not by asking the UserAPI every time (platform/http/token-cache.ts). */
  tokenCheck?: TokenCheck;
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
  const { tokenCheck, ...apis } = opts;
  return {
    ...apis,
    keyserver: opts.keyserver ?? notRunning<KeyServerAPI>('the KeyServer'),
    syncapi: opts.syncapi ?? notRunning<SyncAPIInternal>('the SyncAPI'),
    auth: tokenAuth(tokenCheck ?? ((req) => opts.userapi.queryAccessToken(req))),
    limit,
  };
}

/** A component that is not there: every call fails as a component that is down does. */
function notRunning<T extends object>(name: string): Client<T> {
  return new Proxy({} as Client<T>, {
    get: () => async () => {
      throw new IpcError('UNAVAILABLE', `${name} is not running`);
    },
  });
}
