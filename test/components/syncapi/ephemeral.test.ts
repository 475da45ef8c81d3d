/**
 * What /sync carries besides room events: typing and receipts (private ones
 * to their owner only), presence, send-to-device messages (kept until the
 * next `since` acknowledges them), account data (global and per room),
 * device-list changes, unread notification counts (mentions highlight,
 * receipts clear them, per-thread counts), and GET /notifications.
 */
import t from 'tap';
import { enc, expectOk, roomOps, startSync, SyncStream, V3, type User } from '../../helpers/syncapi.js';
import { TestDevice } from '../../helpers/keys.js';

const s = await startSync();
t.teardown(() => s.stop());
const ops = roomOps(s);
const alice = await s.user('alice');
const bob = await s.user('bob');
const carol = await s.user('carol');
const R = (roomId: string) => `${V3}/rooms/${enc(roomId)}`;

const roomId = await ops.create(alice, { preset: 'public_chat', name: 'Ephemeral' });
await ops.join(bob, roomId);
const ready = await ops.send(alice, roomId);
await new SyncStream(s, bob).untilEvent(roomId, ready);

const ephemeral = (b: any, type: string) => (b.rooms.join[roomId]?.ephemeral.events ?? []).filter((e: any) => e.type === type);

t.test('typing', async (t) => {
  const stream = new SyncStream(s, bob);
  await stream.next();
  const put = await s.call(alice, 'PUT', `${R(roomId)}/typing/${enc(alice.user_id)}`, { typing: true, timeout: 30000 });
  t.equal(put.status, 200);
  const b = await stream.until((x) => ephemeral(x, 'm.typing').length > 0);
  t.same(ephemeral(b, 'm.typing')[0].content, { user_ids: [alice.user_id] });
  const initial = await ops.sync(bob);
  t.same(ephemeral(initial.body, 'm.typing')[0]?.content, { user_ids: [alice.user_id] }, 'an initial sync shows who is typing now');
  await s.call(alice, 'PUT', `${R(roomId)}/typing/${enc(alice.user_id)}`, { typing: false });
  const stopped = await stream.until((x) => ephemeral(x, 'm.typing').length > 0);
  t.same(ephemeral(stopped, 'm.typing')[0].content, { user_ids: [] }, 'stopping typing is sent too');
  const after = await ops.sync(bob);
  t.same(ephemeral(after.body, 'm.typing').map((e: any) => e.content), [{ user_ids: [] }], 'and an initial sync then shows that nobody is');
  const quiet = await ops.create(alice, { preset: 'public_chat' });
  const withQuiet = await new SyncStream(s, alice).until((x) => quiet in x.rooms.join);
  t.same(withQuiet.rooms.join[quiet].ephemeral.events, [], 'a room where nobody has typed has no typing list');
});

t.test('receipts: public to the room, private to their owner', async (t) => {
  const msg = await ops.send(alice, roomId, { msgtype: 'm.text', body: 'read me' });
  const aliceStream = new SyncStream(s, alice);
  await aliceStream.untilEvent(roomId, msg);
  const r = await s.call(bob, 'POST', `${R(roomId)}/receipt/m.read/${enc(msg)}`, {});
  t.equal(r.status, 200, `receipt: ${JSON.stringify(r.body)}`);
  const b = await aliceStream.until((x) => ephemeral(x, 'm.receipt').length > 0);
  await expectOk(t, { status: 200, body: b }, 'GET /sync', 'an answer with a receipt');
  t.match(ephemeral(b, 'm.receipt')[0].content, { [msg]: { 'm.read': { [bob.user_id]: { ts: Number } } } });

  const msg2 = await ops.send(alice, roomId, { msgtype: 'm.text', body: 'privately' });
  await aliceStream.untilEvent(roomId, msg2);
  const bobStream = new SyncStream(s, bob);
  await bobStream.untilEvent(roomId, msg2);
  await s.call(bob, 'POST', `${R(roomId)}/receipt/m.read.private/${enc(msg2)}`, {});
  const own = await bobStream.until((x) => ephemeral(x, 'm.receipt').length > 0);
  t.match(ephemeral(own, 'm.receipt')[0].content, { [msg2]: { 'm.read.private': { [bob.user_id]: {} } } }, 'the owner sees the private receipt');
  const mark = await ops.send(bob, roomId, { msgtype: 'm.text', body: 'mark' });
  await aliceStream.untilEvent(roomId, mark);
  t.notOk(aliceStream.bodies.some((x) => JSON.stringify(ephemeral(x, 'm.receipt')).includes('m.read.private')), 'nobody else does');
  const initial = await ops.sync(alice);
  t.notOk(JSON.stringify(initial.body).includes('m.read.private'), 'not even in an initial sync');
  const threaded = await s.call(bob, 'POST', `${R(roomId)}/receipt/m.read/${enc(mark)}`, { thread_id: 'main' });
  t.equal(threaded.status, 200);
  const tb = await aliceStream.until((x) => ephemeral(x, 'm.receipt').length > 0);
  t.match(ephemeral(tb, 'm.receipt')[0].content, { [mark]: { 'm.read': { [bob.user_id]: { thread_id: 'main' } } } }, 'threaded receipts carry their thread');
});

