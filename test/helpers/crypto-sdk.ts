/**
 * matrix-js-sdk with its Rust crypto (WASM, in Node, keys in memory: a new
 * client is a new device) for the end-to-end encryption tests: logging in a
 * device, waiting for what the SDK does in the background (sync, key
 * uploads, decryption) by re-checking on its events, and a fetch that
 * records requests and can hold some back.
 */
import { ClientEvent, createClient, MatrixEventEvent, RoomEvent, SyncState, type ICreateClientOpts, type MatrixClient, type MatrixEvent } from 'matrix-js-sdk';
import { logger as sdkLogger, type Logger } from 'matrix-js-sdk/lib/logger.js';
import type { Test } from 'tap';
import { register } from './sdk.js';
import { initServer, removeDataDir, startServer, versionsAnswer, waitFor, type RunningServer } from './server.js';
import { realSetTimeout } from './sdk-timers.js';

(sdkLogger as unknown as { setLevel(level: string): void }).setLevel('silent');

/** The clients' own logger: the crypto layer logs through per-room child loggers that the global level does not reach. */
const quiet: Logger = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, getChild: () => quiet };

/** Resolves once `check` gives a value, re-checking whenever `emitter` emits one of `events` (and every 100 ms, for what emits nothing). */
export function until<T>(emitter: unknown, events: string[], check: () => T | undefined | Promise<T | undefined>): Promise<T> {
  const em = emitter as { on(e: string, f: () => void): void; off(e: string, f: () => void): void };
  return new Promise((resolve, reject) => {
    let done = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (v: T) => {
      done = true;
      clearTimeout(timer);
      for (const e of events) em.off(e, test);
      resolve(v);
    };
    const test = () => {
      if (done) return;
      Promise.resolve()
        .then(check)
        .then((v) => {
          if (v !== undefined && !done) finish(v);
        }, reject);
    };
    const tick = () => {
      test();
      if (!done) timer = realSetTimeout(tick, 100);
    };
    for (const e of events) em.on(e, test);
    tick();
  });
}

/** One HTTP exchange the client made. */
export interface Exchange {
  method: string;
  path: string;
  body: unknown;
  status: number;
  response: unknown;
}

/**
 * A fetch that records the client's requests, and holds back requests whose
 * path matches a closed gate until it opens (nothing is timed: the test
 * opens it).
 */
export class RecordingFetch {
  readonly exchanges: Exchange[] = [];
  private gate: { match: RegExp; opened: Promise<void>; open: () => void } | undefined;

  readonly fetch: typeof globalThis.fetch = async (input, init) => {
    const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
    const gate = this.gate;
    if (gate && gate.match.test(url.pathname)) await gate.opened;
    const res = await globalThis.fetch(input, init);
    let body: unknown;
    try {
      body = typeof init?.body === 'string' ? JSON.parse(init.body) : undefined;
    } catch {
      body = undefined;
    }
    const copy = res.clone();
    const response = await copy.json().catch(() => undefined);
    this.exchanges.push({ method: init?.method ?? 'GET', path: url.pathname, body, status: res.status, response });
    return res;
  };

  /** Holds requests to matching paths until the returned function is called. */
  hold(match: RegExp): () => void {
    let open!: () => void;
    const opened = new Promise<void>((r) => (open = r));
    this.gate = { match, opened, open };
    return () => {
      this.gate = undefined;
      open();
    };
  }

  of(path: RegExp): Exchange[] {
    return this.exchanges.filter((e) => e.status === 200 && path.test(e.path));
  }
}

export interface DeviceOptions {
  deviceId?: string;
  fetch?: RecordingFetch;
  /** The secret storage key, for bootstrapping and reading secret storage. */
  secretStorageKey?: () => Uint8Array | undefined;
}

/** Logs a user in on a new device with Rust crypto, syncing; resolves once the first sync is done and the device's keys are on the server. */
export async function cryptoDevice(baseUrl: string, user: string, password: string, opts: DeviceOptions = {}): Promise<MatrixClient> {
  const anon = createClient({ baseUrl });
  const login = await anon.loginRequest({ type: 'm.login.password', identifier: { type: 'm.id.user', user }, password, ...(opts.deviceId ? { device_id: opts.deviceId } : {}) });
  const clientOpts: ICreateClientOpts = {
    baseUrl,
    accessToken: login.access_token,
    userId: login.user_id,
    deviceId: login.device_id,
    logger: quiet,
    ...(opts.fetch ? { fetchFn: opts.fetch.fetch } : {}),
    cryptoCallbacks: {
      getSecretStorageKey: async ({ keys }) => {
        const key = opts.secretStorageKey?.();
        const keyId = Object.keys(keys)[0];
        return key && keyId ? [keyId, new Uint8Array(key)] : null;
      },
    },
  };
  const client = createClient(clientOpts);
  await client.initRustCrypto({ useIndexedDB: false });
  await client.startClient({ initialSyncLimit: 50 });
  await until(client, [ClientEvent.Sync], () => (client.getSyncState() === SyncState.Prepared || client.getSyncState() === SyncState.Syncing ? true : undefined));
  await deviceKeysOnServer(baseUrl, login.access_token, login.user_id, login.device_id);
  return client;
}

