/**
 * Sync on the built server, in monolith and split: send → another user's
 * long-poll /sync latency (p50, p99 over 1 000 messages; the clock starts
 * when the send request starts and stops when the other user's sync answer
 * holding the event arrives), sustained send throughput into one room
 * (sequential, and 16 senders at once), the initial sync of a user in 100
 * rooms of 100 messages each, and memory after that load (at once, and
 * 60 s later, once V8's memory reducer has run in every process).
 *
 * The client is http-client.ts, a lean HTTP/1.1 client over kept-alive
 * connections, not fetch nor node:http: on the 2-core machine fetch added
 * about 0.4 ms of its own work to every request and node:http's client
 * 180–250 µs of CPU, on the same two cores as the server it measures.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { cli, initServer, removeDataDir, startServer } from '../../test/helpers/server.js';
import { BenchHttpClient } from './http-client.js';
import type { BenchResult } from './result.js';

const C = '/_matrix/client/v3';
const MESSAGES = Number(process.env.SYNC_BENCH_MESSAGES ?? 1000);
/** Latency messages sent before the measured ones (caches, JIT). */
const LATENCY_WARMUP = 20;
/** Sequential sends from node:http's client. */
const NODE_HTTP_SENDS = 1000;
/**
 * Messages each of the 16 senders sends before the measured ones. After
 * 3 000 from one sender, split with 3 each spent about 1.1 ms of server
 * CPU on each of the next 500 messages (0.6–0.85 ms later on). With 25
 * each, the busy processes' V8 helper threads (compiling, and marking for
 * the garbage collector) still took about 95 µs a message in the 2 000
 * measured ones (gateway 35–40, clientapi 20, syncapi 15, roomserver
 * 20–25), 15–25 in the 2 000 after; with 100 each, 30–35 from the first.
 */
const PARALLEL_WARMUP = 100;
const ROOMS = Number(process.env.SYNC_BENCH_ROOMS ?? 100);
const PER_ROOM = Number(process.env.SYNC_BENCH_PER_ROOM ?? 100);

interface User {
  user_id: string;
  access_token: string;
}

function client(port: number) {
  const http = new BenchHttpClient(port);
  const raw = (method: string, path: string, token?: string, body?: unknown) => http.request(method, path, token, body);
  const call = async (method: string, path: string, token?: string, body?: unknown): Promise<any> => {
    const { status, text } = await raw(method, path, token, body);
    const json = JSON.parse(text);
    if (status >= 400 && status !== 401) throw new Error(`${method} ${path}: ${status} ${text}`);
    return json;
  };
  const register = async (username: string): Promise<User> => {
    const first = await call('POST', `${C}/register`, undefined, { username, password: `${username}-password-1` });
    return call('POST', `${C}/register`, undefined, { username, password: `${username}-password-1`, auth: { type: 'm.login.dummy', session: first.session } });
  };
  let txn = 0;
  const send = (u: User, roomId: string, body: string) => call('PUT', `${C}/rooms/${encodeURIComponent(roomId)}/send/m.room.message/b${++txn}`, u.access_token, { msgtype: 'm.text', body });
  return { call, raw, register, send, close: () => http.close() };
}

const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

type Client = ReturnType<typeof client>;

/**
 * Sends into one room: one sender, then 16 at once (`joined` are members;
 * the rest are registered and join). Sustained means steady state: the 16
 * senders first send PARALLEL_WARMUP messages each at once (a newly joined
 * user's token and push rules are looked up once, then kept; and the code
 * of concurrent sends, batches of several events and log reads of several
 * records, is optimised only once it has run), then take the next message
 * from one shared count, so all 16 stay busy until the last one (fixed
 * shares per sender left a tail of a few stragglers in the window; with
 * 500 sends that tail was a fifth of it).
 */
async function throughput(call: Client['call'], register: Client['register'], send: Client['send'], room: string, joined: User[], mode: string, durability: 'sync' | 'relaxed'): Promise<BenchResult[]> {
  const label = durability === 'sync' ? mode : `${mode}, durability: relaxed`;
  const SEQUENTIAL = 1000;
  const PARALLEL = 2000;
  const [first] = joined;
  let t0 = performance.now();
  for (let i = 0; i < SEQUENTIAL; i++) await send(first!, room, `seq ${i}`);
  const sequential = SEQUENTIAL / ((performance.now() - t0) / 1000);
  const senders = [...joined];
  for (let i = senders.length; i < 16; i++) {
    const u = await register(`sender${i}`);
    await call('POST', `${C}/rooms/${encodeURIComponent(room)}/join`, u.access_token, {});
    senders.push(u);
  }
  await Promise.all(senders.map(async (u, k) => {
    for (let i = 0; i < PARALLEL_WARMUP; i++) await send(u, room, `warm ${k} ${i}`);
  }));
  let next = 0;
  t0 = performance.now();
  await Promise.all(senders.map(async (u, k) => {
    for (let i = next++; i < PARALLEL; i = next++) await send(u, room, `par ${k} ${i}`);
  }));
  const parallel = PARALLEL / ((performance.now() - t0) / 1000);
  if (durability === 'relaxed') {
    // No budget: it shows how much of a send the synced write costs.
    return [
      { name: `send throughput, sequential (${label})`, value: Math.round(sequential), unit: 'msg/s', note: 'acknowledged before the disk sync (at most 200 ms lost on power cut)' },
      { name: `send throughput, 16 senders (${label})`, value: Math.round(parallel), unit: 'msg/s' },
    ];
  }
  return [
    { name: `send throughput, sequential (${label})`, value: Math.round(sequential), unit: 'msg/s', budget: { op: '>=', value: mode === 'monolith' ? 1000 : 700 }, note: 'one sender, each send acknowledged (synced) before the next' },
    { name: `send throughput, 16 senders (${label})`, value: Math.round(parallel), unit: 'msg/s', budget: { op: '>=', value: 2000 } },
  ];
}

