/**
 * The key routes of the ClientAPI on a real KeyServer and UserAPI, run in
 * one process group and called over its Unix socket as in split mode.
 * Users are real accounts with real access tokens; requests go through
 * fastify's inject. Keys are made here with ed25519 (node:crypto) and
 * signed as clients sign them.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { encodeBase64 } from '../../src/core/base64.js';
import { generateSigningKey, type SigningKey } from '../../src/core/ed25519.js';
import { signJson } from '../../src/core/signing.js';
import type { ClientApiContext } from '../../src/components/clientapi/context.js';
import { keyRoutes } from '../../src/components/clientapi/routes/keys/index.js';
import { keyChanges, type KeyChange } from '../../src/components/keyserver/topics.js';
import { initDataDir } from '../../src/platform/config/init.js';
import { logReaderApi } from '../../src/platform/log/reader-api.js';
import { startComponents, type ComponentHarness } from './components.js';
import { tempDir } from './server.js';
import { injectCall } from './inject.js';
import { clientRoutesApp } from './client-app.js';

export const V3 = '/_matrix/client/v3';
export const PASSWORD = 'correct horse battery staple';

export interface KeyUser {
  user_id: string;
  device_id: string;
  token: string;
  is_guest?: boolean;
}

export interface KeysHarness {
  app: FastifyInstance;
  cctx: ClientApiContext;
  comps: ComponentHarness;
  serverName: string;
  call(user: KeyUser | undefined, method: string, url: string, body?: unknown): Promise<{ status: number; body: any }>;
  /** Every key_changes record so far. */
  changes(): Promise<KeyChange[]>;
  register(localpart: string): Promise<KeyUser>;
  /** Another device of an existing account. */
  login(localpart: string, deviceId: string): Promise<KeyUser>;
  guest(): Promise<KeyUser>;
  stop(): Promise<void>;
  restart(): Promise<KeysHarness>;
}

const COMPONENTS = ['roomserver', 'serverkeyapi', 'userapi', 'eduserver', 'keyserver'] as const;

