/**
 * GET /sync over the real Roomserver, UserAPI, EDUServer and ClientAPI:
 * initial and incremental answers, long-polls, limited timelines with their
 * state delta, full_state, use_state_after, transaction ids, previous
 * content, redactions, summaries, tokens (garbage, from the future, across
 * a restart).
 */
import t from 'tap';
import { enc, expectError, expectOk, roomOps, startSync, SyncStream, V3, type SyncHarness } from '../../helpers/syncapi.js';

let s: SyncHarness = await startSync();
t.teardown(() => s.stop());
const ops = roomOps(s);
const alice = await s.user('alice');
const bob = await s.user('bob');
const bob2 = await s.login('bob');

t.test('initial sync: the room, its state and timeline, the summary', async (t) => {
  const roomId = await ops.create(alice, { preset: 'public_chat', name: 'Initial' });
  await ops.join(bob, roomId);
  const msg = await ops.send(alice, roomId, { msgtype: 'm.text', body: 'hello' });
  const stream = new SyncStream(s, bob);
  // The first answer may come before the consumer has the message: sync on until it is there.
  await stream.next();
  await stream.untilEvent(roomId, msg);
  const r = await ops.sync(bob);
  await expectOk(t, r, 'GET /sync', 'initial sync');
  const room = r.body.rooms.join[roomId];
  t.ok(room, 'the joined room is there');
  const all = [...room.state.events, ...room.timeline.events];
  t.ok(all.some((e: any) => e.type === 'm.room.create'), 'state + timeline hold the create event');
  t.ok(all.some((e: any) => e.type === 'm.room.name' && e.content.name === 'Initial'));
  t.equal(room.timeline.events.at(-1).event_id, msg, 'the timeline ends with the latest message');
  t.notOk('room_id' in room.timeline.events[0], 'sync events leave room_id out');
  t.notOk('hashes' in room.timeline.events[0] || 'signatures' in room.timeline.events[0] || 'depth' in room.timeline.events[0], 'client format');
  t.match(room.summary, { 'm.joined_member_count': 2, 'm.invited_member_count': 0 });
  t.notOk('m.heroes' in room.summary, 'a named room needs no heroes');
  t.same(room.unread_notifications.notification_count >= 0, true, 'unread counts present');
  t.match(r.body.next_batch, /^s\d+$/);
  // State is the state at the start of the timeline: nothing in both.
  const stateIds = new Set(room.state.events.map((e: any) => e.event_id));
  t.notOk(room.timeline.events.some((e: any) => stateIds.has(e.event_id)), 'no event in both state and timeline');
  // The whole room fits in the timeline: prev_batch is the answer's own position (as Synapse gives),
  // so paging back from it finds the room's events and /members at it finds its members.
  t.equal(room.timeline.limited, false);
  t.equal(room.timeline.prev_batch, r.body.next_batch, 'prev_batch of a whole history is the answer position');
  const back = await s.call(bob, 'GET', `${V3}/rooms/${enc(roomId)}/messages?dir=b&from=${room.timeline.prev_batch}`);
  t.equal(back.body.chunk[0]?.event_id, msg, 'paging back from it starts at the latest message');
  const members = await s.call(bob, 'GET', `${V3}/rooms/${enc(roomId)}/members?at=${room.timeline.prev_batch}`);
  t.same(members.body.chunk.map((e: any) => e.state_key).sort(), [alice.user_id, bob.user_id].sort(), '/members at it: the members now');
});

t.test('incremental: a room joined since the token comes limited, with the messages before the join', async (t) => {
  const roomId = await ops.create(alice, { preset: 'public_chat' });
  for (let i = 0; i < 3; i++) await ops.send(alice, roomId, { msgtype: 'm.text', body: `before ${i}` });
  const since = (await ops.sync(bob)).body.next_batch;
  await ops.join(bob, roomId);
  const filter = JSON.stringify({ room: { timeline: { limit: 10, types: ['m.room.message'] } } });
  const stream = new SyncStream(s, bob, { filter });
  stream.since = since;
  const body = await stream.until((b) => roomId in (b.rooms?.join ?? {}));
  const tl = body.rooms.join[roomId].timeline;
  t.same(tl.events.map((e: any) => e.content.body), ['before 0', 'before 1', 'before 2'], 'every message fits');
  t.equal(tl.limited, true, 'limited all the same (as Synapse marks a newly joined room)');
});

