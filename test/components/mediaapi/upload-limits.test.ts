/**
 * What an upload may not do: pass the size limit (refused before the body
 * is read when Content-Length says so, and as soon as it passes the limit
 * when it does not), pass a user's quota, eat into the disk reserve; an
 * interrupted upload leaves nothing behind. And the asynchronous upload of
 * spec v1.7: /create, then PUT, with downloads waiting for it.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { Agent, request, type IncomingMessage } from 'node:http';
import { join } from 'node:path';
import t from 'tap';
import { downloadPath, splitMxc, startMedia, type Caller, type MediaHarness } from '../../helpers/media.js';
import { waitFor } from '../../helpers/server.js';

const MiB = 1024 * 1024;

function contentFiles(m: MediaHarness): number {
  let n = 0;
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) e.isDirectory() ? walk(join(d, e.name)) : n++;
  };
  walk(join(m.mediaDir, 'content'));
  return n;
}
const tempFiles = (m: MediaHarness) => readdirSync(join(m.mediaDir, 'tmp')).length;

interface Partial {
  res: IncomingMessage;
  body: string;
  /** Bytes this side had written when the answer came. */
  written: number;
  /** Resolves when the server closes the connection. */
  closed: Promise<void>;
}

/**
 * An upload that keeps sending `chunk`-sized pieces until the server
 * answers (or `total` is sent), never finishing on its own.
 */
function partialUpload(m: MediaHarness, who: Caller, opts: { contentLength?: number; chunk: number; total: number; path?: string; method?: string }): Promise<Partial> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { authorization: `Bearer ${who.token}`, 'content-type': 'application/octet-stream' };
    if (opts.contentLength !== undefined) headers['content-length'] = opts.contentLength;
    // A kept-alive connection of its own, as clients keep them: its closing is the server's doing, and this request's.
    const req = request({ socketPath: m.socketPath, method: opts.method ?? 'POST', path: opts.path ?? '/_matrix/media/v3/upload', headers, agent: new Agent({ keepAlive: true }) });
    let written = 0;
    let answered = false;
    const closed = new Promise<void>((r) => req.on('close', () => r()));
    req.on('error', () => undefined);
    req.on('response', (res) => {
      answered = true;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ res, body: Buffer.concat(chunks).toString(), written, closed }));
      res.on('error', reject);
    });
    const pump = () => {
      while (!answered && written < opts.total) {
        written += opts.chunk;
        if (!req.write(randomBytes(opts.chunk))) return void req.once('drain', pump);
      }
    };
    pump();
  });
}

t.test('size limit', async (t) => {
  const m = await startMedia({ media: { max_upload_bytes: MiB } });
  t.teardown(() => m.stop());
  const alice = await m.user('alice');

  const exact = await m.call('POST', '/_matrix/media/v3/upload', { token: alice.token, body: randomBytes(MiB) });
  t.equal(exact.status, 200, 'exactly the limit is accepted');
  const files = contentFiles(m);

  const declared = await partialUpload(m, alice, { contentLength: 100 * MiB, chunk: 1024, total: 1024 });
  t.equal(declared.res.statusCode, 413, 'Content-Length over the limit: 413');
  t.equal(JSON.parse(declared.body).errcode, 'M_TOO_LARGE');
  t.equal(declared.written, 1024, 'answered while only the first KiB of 100 MiB was sent');
  await declared.closed;
  t.pass('then the server closes the connection instead of waiting for the rest');

  const chunked = await partialUpload(m, alice, { chunk: 64 * 1024, total: 100 * MiB });
  t.equal(chunked.res.statusCode, 413, 'a chunked body passing the limit: 413');
  t.equal(JSON.parse(chunked.body).errcode, 'M_TOO_LARGE');
  t.ok(chunked.written < 100 * MiB, `answered after ${(chunked.written / MiB).toFixed(1)} MiB of 100 were sent`);
  await chunked.closed;

  t.equal(tempFiles(m), 0, 'no temp file left');
  t.equal(contentFiles(m), files, 'nothing stored');

  const after = await m.call('POST', '/_matrix/media/v3/upload', { token: alice.token, body: Buffer.from('still fine') });
  t.equal(after.status, 200, 'the server goes on');
});

