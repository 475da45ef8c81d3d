/**
 * The MediaAPI and UserAPI in this process, on the real host: requests go
 * over the process's Unix socket as the gateway sends them in split mode,
 * bodies streamed. Test users are real accounts with real tokens.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { parse, stringify } from 'yaml';
import { userApi } from '../../src/components/userapi/api.js';
import { initDataDir } from '../../src/platform/config/init.js';
import { dataPaths } from '../../src/platform/config/paths.js';
import { startComponents, type ComponentHarness } from './components.js';
import type { Test } from 'tap';
import { initServer, removeDataDir, startServer, tempDir, versionsAnswer, waitFor, type Ports, type RunningServer } from './server.js';

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  json(): any;
}

export interface Caller {
  user_id: string;
  token: string;
}

export interface MediaHarness {
  h: ComponentHarness;
  dataDir: string;
  serverName: string;
  mediaDir: string;
  socketPath: string;
  user(localpart: string, opts?: { admin?: boolean; guest?: boolean }): Promise<Caller>;
  call(method: string, path: string, opts?: { token?: string; headers?: Record<string, string | number>; body?: Buffer | string | Readable }): Promise<Reply>;
  upload(who: Caller, body: Buffer, contentType?: string, filename?: string): Promise<string>;
  stop(): Promise<void>;
}

/** Adds a `media:` section (merged over the defaults) to a data directory's neurite.yaml. */
export function setMediaConfig(dataDir: string, media: Record<string, unknown>): void {
  const file = join(dataDir, 'neurite.yaml');
  const cfg = parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  cfg.media = { ...((cfg.media as Record<string, unknown>) ?? {}), ...media };
  writeFileSync(file, stringify(cfg));
}

export function socketCall(socketPath: string, method: string, path: string, opts: { token?: string; headers?: Record<string, string | number>; body?: Buffer | string | Readable } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { ...(opts.headers ?? {}) };
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    if ((typeof opts.body === 'string' || Buffer.isBuffer(opts.body)) && headers['content-length'] === undefined) headers['content-length'] = Buffer.byteLength(opts.body);
    const req = request({ socketPath, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        resolve({ status: res.statusCode!, headers: res.headers, body, json: () => JSON.parse(body.toString('utf8')) });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    const b = opts.body;
    if (b === undefined) req.end();
    else if (typeof b === 'string' || Buffer.isBuffer(b)) req.end(b);
    else b.pipe(req);
  });
}

export async function startMedia(opts: { media?: Record<string, unknown>; serverName?: string; dataDir?: string } = {}): Promise<MediaHarness> {
  const serverName = opts.serverName ?? 'media.test';
  let dataDir = opts.dataDir;
  if (!dataDir) {
    dataDir = join(tempDir(), 'data');
    initDataDir({ dataDir, serverName, tls: 'off', bind: '127.0.0.1', mode: 'monolith' });
  }
  if (opts.media) setMediaConfig(dataDir, opts.media);
  const h = await startComponents(['userapi', 'mediaapi'], { dataDir, serverName });
  const users = h.apis.get(userApi);
  const socketPath = h.group.socketPath;
  const m: MediaHarness = {
    h,
    dataDir,
    serverName,
    mediaDir: dataPaths(dataDir).mediaDir,
    socketPath,
    user: async (localpart, uopts = {}) => {
      const created = await users.createAccount({
        ...(uopts.guest ? { guest: true } : { username: localpart, password: `password of ${localpart}` }),
        ...(uopts.admin ? { admin: true } : {}),
        login: { device_id: `DEV${localpart.toUpperCase()}` },
      });
      return { user_id: created.user_id, token: created.login!.access_token };
    },
    call: (method, path, copts) => socketCall(socketPath, method, path, copts),
    upload: async (who, body, contentType = 'application/octet-stream', filename) => {
      const r = await m.call('POST', `/_matrix/media/v3/upload${filename !== undefined ? `?filename=${encodeURIComponent(filename)}` : ''}`, {
        token: who.token,
        headers: { 'content-type': contentType },
        body,
      });
      if (r.status !== 200) throw new Error(`upload failed: ${r.status} ${r.body.toString()}`);
      return r.json().content_uri as string;
    },
    stop: () => h.stop(),
  };
  return m;
}

/** `/_matrix/client/v1/media/download/{server}/{id}` from an mxc URI. */
export function downloadPath(mxc: string, fileName?: string): string {
  const { server, id } = splitMxc(mxc);
  return `/_matrix/client/v1/media/download/${server}/${id}${fileName !== undefined ? `/${encodeURIComponent(fileName)}` : ''}`;
}

export function thumbnailPath(mxc: string, q: Record<string, string | number | boolean>, legacy = false): string {
  const { server, id } = splitMxc(mxc);
  const qs = new URLSearchParams(Object.entries(q).map(([k, v]): [string, string] => [k, String(v)])).toString();
  return `${legacy ? '/_matrix/media/v3' : '/_matrix/client/v1/media'}/thumbnail/${server}/${id}?${qs}`;
}

export function splitMxc(mxc: string): { server: string; id: string } {
  const m = /^mxc:\/\/([^/]+)\/(.+)$/.exec(mxc);
  if (!m) throw new Error(`not an mxc URI: ${mxc}`);
  return { server: m[1]!, id: m[2]! };
}

/**
 * The built server with open registration (and a media section when given),
 * stopped and removed when the test ends, also when it fails to come up: its
 * stop is registered before waiting for it, and the wait is long, since a
 * loaded machine can take a while to start fourteen processes.
 */
export async function startMediaServer(t: Test, mode: 'split' | 'monolith', media?: Record<string, unknown>): Promise<{ dataDir: string; ports: Ports; server: RunningServer }> {
  const { dataDir, ports } = await initServer({ mode, extra: ['--registration', 'open'] });
  if (media) setMediaConfig(dataDir, media);
  const server = await startServer(dataDir);
  t.teardown(async () => {
    // Closing its stdin stops the server too (NEURITE_STOP_ON_STDIN_CLOSE); with it, a SIGTERM'd server whose stdin listener would keep it alive still exits.
    server.proc.stdin?.end();
    await server.stop();
    removeDataDir(dataDir);
  });
  await waitFor('the client port to answer', () => versionsAnswer(ports.client), 120_000);
  return { dataDir, ports, server };
}