/** The throughput figures again with `durability: relaxed` (monolith), beside the synced ones. */
async function relaxedThroughput(): Promise<BenchResult[]> {
  const { dataDir, ports } = await initServer({ mode: 'monolith', tls: 'off', extra: ['--registration', 'open'] });
  const config = join(dataDir, 'neurite.yaml');
  writeFileSync(config, readFileSync(config, 'utf8').replace(/^durability: sync$/m, 'durability: relaxed'));
  const server = await startServer(dataDir, { clientPort: ports.client });
  const { call, register, send, close } = client(ports.client);
  try {
    const alice = await register('alice');
    const room = (await call('POST', `${C}/createRoom`, alice.access_token, { preset: 'public_chat' })).room_id as string;
    // As many as the synced arrangement has sent before its sequential figure (its latency run and
    // node:http's sends): both are then measured on the code V8 has optimised, not one of them on code it has not.
    for (let i = 0; i < MESSAGES + LATENCY_WARMUP + NODE_HTTP_SENDS; i++) await send(alice, room, `warm ${i}`);
    return await throughput(call, register, send, room, [alice], 'monolith', 'relaxed');
  } finally {
    close();
    await server.stop();
    removeDataDir(dataDir);
  }
}

/**
 * The sequential figure again with node:http's client, as most Node
 * programs would send: no budget; it shows how much of a send a heavier
 * client's own work adds on the same two cores.
 */
async function sequentialWithNodeHttp(port: number, room: string, u: User, mode: string): Promise<BenchResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const put = (path: string, body: string) =>
    new Promise<number>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, method: 'PUT', path, agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), authorization: `Bearer ${u.access_token}` } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.end(body);
    });
  try {
    const t0 = performance.now();
    for (let i = 0; i < NODE_HTTP_SENDS; i++) {
      const status = await put(`${C}/rooms/${encodeURIComponent(room)}/send/m.room.message/nodehttp${i}`, JSON.stringify({ msgtype: 'm.text', body: `node:http ${i}` }));
      if (status !== 200) throw new Error(`send answered ${status}`);
    }
    const rate = NODE_HTTP_SENDS / ((performance.now() - t0) / 1000);
    return { name: `send throughput, sequential, node:http's client (${mode})`, value: Math.round(rate), unit: 'msg/s', note: 'the same sends from node:http instead of the lean bench client' };
  } finally {
    agent.destroy();
  }
}