t.test('presence', async (t) => {
  const put = await s.call(alice, 'PUT', `${V3}/presence/${enc(alice.user_id)}/status`, { presence: 'unavailable', status_msg: 'lunch' });
  t.equal(put.status, 200);
  const stream = new SyncStream(s, bob);
  const b = await stream.until((x) => x.presence.events.some((e: any) => e.sender === alice.user_id && e.content.status_msg === 'lunch'));
  t.match(b.presence.events.find((e: any) => e.sender === alice.user_id), { type: 'm.presence', content: { presence: 'unavailable', status_msg: 'lunch' } });
  const cs = new SyncStream(s, carol);
  const initial = await cs.next();
  t.notOk(initial.presence.events.some((e: any) => e.sender === alice.user_id), 'a user who shares no room sees no presence');
});

t.test('presence of someone one comes to share a room with, though it has not changed', async (t) => {
  const erin = await s.user('erin');
  await s.call(erin, 'PUT', `${V3}/presence/${enc(erin.user_id)}/status`, { presence: 'online', status_msg: 'new here' });
  // offline: these syncs leave erin's presence as she set it.
  const erinStream = new SyncStream(s, erin, { set_presence: 'offline' });
  await erinStream.until((x) => x.presence.events.some((e: any) => e.sender === erin.user_id && e.content.status_msg === 'new here'));
  const bobStream = new SyncStream(s, bob, { set_presence: 'offline' });
  const start = await bobStream.next();
  t.notOk(start.presence.events.some((e: any) => e.sender === erin.user_id), 'no room shared yet: nothing of erin');
  await ops.join(erin, roomId);
  const met = await bobStream.until((x) => x.rooms.join[roomId]?.timeline.events.some((e: any) => e.state_key === erin.user_id));
  t.match(met.presence.events.find((e: any) => e.sender === erin.user_id)?.content, { presence: 'online', status_msg: 'new here' }, 'bob learns it as erin joins');
  const joined = await erinStream.until((x) => roomId in x.rooms.join);
  t.ok(joined.presence.events.some((e: any) => e.sender === alice.user_id), "and erin learns the members' presence");
  const quiet = await bobStream.next({ timeout: 200 });
  t.notOk(quiet.presence.events.some((e: any) => e.sender === erin.user_id), 'once only');
});

t.test('someone one comes to share a room with who has never been online is offline', async (t) => {
  const gil = await s.user('gil');
  const bobStream = new SyncStream(s, bob, { set_presence: 'offline' });
  await bobStream.next();
  await ops.join(gil, roomId);
  const met = await bobStream.until((x) => x.rooms.join[roomId]?.timeline.events.some((e: any) => e.state_key === gil.user_id));
  t.same(met.presence.events.filter((e: any) => e.sender === gil.user_id), [{ type: 'm.presence', sender: gil.user_id, content: { presence: 'offline' } }], 'bob learns it as gil joins');
  const quiet = await bobStream.next({ timeout: 200 });
  t.notOk(quiet.presence.events.some((e: any) => e.sender === gil.user_id), 'once only');
});

t.test("an initial sync's next_batch is past the presence it set", async (t) => {
  const frank = await s.user('frank');
  const first = await ops.sync(frank, { set_presence: 'online' });
  t.match(first.body.presence.events.find((e: any) => e.sender === frank.user_id)?.content, { presence: 'online' }, 'the initial sync shows it');
  const next = await ops.sync(frank, { since: first.body.next_batch, timeout: 300 });
  t.notOk(next.body.presence.events.some((e: any) => e.sender === frank.user_id), 'the first long-poll does not wake for it again');
});