t.test('quota', async (t) => {
  const m = await startMedia({ media: { user_quota_bytes: 1.5 * MiB } });
  t.teardown(() => m.stop());
  const alice = await m.user('alice');
  const admin = await m.user('admin', { admin: true });
  const bob = await m.user('bob');

  const first = await m.upload(alice, randomBytes(MiB));
  const over = await m.call('POST', '/_matrix/media/v3/upload', { token: alice.token, body: randomBytes(MiB) });
  t.match({ status: over.status, ...over.json() }, { status: 403, errcode: 'M_FORBIDDEN' }, 'a declared size past the quota: 403 M_FORBIDDEN');

  t.equal((await m.call('POST', '/_matrix/media/v3/upload', { token: bob.token, body: randomBytes(MiB) })).status, 200, 'the quota is per user');

  const { id } = splitMxc(first);
  const del = await m.call('DELETE', `/_synapse/admin/v1/media/${m.serverName}/${id}`, { token: admin.token });
  t.equal(del.status, 200, 'an admin deletes the first upload');
  t.equal((await m.call('POST', '/_matrix/media/v3/upload', { token: alice.token, body: randomBytes(MiB) })).status, 200, 'which frees the quota');
});

t.test('a chunked upload past the quota is refused once received', async (t) => {
  const m = await startMedia({ media: { user_quota_bytes: MiB } });
  t.teardown(() => m.stop());
  const alice = await m.user('alice');
  await m.upload(alice, randomBytes(MiB / 2));
  const req = request({ socketPath: m.socketPath, method: 'POST', path: '/_matrix/media/v3/upload', headers: { authorization: `Bearer ${alice.token}` } });
  const answer = new Promise<{ status: number; body: any }>((resolve) =>
    req.on('response', (res) => {
      const c: Buffer[] = [];
      res.on('data', (b: Buffer) => c.push(b));
      res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(Buffer.concat(c).toString()) }));
    }),
  );
  req.write(randomBytes(MiB / 4));
  req.end(randomBytes(MiB / 2));
  t.match(await answer, { status: 403, body: { errcode: 'M_FORBIDDEN' } }, 'chunked, past the quota: 403 M_FORBIDDEN');
  t.equal(tempFiles(m), 0, 'no temp file left');
});

t.test('disk reserve', async (t) => {
  const m = await startMedia({ media: { min_free_bytes: 2 ** 52 } });
  t.teardown(() => m.stop());
  const alice = await m.user('alice');
  const r = await m.call('POST', '/_matrix/media/v3/upload', { token: alice.token, body: Buffer.from('x') });
  t.equal(r.status, 507, 'an upload that would eat into the disk reserve: 507');
  t.equal(r.json().errcode, 'M_UNKNOWN');
  t.match(r.json().error, /no space/);
  t.equal(tempFiles(m) + contentFiles(m), 0, 'nothing written');
});

t.test('an interrupted upload leaves nothing behind', async (t) => {
  const m = await startMedia();
  t.teardown(() => m.stop());
  const alice = await m.user('alice');
  const req = request({ socketPath: m.socketPath, method: 'POST', path: '/_matrix/media/v3/upload', headers: { authorization: `Bearer ${alice.token}`, 'content-length': 4 * MiB } });
  req.on('error', () => undefined);
  req.write(randomBytes(MiB));
  await waitFor('the upload to have begun', async () => (tempFiles(m) > 0 ? true : undefined));
  req.destroy();
  await waitFor('the temp file to go', async () => (tempFiles(m) === 0 ? true : undefined));
  t.equal(contentFiles(m), 0, 'nothing stored');
  t.equal((await m.call('POST', '/_matrix/media/v3/upload', { token: alice.token, body: Buffer.from('next') })).status, 200, 'the next upload works');
});