t.test('incremental: only what is new, long-poll wakes for a message', async (t) => {
  const roomId = await ops.create(alice, { preset: 'public_chat' });
  await ops.join(bob, roomId);
  const stream = new SyncStream(s, bob);
  await stream.next();
  await stream.untilEvent(roomId, (await ops.send(alice, roomId, { msgtype: 'm.text', body: 'first' })));
  const since = stream.since!;
  // A long-poll started before the message answers with it.
  const waiting = ops.sync(bob, { since, timeout: 60_000 });
  const second = await ops.send(alice, roomId, { msgtype: 'm.text', body: 'second' });
  let r = await waiting;
  // Other things (presence) may wake it first; sync on from there.
  const after = new SyncStream(s, bob);
  after.since = since;
  await after.untilEvent(roomId, second);
  const evs = after.events(roomId);
  t.same(evs.map((e) => e.content.body), ['second'], 'the incremental answers carry only the new message');
  r = await ops.sync(bob, { since: after.since! });
  await expectOk(t, r, 'GET /sync', 'an empty incremental answer');
  t.notOk(r.body.rooms.join[roomId], 'nothing new: the room is not in the answer');
  const limited = after.bodies.find((b) => b.rooms.join[roomId])!.rooms.join[roomId];
  t.equal(limited.timeline.limited, false);
  t.same(limited.state.events, [], 'no state delta for an unlimited timeline');
});

t.test('limited timeline: the state delta covers the gap; full_state; use_state_after', async (t) => {
  const roomId = await ops.create(alice, { preset: 'public_chat' });
  await ops.join(bob, roomId);
  const stream = new SyncStream(s, bob, { filter: JSON.stringify({ room: { timeline: { limit: 2 } } }) });
  await stream.next();
  await stream.untilEvent(roomId, await ops.send(alice, roomId));
  const since = stream.since!;
  const topic = await ops.state(alice, roomId, 'm.room.topic', '', { topic: 'in the gap' });
  for (let i = 0; i < 4; i++) await ops.send(alice, roomId, { msgtype: 'm.text', body: `m${i}` });
  const last = await ops.send(alice, roomId, { msgtype: 'm.text', body: 'last' });
  const f = JSON.stringify({ room: { timeline: { limit: 2 } } });
  let r;
  const probe = new SyncStream(s, bob, { filter: f });
  probe.since = since;
  await probe.untilEvent(roomId, last);
  r = await ops.sync(bob, { since, filter: f });
  await expectOk(t, r, 'GET /sync', 'limited');
  const room = r.body.rooms.join[roomId];
  t.equal(room.timeline.limited, true, 'limited');
  t.same(room.timeline.events.map((e: any) => e.content.body), ['m3', 'last']);
  t.ok(room.state.events.some((e: any) => e.event_id === topic), 'the topic changed in the gap: in the state delta');
  t.equal(room.state.events.length, 1, 'only what changed');
  // prev_batch continues backwards from the start of the timeline.
  const back = await s.call(bob, 'GET', `${V3}/rooms/${enc(roomId)}/messages?dir=b&limit=3&from=${room.timeline.prev_batch}`);
  t.same(back.body.chunk.map((e: any) => e.content.body), ['m2', 'm1', 'm0']);
  // Filling the gap forwards: from=since to=prev_batch.
  const gap = await s.call(bob, 'GET', `${V3}/rooms/${enc(roomId)}/messages?dir=f&limit=50&from=${since}&to=${room.timeline.prev_batch}`);
  t.same(gap.body.chunk.map((e: any) => e.content?.body ?? e.type), ['m.room.topic', 'm0', 'm1', 'm2'], 'the gap, exactly');

  const full = await ops.sync(bob, { since, filter: f, full_state: true });
  const fr = full.body.rooms.join[roomId];
  t.ok(fr.state.events.some((e: any) => e.type === 'm.room.create'), 'full_state: the whole state at the start of the timeline');
  t.ok(fr.state.events.some((e: any) => e.type === 'm.room.member' && e.state_key === bob.user_id));

  const after = await ops.sync(bob, { since, filter: f, use_state_after: true });
  await expectOk(t, after, 'GET /sync', 'use_state_after');
  const ar = after.body.rooms.join[roomId];
  t.notOk('state' in ar, 'state is left out');
  t.ok(ar.state_after.events.some((e: any) => e.event_id === topic), 'state_after: the changes up to the end of the timeline');
});

t.test('transaction ids go to the sending device only; prev_content of state', async (t) => {
  const roomId = await ops.create(bob, { preset: 'public_chat' });
  const t1 = await ops.state(bob, roomId, 'm.room.topic', '', { topic: 'one' });
  const t2 = await ops.state(bob, roomId, 'm.room.topic', '', { topic: 'two' });
  const sent = await ops.send(bob, roomId, { msgtype: 'm.text', body: 'mine' }, 'm.room.message', 'my-txn');
  const d1 = new SyncStream(s, bob);
  await d1.untilEvent(roomId, sent);
  const d2 = new SyncStream(s, bob2);
  await d2.untilEvent(roomId, sent);
  t.equal(d1.events(roomId).find((e) => e.event_id === sent).unsigned.transaction_id, 'my-txn', 'the sending device sees its txn id');
  t.notOk('transaction_id' in d2.events(roomId).find((e) => e.event_id === sent).unsigned, 'another device of the same user does not');
  const second = d1.events(roomId).find((e) => e.event_id === t2);
  t.match(second.unsigned, { prev_content: { topic: 'one' }, replaces_state: t1, prev_sender: bob.user_id }, 'prev_content of a state event');
});

