/**
 * The ClientAPI's room routes on a real roomserver (its own process group,
 * called over its Unix socket as in split mode) with a stand-in UserAPI:
 * fixed access tokens and profiles. Requests go through fastify's inject.
 */
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import type { Test } from 'tap';
import { pino } from 'pino';
import { eduServerApi } from '../../src/components/eduserver/api.js';
import { roomserverApi } from '../../src/components/roomserver/api.js';
import type { Profile, TokenOwner, UserAPI } from '../../src/components/userapi/api.js';
import { createClientApiContext, type ClientApiContext } from '../../src/components/clientapi/context.js';
import { roomRoutes } from '../../src/components/clientapi/routes/rooms/index.js';
import { versionsRoutes } from '../../src/components/clientapi/routes/versions.js';
import { loadConfig } from '../../src/platform/config/load.js';
import { dataPaths } from '../../src/platform/config/paths.js';
import type { NeuriteConfig } from '../../src/platform/config/schema.js';
import { createPublicApp } from '../../src/platform/http/app.js';
import { RateLimiter } from '../../src/platform/http/rate-limit.js';
import type { Client } from '../../src/platform/ipc/directory.js';
import { startComponents, type ComponentHarness } from './components.js';
import { specResponse } from './spec-schemas.js';

export interface FakeUser extends TokenOwner {
  token: string;
}

/** The two UserAPI queries room routes make; the rest of the UserAPI is not needed here. */
export class FakeUserApi {
  readonly users = new Map<string, FakeUser>();
  readonly profiles = new Map<string, Profile>();

  constructor(private readonly serverName: string) {}

  add(localpart: string, opts: { guest?: boolean; admin?: boolean; profile?: Profile } = {}): FakeUser {
    const user: FakeUser = {
      user_id: `@${localpart}:${this.serverName}`,
      device_id: `DEV${localpart.toUpperCase()}`,
      is_guest: opts.guest ?? false,
      is_admin: opts.admin ?? false,
      token: `token-${localpart}`,
    };
    this.users.set(user.token, user);
    if (opts.profile) this.profiles.set(user.user_id, opts.profile);
    return user;
  }

  queryAccessToken = async (req: { token: string }) => {
    const u = this.users.get(req.token);
    if (!u) return { owner: null, soft_logout: false } as const;
    const { token: _, ...owner } = u;
    return { owner };
  };

  queryProfile = async (req: { user_id: string }) => this.profiles.get(req.user_id) ?? null;
}

export interface RoomsHarness {
  app: FastifyInstance;
  cctx: ClientApiContext;
  users: FakeUserApi;
  rs: ComponentHarness;
  serverName: string;
  /** A request as `user` (or without a token); JSON body in, parsed JSON out. */
  call(user: FakeUser | undefined, method: string, url: string, body?: unknown): Promise<{ status: number; body: any; raw: LightMyRequestResponse }>;
  /** Stops the app and, unless kept, the roomserver. */
  stop(): Promise<void>;
  /** Restarts the roomserver on the same data and remounts the routes: everything the client was told must still hold. */
  restart(): Promise<RoomsHarness>;
}

export async function startRooms(
  opts: {
    serverName?: string;
    config?: Partial<NeuriteConfig>;
    rs?: ComponentHarness;
    users?: FakeUserApi;
    /** Rate limits on a stopped clock: `burst` requests per kind and key, then M_LIMIT_EXCEEDED, however slow the machine. */
    frozenLimits?: { burst: number };
  } = {},
): Promise<RoomsHarness> {
  const serverName = opts.serverName ?? 'test.neurite.local';
  const rs = opts.rs ?? (await startComponents(['roomserver', 'serverkeyapi'], { serverName }));
  const base = loadConfig(rs.dataDir)!;
  const config: NeuriteConfig = { ...base, rate_limits: false, ...opts.config };
  const users = opts.users ?? new FakeUserApi(serverName);
  const cctx = createClientApiContext({
    serverName,
    config,
    paths: dataPaths(rs.dataDir),
    roomserver: rs.apis.get(roomserverApi),
    userapi: users as unknown as Client<UserAPI>,
    // The room routes never call it; the EDU routes have their own tests.
    eduserver: rs.apis.get(eduServerApi),
  });
  if (opts.frozenLimits) {
    const limiters = new Map<string, RateLimiter>();
    const burst = opts.frozenLimits.burst;
    cctx.limit = (kind, key) => {
      if (!limiters.has(kind)) limiters.set(kind, new RateLimiter({ perSecond: 1, burst }, () => 0));
      limiters.get(kind)!.check(key);
    };
  }
  const app = createPublicApp({ logger: pino({ level: process.env.NEURITE_TEST_LOG ?? 'silent' }) });
  // Only the routes of this half of the ClientAPI: account routes need the real UserAPI.
  for (const register of [versionsRoutes, ...roomRoutes]) await register(app, cctx);
  await app.ready();
  const h: RoomsHarness = {
    app,
    cctx,
    users,
    rs,
    serverName,
    call: async (user, method, url, body) => {
      const raw = await app.inject({
        method: method as 'GET',
        url,
        headers: { ...(user ? { authorization: `Bearer ${user.token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { payload: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
      });
      let parsed: unknown;
      try {
        parsed = raw.json();
      } catch {
        parsed = raw.body;
      }
      return { status: raw.statusCode, body: parsed, raw };
    },
    stop: async () => {
      await app.close();
      await rs.stop();
    },
    restart: async () => {
      await app.close();
      const again = await rs.restart();
      return startRooms({ serverName, ...(opts.config ? { config: opts.config } : {}), rs: again, users });
    },
  };
  return h;
}

/** Asserts a 200 whose body fits the spec's response schema of `operation` (client-server API). */
export async function expectOk(t: Test, res: { status: number; body: unknown }, operation: string, what = operation, opts: { oneOf?: number } = {}): Promise<void> {
  t.equal(res.status, 200, `${what}: 200 (${res.status === 200 ? 'ok' : JSON.stringify(res.body)})`);
  const problem = (await specResponse('client-server', operation, '200', opts))(res.body);
  t.equal(problem, undefined, `${what}: the response fits the spec's schema`);
}

/** Asserts a Matrix error with this status and errcode. */
export function expectError(t: Test, res: { status: number; body: any }, status: number, errcode: string, what: string): void {
  t.match({ status: res.status, errcode: res.body?.errcode }, { status, errcode }, `${what}: ${status} ${errcode} (${res.body?.error ?? JSON.stringify(res.body)})`);
  t.type(res.body?.error, 'string', `${what}: the error has a message`);
}

export const enc = encodeURIComponent;
