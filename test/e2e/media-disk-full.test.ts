/**
 * A disk that fills up: the built server runs in a private mount namespace
 * (unshare) with a 4 MiB tmpfs as its media directory, so the kernel
 * answers ENOSPC for real. An upload that says it will not fit is refused
 * before its body; one that runs out of space midway gets 507 and leaves no
 * partial file (the space comes back: the next upload fits). Skipped where
 * unprivileged namespaces are not allowed.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import t from 'tap';
import { setMediaConfig } from '../helpers/media.js';
import { register } from '../helpers/sdk.js';
import { initServer, NEURITE, removeDataDir, versionsAnswer, waitFor } from '../helpers/server.js';

const MiB = 1024 * 1024;
const canUnshare = spawnSync('unshare', ['-rm', 'sh', '-c', 'mkdir -p /tmp/.nt-probe && mount -t tmpfs -o size=1m tmpfs /tmp/.nt-probe']).status === 0;

function upload(port: number, token: string, size: number, chunked: boolean): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' };
    if (!chunked) headers['content-length'] = size;
    const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/_matrix/media/v3/upload', headers }, (res) => {
      const c: Buffer[] = [];
      res.on('data', (b: Buffer) => c.push(b));
      res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(Buffer.concat(c).toString()) }));
    });
    req.on('error', (e: NodeJS.ErrnoException) => (e.code === 'EPIPE' || e.code === 'ECONNRESET' ? undefined : reject(e)));
    let sent = 0;
    const pump = () => {
      while (sent < size) {
        const n = Math.min(64 * 1024, size - sent);
        sent += n;
        if (!req.write(Buffer.alloc(n, 7))) return void req.once('drain', pump);
      }
      req.end();
    };
    pump();
  });
}

/** A chunked upload started with one chunk; `finish` sends the rest up to `size`. */
function partial(port: number, token: string): { finish(size: number): Promise<{ status: number; body: any }> } {
  let answer: (v: { status: number; body: any }) => void;
  const done = new Promise<{ status: number; body: any }>((r) => (answer = r));
  const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/_matrix/media/v3/upload', headers: { authorization: `Bearer ${token}` } }, (res) => {
    const c: Buffer[] = [];
    res.on('data', (b: Buffer) => c.push(b));
    res.on('end', () => answer({ status: res.statusCode!, body: JSON.parse(Buffer.concat(c).toString()) }));
  });
  req.on('error', () => undefined);
  const chunk = 64 * 1024;
  req.write(Buffer.alloc(chunk, 1));
  return {
    finish: (size) => {
      let sent = chunk;
      const pump = () => {
        while (sent < size) {
          sent += chunk;
          if (!req.write(Buffer.alloc(chunk, 2))) return void req.once('drain', pump);
        }
        req.end();
      };
      pump();
      return done;
    },
  };
}

t.test('a full disk', { skip: canUnshare ? false : 'unprivileged user and mount namespaces are not available here' }, async (t) => {
  const { dataDir, ports } = await initServer({ mode: 'monolith', extra: ['--registration', 'open'] });
  setMediaConfig(dataDir, { min_free_bytes: 0, user_quota_bytes: 0 });
  const mediaDir = join(dataDir, 'media');
  mkdirSync(mediaDir, { recursive: true });
  // The shell mounts the tmpfs in its new namespace, then becomes the server.
  const proc = spawn('unshare', ['-rm', 'sh', '-c', 'mount -t tmpfs -o size=4m tmpfs "$1" && exec "$2" "$3" start --data-dir "$4"', 'sh', mediaDir, process.execPath, NEURITE, dataDir], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NEURITE_LOG_LEVEL: 'warn' },
  });
  let out = '';
  proc.stdout.on('data', (d: Buffer) => (out += d));
  proc.stderr.on('data', (d: Buffer) => (out += d));
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  t.teardown(async () => {
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
    removeDataDir(dataDir);
  });
  await waitFor('the server to answer', () => versionsAnswer(ports.client), 120_000).catch((e: Error) => {
    throw new Error(`${e.message}: ${out}`);
  });
  // The media directory as the server sees it, through its mount namespace.
  const seen = (sub: string) => readdirSync(join(`/proc/${proc.pid}/root`, mediaDir, sub));
  const alice = await register(`http://127.0.0.1:${ports.client}`, 'alice', 'correct horse battery');
  const token = alice.getAccessToken()!;

  const declared = await upload(ports.client, token, 8 * MiB, false);
  t.match(declared, { status: 507, body: { errcode: 'M_UNKNOWN', error: /no space left .*reserve/ } }, '8 MiB declared on a 4 MiB disk: 507 before the body');
  const alone = await upload(ports.client, token, 8 * MiB, true);
  t.match(alone, { status: 507, body: { errcode: 'M_UNKNOWN', error: /no space left .*reserve/ } }, 'a chunked 8 MiB body: 507 once it passes the free space it started with');
  t.same(seen('tmp'), [], 'no partial file left in tmp/');

  // Two uploads that each fit the free space but not together: the disk itself runs out (ENOSPC).
  const a = partial(ports.client, token);
  const b = partial(ports.client, token);
  await waitFor('both uploads to be receiving', async () => (seen('tmp').length === 2 ? true : undefined));
  const results = await Promise.all([a.finish(3 * MiB), b.finish(3 * MiB)]);
  t.ok(
    results.some((r) => r.status === 507 && r.body.errcode === 'M_UNKNOWN' && /disk is full/.test(r.body.error)),
    `ENOSPC: 507 M_UNKNOWN "disk is full" (${results.map((r) => r.status).join(', ')})`,
  );
  t.same(seen('tmp'), [], 'no partial file left in tmp/');
  const stored = results.filter((r) => r.status === 200).length;
  t.equal(seen('content').length, stored, 'only complete uploads are stored');

  const small = await upload(ports.client, token, 256 * 1024, true);
  t.equal(small.status, 200, 'the space of the failed upload came back: the next one fits');
  t.same(seen('tmp'), [], 'and its temp file became a content file');
  t.equal((await fetch(`http://127.0.0.1:${ports.client}/_matrix/client/versions`)).status, 200, 'the server is fine');
});
