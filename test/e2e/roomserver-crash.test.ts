/**
 * "A SIGKILL during heavy input loses no acknowledged event and leaves no
 * event without its state or its log record." The real server runs split;
 * this test drives its roomserver over the roomserver's Unix socket with
 * many concurrent senders in several rooms, kills the roomserver process
 * with SIGKILL at random moments (the supervisor restarts it), and checks
 * every room afterwards.
 */
import t from 'tap';
import { roomserverApi, type RoomEvent } from '../../src/components/roomserver/api.js';
import type { OutputRoomEvent } from '../../src/components/roomserver/topics.js';
import { referenceIds } from '../../src/core/events/pdu.js';
import { dataPaths, processSocketPath } from '../../src/platform/config/paths.js';
import { ApiDirectory } from '../../src/platform/ipc/directory.js';
import { logReaderApi } from '../../src/platform/log/reader-api.js';
import { cli, initServer, startServer, waitFor } from '../helpers/server.js';

const seed = Number(process.env.CRASH_SEED ?? Date.now() % 100_000);
let state = seed;
const random = () => ((state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
t.comment(`seed ${seed} (replay with CRASH_SEED=${seed})`);

const { dataDir, ports, serverName } = await initServer({ mode: 'split' });
const server = await startServer(dataDir, { clientPort: ports.client });
t.teardown(() => server.kill());
const socket = processSocketPath(dataPaths(dataDir), 'roomserver');
const apis = new ApiDirectory({ socketFor: () => socket });
t.teardown(() => apis.close());
const rs = apis.get(roomserverApi);
const user = (i: number) => `@u${i}:${serverName}`;

function roomserverPid(): number | undefined {
  const s = JSON.parse(cli(['status', '--data-dir', dataDir, '--json']).stdout);
  const p = s.processes.find((x: { name: string }) => x.name === 'roomserver');
  return p?.state === 'running' ? p.pid : undefined;
}

t.test('SIGKILL under load loses nothing acknowledged', async (t) => {
  const rooms: string[] = [];
  for (let i = 0; i < 4; i++) rooms.push((await rs.createRoom({ creator: user(0), room_version: i % 2 ? '10' : '12', preset: 'public_chat' })).room_id);
  const acknowledged = new Map<string, string>();
  let stop = false;
  let failures = 0;
  let seq = 0;

  const sender = async (w: number) => {
    while (!stop) {
      const room_id = rooms[w % rooms.length]!;
      const n = seq++;
      // Every other event changes state, so state-tree nodes are written under load too.
      const stateEvent = n % 2 === 0;
      try {
        const r = await rs.sendEvent(
          stateEvent
            ? { room_id, sender: user(0), type: 'org.neurite.counter', state_key: `w${w}`, content: { n } }
            : { room_id, sender: user(0), type: 'm.room.message', content: { msgtype: 'm.text', body: `m${n}` }, txn: { device_id: `D${w}`, txn_id: `t${n}` } },
          { timeoutMs: 5000 },
        );
        acknowledged.set(r.event_id, room_id);
      } catch {
        failures++;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  };
  const senders = Array.from({ length: 12 }, (_, w) => sender(w));

  const kills = 5;
  for (let k = 0; k < kills; k++) {
    // Each kill after a random number of newly acknowledged events (not a time: a busy machine acknowledges fewer per second).
    const target = acknowledged.size + 25 + Math.floor(random() * 60);
    const until = Date.now() + 60_000;
    while (acknowledged.size < target && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    const pid = await waitFor('the roomserver to run', async () => roomserverPid());
    process.kill(pid, 'SIGKILL');
    await waitFor('a new roomserver', async () => {
      const p = roomserverPid();
      return p && p !== pid ? p : undefined;
    });
  }
  await new Promise((r) => setTimeout(r, 500));
  stop = true;
  await Promise.all(senders);
  t.comment(`${acknowledged.size} events acknowledged, ${failures} sends failed while the roomserver was down, ${kills} kills`);
  t.ok(acknowledged.size > 100, 'the load was real');

  // Every acknowledged event is there, with its state.
  const ids = [...acknowledged.keys()];
  const found = new Map<string, RoomEvent>();
  for (let i = 0; i < ids.length; i += 500) {
    for (const e of (await rs.queryEvents({ event_ids: ids.slice(i, i + 500) })).events) found.set(e.event_id, e);
  }
  t.equal(found.size, ids.length, 'no acknowledged event is lost');

  // The log holds every event of every room exactly once.
  const reader = apis.get(logReaderApi('roomserver'));
  const logged = new Map<string, number>();
  for (let from = 1; ; ) {
    const { records } = await reader.read({ topic: 'output_room_events', consumer: 'crash-test', from, limit: 1000, waitMs: 0, durable: 0 });
    if (records.length === 0) break;
    for (const r of records) {
      const rec = r.record as OutputRoomEvent;
      if (rec.kind === 'new_room_event') logged.set(rec.event.event_id, (logged.get(rec.event.event_id) ?? 0) + 1);
    }
    from = records[records.length - 1]!.offset + 1;
  }
  t.equal([...logged.values()].filter((c) => c > 1).length, 0, 'no event logged twice');

  // Walk each room's DAG from its forward extremities to its create event:
  // every event exists, has a state, and has its log record.
  let walked = 0;
  let missingState = 0;
  let missingLog = 0;
  let missingEvent = 0;
  for (const room_id of rooms) {
    const summary = (await rs.queryRoom({ room_id }))!;
    let frontier = summary.latest_event_ids;
    const seen = new Set<string>();
    while (frontier.length > 0) {
      const batch = frontier.filter((id) => !seen.has(id));
      batch.forEach((id) => seen.add(id));
      const events = (await rs.queryEvents({ event_ids: batch })).events;
      missingEvent += batch.length - events.length;
      const next: string[] = [];
      for (const e of events) {
        walked++;
        if (!logged.has(e.event_id)) missingLog++;
        if (e.pdu.type !== 'm.room.create') {
          const st = await rs.queryStateAtEvent({ event_id: e.event_id, keys: [['m.room.create', '']] });
          if (st.events.length !== 1) missingState++;
        }
        next.push(...referenceIds(e.pdu.prev_events));
      }
      frontier = [...new Set(next)];
    }
    for (const [id, room] of acknowledged) if (room === room_id && !seen.has(id)) missingEvent++;
  }
  t.comment(`walked ${walked} events`);
  t.equal(missingEvent, 0, 'every acknowledged event is in its room DAG, and every referenced event exists');
  t.equal(missingState, 0, 'every event has its state');
  t.equal(missingLog, 0, 'every event has its log record');

  // And the room still works.
  const after = await rs.sendEvent({ room_id: rooms[0]!, sender: user(0), type: 'm.room.message', content: { body: 'still here' } });
  t.ok(after.event_id);
  t.equal((await server.stop()).code, 0);
});