t.test('set_presence on /sync', async (t) => {
  const dora = await s.user('dora');
  await ops.join(dora, roomId);
  const stream = new SyncStream(s, bob);
  await stream.until((x) => x.rooms.join[roomId]?.timeline.events.some((e: any) => e.state_key === dora.user_id));
  // Syncing (set_presence online, the default) is what makes a client online.
  await ops.sync(dora, { set_presence: 'online' });
  const b = await stream.until((x) => x.presence.events.some((e: any) => e.sender === dora.user_id));
  t.match(b.presence.events.find((e: any) => e.sender === dora.user_id).content, { presence: 'online', currently_active: true });
});

t.test('send-to-device: delivered, kept until acknowledged, then gone', async (t) => {
  const bob2 = await s.login('bob');
  const stream = new SyncStream(s, bob2);
  await stream.next();
  const put = await s.call(alice, 'PUT', `${V3}/sendToDevice/org.example.ping/txn1`, { messages: { [bob.user_id]: { [bob2.device_id]: { n: 1 } } } });
  t.equal(put.status, 200);
  const first = await stream.until((x) => x.to_device.events.length > 0);
  await expectOk(t, { status: 200, body: first }, 'GET /sync', 'an answer with a to-device message');
  t.same(first.to_device.events, [{ sender: alice.user_id, type: 'org.example.ping', content: { n: 1 } }]);
  // The same since again (the answer was lost): the message comes again.
  const since = stream.bodies.at(-2)?.next_batch;
  const again = await ops.sync(bob2, since ? { since } : {});
  t.same(again.body.to_device.events.map((e: any) => e.content.n), [1], 'not acknowledged yet: sent again');
  // Acknowledged by the next since: gone.
  const acked = await ops.sync(bob2, { since: first.next_batch });
  t.same(acked.body.to_device.events, [], 'acknowledged: gone');
  const later = await ops.sync(bob2, { since: since ?? first.next_batch });
  t.same(later.body.to_device.events, [], 'and deleted: an old since does not bring it back');
  const otherDevice = await ops.sync(bob);
  t.same(otherDevice.body.to_device.events, [], "another device of the user does not get it");
  // To all devices.
  await s.call(alice, 'PUT', `${V3}/sendToDevice/org.example.ping/txn2`, { messages: { [bob.user_id]: { '*': { n: 2 } } } });
  const both = await stream.until((x) => x.to_device.events.length > 0);
  t.same(both.to_device.events.map((e: any) => e.content.n), [2]);
  const s1 = new SyncStream(s, bob);
  const b1 = await s1.until((x) => x.to_device.events.length > 0);
  t.same(b1.to_device.events.map((e: any) => e.content.n), [2], '* reaches every device');
});

t.test('account data, global and per room', async (t) => {
  const stream = new SyncStream(s, bob);
  await stream.next();
  await s.call(bob, 'PUT', `${V3}/user/${enc(bob.user_id)}/account_data/org.example.global`, { g: 1 });
  await s.call(bob, 'PUT', `${V3}/user/${enc(bob.user_id)}/rooms/${enc(roomId)}/account_data/org.example.room`, { r: 1 });
  const b = await stream.until((x) => x.rooms.join[roomId]?.account_data.events.length > 0 || false);
  const all = stream.bodies.slice(1);
  t.ok(all.some((x) => x.account_data.events.some((e: any) => e.type === 'org.example.global' && e.content.g === 1)), 'global');
  t.same(b.rooms.join[roomId].account_data.events, [{ type: 'org.example.room', content: { r: 1 } }], 'per room');
  const initial = await ops.sync(bob);
  t.ok(initial.body.account_data.events.some((e: any) => e.type === 'm.push_rules'), 'an initial sync carries the push rules');
  t.ok(initial.body.account_data.events.some((e: any) => e.type === 'org.example.global'));
});

