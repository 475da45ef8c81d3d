/**
 * Uploads and downloads over the MediaAPI's socket (as the gateway forwards
 * them): files of several sizes come back byte for byte, identical files are
 * stored once, and downloads carry the headers that make serving user
 * content safe; tokens, unknown ids, ranges and the frozen legacy endpoints.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { downloadPath, splitMxc, startMedia } from '../../helpers/media.js';

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...filesUnder(p));
    else out.push(p);
  }
  return out;
}

t.test('upload and download', async (t) => {
  const m = await startMedia();
  t.teardown(() => m.stop());
  const alice = await m.user('alice');
  const bob = await m.user('bob');

  await t.test('files of several sizes come back byte for byte', async (t) => {
    for (const size of [0, 1, 1000, 256 * 1024, 5 * 1024 * 1024 + 7]) {
      const body = randomBytes(size);
      const mxc = await m.upload(alice, body, 'application/octet-stream');
      t.match(mxc, new RegExp(`^mxc://${m.serverName}/[A-Za-z0-9_-]+$`), `${size} bytes: an mxc URI of this server`);
      const r = await m.call('GET', downloadPath(mxc), { token: bob.token });
      t.equal(r.status, 200, `${size} bytes: downloaded by another user`);
      t.equal(r.headers['content-length'], String(size), `${size} bytes: Content-Length`);
      t.ok(r.body.equals(body), `${size} bytes: the same bytes`);
    }
  });

  await t.test('identical files are stored once; each upload gets its own id', async (t) => {
    const body = randomBytes(100_000);
    const a = await m.upload(alice, body, 'image/png', 'a.png');
    const b = await m.upload(bob, body, 'text/plain', 'b.txt');
    t.not(a, b, 'two media ids');
    const sha = createHash('sha256').update(body).digest('hex');
    const stored = filesUnder(join(m.mediaDir, 'content')).filter((f) => f.endsWith(sha));
    t.equal(stored.length, 1, 'one file on disk, named by its sha256');
    t.equal(statSync(stored[0]!).size, body.length);
    const ra = await m.call('GET', downloadPath(a), { token: bob.token });
    const rb = await m.call('GET', downloadPath(b), { token: alice.token });
    t.equal(ra.headers['content-type'], 'image/png', 'each keeps its own type');
    t.equal(rb.headers['content-type'], 'text/plain');
    t.equal(ra.headers['content-disposition'], 'inline; filename="a.png"', 'and its own name');
    t.equal(rb.headers['content-disposition'], 'inline; filename="b.txt"');
    t.same(readdirSync(join(m.mediaDir, 'tmp')), [], 'no temp file stays behind');
  });

  await t.test('safe serving headers', async (t) => {
    const html = await m.upload(alice, Buffer.from('<script>alert(1)</script>'), 'text/html', 'page.html');
    const r = await m.call('GET', downloadPath(html), { token: bob.token });
    t.equal(r.headers['content-type'], 'text/html', 'the stored type');
    t.equal(r.headers['content-disposition'], 'attachment; filename="page.html"', 'a type that can run script is an attachment');
    t.match(r.headers['content-security-policy'], /^sandbox;/, 'Content-Security-Policy: sandbox');
    t.match(r.headers['content-security-policy'], /script-src 'none'/);
    t.equal(r.headers['x-content-type-options'], 'nosniff');
    t.equal(r.headers['cross-origin-resource-policy'], 'cross-origin');

    const noType = await m.call('POST', '/_matrix/media/v3/upload', { token: alice.token, body: Buffer.from('x') });
    const nt = await m.call('GET', downloadPath(noType.json().content_uri), { token: alice.token });
    t.equal(nt.headers['content-type'], 'application/octet-stream', 'no Content-Type: application/octet-stream (spec default)');
    t.equal(nt.headers['content-disposition'], 'attachment', 'no file name, no filename parameter');

    const junk = await m.call('POST', '/_matrix/media/v3/upload', { token: alice.token, headers: { 'content-type': 'not a type' }, body: Buffer.from('x') });
    const jt = await m.call('GET', downloadPath(junk.json().content_uri), { token: alice.token });
    t.equal(jt.headers['content-type'], 'application/octet-stream', 'a Content-Type that is no media type is not stored');

    const named = await m.upload(alice, Buffer.from('hi'), 'text/plain', 'Grüße "q".txt');
    const n = await m.call('GET', downloadPath(named), { token: alice.token });
    t.equal(n.headers['content-disposition'], "inline; filename*=utf-8''Gr%C3%BC%C3%9Fe%20%22q%22.txt", 'a non-ASCII name in RFC 8187 form');
    const quoted = await m.upload(alice, Buffer.from('hi'), 'text/plain', 'say "hi".txt');
    const q = await m.call('GET', downloadPath(quoted), { token: alice.token });
    t.equal(q.headers['content-disposition'], 'inline; filename="say \\"hi\\".txt"', 'quotes escaped');

    const over = await m.call('GET', downloadPath(named, 'other name.txt'), { token: alice.token });
    t.equal(over.headers['content-disposition'], 'inline; filename="other name.txt"', 'the name in the path replaces the stored one');
    t.equal(over.body.toString(), 'hi');
  });

  await t.test('ranges, ETag and HEAD', async (t) => {
    const body = randomBytes(10_000);
    const mxc = await m.upload(alice, body, 'audio/ogg', 'voice.ogg');
    const path = downloadPath(mxc);
    const part = await m.call('GET', path, { token: bob.token, headers: { range: 'bytes=100-199' } });
    t.equal(part.status, 206, 'a range: 206');
    t.equal(part.headers['content-range'], 'bytes 100-199/10000');
    t.ok(part.body.equals(body.subarray(100, 200)), 'the bytes of the range');
    const tail = await m.call('GET', path, { token: bob.token, headers: { range: 'bytes=-10' } });
    t.ok(tail.body.equals(body.subarray(9990)), 'a suffix range');
    const open = await m.call('GET', path, { token: bob.token, headers: { range: 'bytes=9000-' } });
    t.ok(open.body.equals(body.subarray(9000)), 'an open-ended range');
    const outside = await m.call('GET', path, { token: bob.token, headers: { range: 'bytes=20000-' } });
    t.equal(outside.status, 416, 'a range past the end: 416');
    t.equal(outside.headers['content-range'], 'bytes */10000');
    const many = await m.call('GET', path, { token: bob.token, headers: { range: 'bytes=0-1,5-6' } });
    t.equal(many.status, 200, 'several ranges: the whole file');

    const first = await m.call('GET', path, { token: bob.token });
    const again = await m.call('GET', path, { token: bob.token, headers: { 'if-none-match': String(first.headers.etag) } });
    t.equal(again.status, 304, 'If-None-Match with the ETag: 304');
    const head = await m.call('HEAD', path, { token: bob.token });
    t.equal(head.status, 200);
    t.equal(head.headers['content-length'], '10000', 'HEAD: the length');
    t.equal(head.body.length, 0, 'HEAD: no body');
  });

  await t.test('refusals', async (t) => {
    const mxc = await m.upload(alice, Buffer.from('secret'), 'text/plain');
    const { id } = splitMxc(mxc);
    const none = await m.call('GET', downloadPath(mxc));
    t.match({ status: none.status, ...none.json() }, { status: 401, errcode: 'M_MISSING_TOKEN' }, 'no token: 401 M_MISSING_TOKEN');
    const bad = await m.call('GET', downloadPath(mxc), { token: 'nonsense' });
    t.match({ status: bad.status, ...bad.json() }, { status: 401, errcode: 'M_UNKNOWN_TOKEN' }, 'an unknown token: 401 M_UNKNOWN_TOKEN');
    const noUpload = await m.call('POST', '/_matrix/media/v3/upload', { body: Buffer.from('x') });
    t.match({ status: noUpload.status, ...noUpload.json() }, { status: 401, errcode: 'M_MISSING_TOKEN' }, 'upload without a token');
    for (const [what, path] of [
      ['an unknown id', `/_matrix/client/v1/media/download/${m.serverName}/AAAAAAAAAAAAAAAAAAAAAAAA`],
      ['an id with forbidden characters', `/_matrix/client/v1/media/download/${m.serverName}/..%2F..%2Fkeys`],
      ['an id with a dot', `/_matrix/client/v1/media/download/${m.serverName}/a.b`],
      ['another server', `/_matrix/client/v1/media/download/other.example/${id}`],
      ['an invalid server name', `/_matrix/client/v1/media/download/bad_server!/${id}`],
      ['a thumbnail of an unknown id', `/_matrix/client/v1/media/thumbnail/${m.serverName}/AAAAAAAAAAAAAAAAAAAAAAAA?width=32&height=32`],
    ] as const) {
      const r = await m.call('GET', path, { token: bob.token });
      t.match({ status: r.status, ...r.json() }, { status: 404, errcode: 'M_NOT_FOUND' }, `${what}: 404 M_NOT_FOUND`);
    }
    const guest = await m.user('', { guest: true });
    const g = await m.call('POST', '/_matrix/media/v3/upload', { token: guest.token, body: Buffer.from('x') });
    t.match({ status: g.status, ...g.json() }, { status: 403, errcode: 'M_GUEST_ACCESS_FORBIDDEN' }, 'guests cannot upload');
    const gd = await m.call('GET', downloadPath(mxc), { token: guest.token });
    t.equal(gd.status, 200, 'guests can download');
    const longName = await m.call('POST', `/_matrix/media/v3/upload?filename=${'x'.repeat(300)}`, { token: alice.token, body: Buffer.from('x') });
    t.match({ status: longName.status, ...longName.json() }, { status: 400, errcode: 'M_INVALID_PARAM' }, 'a file name over 255 bytes');
  });

  await t.test('config', async (t) => {
    for (const path of ['/_matrix/client/v1/media/config', '/_matrix/media/v3/config']) {
      const r = await m.call('GET', path, { token: alice.token });
      t.same(r.json(), { 'm.upload.size': 50 * 1024 * 1024 }, `${path}: m.upload.size`);
    }
    const r = await m.call('GET', '/_matrix/client/v1/media/config');
    t.equal(r.status, 401, 'config needs a token');
  });

  await t.test('the legacy unauthenticated endpoints are frozen', async (t) => {
    const mxc = await m.upload(alice, Buffer.from('new'), 'text/plain');
    const { server, id } = splitMxc(mxc);
    for (const v of ['v3', 'r0', 'v1']) {
      const r = await m.call('GET', `/_matrix/media/${v}/download/${server}/${id}`);
      t.match({ status: r.status, ...r.json() }, { status: 404, errcode: 'M_NOT_FOUND' }, `${v}: media stored after the freeze is not served unauthenticated`);
    }
  });
});

