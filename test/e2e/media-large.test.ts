/**
 * A 48 MiB upload and download through the built server in split mode:
 * client → gateway → media process socket → disk, and back. The bytes
 * match, and the resident memory of the media process and the gateway
 * stays flat: each grows by far less than the file (a buffered body would
 * add at least its 48 MiB). An upload declaring more than the limit is
 * refused through the gateway before its body is sent.
 *
 * Measured on the 2-core development VM (under load from other jobs):
 * media process 93 MiB RSS idle (after a 1 MiB warm-up round trip), peak
 * +5.6 to +7.9 MiB over idle while the 48 MiB went up and came back down;
 * gateway +8.8 to +13.9 MiB during the upload and +26.7 to +29.4 MiB on the
 * first large download (a one-time rise of its heap's high-water mark: later
 * downloads add nothing, and a stalled reader adds ~2 MiB). `make bench`
 * reports the media process's figure (media suite).
 */
import { request } from 'node:http';
import t from 'tap';
import { startMediaServer } from '../helpers/media.js';
import { patternStream, processPids, rssKb, sampleRss, streamDownload, streamUpload } from '../helpers/media-load.js';
import { register } from '../helpers/sdk.js';

const MiB = 1024 * 1024;
const SIZE = 48 * MiB;
/** What growth would still count as flat: a third of the file. A buffered body cannot stay under it. */
const FLAT_KB = (SIZE / 3) / 1024;

t.test('a tens-of-MiB upload in split mode', async (t) => {
  const { dataDir, ports } = await startMediaServer(t, 'split', { max_upload_bytes: 64 * MiB });
  const alice = await register(`http://127.0.0.1:${ports.client}`, 'alice', 'correct horse battery');
  const token = alice.getAccessToken()!;
  const pids = processPids(dataDir);
  const watched = { mediaapi: pids.mediaapi!, gateway: pids.gateway! };
  t.ok(watched.mediaapi && watched.gateway, 'the media process and the gateway run on their own');

  // A small round trip first, so that both processes have loaded the code they use.
  const warm = patternStream(MiB, 7);
  const w = await streamUpload(ports.client, token, warm.stream, MiB);
  await streamDownload(ports.client, token, w.json.content_uri.replace('mxc://', '/_matrix/client/v1/media/download/'));

  const before = { mediaapi: rssKb(watched.mediaapi), gateway: rssKb(watched.gateway) };
  const body = patternStream(SIZE, 42);
  const up = sampleRss(watched);
  const uploaded = await streamUpload(ports.client, token, body.stream, SIZE);
  const upPeak = up.stop();
  t.equal(uploaded.status, 200, '48 MiB uploaded');
  const uri = uploaded.json.content_uri as string;

  const down = sampleRss(watched);
  const got = await streamDownload(ports.client, token, uri.replace('mxc://', '/_matrix/client/v1/media/download/'));
  const downPeak = down.stop();
  t.equal(got.status, 200);
  t.equal(got.bytes, SIZE, 'all of it downloaded');
  t.equal(got.sha256, body.sha256(), 'the same bytes (sha256)');

  for (const name of ['mediaapi', 'gateway'] as const) {
    const upGrowth = upPeak[name]! - before[name];
    const downGrowth = downPeak[name]! - before[name];
    t.comment(`${name}: RSS ${(before[name] / 1024).toFixed(1)} MiB idle; peak +${(upGrowth / 1024).toFixed(1)} MiB during the upload, +${(downGrowth / 1024).toFixed(1)} MiB during the download`);
  }
  const mediaUp = upPeak.mediaapi! - before.mediaapi;
  const mediaDown = downPeak.mediaapi! - before.mediaapi;
  t.ok(mediaUp < FLAT_KB, `media process: memory flat during the upload (+${(mediaUp / 1024).toFixed(1)} MiB for 48 MiB)`);
  t.ok(mediaDown < FLAT_KB, `media process: memory flat during the download (+${(mediaDown / 1024).toFixed(1)} MiB)`);
  // The gateway's first large transfer raises its heap's high-water mark
  // once (by 10–30 MiB on this machine, the same for later transfers of any
  // size); what matters is that it never holds the file.
  t.ok(Math.max(upPeak.gateway!, downPeak.gateway!) - before.gateway < SIZE / 1024, 'gateway: never holds the whole file');

  // A client that stops reading: backpressure holds the media process back, nothing piles up in the gateway.
  const stallBefore = rssKb(watched.gateway);
  const stall = sampleRss(watched);
  await new Promise<void>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: ports.client, path: uri.replace('mxc://', '/_matrix/client/v1/media/download/'), headers: { authorization: `Bearer ${token}` } }, (res) => {
      res.pause();
      setTimeout(() => {
        res.resume();
        res.on('end', () => resolve());
      }, 2000);
    });
    req.on('error', reject);
    req.end();
  });
  const stallGrowth = stall.stop().gateway! - stallBefore;
  // Judged like the transfers above: the gateway's RSS moves with its heap's high-water mark (up to ~25 MiB
  // on a loaded machine), so the line drawn is the file, which a gateway without backpressure would hold.
  t.ok(stallGrowth < SIZE / 1024, `gateway: a reader that stalls for 2 s costs +${(stallGrowth / 1024).toFixed(1)} MiB, not the file`);

  const refused = await new Promise<{ status: number; errcode: string }>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: ports.client, method: 'POST', path: '/_matrix/media/v3/upload', headers: { authorization: `Bearer ${token}`, 'content-length': 200 * MiB } }, (res) => {
      const c: Buffer[] = [];
      res.on('data', (b: Buffer) => c.push(b));
      res.on('end', () => resolve({ status: res.statusCode!, errcode: JSON.parse(Buffer.concat(c).toString()).errcode }));
    });
    req.on('error', reject);
    req.write(Buffer.alloc(1024));
  });
  t.same(refused, { status: 413, errcode: 'M_TOO_LARGE' }, 'through the gateway, a declared 200 MiB is refused after 1 KiB');
});