t.test('device lists and one-time key counts', async (t) => {
  const stream = new SyncStream(s, bob);
  await stream.next();
  const devA = new TestDevice(alice);
  const up = await s.call(alice, 'POST', `${V3}/keys/upload`, { device_keys: devA.deviceKeys(), one_time_keys: devA.oneTimeKeys(3) });
  t.equal(up.status, 200, `upload: ${JSON.stringify(up.body)}`);
  const b = await stream.until((x) => x.device_lists.changed.length > 0);
  t.same(b.device_lists.changed, [alice.user_id], "alice's keys changed: bob shares a room with her");
  const own = await ops.sync(alice);
  t.same(own.body.device_one_time_keys_count, { signed_curve25519: 3 }, "the device's one-time key count");
  t.same(own.body.device_unused_fallback_key_types, [], 'and its unused fallback key types');
  // Each answer gives the counts as they are now: a claim just before a sync shows in it, not one sync later.
  let since = own.body.next_batch;
  for (const left of [2, 1, 0]) {
    const claim = await s.call(bob, 'POST', `${V3}/keys/claim`, { one_time_keys: { [alice.user_id]: { [alice.device_id]: 'signed_curve25519' } } });
    t.equal(Object.keys(claim.body.one_time_keys[alice.user_id][alice.device_id]).length, 1, 'bob claims one of her keys');
    const next = await ops.sync(alice, { since, timeout: '0' });
    t.same(next.body.device_one_time_keys_count, left ? { signed_curve25519: left } : {}, `the sync right after it: ${left} left`);
    since = next.body.next_batch;
  }
  const cs = new SyncStream(s, carol);
  await cs.next();
  await s.call(alice, 'POST', `${V3}/keys/upload`, { device_keys: devA.deviceKeys({ unsigned: {} }), one_time_keys: devA.oneTimeKeys(1, 'more') });
  const mark = await ops.create(carol, {});
  await cs.until((x) => mark in x.rooms.join);
  t.notOk(cs.bodies.some((x) => x.device_lists.changed.includes(alice.user_id)), 'not for someone who shares no room');

  // GET /keys/changes between two of bob's sync tokens says the same.
  const from = stream.bodies[0].next_batch;
  const changes = await s.call(bob, 'GET', `${V3}/keys/changes?from=${from}&to=${stream.since}`);
  t.equal(changes.status, 200, `keys/changes: ${JSON.stringify(changes.body)}`);
  t.same(changes.body, { changed: [alice.user_id], left: [] }, '/keys/changes: alice, whose keys changed after `from`');
  const none = await s.call(bob, 'GET', `${V3}/keys/changes?from=${stream.since}&to=${stream.since}`);
  t.same(none.body, { changed: [], left: [] }, 'nothing between a token and itself');
  const carols = await s.call(carol, 'GET', `${V3}/keys/changes?from=${cs.bodies[0].next_batch}&to=${cs.since}`);
  t.same(carols.body.changed, [], 'carol, who shares no room with alice, is told nothing');
  const missing = await s.call(bob, 'GET', `${V3}/keys/changes?from=${from}`);
  t.same([missing.status, missing.body.errcode], [400, 'M_MISSING_PARAM'], 'to is required');
  const garbage = await s.call(bob, 'GET', `${V3}/keys/changes?from=nonsense&to=${stream.since}`);
  t.same([garbage.status, garbage.body.errcode], [400, 'M_INVALID_PARAM'], 'a token that is not ours');
});

t.test('device lists: a new device, a renamed one and a deleted one, keys or not', async (t) => {
  const stream = new SyncStream(s, bob);
  await stream.next();
  const laptop = await s.login('alice');
  const added = await stream.until((x) => x.device_lists.changed.includes(alice.user_id));
  t.ok(added, 'a login without keys yet: changed');
  const renamed = await s.call(laptop, 'PUT', `${V3}/devices/${enc(laptop.device_id)}`, { display_name: 'renamed laptop' });
  t.equal(renamed.status, 200);
  const afterRename = await stream.until((x) => x !== added && x.device_lists.changed.includes(alice.user_id));
  t.ok(afterRename, 'renaming it: changed');
  const auth = { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'alice' }, password: 'correct horse battery' };
  const gone = await s.call(laptop, 'DELETE', `${V3}/devices/${enc(laptop.device_id)}`, { auth });
  t.equal(gone.status, 200, `delete: ${JSON.stringify(gone.body)}`);
  t.ok(await stream.until((x) => x !== added && x !== afterRename && x.device_lists.changed.includes(alice.user_id)), 'deleting it: changed');
});