t.test('the freeze serves media stored before it; open serves everything', async (t) => {
  const future = Date.now() + 3600_000;
  const m = await startMedia({ media: { frozen_since: future } });
  const alice = await m.user('alice');
  const mxc = await m.upload(alice, Buffer.from('old media'), 'text/plain', 'old.txt');
  const { server, id } = splitMxc(mxc);
  const r = await m.call('GET', `/_matrix/media/v3/download/${server}/${id}`);
  t.equal(r.status, 200, 'stored before the freeze: served without a token');
  t.equal(r.body.toString(), 'old media');
  const named = await m.call('GET', `/_matrix/media/v3/download/${server}/${id}/x.txt?allow_remote=false`);
  t.equal(named.headers['content-disposition'], 'inline; filename="x.txt"', 'with a file name, allow_remote=false');
  await m.stop();

  const frozenNow = await startMedia({ dataDir: m.dataDir, media: { frozen_since: 1 } });
  const r2 = await frozenNow.call('GET', `/_matrix/media/v3/download/${server}/${id}`);
  t.equal(r2.status, 404, 'the same media after a freeze before its upload: 404');
  await frozenNow.stop();

  const open = await startMedia({ dataDir: m.dataDir, media: { unauthenticated: 'open' } });
  const r3 = await open.call('GET', `/_matrix/media/v3/download/${server}/${id}`);
  t.equal(r3.status, 200, 'unauthenticated: open serves it');
  const stillAuthed = await open.call('GET', downloadPath(mxc));
  t.equal(stillAuthed.status, 401, 'the authenticated endpoint still needs a token');
  await open.stop();
});

t.test('media survives a restart', async (t) => {
  const m = await startMedia();
  const alice = await m.user('alice');
  const body = randomBytes(70_000);
  const mxc = await m.upload(alice, body, 'application/pdf', 'doc.pdf');
  await m.stop();
  const again = await startMedia({ dataDir: m.dataDir });
  t.teardown(() => again.stop());
  const r = await again.call('GET', downloadPath(mxc), { token: alice.token });
  t.equal(r.status, 200);
  t.ok(r.body.equals(body), 'the same bytes after a restart');
  t.equal(r.headers['content-disposition'], 'attachment; filename="doc.pdf"', 'PDF is not an inline type');
});
