/**
 * The EDU routes of the ClientAPI on a real EDUServer, UserAPI and
 * roomserver, run in one process group and called over its Unix socket as
 * in split mode. Users are real accounts with real access tokens; requests
 * go through fastify's inject.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { ClientApiContext } from '../../src/components/clientapi/context.js';
import { eduRoutes } from '../../src/components/clientapi/routes/edu/index.js';
import { initDataDir } from '../../src/platform/config/init.js';
import { logReaderApi } from '../../src/platform/log/reader-api.js';
import type { TopicDescriptor } from '../../src/platform/log/topic.js';
import { startComponents, type ComponentHarness } from './components.js';
import { tempDir } from './server.js';
import { injectCall } from './inject.js';
import { clientRoutesApp } from './client-app.js';

export interface EduUser {
  user_id: string;
  device_id: string;
  token: string;
}

export interface EduHarness {
  app: FastifyInstance;
  cctx: ClientApiContext;
  comps: ComponentHarness;
  serverName: string;
  call(user: EduUser | undefined, method: string, url: string, body?: unknown): Promise<{ status: number; body: any }>;
  /** Every record of an EDUServer topic so far. */
  records<R>(topic: TopicDescriptor<R>): Promise<R[]>;
  /** A new account logged in on a new device. */
  register(localpart: string): Promise<EduUser>;
  /** Another login (device) of an existing account. */
  login(localpart: string, deviceId: string): Promise<EduUser>;
  stop(): Promise<void>;
  /** Stops everything and starts it again on the same data directory. */
  restart(): Promise<EduHarness>;
}

const COMPONENTS = ['roomserver', 'serverkeyapi', 'userapi', 'eduserver'] as const;
const PASSWORD = 'correct horse battery staple';

export async function startEdu(opts: { presence?: boolean; dataDir?: string } = {}): Promise<EduHarness> {
  const serverName = 'edu.neurite.local';
  let dataDir = opts.dataDir;
  if (!dataDir) {
    dataDir = join(tempDir(), 'data');
    initDataDir({ dataDir, serverName, tls: 'off', bind: '127.0.0.1', mode: 'monolith' });
    if (opts.presence === false) {
      const file = join(dataDir, 'neurite.yaml');
      const yaml = readFileSync(file, 'utf8');
      if (!/^presence: true$/m.test(yaml)) throw new Error('neurite.yaml has no presence line');
      writeFileSync(file, yaml.replace(/^presence: true$/m, 'presence: false'));
    }
  }
  const comps = await startComponents([...COMPONENTS], { dataDir, serverName });
  const { app, cctx } = await clientRoutesApp(comps, { dataDir, serverName, routes: eduRoutes });
  const login = async (localpart: string, deviceId: string): Promise<EduUser> => {
    const r = await cctx.userapi.loginWithPassword({ user: localpart, password: PASSWORD, login: { device_id: deviceId } });
    return { user_id: r.user_id, device_id: r.device_id, token: r.access_token };
  };
  const h: EduHarness = {
    app,
    cctx,
    comps,
    serverName,
    call: injectCall(app),
    records: async <R>(topic: TopicDescriptor<R>) => {
      const log = comps.apis.get(logReaderApi('eduserver'));
      const out: R[] = [];
      for (let from = 1; ; ) {
        const { records } = await log.read({ topic: topic.name, consumer: 'test', from, limit: 1000, waitMs: 0, durable: 0 });
        if (records.length === 0) return out;
        for (const r of records) out.push(r.record as R);
        from = records[records.length - 1]!.offset + 1;
      }
    },
    register: async (localpart) => {
      const { login: l } = await cctx.userapi.createAccount({ username: localpart, password: PASSWORD, login: { device_id: `${localpart.toUpperCase()}DEV` } });
      return { user_id: l!.user_id, device_id: l!.device_id, token: l!.access_token };
    },
    login: (localpart, deviceId) => login(localpart, deviceId),
    stop: async () => {
      await app.close();
      await comps.stop();
    },
    restart: async () => {
      await h.stop();
      return startEdu({ dataDir: dataDir! });
    },
  };
  return h;
}

/** A room made by `creator` (public, so others join by id) with `members` joined. */
export async function roomWith(h: EduHarness, creator: EduUser, members: EduUser[]): Promise<string> {
  const { room_id } = await h.cctx.roomserver.createRoom({ creator: creator.user_id, preset: 'public_chat' });
  for (const m of members) await h.cctx.roomserver.performJoin({ room_id, user_id: m.user_id });
  return room_id;
}

export async function sendText(h: EduHarness, roomId: string, sender: EduUser, body: string, extra: Record<string, unknown> = {}): Promise<string> {
  const { event_id } = await h.cctx.roomserver.sendEvent({ room_id: roomId, sender: sender.user_id, type: 'm.room.message', content: { msgtype: 'm.text', body, ...extra } as never });
  return event_id;
}