t.test('device lists: members of encrypted rooms come and go', async (t) => {
  const enc = await ops.create(alice, { preset: 'public_chat', initial_state: [{ type: 'm.room.encryption', state_key: '', content: { algorithm: 'm.megolm.v1.aes-sha2' } }] });
  const stream = new SyncStream(s, alice);
  await stream.until((x) => enc in x.rooms.join);
  await ops.join(carol, enc);
  const joined = await stream.until((x) => x.device_lists.changed.includes(carol.user_id));
  t.ok(joined.device_lists.changed.includes(carol.user_id), 'a new member of an encrypted room: changed');
  await ops.leave(carol, enc);
  const gone = await stream.until((x) => x.device_lists.left.includes(carol.user_id));
  t.ok(gone.device_lists.left.includes(carol.user_id), 'who no longer shares an encrypted room: left');
  const sinceJoin = stream.bodies[stream.bodies.indexOf(joined) - 1].next_batch;
  const changes = await s.call(alice, 'GET', `${V3}/keys/changes?from=${sinceJoin}&to=${stream.since}`);
  t.ok(changes.body.left.includes(carol.user_id), '/keys/changes: left as well');
  const cs = new SyncStream(s, carol);
  await cs.next();
  await ops.join(carol, enc);
  const back = await cs.until((x) => enc in x.rooms.join);
  t.ok(back.device_lists.changed.includes(alice.user_id), 'joining an encrypted room: its members are changed for the joiner');
});

t.test('device lists: rooms without encryption, and a room that turns it on', async (t) => {
  const plain = await ops.create(alice, { preset: 'public_chat' });
  const stream = new SyncStream(s, alice);
  await stream.until((x) => plain in x.rooms.join);
  await ops.join(bob, plain);
  const joined = await stream.until((x) => x.device_lists.changed.includes(bob.user_id));
  t.ok(joined.device_lists.changed.includes(bob.user_id), 'a new member of a room without encryption: changed too (a client learns of them before encryption is on)');
  await ops.leave(bob, plain);
  const gone = await stream.until((x) => x.device_lists.left.includes(bob.user_id));
  t.ok(gone.device_lists.left.includes(bob.user_id), 'and left once they share no encrypted room');

  // Carol shares an encrypted room with alice (the test above) and joins this one before it is encrypted.
  await ops.join(carol, plain);
  const cs = new SyncStream(s, carol);
  await cs.until((x) => plain in x.rooms.join);
  const on = await s.call(alice, 'PUT', `${R(plain)}/state/m.room.encryption/`, { algorithm: 'm.megolm.v1.aes-sha2' });
  await expectOk(t, on, 'PUT /rooms/{roomId}/state/{eventType}/{stateKey}');
  const encrypted = await cs.until((x) => x.device_lists.changed.includes(alice.user_id));
  t.ok(encrypted.device_lists.changed.includes(alice.user_id), 'the room turning encryption on: its members are changed');
  await ops.leave(carol, plain);
  const marker = await ops.create(alice, {});
  await stream.until((x) => marker in x.rooms.join);
  t.notOk(stream.bodies.some((x) => x.device_lists.left.includes(carol.user_id)), 'leaving one room while sharing another encrypted one: not left');
});