t.test('redactions: the redaction arrives, and later answers show the event redacted', async (t) => {
  const roomId = await ops.create(alice, { preset: 'public_chat' });
  await ops.join(bob, roomId);
  const msg = await ops.send(alice, roomId, { msgtype: 'm.text', body: 'oops' });
  const red = await s.call(alice, 'PUT', `${V3}/rooms/${enc(roomId)}/redact/${enc(msg)}/r1`, { reason: 'typo' });
  const stream = new SyncStream(s, bob);
  await stream.untilEvent(roomId, red.body.event_id);
  const r = await ops.sync(bob, { filter: JSON.stringify({ room: { timeline: { limit: 50 } } }) });
  const evs = r.body.rooms.join[roomId].timeline.events;
  const redacted = evs.find((e: any) => e.event_id === msg);
  t.same(redacted.content, {}, 'content gone');
  t.match(redacted.unsigned.redacted_because, { event_id: red.body.event_id, type: 'm.room.redaction', content: { reason: 'typo' } });
  t.equal(evs.find((e: any) => e.event_id === red.body.event_id).redacts, msg, 'the redaction names what it redacts');
});

t.test('tokens: garbage and tokens from the future get an initial answer; an old token still works', async (t) => {
  const roomId = await ops.create(alice, { preset: 'public_chat' });
  await ops.join(bob, roomId);
  const msg = await ops.send(alice, roomId);
  const stream = new SyncStream(s, bob);
  await stream.untilEvent(roomId, msg);
  for (const since of ['garbage', 's99999999999', '', 's-1', 'x12']) {
    const r = await ops.sync(bob, { since });
    t.equal(r.status, 200, `since=${since}: 200`);
    t.ok(r.body.rooms.join[roomId]?.state.events.length + r.body.rooms.join[roomId]?.timeline.events.length > 3, `since=${since}: a full answer`);
  }
  expectError(t, await ops.sync(bob, { timeout: 'soon' }), 400, 'M_INVALID_PARAM', 'a timeout that is not a number');
  expectError(t, await ops.sync(bob, { set_presence: 'busy' }), 400, 'M_INVALID_PARAM', 'an unknown set_presence');
  expectError(t, await s.call(undefined, 'GET', `${V3}/sync`), 401, 'M_MISSING_TOKEN', 'no access token');
  expectError(t, await s.call({ ...bob, token: 'nope' }, 'GET', `${V3}/sync`), 401, 'M_UNKNOWN_TOKEN', 'an unknown access token');
});

t.test('restart: the views come back from the database and old tokens go on', async (t) => {
  const roomId = await ops.create(alice, { preset: 'public_chat', name: 'Durable' });
  await ops.join(bob, roomId);
  const m1 = await ops.send(alice, roomId, { msgtype: 'm.text', body: 'before' });
  const stream = new SyncStream(s, bob);
  await stream.untilEvent(roomId, m1);
  const since = stream.since!;
  s = await s.restart();
  const ops2 = roomOps(s);
  const m2 = await ops2.send(alice, roomId, { msgtype: 'm.text', body: 'after' });
  const again = new SyncStream(s, bob);
  again.since = since;
  await again.untilEvent(roomId, m2);
  t.same(again.events(roomId).map((e) => e.content.body), ['after'], 'the old token: exactly what came after it');
  const initial = await ops2.sync(bob);
  const room = initial.body.rooms.join[roomId];
  t.ok([...room.state.events, ...room.timeline.events].some((e: any) => e.content?.name === 'Durable'), 'the room is all there after the restart');
  t.same(
    room.timeline.events.filter((e: any) => e.type === 'm.room.message').map((e: any) => e.content.body),
    ['before', 'after'],
  );
});

t.test('internal API: a sync token as a point in a room (for /members?at=)', async (t) => {
  const { syncApi } = await import('../../../src/components/syncapi/api.js');
  const api = s.h.apis.get(syncApi);
  const roomId = await ops.create(alice, { preset: 'public_chat' });
  const m1 = await ops.send(alice, roomId);
  const st = new SyncStream(s, alice);
  await st.untilEvent(roomId, m1);
  const token = st.since!;
  const m2 = await ops.send(alice, roomId);
  await st.untilEvent(roomId, m2);
  t.same(await api.queryEventAtToken({ room_id: roomId, token }), { valid: true, event_id: m1 }, 'the latest event at the token');
  t.same(await api.queryEventAtToken({ room_id: roomId, token: st.since! }), { valid: true, event_id: m2 });
  t.same(await api.queryEventAtToken({ room_id: roomId, token: '$notatoken' }), { valid: false, event_id: null }, 'not a token');
  t.same(await api.queryEventAtToken({ room_id: '!none:x', token }), { valid: true, event_id: null }, 'a room with nothing there');
  t.same(await api.queryEventAtToken({ room_id: roomId, token: 's0' }), { valid: true, event_id: null }, 'before the room');
});