export async function startKeys(opts: { dataDir?: string } = {}): Promise<KeysHarness> {
  const serverName = 'keys.neurite.local';
  let dataDir = opts.dataDir;
  if (!dataDir) {
    dataDir = join(tempDir(), 'data');
    initDataDir({ dataDir, serverName, tls: 'off', bind: '127.0.0.1', mode: 'monolith' });
  }
  const comps = await startComponents([...COMPONENTS], { dataDir, serverName });
  const { app, cctx } = await clientRoutesApp(comps, { dataDir, serverName, routes: keyRoutes, keyserver: true });
  /**
   * A new device is a device-list change the KeyServer records once its consumer of the UserAPI's device
   * changes gets to it: waited for here, so that the records a test counts after are its own.
   */
  const newDeviceNoted = async (userId: string, deviceId: string) => {
    const until = Date.now() + 5000;
    while (Date.now() < until && !(await h.changes()).some((c) => c.kind === 'device' && c.user_id === userId && c.device_id === deviceId)) {
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const h: KeysHarness = {
    app,
    cctx,
    comps,
    serverName,
    call: injectCall(app),
    changes: async () => {
      const log = comps.apis.get(logReaderApi('keyserver'));
      const out: KeyChange[] = [];
      for (let from = 1; ; ) {
        const { records } = await log.read({ topic: keyChanges.name, consumer: 'test', from, limit: 1000, waitMs: 0, durable: 0 });
        if (records.length === 0) return out;
        for (const r of records) out.push(r.record as KeyChange);
        from = records[records.length - 1]!.offset + 1;
      }
    },
    register: async (localpart) => {
      const { login } = await cctx.userapi.createAccount({ username: localpart, password: PASSWORD, login: { device_id: `${localpart.toUpperCase()}DEV`, display_name: `${localpart}'s laptop` } });
      await newDeviceNoted(login!.user_id, login!.device_id);
      return { user_id: login!.user_id, device_id: login!.device_id, token: login!.access_token };
    },
    login: async (localpart, deviceId) => {
      const r = await cctx.userapi.loginWithPassword({ user: localpart, password: PASSWORD, login: { device_id: deviceId } });
      await newDeviceNoted(r.user_id, r.device_id);
      return { user_id: r.user_id, device_id: r.device_id, token: r.access_token };
    },
    guest: async () => {
      const { login } = await cctx.userapi.createAccount({ guest: true, login: {} });
      return { user_id: login!.user_id, device_id: login!.device_id, token: login!.access_token, is_guest: true };
    },
    stop: async () => {
      await app.close();
      await comps.stop();
    },
    restart: async () => {
      await h.stop();
      return startKeys({ dataDir: dataDir! });
    },
  };
  return h;
}

export const b64 = (bytes: Uint8Array) => encodeBase64(bytes);
export const curveKey = () => encodeBase64(randomBytes(32));

/** A device's crypto as a client holds it: an ed25519 key that signs its device keys and one-time keys. */
export class TestDevice {
  readonly ed: SigningKey;
  readonly curve = curveKey();

  constructor(readonly user: KeyUser) {
    this.ed = generateSigningKey(`ed25519:${user.device_id}`);
  }

  get edPublic(): string {
    return b64(this.ed.publicKey);
  }

  deviceKeys(extra: Record<string, unknown> = {}): Record<string, any> {
    const { user_id, device_id } = this.user;
    return signJson(
      {
        user_id,
        device_id,
        algorithms: ['m.olm.v1.curve25519-aes-sha2', 'm.megolm.v1.aes-sha2'],
        keys: { [`curve25519:${device_id}`]: this.curve, [`ed25519:${device_id}`]: this.edPublic },
        ...extra,
      },
      user_id,
      this.ed,
    );
  }

  /** A signed_curve25519 key object. */
  signedKey(fallback = false): Record<string, any> {
    return signJson({ key: curveKey(), ...(fallback ? { fallback: true } : {}) }, this.user.user_id, this.ed);
  }

  /** `n` one-time keys with ids prefix0..prefix(n-1). */
  oneTimeKeys(n: number, prefix = 'k'): Record<string, any> {
    const out: Record<string, any> = {};
    for (let i = 0; i < n; i++) out[`signed_curve25519:${prefix}${i}`] = this.signedKey();
    return out;
  }
}

/** A user's cross-signing keys, as a client makes them: the master signs the other two. */
export class TestCrossSigning {
  readonly master = generateSigningKey('');
  readonly selfSigning = generateSigningKey('');
  readonly userSigning = generateSigningKey('');

  constructor(readonly userId: string) {}

  /** The signing key under its cross-signing key id (`ed25519:<public key>`). */
  static idOf(k: SigningKey): string {
    return `ed25519:${b64(k.publicKey)}`;
  }

  signer(k: SigningKey): SigningKey {
    return { ...k, keyId: TestCrossSigning.idOf(k) };
  }

  private key(k: SigningKey, usage: string): Record<string, any> {
    return { user_id: this.userId, usage: [usage], keys: { [TestCrossSigning.idOf(k)]: b64(k.publicKey) } };
  }

  masterKey(): Record<string, any> {
    return this.key(this.master, 'master');
  }

  selfSigningKey(by: SigningKey = this.master): Record<string, any> {
    return signJson(this.key(this.selfSigning, 'self_signing'), this.userId, this.signer(by));
  }

  userSigningKey(by: SigningKey = this.master): Record<string, any> {
    return signJson(this.key(this.userSigning, 'user_signing'), this.userId, this.signer(by));
  }

  all(): Record<string, any> {
    return { master_key: this.masterKey(), self_signing_key: this.selfSigningKey(), user_signing_key: this.userSigningKey() };
  }

  /** `obj` signed by one of these keys (as this user). */
  sign(obj: Record<string, any>, k: SigningKey): Record<string, any> {
    return signJson(obj, this.userId, this.signer(k));
  }
}
