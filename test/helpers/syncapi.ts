/**
 * The SyncAPI over the real Roomserver, UserAPI and ClientAPI, run in this
 * process on the real host: public requests go over the process's Unix
 * socket exactly as the gateway forwards them in split mode, so the
 * ClientAPI's routes (register, createRoom, send) and the SyncAPI's share
 * one server.
 */
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { initDataDir } from '../../src/platform/config/init.js';
import { tempDir } from './server.js';
import type { Test } from 'tap';
import { userApi } from '../../src/components/userapi/api.js';
import { startComponents, type ComponentHarness } from './components.js';
import { specResponse } from './spec-schemas.js';

export interface User {
  user_id: string;
  device_id: string;
  token: string;
}

export interface Res {
  status: number;
  body: any;
}

export interface SyncHarness {
  h: ComponentHarness;
  serverName: string;
  call(user: User | undefined, method: string, path: string, body?: unknown): Promise<Res>;
  /** Creates an account and logs it in. */
  user(localpart: string): Promise<User>;
  /** Another device (login) of an existing account. */
  login(localpart: string): Promise<User>;
  stop(): Promise<void>;
  restart(): Promise<SyncHarness>;
}

export const V3 = '/_matrix/client/v3';
export const enc = encodeURIComponent;

function httpCall(socketPath: string, method: string, path: string, token: string | undefined, body: unknown): Promise<Res> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const req = httpRequest(
      {
        socketPath,
        method,
        path,
        headers: {
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(payload !== undefined ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}),
        },
      },
      (res) => {
        let data = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (data += c));
        res.on('end', () => {
          let parsed: unknown = data;
          try {
            parsed = JSON.parse(data);
          } catch {
            // not JSON
          }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
      },
    );
    req.on('error', reject);
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

export async function startSync(opts: { dataDir?: string; serverName?: string } = {}): Promise<SyncHarness> {
  if (!opts.dataDir) {
    // Rate limits off: tests and measurements send faster than a person.
    const dataDir = join(tempDir(), 'data');
    initDataDir({ dataDir, serverName: opts.serverName ?? 'test.neurite.local', tls: 'off', bind: '127.0.0.1', mode: 'monolith', rateLimits: false });
    opts = { ...opts, dataDir, serverName: opts.serverName ?? 'test.neurite.local' };
  }
  const h = await startComponents(['roomserver', 'serverkeyapi', 'userapi', 'eduserver', 'keyserver', 'clientapi', 'syncapi'], opts);
  const userapi = h.apis.get(userApi);
  const harness: SyncHarness = {
    h,
    serverName: h.serverName,
    call: (user, method, path, body) => httpCall(h.group.socketPath, method, path, user?.token, body),
    user: async (localpart) => {
      const r = await userapi.createAccount({ username: localpart, password: 'correct horse battery', login: {} });
      return { user_id: r.user_id, device_id: r.login!.device_id, token: r.login!.access_token };
    },
    login: async (localpart) => {
      const r = await userapi.loginWithPassword({ user: localpart, password: 'correct horse battery', login: {} });
      return { user_id: r.user_id, device_id: r.device_id, token: r.access_token };
    },
    stop: () => h.stop(),
    restart: async () => {
      await h.stop();
      return startSync({ dataDir: h.dataDir, serverName: h.serverName });
    },
  };
  return harness;
}

/** Asserts a 200 whose body fits the spec's response schema of `operation`. */
export async function expectOk(t: Test, res: Res, operation: string, what = operation): Promise<void> {
  t.equal(res.status, 200, `${what}: 200 (${res.status === 200 ? 'ok' : JSON.stringify(res.body)})`);
  const problem = (await specResponse('client-server', operation, '200'))(res.body);
  t.equal(problem, undefined, `${what}: the response fits the spec's schema`);
}

export function expectError(t: Test, res: Res, status: number, errcode: string, what: string): void {
  t.match({ status: res.status, errcode: res.body?.errcode }, { status, errcode }, `${what}: ${status} ${errcode} (${res.body?.error ?? JSON.stringify(res.body)})`);
}