async function arrangement(mode: 'monolith' | 'split'): Promise<BenchResult[]> {
  const { dataDir, ports } = await initServer({ mode, tls: 'off', extra: ['--registration', 'open'] });
  const server = await startServer(dataDir, { clientPort: ports.client });
  const { call, raw, register, send, close } = client(ports.client);
  const results: BenchResult[] = [];
  try {
    const alice = await register('alice');
    const bob = await register('bob');
    const room = (await call('POST', `${C}/createRoom`, alice.access_token, { preset: 'public_chat' })).room_id as string;
    await call('POST', `${C}/rooms/${encodeURIComponent(room)}/join`, bob.access_token, {});
    // Presence would wake the long-polls for other reasons: off for this measurement.
    const filter = encodeURIComponent(JSON.stringify({ presence: { types: [] }, room: { timeline: { limit: 10 } } }));
    let since = (await call('GET', `${C}/sync?filter=${filter}&set_presence=offline`, bob.access_token)).next_batch as string;

    // Latency: bob long-polls; alice sends; the clock stops when bob's answer holds the event.
    const latencies: number[] = [];
    const acks: number[] = [];
    for (let i = 0; i < MESSAGES + LATENCY_WARMUP; i++) {
      let answer = call('GET', `${C}/sync?filter=${filter}&set_presence=offline&timeout=30000&since=${since}`, bob.access_token);
      // Let the long-poll reach the server and park before the send starts.
      await new Promise((r) => setTimeout(r, 3));
      const t0 = performance.now();
      const sent = send(alice, room, `latency ${i}`).then((r) => {
        acks.push(performance.now() - t0);
        return r.event_id as string;
      });
      for (;;) {
        const body = await answer;
        since = body.next_batch;
        const id = await sent;
        if ((body.rooms.join[room]?.timeline.events ?? []).some((e: { event_id: string }) => e.event_id === id)) break;
        answer = call('GET', `${C}/sync?filter=${filter}&set_presence=offline&timeout=30000&since=${since}`, bob.access_token);
      }
      // The first LATENCY_WARMUP warm the caches and the JIT.
      if (i >= LATENCY_WARMUP) latencies.push(performance.now() - t0);
    }
    results.push(
      { name: `send → other user's /sync, p50 (${mode})`, value: +percentile(latencies, 50).toFixed(2), unit: 'ms', budget: { op: '<=', value: 3 }, note: `${MESSAGES} messages; send acknowledged at p50 ${percentile(acks, 50).toFixed(2)} ms` },
      { name: `send → other user's /sync, p99 (${mode})`, value: +percentile(latencies, 99).toFixed(2), unit: 'ms', budget: { op: '<=', value: 15 }, note: `send acknowledged at p99 ${percentile(acks, 99).toFixed(2)} ms` },
    );

    // Before throughput(): its 16 senders join the room, and each message then notifies fifteen users.
    const nodeHttp = await sequentialWithNodeHttp(ports.client, room, alice, mode);
    results.push(...(await throughput(call, register, send, room, [alice, bob], mode, 'sync')), nodeHttp);

    // A user in 100 rooms of 100 messages each: the initial sync.
    const carol = await register('carol');
    const rooms: string[] = [];
    for (let i = 0; i < ROOMS; i++) rooms.push((await call('POST', `${C}/createRoom`, carol.access_token, { preset: 'public_chat', name: `room ${i}` })).room_id);
    let next = 0;
    await Promise.all(Array.from({ length: 16 }, async () => {
      for (let r = next++; r < rooms.length; r = next++) for (let m = 0; m < PER_ROOM; m++) await send(carol, rooms[r]!, `message ${m}`);
    }));
    // Wait for the SyncAPI to have it all: the last room's last message in a sync.
    const lastRoom = rooms.at(-1)!;
    for (;;) {
      const b = await call('GET', `${C}/sync?filter=${encodeURIComponent(JSON.stringify({ room: { rooms: [lastRoom] } }))}`, carol.access_token);
      if ((b.rooms.join[lastRoom]?.timeline.events ?? []).some((e: any) => e.content?.body === `message ${PER_ROOM - 1}`)) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const initial: number[] = [];
    let size = 0;
    for (let i = 0; i < 3; i++) {
      const t = performance.now();
      size = (await raw('GET', `${C}/sync`, carol.access_token)).text.length;
      initial.push(performance.now() - t);
    }
    results.push({ name: `initial sync, ${ROOMS} rooms × ${PER_ROOM} messages (${mode})`, value: Math.round(percentile(initial, 50)), unit: 'ms', note: `median of 3, ${Math.round(size / 1024)} KiB, default filter` });

    // Right after the load, and once V8's memory reducer has had the idle time it waits for (up to about 35 s; see server-bench).
    // The budget is for idle memory: the settled figure, as in server-bench (the first is how high the load took it).
    for (const [when, waitMs] of [['after the sync load', 0], ['60 s after the sync load', 60_000]] as const) {
      await new Promise((r) => setTimeout(r, waitMs));
      const s = JSON.parse(cli(['status', '--data-dir', dataDir, '--json']).stdout);
      const total = (s.supervisor.memory?.pss_kb ?? 0) + s.processes.reduce((a: number, p: any) => a + (p.memory?.pss_kb ?? 0), 0);
      const syncapi = s.processes.find((p: any) => p.name === (mode === 'split' ? 'syncapi' : 'neurite'));
      results.push({
        name: `memory ${when}, sum of PSS (${mode})`,
        value: Math.round(total / 1024),
        unit: 'MB',
        ...(waitMs > 0 ? { budget: { op: '<=' as const, value: mode === 'monolith' ? 80 : 200 } } : {}),
        note: `${mode === 'split' ? 'syncapi' : 'the one process'} ${((syncapi?.memory?.pss_kb ?? 0) / 1024).toFixed(1)} MB`,
      });
    }
  } finally {
    close();
    await server.stop();
    removeDataDir(dataDir);
  }
  return results;
}

export async function run(): Promise<BenchResult[]> {
  return [...(await arrangement('monolith')), ...(await relaxedThroughput()), ...(await arrangement('split'))];
}

if (import.meta.url === pathToFileURL(process.argv[1]!).href) {
  for (const r of await run()) console.log(`${r.name}: ${r.value} ${r.unit}${r.note ? ` (${r.note})` : ''}`);
}