t.test('asynchronous upload: /create, then PUT', async (t) => {
  const m = await startMedia();
  t.teardown(() => m.stop());
  const alice = await m.user('alice');
  const bob = await m.user('bob');

  const created = await m.call('POST', '/_matrix/media/v1/create', { token: alice.token });
  t.equal(created.status, 200);
  const { content_uri, unused_expires_at } = created.json();
  t.match(content_uri, new RegExp(`^mxc://${m.serverName}/`));
  t.ok(unused_expires_at > Date.now() + 23 * 3600_000 && unused_expires_at <= Date.now() + 24 * 3600_000, 'expires in 24 hours');
  const { server, id } = splitMxc(content_uri);
  const put = `/_matrix/media/v3/upload/${server}/${id}`;

  const early = await m.call('GET', `${downloadPath(content_uri)}?timeout_ms=0`, { token: bob.token });
  t.match({ status: early.status, ...early.json() }, { status: 504, errcode: 'M_NOT_YET_UPLOADED' }, 'before the upload: 504 M_NOT_YET_UPLOADED');

  const negative = await m.call('GET', `${downloadPath(content_uri)}?timeout_ms=-5`, { token: bob.token });
  t.same({ status: negative.status, ...negative.json() }, { status: 400, errcode: 'M_INVALID_PARAM', error: 'timeout_ms must be at least 0' }, 'a negative wait: 400, said in words');

  const waiting = m.call('GET', `${downloadPath(content_uri)}?timeout_ms=30000`, { token: bob.token });
  const byBob = await m.call('PUT', put, { token: bob.token, body: Buffer.from('x') });
  t.match({ status: byBob.status, ...byBob.json() }, { status: 403, errcode: 'M_FORBIDDEN' }, 'another user cannot upload to it');
  const body = randomBytes(300_000);
  const ok = await m.call('PUT', `${put}?filename=late.bin`, { token: alice.token, headers: { 'content-type': 'application/x-late' }, body });
  t.same({ status: ok.status, body: ok.json() }, { status: 200, body: {} }, 'the creator uploads: {}');
  const got = await waiting;
  t.equal(got.status, 200, 'a download that was waiting gets the content');
  t.ok(got.body.equals(body), 'the uploaded bytes');
  t.equal(got.headers['content-type'], 'application/x-late');
  t.equal(got.headers['content-disposition'], 'attachment; filename="late.bin"');

  const twice = await m.call('PUT', put, { token: alice.token, body: Buffer.from('again') });
  t.match({ status: twice.status, ...twice.json() }, { status: 409, errcode: 'M_CANNOT_OVERWRITE_MEDIA' }, 'a second upload: 409 M_CANNOT_OVERWRITE_MEDIA');
  const unknown = await m.call('PUT', `/_matrix/media/v3/upload/${server}/NeverCreatedAtAllXXXXXXX`, { token: alice.token, body: Buffer.from('x') });
  t.match({ status: unknown.status, ...unknown.json() }, { status: 404, errcode: 'M_NOT_FOUND' }, 'an id never created: 404');
  const other = await m.call('PUT', `/_matrix/media/v3/upload/other.example/${id}`, { token: alice.token, body: Buffer.from('x') });
  t.match({ status: other.status, ...other.json() }, { status: 404, errcode: 'M_NOT_FOUND' }, 'another server name: 404');

  // Two PUTs at once: the second is refused while the first is under way.
  const second = (await m.call('POST', '/_matrix/media/v1/create', { token: alice.token })).json().content_uri as string;
  const p = splitMxc(second);
  const slow = request({ socketPath: m.socketPath, method: 'PUT', path: `/_matrix/media/v3/upload/${p.server}/${p.id}`, headers: { authorization: `Bearer ${alice.token}`, 'content-length': 2048 } });
  const slowDone = new Promise<number>((resolve) => slow.on('response', (res) => (res.resume(), resolve(res.statusCode!))));
  slow.write(randomBytes(1024));
  await waitFor('the first PUT to be receiving', async () => (tempFiles(m) > 0 ? true : undefined));
  const clash = await m.call('PUT', `/_matrix/media/v3/upload/${p.server}/${p.id}`, { token: alice.token, body: Buffer.from('x') });
  t.match({ status: clash.status, ...clash.json() }, { status: 409, errcode: 'M_CANNOT_OVERWRITE_MEDIA' }, 'a PUT while another is under way: 409');
  slow.end(randomBytes(1024));
  t.equal(await slowDone, 200, 'the first PUT completes');

  // The pending ids a user may hold.
  let refused: any;
  for (let i = 0; i < 20 && !refused; i++) {
    const r = await m.call('POST', '/_matrix/media/v1/create', { token: bob.token });
    if (r.status !== 200) refused = { status: r.status, n: i, ...r.json() };
  }
  t.match(refused, { status: 429, errcode: 'M_LIMIT_EXCEEDED', n: 10 }, 'the 11th id waiting for its upload: 429 M_LIMIT_EXCEEDED');
  const guest = await m.user('', { guest: true });
  t.equal((await m.call('POST', '/_matrix/media/v1/create', { token: guest.token })).status, 403, 'guests cannot create media ids');
});
