/**
 * URL previews: off by default; when on, never onto loopback, private or
 * the board's own addresses (also not through a redirect) unless a range is
 * allowed; OpenGraph data with the page's image stored as media.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { AddressPolicy } from '../../../src/components/mediaapi/preview/addresses.js';
import { decodeEntities, decodePage, openGraph } from '../../../src/components/mediaapi/preview/opengraph.js';
import { dimensions, still } from '../../helpers/images.js';
import { downloadPath, startMedia } from '../../helpers/media.js';

t.test('address policy', async (t) => {
  const p = new AddressPolicy([], () => ['203.0.113.7', '2001:db8::7', '8.8.4.4']);
  for (const a of ['127.0.0.1', '127.1.2.3', '10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '224.0.0.1', '255.255.255.255', '::1', '::', 'fe80::1', 'fd00::1', 'fc00::1', '::ffff:127.0.0.1', '::ffff:192.168.0.1', '64:ff9b::a00:1', '2002:c0a8:101::1', 'ff02::1', '8.8.4.4']) {
    t.notOk(p.allows(a), `${a} refused`);
  }
  for (const a of ['93.184.215.14', '1.1.1.1', '172.32.0.1', '2606:4700::1111', '::ffff:93.184.215.14']) t.ok(p.allows(a), `${a} allowed`);
  t.notOk(p.allows('not an address'), 'garbage refused');
  const lan = new AddressPolicy(['192.168.1.0/24', '127.0.0.1', 'fd00::/8'], () => []);
  t.ok(lan.allows('192.168.1.20'), 'an allowed range');
  t.notOk(lan.allows('192.168.2.20'), 'next to it: refused');
  t.ok(lan.allows('127.0.0.1'), 'an allowed single address');
  t.notOk(lan.allows('127.0.0.2'));
  t.ok(lan.allows('fd12::1'), 'an allowed IPv6 range');
  t.ok(lan.allows('::ffff:192.168.1.20'), 'IPv4-mapped form of an allowed address');
});

t.test('OpenGraph', async (t) => {
  const page = `<html><head><title>Fallback &amp; title</title>
    <meta property="og:title" content="The &quot;real&quot; title">
    <meta content='A description' property='og:description'>
    <meta property="og:image" content="/img/a.png">
    <meta name="description" content="ignored: og wins">
    <meta property="og:title" content="second title is ignored">
    </head><body>…</body></html>`;
  t.same(openGraph(page, new URL('https://example.org/post/1')), {
    'og:title': 'The "real" title',
    'og:description': 'A description',
    'og:image': 'https://example.org/img/a.png',
  });
  t.same(openGraph('<title>Only &#x41;&#66;</title><meta name="description" content="Plain">', new URL('http://x/')), { 'og:title': 'Only AB', 'og:description': 'Plain' }, 'fallbacks');
  t.equal(decodeEntities('&lt;b&gt; &unknown; &#0;'), '<b> &unknown; &#0;');
  t.equal(decodePage(Buffer.from('<meta charset="iso-8859-1"><title>caf\xe9</title>', 'latin1'), 'text/html'), '<meta charset="iso-8859-1"><title>café</title>', 'the declared charset');
});

interface Site {
  server: Server;
  port: number;
  base: string;
}

async function site(png: Buffer): Promise<Site> {
  const server = createServer((req, res) => {
    if (req.url === '/post') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(`<html><head><title>t</title><meta property="og:title" content="Board news"><meta property="og:description" content="Über alles"><meta property="og:image" content="/pic.png"></head><body>${'x'.repeat(3_000_000)}</body></html>`);
    } else if (req.url === '/pic.png') {
      res.writeHead(200, { 'content-type': 'image/png', 'content-length': png.length });
      res.end(png);
    } else if (req.url === '/to-v6-loopback') {
      res.writeHead(302, { location: 'http://[::1]:9/secret' });
      res.end();
    } else if (req.url === '/to-post') {
      res.writeHead(301, { location: '/post' });
      res.end();
    } else if (req.url === '/file.bin') {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.end('bytes');
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return { server, port, base: `http://127.0.0.1:${port}` };
}

t.test('preview_url', async (t) => {
  const png = await still('png', 120, 80);
  const s = await site(png);
  t.teardown(() => new Promise<void>((r) => s.server.close(() => r())));
  const preview = (m: Awaited<ReturnType<typeof startMedia>>, token: string, url: string, legacy = false) =>
    m.call('GET', `${legacy ? '/_matrix/media/v3' : '/_matrix/client/v1/media'}/preview_url?url=${encodeURIComponent(url)}`, { token });

  await t.test('off by default', async (t) => {
    const m = await startMedia();
    t.teardown(() => m.stop());
    const alice = await m.user('alice');
    const r = await preview(m, alice.token, `${s.base}/post`);
    t.match({ status: r.status, ...r.json() }, { status: 404, errcode: 'M_UNRECOGNIZED' });
  });

  await t.test('on, without allowed ranges: the board and its networks are out of reach', async (t) => {
    const m = await startMedia({ media: { url_preview: { enabled: true } } });
    t.teardown(() => m.stop());
    const alice = await m.user('alice');
    for (const url of [`${s.base}/post`, `http://localhost:${s.port}/post`, 'http://[::1]/', 'http://169.254.169.254/latest/meta-data/', 'http://10.0.0.1/', 'http://0x7f000001/']) {
      const r = await preview(m, alice.token, url);
      t.match({ status: r.status, ...r.json() }, { status: 403, errcode: 'M_FORBIDDEN' }, `${url}: 403`);
    }
    const none = await m.call('GET', '/_matrix/client/v1/media/preview_url', { token: alice.token });
    t.match({ status: none.status, ...none.json() }, { status: 400, errcode: 'M_MISSING_PARAM' }, 'no url');
    for (const url of ['file:///etc/passwd', 'ftp://example.org/', 'not a url', 'http://user:pw@example.org/']) {
      const r = await preview(m, alice.token, url);
      t.match({ status: r.status, ...r.json() }, { status: 400, errcode: 'M_INVALID_PARAM' }, `${url}: 400`);
    }
    t.equal((await m.call('GET', `/_matrix/client/v1/media/preview_url?url=${encodeURIComponent(s.base)}`)).status, 401, 'a token is needed');
  });

  await t.test('on, with the loopback address allowed', async (t) => {
    const m = await startMedia({ media: { url_preview: { enabled: true, allowed_ranges: ['127.0.0.1/32'] } } });
    t.teardown(() => m.stop());
    const alice = await m.user('alice');
    const r = await preview(m, alice.token, `${s.base}/post`);
    t.equal(r.status, 200);
    const og = r.json();
    t.match(og, { 'og:title': 'Board news', 'og:description': 'Über alles', 'og:image': new RegExp(`^mxc://${m.serverName}/`), 'og:image:type': 'image/png', 'og:image:width': 120, 'og:image:height': 80, 'matrix:image:size': png.length });
    const img = await m.call('GET', downloadPath(og['og:image']), { token: alice.token });
    t.ok(img.body.equals(png), 'the image is served from this server');
    t.match(await dimensions(img.body), { width: 120, height: 80 });

    const redirected = await preview(m, alice.token, `${s.base}/to-post`, true);
    t.match(redirected.json(), { 'og:title': 'Board news' }, 'a redirect within the allowed range is followed (legacy path too)');
    const escape = await preview(m, alice.token, `${s.base}/to-v6-loopback`);
    t.match({ status: escape.status, ...escape.json() }, { status: 403, errcode: 'M_FORBIDDEN' }, 'a redirect to a refused address: 403');
    const direct = await preview(m, alice.token, `${s.base}/pic.png`);
    t.match(direct.json(), { 'og:image': /^mxc:/, 'matrix:image:size': png.length }, 'an image URL: the image');
    t.same((await preview(m, alice.token, `${s.base}/file.bin`)).json(), {}, 'other content: an empty preview');
    const missing = await preview(m, alice.token, `${s.base}/nothing-here`);
    t.match({ status: missing.status, ...missing.json() }, { status: 502, errcode: 'M_UNKNOWN' }, 'a 404 page: 502');
  });
});
