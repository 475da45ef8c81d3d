/**
 * Media through the whole server in split mode (client → gateway → media
 * process): a 48 MiB upload and download with the media process's resident
 * memory sampled throughout, small-upload rate (each one synced), and
 * thumbnail render and cache-hit times, with the memory sharp adds.
 */
import { pathToFileURL } from 'node:url';
import { request } from 'node:http';
import { dimensions, still } from '../../test/helpers/images.js';
import { setMediaConfig } from '../../test/helpers/media.js';
import { patternStream, processPids, rssKb, sampleRss, streamDownload, streamUpload } from '../../test/helpers/media-load.js';
import { register } from '../../test/helpers/sdk.js';
import { initServer, removeDataDir, startServer, versionsAnswer, waitFor } from '../../test/helpers/server.js';
import type { BenchResult } from './result.js';

const MiB = 1024 * 1024;
const BIG = 48 * MiB;

function get(port: number, token: string, path: string): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers: { authorization: `Bearer ${token}` } }, (res) => {
      const c: Buffer[] = [];
      res.on('data', (b: Buffer) => c.push(b));
      res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(c) }));
    });
    req.on('error', reject);
    req.end();
  });
}

function post(port: number, token: string, body: Buffer, type: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, method: 'POST', path: '/_matrix/media/v3/upload', headers: { authorization: `Bearer ${token}`, 'content-type': type, 'content-length': body.length } },
      (res) => {
        const c: Buffer[] = [];
        res.on('data', (b: Buffer) => c.push(b));
        res.on('end', () => (res.statusCode === 200 ? resolve(JSON.parse(Buffer.concat(c).toString()).content_uri) : reject(new Error(`upload: ${res.statusCode}`))));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const mb = (kb: number) => Math.round((kb / 1024) * 10) / 10;

export async function run(): Promise<BenchResult[]> {
  const { dataDir, ports } = await initServer({ mode: 'split', extra: ['--registration', 'open'] });
  setMediaConfig(dataDir, { max_upload_bytes: 64 * MiB });
  const server = await startServer(dataDir);
  try {
    await waitFor('the client port', () => versionsAnswer(ports.client), 120_000);
    const token = (await register(`http://127.0.0.1:${ports.client}`, 'bench', 'correct horse battery')).getAccessToken()!;
    const pid = processPids(dataDir).mediaapi!;
    const download = (mxc: string) => `/_matrix/client/v1/media/download/${mxc.slice('mxc://'.length)}`;

    // Warm-up: code paths loaded before anything is measured.
    const warm = patternStream(MiB, 3);
    await streamDownload(ports.client, token, download((await streamUpload(ports.client, token, warm.stream, MiB)).json.content_uri));
    const idle = rssKb(pid);

    const body = patternStream(BIG, 9);
    const sampler = sampleRss({ mediaapi: pid });
    const t0 = performance.now();
    const up = await streamUpload(ports.client, token, body.stream, BIG);
    const upMs = performance.now() - t0;
    const t1 = performance.now();
    const got = await streamDownload(ports.client, token, download(up.json.content_uri));
    const downMs = performance.now() - t1;
    const peak = sampler.stop().mediaapi!;
    if (got.sha256 !== body.sha256()) throw new Error('the download differs from the upload');

    const small = Buffer.alloc(10 * 1024, 5);
    const n = 100;
    const s0 = performance.now();
    for (let i = 0; i < n; i++) await post(ports.client, token, Buffer.concat([small, Buffer.from(String(i))]), 'application/octet-stream');
    const smallPerS = n / ((performance.now() - s0) / 1000);

    const photo = await still('jpeg', 4000, 3000);
    const beforeSharp = rssKb(pid);
    const photoUri = await post(ports.client, token, photo, 'image/jpeg');
    const thumb = (w: number, h: number, method: string) => `/_matrix/client/v1/media/thumbnail/${photoUri.slice('mxc://'.length)}?width=${w}&height=${h}&method=${method}`;
    const r0 = performance.now();
    const first = await get(ports.client, token, thumb(800, 600, 'scale'));
    const renderMs = performance.now() - r0;
    if ((await dimensions(first.body)).width !== 800) throw new Error('unexpected thumbnail');
    const cropMs: number[] = [];
    const c0 = performance.now();
    await get(ports.client, token, thumb(96, 96, 'crop'));
    cropMs.push(performance.now() - c0);
    const hits: number[] = [];
    for (let i = 0; i < 20; i++) {
      const h0 = performance.now();
      await get(ports.client, token, thumb(800, 600, 'scale'));
      hits.push(performance.now() - h0);
    }
    const withSharp = rssKb(pid);

    return [
      { name: 'media: 48 MiB upload through the gateway (split)', value: Math.round(BIG / MiB / (upMs / 1000)), unit: 'MiB/s', note: `${Math.round(upMs)} ms, synced before the answer` },
      { name: 'media: 48 MiB download (split)', value: Math.round(BIG / MiB / (downMs / 1000)), unit: 'MiB/s', note: `${Math.round(downMs)} ms` },
      {
        name: 'media: media process peak RSS during 48 MiB up + down',
        value: mb(peak),
        unit: 'MB',
        note: `+${mb(peak - idle)} MB over ${mb(idle)} MB idle: flat (a buffered body would add 48)`,
      },
      { name: 'media: 10 KiB uploads, one after another', value: Math.round(smallPerS), unit: 'uploads/s', note: 'each file and record synced' },
      { name: 'media: thumbnail 800×600 of a 12 MP JPEG, first request', value: Math.round(renderMs), unit: 'ms', note: `sharp loaded on first use; 96×96 crop then ${Math.round(cropMs[0]!)} ms` },
      { name: 'media: thumbnail from the cache', value: Math.round(median(hits) * 10) / 10, unit: 'ms', note: 'median of 20' },
      { name: 'media: RSS sharp (libvips) adds to the media process', value: mb(withSharp - beforeSharp), unit: 'MB', note: `${mb(withSharp)} MB after thumbnailing` },
    ];
  } finally {
    server.proc.stdin?.end();
    await server.stop();
    removeDataDir(dataDir);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]!).href) {
  for (const r of await run()) console.log(`${r.name}: ${r.value} ${r.unit}${r.note ? ` (${r.note})` : ''}`);
}