/** Room helpers through the ClientAPI. */
export function roomOps(s: SyncHarness) {
  let txn = 0;
  return {
    create: async (u: User, body: unknown = {}) => {
      const r = await s.call(u, 'POST', `${V3}/createRoom`, body);
      if (r.status !== 200) throw new Error(`createRoom: ${JSON.stringify(r.body)}`);
      return r.body.room_id as string;
    },
    send: async (u: User, roomId: string, content: unknown = { msgtype: 'm.text', body: 'hi' }, type = 'm.room.message', txnId = `t${++txn}`) => {
      const r = await s.call(u, 'PUT', `${V3}/rooms/${enc(roomId)}/send/${enc(type)}/${enc(txnId)}`, content);
      if (r.status !== 200) throw new Error(`send: ${JSON.stringify(r.body)}`);
      return r.body.event_id as string;
    },
    state: async (u: User, roomId: string, type: string, key: string, content: unknown) => {
      const r = await s.call(u, 'PUT', `${V3}/rooms/${enc(roomId)}/state/${enc(type)}/${enc(key)}`, content);
      if (r.status !== 200) throw new Error(`state: ${JSON.stringify(r.body)}`);
      return r.body.event_id as string;
    },
    invite: async (u: User, roomId: string, who: User) => {
      const r = await s.call(u, 'POST', `${V3}/rooms/${enc(roomId)}/invite`, { user_id: who.user_id });
      if (r.status !== 200) throw new Error(`invite: ${JSON.stringify(r.body)}`);
    },
    join: async (u: User, roomId: string) => {
      const r = await s.call(u, 'POST', `${V3}/rooms/${enc(roomId)}/join`, {});
      if (r.status !== 200) throw new Error(`join: ${JSON.stringify(r.body)}`);
    },
    leave: async (u: User, roomId: string) => {
      const r = await s.call(u, 'POST', `${V3}/rooms/${enc(roomId)}/leave`, {});
      if (r.status !== 200) throw new Error(`leave: ${JSON.stringify(r.body)}`);
    },
    sync: async (u: User, q: Record<string, string | number | boolean> = {}) => {
      const qs = new URLSearchParams(Object.entries(q).map(([k, v]): [string, string] => [k, String(v)])).toString();
      return s.call(u, 'GET', `${V3}/sync${qs ? `?${qs}` : ''}`);
    },
  };
}

/**
 * A client's sync loop: keeps `since`, and gathers what the answers said
 * (timeline events per room, the latest of everything else) until a
 * condition holds. Long-polls, so it waits for the server, never a timer.
 */
export class SyncStream {
  since: string | undefined;
  /** Timeline events per room, in the order received. */
  readonly timeline = new Map<string, any[]>();
  readonly bodies: any[] = [];

  constructor(
    private readonly s: SyncHarness,
    readonly user: User,
    private readonly query: Record<string, string> = {},
  ) {}

  async next(extra: Record<string, string | number | boolean> = {}): Promise<any> {
    const q = new URLSearchParams({ ...this.query, ...(this.since ? { since: this.since, timeout: '30000' } : {}) });
    for (const [k, v] of Object.entries(extra)) q.set(k, String(v));
    const r = await this.s.call(this.user, 'GET', `${V3}/sync?${q}`);
    if (r.status !== 200) throw new Error(`sync: ${r.status} ${JSON.stringify(r.body)}`);
    this.bodies.push(r.body);
    for (const section of ['join', 'leave'] as const) {
      for (const [roomId, room] of Object.entries<any>(r.body.rooms?.[section] ?? {})) {
        let list = this.timeline.get(roomId);
        if (!list) this.timeline.set(roomId, (list = []));
        list.push(...(room.timeline?.events ?? []));
      }
    }
    this.since = r.body.next_batch;
    return r.body;
  }

  /** Syncs until `pred` holds for an answer; returns that answer. */
  async until(pred: (body: any) => boolean, max = 50): Promise<any> {
    for (let i = 0; i < max; i++) {
      const body = await this.next();
      if (pred(body)) return body;
    }
    throw new Error('the condition never held');
  }

  /** Syncs until the room's timeline (gathered) holds an event with this id. */
  async untilEvent(roomId: string, eventId: string): Promise<any> {
    if (this.events(roomId).some((e) => e.event_id === eventId)) return undefined;
    return this.until(() => this.events(roomId).some((e) => e.event_id === eventId));
  }

  events(roomId: string): any[] {
    return this.timeline.get(roomId) ?? [];
  }
}