/** Waits until the server shows the device's keys (the SDK uploads them in the background). */
export async function deviceKeysOnServer(baseUrl: string, token: string, userId: string, deviceId: string): Promise<void> {
  await until({ on() {}, off() {} }, [], async () => {
    const r = await globalThis.fetch(`${baseUrl}/_matrix/client/v3/keys/query`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ device_keys: { [userId]: [deviceId] } }),
    });
    const body = (await r.json()) as { device_keys?: Record<string, Record<string, unknown>> };
    return body.device_keys?.[userId]?.[deviceId] ? true : undefined;
  });
}

/** A client-server request with the client's token, outside the SDK's crypto. */
export async function raw(client: MatrixClient, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const r = await globalThis.fetch(`${client.baseUrl}/_matrix/client/v3${path}`, {
    method,
    headers: { authorization: `Bearer ${client.getAccessToken()}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: r.status, body: await r.json().catch(() => undefined) };
}

/** Waits until the client sees `userId` joined to the room. */
export function joined(client: MatrixClient, roomId: string, userId: string): Promise<true> {
  return until(client, [RoomEvent.Timeline, ClientEvent.Room], () => (client.getRoom(roomId)?.getMember(userId)?.membership === 'join' ? true : undefined));
}

/** The event as the client has it in the room's live timeline, once it is there. */
export function eventIn(client: MatrixClient, roomId: string, eventId: string): Promise<MatrixEvent> {
  return until(client, [RoomEvent.Timeline, ClientEvent.Room], () => client.getRoom(roomId)?.getLiveTimeline().getEvents().find((e) => e.getId() === eventId));
}

/** The clear body of an event once the client has decrypted it. */
export async function decryptedBody(client: MatrixClient, roomId: string, eventId: string): Promise<string> {
  const ev = await eventIn(client, roomId, eventId);
  return until(ev, [MatrixEventEvent.Decrypted], () => {
    if (ev.isBeingDecrypted() || ev.isDecryptionFailure()) return undefined;
    const body = ev.getClearContent()?.body;
    return typeof body === 'string' ? body : undefined;
  });
}

/** Waits until the client's crypto knows this device of the user (it learns of new devices through /sync's device_lists). */
export function knowsDevice(client: MatrixClient, userId: string, deviceId: string): Promise<true> {
  return until(client, [ClientEvent.Sync], async () => ((await client.getCrypto()!.getUserDeviceInfo([userId])).get(userId)?.has(deviceId) ? true : undefined));
}

/** An m.room.encryption state event for createRoom's initial_state. */
export const ENCRYPTION = { type: 'm.room.encryption', state_key: '', content: { algorithm: 'm.megolm.v1.aes-sha2' } };

/**
 * The built server in its own data directory with these accounts; `stop`
 * stops the clients (those in `clients` when it runs) and the server, and
 * the test's teardown does so too and removes the data.
 */
export async function e2eeServer(
  t: Test,
  mode: 'monolith' | 'split',
  passwords: Record<string, string>,
  clients: MatrixClient[],
): Promise<{ baseUrl: string; dataDir: string; server: RunningServer; stop: () => Promise<void> }> {
  const { dataDir, ports } = await initServer({ mode, tls: 'off', extra: ['--registration', 'open'] });
  // Started without waiting, so that the teardown below stops it even when it never answers.
  const server = await startServer(dataDir);
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    for (const c of clients) c.stopClient();
    await server.stop();
  };
  t.teardown(async () => {
    await stop();
    removeDataDir(dataDir);
  });
  // Thirteen processes on a busy two-core machine can take a while.
  await waitFor('the client port to answer', () => versionsAnswer(ports.client), 120_000);
  const baseUrl = `http://127.0.0.1:${ports.client}`;
  for (const [name, password] of Object.entries(passwords)) await register(baseUrl, name, password);
  return { baseUrl, dataDir, server, stop };
}
