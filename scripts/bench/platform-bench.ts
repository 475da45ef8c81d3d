/**
 * The plumbing's own costs: an internal API round trip (a direct call and
 * over a Unix socket to another process), durable writes with group commit
 * under `sync` and `relaxed` durability, and append-log throughput from
 * producer to consumer (in one process, and over a socket).
 */
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ApiDirectory } from '../../src/platform/ipc/directory.js';
import { IpcServer } from '../../src/platform/ipc/server.js';
import { LogConsumer } from '../../src/platform/log/consumer.js';
import { LogProducer } from '../../src/platform/log/producer.js';
import { logReaderApi } from '../../src/platform/log/reader-api.js';
import { defineTopic } from '../../src/platform/log/topic.js';
import { Database, type Durability } from '../../src/platform/storage/database.js';
import { encodeKey } from '../../src/platform/storage/keys.js';
import { echoApi } from './fixtures/echo-api.js';
import type { BenchResult } from './result.js';

const dir = mkdtempSync(join(tmpdir(), 'nb-'));

async function timed(n: number, concurrency: number, fn: (i: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) await fn(next++);
    }),
  );
  return n / ((performance.now() - t0) / 1000);
}

async function ipcRoundTrips(): Promise<BenchResult[]> {
  const local = new ApiDirectory({ socketFor: () => undefined });
  local.provide(echoApi, { echo: async (req) => req });
  const direct = local.get(echoApi);
  const req = { n: 1, room: '!room:example.org' };
  await timed(5000, 1, () => direct.echo(req));
  const directRate = await timed(50_000, 1, () => direct.echo(req));

  const socketPath = join(dir, 'echo.sock');
  const child = fork(join(import.meta.dirname, 'fixtures/echo-server.ts'), [socketPath], { execArgv: ['--import', 'tsx'] });
  await new Promise((r) => child.once('message', r));
  const remote = new ApiDirectory({ socketFor: () => socketPath }).get(echoApi);
  await timed(2000, 1, () => remote.echo(req));
  const lat: number[] = [];
  const seqRate = await timed(5000, 1, async () => {
    const t0 = performance.now();
    await remote.echo(req);
    lat.push(performance.now() - t0);
  });
  const parRate = await timed(20_000, 16, () => remote.echo(req));
  child.kill();
  lat.sort((a, b) => a - b);
  return [
    { name: 'internal API round trip, direct call', value: Math.round(directRate), unit: 'calls/s' },
    { name: 'internal API round trip, Unix socket, sequential', value: Math.round(seqRate), unit: 'calls/s', note: `p50 ${lat[lat.length >> 1]!.toFixed(3)} ms, p99 ${lat[Math.floor(lat.length * 0.99)]!.toFixed(3)} ms` },
    { name: 'internal API round trip, Unix socket, 16 concurrent', value: Math.round(parRate), unit: 'calls/s' },
  ];
}

async function durableWrites(durability: Durability): Promise<BenchResult[]> {
  const db = await Database.open(join(dir, `writes-${durability}`), { durability });
  const value = { type: 'm.room.message', content: { body: 'x'.repeat(200) } };
  let i = 0;
  const one = await timed(durability === 'sync' ? 500 : 5000, 1, () => db.put(encodeKey('k', i++), value, { durable: true }));
  const sixteen = await timed(durability === 'sync' ? 4000 : 20_000, 16, () => db.put(encodeKey('k', i++), value, { durable: true }));
  await db.close();
  return [
    { name: `durable writes (${durability}), one writer`, value: Math.round(one), unit: 'writes/s' },
    { name: `durable writes (${durability}), 16 writers (group commit)`, value: Math.round(sixteen), unit: 'writes/s' },
  ];
}

async function logThroughput(overSocket: boolean): Promise<BenchResult> {
  const topic = defineTopic<{ n: number; body: string }>('roomserver', 'bench');
  const pdb = await Database.open(join(dir, `producer-${overSocket}`), { durability: 'sync' });
  const cdb = await Database.open(join(dir, `consumer-${overSocket}`), { durability: 'sync' });
  const producer = new LogProducer(pdb, [topic]);
  await producer.open();
  let reader;
  let server: ReturnType<typeof createServer> | undefined;
  if (overSocket) {
    const ipc = new IpcServer();
    new ApiDirectory({ socketFor: () => undefined }, ipc).provide(logReaderApi('roomserver'), producer);
    const socketPath = join(dir, 'log.sock');
    server = createServer((req, res) => ipc.handle(req, res));
    await new Promise<void>((r) => server!.listen(socketPath, r));
    reader = new ApiDirectory({ socketFor: () => socketPath }).get(logReaderApi('roomserver'));
  } else {
    const apis = new ApiDirectory({ socketFor: () => undefined });
    apis.provide(logReaderApi('roomserver'), producer);
    reader = apis.get(logReaderApi('roomserver'));
  }
  const N = 20_000;
  let consumed = 0;
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  const consumer = new LogConsumer({
    topic,
    name: 'bench',
    db: cdb,
    reader,
    batchSize: 500,
    handle: async (batch) => batch.map((r) => ({ type: 'put' as const, key: encodeKey('applied', r.offset), value: r.record.n })),
    afterCommit: (batch) => {
      consumed += batch.length;
      if (consumed >= N) done();
    },
  });
  await consumer.start();
  const t0 = performance.now();
  // 16 concurrent producers, each write durable, as the roomserver's input would be.
  let n = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (n < N) {
        const i = n++;
        await producer.write([{ type: 'put', key: encodeKey('state', i), value: i }], [{ topic, record: { n: i, body: 'hello' } }], { durable: true });
      }
    }),
  );
  await finished;
  const rate = N / ((performance.now() - t0) / 1000);
  await consumer.stop();
  await producer.close();
  server?.close();
  await pdb.close();
  await cdb.close();
  return { name: `log append (durable, 16 writers) → consume, ${overSocket ? 'over a Unix socket' : 'same process'}`, value: Math.round(rate), unit: 'records/s' };
}

export async function run(): Promise<BenchResult[]> {
  try {
    return [
      ...(await ipcRoundTrips()),
      ...(await durableWrites('sync')),
      ...(await durableWrites('relaxed')),
      await logThroughput(false),
      await logThroughput(true),
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]!).href) {
  for (const r of await run()) console.log(`${r.name}: ${r.value} ${r.unit}${r.note ? ` (${r.note})` : ''}`);
}
