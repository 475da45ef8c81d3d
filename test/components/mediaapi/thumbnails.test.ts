/**
 * Thumbnails of PNG, JPEG, GIF and WebP in both methods, with their
 * dimensions checked against the spec's rules (scale fits the box, crop has
 * its aspect, nothing upscaled); animated images kept animated only when
 * asked; one render per size; hostile images (a decompression bomb, a
 * truncated PNG) refused for that request while the process goes on.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { animated, decompressionBomb, dimensions, still, truncated } from '../../helpers/images.js';
import { downloadPath, startMedia, thumbnailPath } from '../../helpers/media.js';

const TYPES = { png: 'image/png', jpeg: 'image/jpeg', gif: 'image/gif', webp: 'image/webp' } as const;

function thumbnailFiles(mediaDir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) e.isDirectory() ? walk(join(d, e.name)) : out.push(join(d, e.name));
  };
  walk(join(mediaDir, 'thumbnails'));
  return out;
}

t.test('thumbnails', async (t) => {
  const m = await startMedia();
  t.teardown(() => m.stop());
  const alice = await m.user('alice');
  const bob = await m.user('bob');
  interface Thumb {
    status: number;
    error?: { errcode: string };
    type?: string;
    disposition?: string;
    csp?: string;
    body?: Buffer;
    format?: string;
    width?: number;
    height?: number;
    pages?: number;
  }
  const thumb = async (mxc: string, q: Record<string, string | number | boolean>): Promise<Thumb> => {
    const r = await m.call('GET', thumbnailPath(mxc, q), { token: bob.token });
    if (r.status !== 200) return { status: r.status, error: r.json() };
    const h = (name: string) => String(r.headers[name]);
    return { status: 200, type: h('content-type'), disposition: h('content-disposition'), csp: h('content-security-policy'), body: r.body, ...(await dimensions(r.body)) };
  };

  for (const format of ['png', 'jpeg', 'gif', 'webp'] as const) {
    await t.test(`${format}: scale and crop`, async (t) => {
      const img = await still(format, 1000, 500);
      const mxc = await m.upload(alice, img, TYPES[format], `wide.${format}`);

      const scale = await thumb(mxc, { width: 320, height: 240, method: 'scale' });
      t.match(scale, { status: 200, width: 320, height: 160 }, 'scale 320×240 of 1000×500: 320×160 (fits the box, keeps the aspect)');
      t.equal(scale.type, format === 'jpeg' ? 'image/jpeg' : 'image/png', 'JPEG stays JPEG, the rest become PNG');
      t.match(scale.disposition, /^inline; filename="thumbnail\.(png|jpg)"$/, 'Content-Disposition: inline with a file name');
      t.match(scale.csp, /^sandbox/);

      const crop = await thumb(mxc, { width: 96, height: 96, method: 'crop' });
      t.match(crop, { status: 200, width: 96, height: 96 }, 'crop 96×96: exactly the box');

      const odd = await thumb(mxc, { width: 50, height: 50, method: 'crop' });
      t.match(odd, { status: 200, width: 96, height: 96 }, 'crop 50×50: the next recommended size, never smaller than asked');
      const wide = await thumb(mxc, { width: 300, height: 100, method: 'crop' });
      t.match(wide, { status: 200, width: 300, height: 100 }, 'crop 300×100: the aspect asked for');

      const big = await thumb(mxc, { width: 800, height: 600, method: 'scale' });
      t.match(big, { status: 200, width: 800, height: 400 }, 'scale 800×600: 800×400');
      const tall = await thumb(mxc, { width: 640, height: 480, method: 'crop' });
      t.match(tall, { status: 200, width: 640, height: 480 }, 'crop 640×480 of a 1000×500 image');

      const deflt = await thumb(mxc, { width: 320, height: 240 });
      t.match(deflt, { width: 320, height: 160 }, 'no method: scale');
    });
  }

  await t.test('never upscaled: a small image is served as it is', async (t) => {
    const img = await still('png', 40, 30);
    const mxc = await m.upload(alice, img, 'image/png');
    const r = await thumb(mxc, { width: 96, height: 96, method: 'crop' });
    t.match(r, { status: 200, width: 40, height: 30, type: 'image/png' }, 'the original');
    t.ok(r.body!.equals(img), 'byte for byte');
    const s = await thumb(mxc, { width: 800, height: 600, method: 'scale' });
    t.match(s, { width: 40, height: 30 });

    const narrow = await m.upload(alice, await still('png', 60, 300), 'image/png');
    const c = await thumb(narrow, { width: 96, height: 96, method: 'crop' });
    t.match(c, { status: 200, width: 60, height: 60 }, 'crop of an image narrower than the box: the largest square it holds, not enlarged');
  });

  await t.test('animated images', async (t) => {
    for (const format of ['gif', 'webp'] as const) {
      const img = await animated(format, 200, 100, 4);
      const mxc = await m.upload(alice, img, TYPES[format]);
      const a = await thumb(mxc, { width: 96, height: 96, method: 'crop', animated: true });
      t.match(a, { status: 200, type: 'image/webp', format: 'webp', width: 96, pages: 4 }, `${format}, animated=true: an animated WebP of every frame`);
      const s = await thumb(mxc, { width: 96, height: 96, method: 'crop', animated: false });
      t.match(s, { status: 200, type: 'image/png', width: 96, height: 96, pages: 1 }, `${format}, animated=false: a still PNG`);
      const n = await thumb(mxc, { width: 96, height: 96, method: 'crop' });
      t.match(n, { pages: 1 }, `${format}, animated not given: still`);
      const small = await thumb(mxc, { width: 320, height: 240, method: 'scale', animated: true });
      t.match(small, { status: 200, type: TYPES[format], pages: 4, width: 200 }, `${format}: smaller than asked and animated=true: the original`);
    }
    const jpeg = await m.upload(alice, await still('jpeg', 500, 500), 'image/jpeg');
    const j = await thumb(jpeg, { width: 96, height: 96, method: 'crop', animated: true });
    t.match(j, { status: 200, type: 'image/jpeg', width: 96, height: 96 }, 'animated=true on a still image: as if false');
  });

  await t.test('rendered once, then served from the cache', async (t) => {
    const mxc = await m.upload(alice, await still('png', 1200, 900), 'image/png');
    const before = thumbnailFiles(m.mediaDir).length;
    const first = await thumb(mxc, { width: 640, height: 480, method: 'scale' });
    const after = thumbnailFiles(m.mediaDir).length;
    t.equal(after, before + 1, 'one thumbnail file');
    const concurrent = await Promise.all(Array.from({ length: 5 }, () => thumb(mxc, { width: 640, height: 480, method: 'scale' })));
    t.equal(thumbnailFiles(m.mediaDir).length, after, 'no new file for the same size');
    for (const c of concurrent) t.ok(c.body!.equals(first.body!), 'the same bytes');
    await thumb(mxc, { width: 600, height: 450, method: 'scale' });
    t.equal(thumbnailFiles(m.mediaDir).length, after, 'a size that snaps to a recommended one shares its file');
    // The same content uploaded again shares the thumbnails of its hash.
    const again = await m.upload(bob, await still('png', 1200, 900), 'image/png');
    await thumb(again, { width: 640, height: 480, method: 'scale' });
    t.equal(thumbnailFiles(m.mediaDir).length, after, 'identical content: no second render');
  });

  await t.test('hostile and unthumbnailable input', async (t) => {
    const bomb = decompressionBomb();
    t.ok(bomb.length < 100_000, `a ${bomb.length}-byte PNG of 20000×20000 pixels`);
    const bombMxc = await m.upload(alice, bomb, 'image/png');
    const b = await thumb(bombMxc, { width: 96, height: 96, method: 'crop' });
    t.match(b, { status: 413, error: { errcode: 'M_TOO_LARGE' } }, 'a decompression bomb: 413 M_TOO_LARGE, refused before decoding');

    const whole = await still('png', 400, 300);
    const cut = truncated(whole);
    const cutMxc = await m.upload(alice, cut, 'image/png');
    const c = await thumb(cutMxc, { width: 96, height: 96, method: 'crop' });
    t.match(c, { status: 400, error: { errcode: 'M_UNKNOWN' } }, 'a truncated PNG: 400 M_UNKNOWN');
    const c2 = await thumb(cutMxc, { width: 320, height: 240, method: 'scale' });
    t.equal(c2.status, 400, 'again: still an error, nothing cached');

    const garbage = await m.upload(alice, Buffer.from('this is not an image at all'), 'image/png');
    t.match(await thumb(garbage, { width: 96, height: 96 }), { status: 400, error: { errcode: 'M_UNKNOWN' } }, 'not an image although it says so: 400');
    const svg = await m.upload(alice, Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="1000" height="1000"><rect width="1000" height="1000"/></svg>'), 'image/svg+xml');
    t.match(await thumb(svg, { width: 96, height: 96 }), { status: 400 }, 'SVG is not thumbnailed');
    const pdf = await m.upload(alice, Buffer.from('%PDF-1.4 …'), 'application/pdf');
    t.match(await thumb(pdf, { width: 96, height: 96 }), { status: 400 }, 'nor a PDF');

    const fine = await m.upload(alice, await still('png', 500, 500), 'image/png');
    t.match(await thumb(fine, { width: 96, height: 96, method: 'crop' }), { status: 200, width: 96 }, 'the process goes on thumbnailing');
    const d = await m.call('GET', downloadPath(bombMxc), { token: bob.token });
    t.ok(d.body.equals(bomb), 'and the hostile file itself is still a download like any other');
  });

  await t.test('bad parameters', async (t) => {
    const mxc = await m.upload(alice, await still('png', 100, 100), 'image/png');
    for (const [q, errcode, what] of [
      [{ height: 96 }, 'M_MISSING_PARAM', 'no width'],
      [{ width: 96 }, 'M_MISSING_PARAM', 'no height'],
      [{ width: -5, height: 96 }, 'M_INVALID_PARAM', 'a negative width'],
      [{ width: 0, height: 96 }, 'M_INVALID_PARAM', 'a zero width'],
      [{ width: 'abc', height: 96 }, 'M_INVALID_PARAM', 'a width that is no number'],
      [{ width: 9.5, height: 96 }, 'M_INVALID_PARAM', 'a fractional width'],
      [{ width: 96, height: 96, method: 'stretch' }, 'M_INVALID_PARAM', 'an unknown method'],
      [{ width: 96, height: 96, animated: 'yes' }, 'M_INVALID_PARAM', 'animated that is no boolean'],
    ] as const) {
      t.match(await thumb(mxc, q as Record<string, string | number>), { status: 400, error: { errcode } }, `${what}: 400 ${errcode}`);
    }
    const none = await m.call('GET', thumbnailPath(mxc, { width: 96, height: 96 }));
    t.match({ status: none.status, ...none.json() }, { status: 401, errcode: 'M_MISSING_TOKEN' }, 'no token: 401 M_MISSING_TOKEN');
    const legacy = await m.call('GET', thumbnailPath(mxc, { width: 96, height: 96 }, true));
    t.equal(legacy.status, 404, 'the frozen legacy thumbnail endpoint does not serve new media');
  });
});
