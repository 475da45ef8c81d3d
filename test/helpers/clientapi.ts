/**
 * The ClientAPI's room routes on a real roomserver and UserAPI (their own
 * process group, called over its Unix socket as in split mode). Test users
 * are real accounts with real access tokens. Requests go through fastify's
 * inject.
 */
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import type { Test } from 'tap';
import { pino } from 'pino';
import { eduServerApi } from '../../src/components/eduserver/api.js';
import { roomserverApi } from '../../src/components/roomserver/api.js';
import { userApi, type Profile, type TokenOwner, type UserAPI } from '../../src/components/userapi/api.js';
import { createClientApiContext, type ClientApiContext } from '../../src/components/clientapi/context.js';
import { roomRoutes } from '../../src/components/clientapi/routes/rooms/index.js';
import { versionsRoutes } from '../../src/components/clientapi/routes/versions.js';
import type { ClientRoutes } from '../../src/components/clientapi/routes/types.js';
import { loadConfig } from '../../src/platform/config/load.js';
import { dataPaths } from '../../src/platform/config/paths.js';
import type { NeuriteConfig } from '../../src/platform/config/schema.js';
import { createPublicApp } from '../../src/platform/http/app.js';
import { RateLimiter } from '../../src/platform/http/rate-limit.js';
import type { Client } from '../../src/platform/ipc/directory.js';
import { startComponents, type ComponentHarness } from './components.js';
import { specResponse } from './spec-schemas.js';
import { injectCall } from './inject.js';

export interface TestUser extends TokenOwner {
  token: string;
}

/** Real accounts made through the UserAPI, each logged in on one device. */
export class TestUsers {
  async setProfile(user: TokenOwner, profile: Profile): Promise<void> {
    for (const [field, value] of Object.entries(profile)) await this.userapi.setProfileField({ user_id: user.user_id, field, value });
  }

  constructor(private readonly userapi: Client<UserAPI>) {}

  async add(localpart: string, opts: { guest?: boolean; admin?: boolean; profile?: Profile } = {}): Promise<TestUser> {
    const created = await this.userapi.createAccount({
      ...(opts.guest ? { guest: true } : { username: localpart, password: `password of ${localpart}` }),
      ...(opts.admin ? { admin: true } : {}),
      ...(opts.profile?.displayname !== undefined ? { displayname: opts.profile.displayname } : {}),
      login: { device_id: `DEV${localpart.toUpperCase()}` },
    });
    if (opts.profile?.avatar_url !== undefined) {
      await this.userapi.setProfileField({ user_id: created.user_id, field: 'avatar_url', value: opts.profile.avatar_url });
    }
    const login = created.login!;
    return { user_id: created.user_id, device_id: login.device_id, is_guest: opts.guest ?? false, is_admin: opts.admin ?? false, token: login.access_token };
  }
}

export interface RoomsHarness {
  app: FastifyInstance;
  cctx: ClientApiContext;
  users: TestUsers;
  rs: ComponentHarness;
  serverName: string;
  /** A request as `user` (or without a token); JSON body in, parsed JSON out. */
  call(user: TestUser | undefined, method: string, url: string, body?: unknown): Promise<{ status: number; body: any; raw: LightMyRequestResponse }>;
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
    /** Rate limits on a stopped clock: `burst` requests per kind and key, then M_LIMIT_EXCEEDED, however slow the machine. */
    frozenLimits?: { burst: number };
    /** Other ClientAPI routes to mount beside the room routes (their tests' own). */
    routes?: ClientRoutes[];
  } = {},
): Promise<RoomsHarness> {
  const serverName = opts.serverName ?? 'test.neurite.local';
  const rs = opts.rs ?? (await startComponents(['roomserver', 'serverkeyapi', 'userapi', 'eduserver'], { serverName }));
  const base = loadConfig(rs.dataDir)!;
  const config: NeuriteConfig = { ...base, rate_limits: false, ...opts.config };
  const userapi = rs.apis.get(userApi);
  const users = new TestUsers(userapi);
  const cctx = createClientApiContext({
    serverName,
    config,
    paths: dataPaths(rs.dataDir),
    roomserver: rs.apis.get(roomserverApi),
    userapi,
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
  for (const register of [versionsRoutes, ...roomRoutes, ...(opts.routes ?? [])]) await register(app, cctx);
  await app.ready();
  const h: RoomsHarness = {
    app,
    cctx,
    users,
    rs,
    serverName,
    call: injectCall(app),
    stop: async () => {
      await app.close();
      await rs.stop();
    },
    restart: async () => {
      await app.close();
      const again = await rs.restart();
      return startRooms({ serverName, ...(opts.config ? { config: opts.config } : {}), ...(opts.routes ? { routes: opts.routes } : {}), rs: again });
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
