/**
 * The stored notifications: one compact record per recipient of each
 * notifying event (the event record has the rest), and, after a restart,
 * unread counts and GET /notifications read from the database, both from
 * such records and from records in the earlier, longer format.
 */
import t from 'tap';
import { join } from 'node:path';
import { MAIN_THREAD } from '../../../src/core/push/thread.js';
import { Database } from '../../../src/platform/storage/database.js';
import { prefixRange } from '../../../src/platform/storage/keys.js';
import { enc, expectOk, roomOps, startSync, SyncStream, V3 } from '../../helpers/syncapi.js';

let s = await startSync();
t.teardown(() => s.stop());
const ops = roomOps(s);
const alice = await s.user('alice');
const bob = await s.user('bob');

const room = await ops.create(alice, { preset: 'public_chat', name: 'Stored counts' });
await ops.join(bob, room);
const plain = await ops.send(alice, room, { msgtype: 'm.text', body: 'plain' });
const mention = await ops.send(alice, room, { msgtype: 'm.text', body: 'hey bob', 'm.mentions': { user_ids: [bob.user_id] } });
const reply = await ops.send(alice, room, { msgtype: 'm.text', body: 'in a thread', 'm.relates_to': { rel_type: 'm.thread', event_id: plain } });
const later = await ops.send(alice, room, { msgtype: 'm.text', body: 'later' });
await new SyncStream(s, bob).untilEvent(room, later);

t.test('one compact record per notification, and one unread-count entry', async (t) => {
  const { dataDir } = s.h;
  await s.stop();
  const db = await Database.open(join(dataDir, 'db', 'syncapi'));
  try {
    const notes = await db.entries<Record<string, unknown>>(prefixRange('nt', bob.user_id));
    t.same(
      notes.map(([, n]) => n.event_id),
      [plain, mention, reply, later],
      'each notifying event, in order',
    );
    t.same(
      notes.map(([, n]) => Object.keys(n).sort()),
      [['actions', 'event_id'], ['actions', 'event_id', 'highlight'], ['actions', 'event_id'], ['actions', 'event_id']],
      'only the event id, the actions, and highlight when it is true',
    );
    const counts = await db.entries<unknown>(prefixRange('nr', bob.user_id, room));
    t.same(
      counts.map(([, v]) => v),
      [0, 1, { highlight: false, thread: plain }, 0],
      'a bare 0 or 1 (highlight) in the main timeline; the thread named in a thread',
    );
    // Rewrite the first two as the earlier version wrote them: they must read the same.
    const rows = await db.entries<Record<string, unknown>>(prefixRange('ev'));
    const ts = new Map(rows.map(([, r]) => [r.event_id as string, (r.pdu as { origin_server_ts: number }).origin_server_ts]));
    await db.write(
      notes.slice(0, 2).flatMap(([k, n], i) => {
        const highlight = i === 1;
        const legacy = { room_id: room, event_id: n.event_id, actions: n.actions, highlight, ts: ts.get(n.event_id as string), thread_id: MAIN_THREAD };
        return [
          { type: 'put' as const, key: k, value: legacy },
          { type: 'put' as const, key: counts[i]![0], value: { highlight, thread: MAIN_THREAD } },
        ];
      }),
    );
  } finally {
    await db.close();
  }
  s = await startSync({ dataDir, serverName: s.serverName });
});

t.test('after the restart: counts and /notifications from the stored records', async (t) => {
  const stream = new SyncStream(s, bob, { filter: JSON.stringify({ room: { timeline: { unread_thread_notifications: true } } }) });
  const body = await stream.until((x) => room in x.rooms.join);
  const joined = body.rooms.join[room];
  t.same(joined.unread_notifications, { notification_count: 3, highlight_count: 1 }, 'the main timeline: plain, the mention (highlight) and later');
  t.same(joined.unread_thread_notifications, { [plain]: { notification_count: 1, highlight_count: 0 } }, 'the thread apart');

  const n = await s.call(bob, 'GET', `${V3}/notifications`);
  await expectOk(t, n, 'GET /notifications');
  t.same(
    n.body.notifications.map((x: any) => x.event.event_id),
    [later, reply, mention, plain],
    'newest first',
  );
  t.ok(
    n.body.notifications.every((x: any) => x.room_id === room && x.ts === x.event.origin_server_ts && x.read === false),
    "each names its room and its event's time, unread",
  );
  const hl = await s.call(bob, 'GET', `${V3}/notifications?only=highlight`);
  t.same(hl.body.notifications.map((x: any) => x.event.event_id), [mention], 'only the highlight');

  await s.call(bob, 'POST', `${V3}/rooms/${enc(room)}/receipt/m.read/${enc(mention)}`, {});
  const after = await stream.until((x) => x.rooms.join[room]?.unread_notifications?.notification_count === 1);
  t.same(after.rooms.join[room].unread_notifications, { notification_count: 1, highlight_count: 0 }, 'a receipt clears the records it covers');
});
