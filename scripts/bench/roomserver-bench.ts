/**
 * The roomserver: local event input (auth, persist and log, durable) into
 * one room and across 100 rooms, called directly (monolith) and over its
 * Unix socket (split); state resolution of a 10 000-member room with 200
 * conflicting state events; and disk bytes per event in a 10 000-member room.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { resolveState } from '../../src/core/stateres/index.js';
import { roomserverApi, type RoomserverAPI } from '../../src/components/roomserver/api.js';
import type { Client } from '../../src/platform/ipc/directory.js';
import { startComponents } from '../../test/helpers/components.js';
import { Dag } from '../../test/core/stateres/dag.js';
import type { BenchResult } from './result.js';

const SERVER = 'bench.neurite.local';
const user = (i: number) => `@u${i}:${SERVER}`;

function dirBytes(dir: string): number {
  let total = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    total += e.isDirectory() ? dirBytes(p) : statSync(p).size;
  }
  return total;
}

async function sends(rs: Client<RoomserverAPI>, rooms: string[], total: number, concurrency: number): Promise<number> {
  let n = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      while (n < total) {
        const i = n++;
        const room_id = rooms[(worker + i) % rooms.length]!;
        await rs.sendEvent({ room_id, sender: user(0), type: 'm.room.message', content: { msgtype: 'm.text', body: `message ${i}` } });
      }
    }),
  );
  return total / ((performance.now() - t0) / 1000);
}

async function eventInput(): Promise<BenchResult[]> {
  const h = await startComponents(['roomserver', 'serverkeyapi'], { serverName: SERVER });
  try {
    const out: BenchResult[] = [];
    for (const [transport, rs] of [
      ['direct', h.group.apis.get(roomserverApi)],
      ['Unix socket', h.apis.get(roomserverApi)],
    ] as const) {
      const one = (await rs.createRoom({ creator: user(0), room_version: '12', preset: 'public_chat' })).room_id;
      const many = await Promise.all(Array.from({ length: 100 }, async () => (await rs.createRoom({ creator: user(0), room_version: '12', preset: 'public_chat' })).room_id));
      await sends(rs, [one], 200, 1);
      out.push(
        { name: `local event input, one room, one sender (${transport})`, value: Math.round(await sends(rs, [one], 2000, 1)), unit: 'events/s' },
        { name: `local event input, one room, 16 senders (${transport})`, value: Math.round(await sends(rs, [one], 4000, 16)), unit: 'events/s' },
        { name: `local event input, 100 rooms, 16 senders (${transport})`, value: Math.round(await sends(rs, many, 4000, 16)), unit: 'events/s' },
      );
    }
    return out;
  } finally {
    await h.stop();
  }
}

function stateResolution(): BenchResult[] {
  const dag = new Dag('12', '!create');
  const alice = '@alice:a';
  const base = dag.bootstrap(alice, { users: {} });
  const users = Array.from({ length: 10_000 }, (_, i) => `@u${i}:s${i % 50}`);
  for (const u of users) dag.join(`$join-${u}`, u, base);
  const renames = new Map(base);
  for (const u of users.slice(0, 100)) dag.join(`$rename-${u}`, u, renames, { displayname: 'x' });
  const kicks = new Map(base);
  dag.add('$pl-mod', { type: 'm.room.power_levels', sender: alice, stateKey: '', content: { users: { [users[5000]!]: 50 } } }, kicks);
  for (const u of users.slice(100, 199)) dag.add(`$kick-${u}`, { type: 'm.room.member', sender: alice, stateKey: u, content: { membership: 'leave' } }, kicks);

  resolveState(dag.version, [renames, kicks], { getEvent: dag.getEvent });
  global.gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  const t0 = performance.now();
  const runs = 5;
  for (let i = 0; i < runs; i++) resolveState(dag.version, [renames, kicks], { getEvent: dag.getEvent });
  const ms = (performance.now() - t0) / runs;
  const heapAfter = process.memoryUsage().heapUsed;
  return [
    { name: 'state resolution v2.1, 10 000 members, 200 conflicting events', value: Math.round(ms), unit: 'ms', note: `heap grew ${((heapAfter - heapBefore) / 2 ** 20).toFixed(1)} MB over ${runs} runs (run with --expose-gc for a cleaner figure)` },
  ];
}

async function storageGrowth(): Promise<BenchResult[]> {
  const h = await startComponents(['roomserver', 'serverkeyapi'], { serverName: SERVER });
  try {
    const rs = h.group.apis.get(roomserverApi);
    const dbDir = join(h.dataDir, 'db', 'roomserver');
    const { room_id } = await rs.createRoom({ creator: user(0), room_version: '12', preset: 'public_chat' });
    const members = 10_000;
    let n = 1;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (n < members) {
          const u = user(n++);
          await rs.sendEvent({ room_id, sender: u, type: 'm.room.member', state_key: u, content: { membership: 'join', displayname: u.slice(1, 7) } });
        }
      }),
    );
    // Let LevelDB write out and compact what it holds in its log before measuring.
    await h.stop();
    const h2 = await startComponents(['roomserver', 'serverkeyapi'], { serverName: SERVER, dataDir: h.dataDir });
    const afterJoins = dirBytes(dbDir);
    const rs2 = h2.group.apis.get(roomserverApi);
    const messages = 2000;
    for (let i = 0; i < messages; i++) await rs2.sendEvent({ room_id, sender: user(i % members), type: 'm.room.message', content: { msgtype: 'm.text', body: `hello ${i}` } });
    await rs2.sendEvent({ room_id, sender: user(1), type: 'm.room.topic', state_key: '', content: { topic: 'x' } }).catch(() => {});
    await h2.stop();
    const afterMessages = dirBytes(dbDir);
    return [
      { name: 'roomserver disk per state event, 10 000-member room (joins)', value: Math.round(afterJoins / members), unit: 'bytes', note: `${(afterJoins / 2 ** 20).toFixed(1)} MB for ${members} joins: event, log record, state-tree nodes, indexes` },
      { name: 'roomserver disk per message event, same room', value: Math.round((afterMessages - afterJoins) / messages), unit: 'bytes', note: 'messages share the state of the event before them' },
    ];
  } finally {
    await h.stop().catch(() => {});
  }
}

export async function run(): Promise<BenchResult[]> {
  return [...(await eventInput()), ...stateResolution(), ...(await storageGrowth())];
}

if (import.meta.url === pathToFileURL(process.argv[1]!).href) {
  for (const r of await run()) console.log(`${r.name}: ${r.value} ${r.unit}${r.note ? ` (${r.note})` : ''}`);
}
