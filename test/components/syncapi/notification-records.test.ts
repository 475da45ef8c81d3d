/**
 * The stored notifications: one compact record per recipient of each
 * notifying event, ('nr', user, room, pos), and nothing else (the
 * timeline entry at that position names the event). After a restart,
 * unread counts and GET /notifications are read from the database, from
 * such records and from records in the two earlier formats (a second
 * 'nt' record per notification, long or short). /notifications merges a
 * user's rooms by position.
 */
import t from 'tap';
import { join } from 'node:path';
import { MAIN_THREAD } from '../../../src/core/push/thread.js';
import { Database } from '../../../src/platform/storage/database.js';
import { decodeKey, encodeKey, prefixRange } from '../../../src/platform/storage/keys.js';
import { enc, expectOk, roomOps, startSync, SyncStream, V3 } from '../../helpers/syncapi.js';

let s = await startSync();
t.teardown(() => s.stop());
const ops = roomOps(s);
const alice = await s.user('alice');
const bob = await s.user('bob');
const carol = await s.user('carol');

// Three members: in a room of two every message would ring (room_one_to_one's sound).
const room = await ops.create(alice, { preset: 'public_chat', name: 'Stored counts' });
await ops.join(bob, room);
await ops.join(carol, room);
const plain = await ops.send(alice, room, { msgtype: 'm.text', body: 'plain' });
const mention = await ops.send(alice, room, { msgtype: 'm.text', body: 'hey bob', 'm.mentions': { user_ids: [bob.user_id] } });
const reply = await ops.send(alice, room, { msgtype: 'm.text', body: 'in a thread', 'm.relates_to': { rel_type: 'm.thread', event_id: plain } });
const later = await ops.send(alice, room, { msgtype: 'm.text', body: 'later' });
await new SyncStream(s, bob).untilEvent(room, later);

/** Actions a stored notification from before 2026-11-27 carried in its 'nt' record: /notifications must report them. */
const SOUND = ['notify', { set_tweak: 'sound', value: 'default' }];
const LEGACY_HIGHLIGHT = ['notify', { set_tweak: 'sound', value: 'ping' }, { set_tweak: 'highlight' }];

t.test('one compact record per notification, and no second record', async (t) => {
  const listed = await s.call(bob, 'GET', `${V3}/notifications`);
  await expectOk(t, listed, 'GET /notifications before the restart');
  const actions = new Map<string, unknown>(listed.body.notifications.map((x: any) => [x.event.event_id, x.actions]));
  t.same(actions.get(plain), ['notify'], 'a message in a room of three: notify, no sound');
  const mentionActions = actions.get(mention) as unknown[];
  t.ok(mentionActions.some((a: any) => a?.set_tweak === 'highlight'), 'the mention highlights');

  const { dataDir } = s.h;
  await s.stop();
  const db = await Database.open(join(dataDir, 'db', 'syncapi'));
  try {
    t.same(await db.entries(prefixRange('nt', bob.user_id)), [], "no 'nt' records are written any more");
    const records = await db.entries<unknown>(prefixRange('nr', bob.user_id, room));
    t.same(
      records.map(([, v]) => v),
      [0, { a: mentionActions, h: 1 }, { t: plain }, 0],
      'a bare 0 for plain notify in the main timeline; otherwise only what differs: actions, highlight, thread',
    );
    // Rewrite the first two as the earlier versions wrote them: they must read the same, with their own actions.
    const rows = await db.entries<Record<string, unknown>>(prefixRange('ev'));
    const ts = new Map(rows.map(([, r]) => [r.event_id as string, (r.pdu as { origin_server_ts: number }).origin_server_ts]));
    const pos = records.map(([k]) => Number(decodeKey(k)[3]));
    await db.write([
      // Before the compact records of 2026-11-27: long 'nt', the count entry as an object.
      { type: 'put', key: encodeKey('nt', bob.user_id, pos[0]!), value: { room_id: room, event_id: plain, actions: SOUND, highlight: false, ts: ts.get(plain), thread_id: MAIN_THREAD } },
      { type: 'put', key: records[0]![0], value: { highlight: false, thread: MAIN_THREAD } },
      // From 2026-11-27 until one record each: short 'nt', the count entry 1 for a highlight.
      { type: 'put', key: encodeKey('nt', bob.user_id, pos[1]!), value: { event_id: mention, actions: LEGACY_HIGHLIGHT, highlight: true } },
      { type: 'put', key: records[1]![0], value: 1 },
    ]);
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
  t.same(
    n.body.notifications.map((x: any) => x.actions),
    [['notify'], ['notify'], LEGACY_HIGHLIGHT, SOUND],
    "the earlier records' actions from their 'nt' records",
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

t.test("/notifications merges the user's rooms by position, page by page", async (t) => {
  const other = await ops.create(alice, { preset: 'public_chat', name: 'Second room' });
  await ops.join(bob, other);
  await ops.join(carol, other);
  const first = await ops.send(alice, other, { msgtype: 'm.text', body: 'over here' });
  const back = await ops.send(alice, room, { msgtype: 'm.text', body: 'and back' });
  const again = await ops.send(alice, other, { msgtype: 'm.text', body: 'here again, bob', 'm.mentions': { user_ids: [bob.user_id] } });
  await new SyncStream(s, bob).untilEvent(other, again);

  const seen: string[] = [];
  const rooms: string[] = [];
  let from: string | undefined;
  for (let page = 0; page < 20; page++) {
    const r = await s.call(bob, 'GET', `${V3}/notifications?limit=2${from ? `&from=${from}` : ''}`);
    await expectOk(t, r, 'GET /notifications');
    t.ok(r.body.notifications.length <= 2, 'no more than the limit');
    for (const n of r.body.notifications) {
      seen.push(n.event.event_id);
      rooms.push(n.room_id);
    }
    from = r.body.next_token;
    if (!from) break;
  }
  t.same(seen, [again, back, first, later, reply, mention, plain], 'every notification once, newest first, across both rooms');
  t.same(rooms, [other, room, other, room, room, room, room], 'each with its own room');

  const hl = await s.call(bob, 'GET', `${V3}/notifications?only=highlight`);
  t.same(hl.body.notifications.map((x: any) => x.event.event_id), [again, mention], 'the highlights of both rooms');
});