t.test('unread counts: messages count, mentions highlight, receipts clear', async (t) => {
  const room = await ops.create(alice, { preset: 'public_chat', name: 'Counts' });
  await ops.join(bob, room);
  const stream = new SyncStream(s, bob, { filter: JSON.stringify({ room: { timeline: { unread_thread_notifications: true } } }) });
  await stream.until((x) => room in x.rooms.join);
  const counts = (x: any) => x.rooms.join[room]?.unread_notifications;
  await ops.send(alice, room, { msgtype: 'm.text', body: 'one' });
  const two = await ops.send(alice, room, { msgtype: 'm.text', body: 'two' });
  await stream.untilEvent(room, two);
  t.same(counts(stream.bodies.at(-1)), { notification_count: 2, highlight_count: 0 }, 'two messages, two notifications');
  const mention = await ops.send(alice, room, { msgtype: 'm.text', body: 'hey bob', 'm.mentions': { user_ids: [bob.user_id] } });
  await stream.untilEvent(room, mention);
  t.same(counts(stream.bodies.at(-1)), { notification_count: 3, highlight_count: 1 }, 'an intentional mention highlights');
  await s.call(bob, 'POST', `${R(room)}/receipt/m.read/${enc(two)}`, {});
  const after = await stream.until((x) => counts(x)?.notification_count === 1);
  t.same(counts(after), { notification_count: 1, highlight_count: 1 }, 'a receipt clears what it covers');
  // A thread: counted apart with per-thread counts.
  const reply = await ops.send(alice, room, { msgtype: 'm.text', body: 'in a thread', 'm.relates_to': { rel_type: 'm.thread', event_id: two } });
  await stream.untilEvent(room, reply);
  const tb = stream.bodies.at(-1).rooms.join[room];
  t.same(tb.unread_thread_notifications, { [two]: { notification_count: 1, highlight_count: 0 } }, 'per-thread counts');
  t.same(tb.unread_notifications, { notification_count: 1, highlight_count: 1 }, 'the main timeline apart');
  await s.call(bob, 'POST', `${R(room)}/receipt/m.read/${enc(reply)}`, { thread_id: two });
  const cleared = await stream.until((x) => x.rooms.join[room] && !x.rooms.join[room].unread_thread_notifications);
  t.same(counts(cleared), { notification_count: 1, highlight_count: 1 }, 'a thread receipt clears that thread only');
  const listed = await s.call(bob, 'GET', `${V3}/notifications`);
  const readOf = new Map(listed.body.notifications.map((x: any) => [x.event.event_id, x.read]));
  t.same([readOf.get(reply), readOf.get(mention), readOf.get(two)], [true, false, true], "/notifications' read: the thread receipt covers the reply, the main timeline's receipt the messages up to it");
  // Bob's own message reads the room up to it.
  const own = await ops.send(bob, room, { msgtype: 'm.text', body: 'my turn' });
  await stream.untilEvent(room, own);
  t.same(counts(stream.bodies.at(-1)), { notification_count: 0, highlight_count: 0 }, 'sending reads the room');

  const n = await s.call(bob, 'GET', `${V3}/notifications`);
  await expectOk(t, n, 'GET /notifications');
  t.ok(n.body.notifications.length >= 4, 'the notifications are listed');
  t.equal(n.body.notifications[0].event.event_id, reply, 'newest first');
  t.ok(n.body.notifications.every((x: any) => x.read === true), 'all read now');
  const hl = await s.call(bob, 'GET', `${V3}/notifications?only=highlight`);
  t.same(hl.body.notifications.map((x: any) => x.event.event_id), [mention], 'only highlights');
  const page = await s.call(bob, 'GET', `${V3}/notifications?limit=1`);
  const page2 = await s.call(bob, 'GET', `${V3}/notifications?limit=1&from=${page.body.next_token}`);
  t.not(page2.body.notifications[0].event.event_id, page.body.notifications[0].event.event_id, 'next_token pages on');
  const none = await s.call(bob, 'GET', `${V3}/notifications?limit=0`);
  t.same(none.body.notifications, [], 'limit=0: none');
  const fromNone = await s.call(bob, 'GET', `${V3}/notifications?limit=1&from=${none.body.next_token}`);
  t.equal(fromNone.body.notifications[0].event.event_id, page.body.notifications[0].event.event_id, 'and a next_token that starts at the newest');
});

t.test('push rules changed: counts follow the new rules', async (t) => {
  const room = await ops.create(alice, { preset: 'public_chat', name: 'Muted' });
  await ops.join(carol, room);
  const stream = new SyncStream(s, carol);
  await stream.until((x) => room in x.rooms.join);
  const r = await s.call(carol, 'PUT', `${V3}/pushrules/global/room/${enc(room)}`, { actions: [] });
  t.equal(r.status, 200, `mute: ${JSON.stringify(r.body)}`);
  await stream.until((x) => x.account_data.events.some((e: any) => e.type === 'm.push_rules'));
  const m = await ops.send(alice, room, { msgtype: 'm.text', body: 'muted' });
  await stream.untilEvent(room, m);
  t.same(stream.bodies.at(-1).rooms.join[room].unread_notifications, { notification_count: 0, highlight_count: 0 }, 'a muted room does not count');
});

void ({} as User);
