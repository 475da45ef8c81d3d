/**
 * Sync filters, inline and by id: timeline limit, types and not_types (with
 * wildcards), senders and not_senders, rooms and not_rooms, lazy-loading
 * members (and redundant ones), include_leave, account data and presence
 * filters, event_fields, event_format; refusals of filters that are not.
 */
import t from 'tap';
import { enc, expectError, expectOk, roomOps, startSync, SyncStream, V3 } from '../../helpers/syncapi.js';

const s = await startSync();
t.teardown(() => s.stop());
const ops = roomOps(s);
const alice = await s.user('alice');
const bob = await s.user('bob');
const carol = await s.user('carol');
const dave = await s.user('dave');

const roomId = await ops.create(alice, { preset: 'public_chat', name: 'Filters' });
for (const u of [bob, carol, dave]) await ops.join(u, roomId);
await ops.state(alice, roomId, 'm.room.topic', '', { topic: 'filters' });
await ops.send(bob, roomId, { msgtype: 'm.text', body: 'from bob' });
await ops.send(carol, roomId, { msgtype: 'm.text', body: 'from carol', url: 'mxc://x/y' });
const lastId = await ops.send(dave, roomId, { msgtype: 'm.text', body: 'from dave' });
const other = await ops.create(alice, { preset: 'public_chat', name: 'Other' });
const otherMsg = await ops.send(alice, other, { msgtype: 'm.text', body: 'elsewhere' });
// Everything above is visible to syncs before the tests look.
{
  const st = new SyncStream(s, alice);
  await st.untilEvent(roomId, lastId);
  await st.untilEvent(other, otherMsg);
}

const sync = async (filter: unknown, extra: Record<string, string> = {}) => {
  const r = await ops.sync(alice, { filter: typeof filter === 'string' ? filter : JSON.stringify(filter), ...extra });
  if (r.status !== 200) throw new Error(JSON.stringify(r.body));
  return r.body;
};
const timeline = (body: any, id = roomId) => (body.rooms.join[id]?.timeline.events ?? []) as any[];

t.test('timeline limit', async (t) => {
  const body = await sync({ room: { timeline: { limit: 2 } } });
  t.same(timeline(body).map((e) => e.content.body), ['from carol', 'from dave']);
  t.equal(body.rooms.join[roomId].timeline.limited, true);
  // 0: no backlog at all (bots), the room's state in the state section instead, and a token to page back from.
  const none = await sync({ room: { timeline: { limit: 0 } } });
  const room = none.rooms.join[roomId];
  t.same(room.timeline.events, [], 'limit 0: an empty timeline');
  t.equal(room.timeline.limited, true, 'limited: there was history');
  t.ok(room.state.events.some((e: any) => e.type === 'm.room.create'), 'the state section holds the room');
  const back = await s.call(alice, 'GET', `${V3}/rooms/${enc(roomId)}/messages?dir=b&limit=2&from=${room.timeline.prev_batch}`);
  t.same(back.body.chunk.map((e: any) => e.content.body), ['from dave', 'from carol'], 'paging back from prev_batch gives the newest events');
});

t.test('types and not_types, with wildcards', async (t) => {
  const msgs = await sync({ room: { timeline: { limit: 50, types: ['m.room.message'] } } });
  t.ok(timeline(msgs).length === 3 && timeline(msgs).every((e) => e.type === 'm.room.message'), 'only messages');
  const wild = await sync({ room: { timeline: { limit: 50, types: ['m.room.*'], not_types: ['m.room.member', 'm.room.message'] } } });
  t.ok(timeline(wild).length > 0, 'some events');
  t.ok(timeline(wild).every((e) => e.type.startsWith('m.room.') && e.type !== 'm.room.member' && e.type !== 'm.room.message'), 'm.room.* but not members nor messages');
  const none = await sync({ room: { timeline: { types: [] } } });
  t.same(timeline(none), [], 'an empty types list lets nothing through');
});

t.test('senders, not_senders, contains_url', async (t) => {
  const only = await sync({ room: { timeline: { limit: 50, senders: [bob.user_id] } } });
  t.ok(timeline(only).every((e) => e.sender === bob.user_id) && timeline(only).some((e) => e.content.body === 'from bob'));
  const not = await sync({ room: { timeline: { limit: 50, not_senders: [alice.user_id, bob.user_id] } } });
  t.notOk(timeline(not).some((e) => e.sender === alice.user_id || e.sender === bob.user_id));
  const urls = await sync({ room: { timeline: { limit: 50, contains_url: true } } });
  t.same(timeline(urls).map((e) => e.content.body), ['from carol']);
});

t.test('rooms and not_rooms; the state filter', async (t) => {
  const one = await sync({ room: { rooms: [other] } });
  t.same(Object.keys(one.rooms.join), [other]);
  const notOne = await sync({ room: { not_rooms: [other] } });
  t.notOk(other in notOne.rooms.join);
  t.ok(roomId in notOne.rooms.join);
  const both = await sync({ room: { rooms: [roomId, other], not_rooms: [roomId] } });
  t.same(Object.keys(both.rooms.join), [other], 'not_rooms wins');
  // The same lists in the timeline filter hold back a room's events, not the room.
  const quiet = await sync({ room: { timeline: { limit: 5, not_rooms: [other] } } });
  t.same(timeline(quiet, other), [], "the timeline's not_rooms: no events from that room");
  t.equal(quiet.rooms.join[other].timeline.limited, true, 'limited: it has some');
  t.ok(quiet.rooms.join[other].state.events.some((e: any) => e.type === 'm.room.create'), 'its state section holds the room');
  t.equal(timeline(quiet).length, 5, 'the other rooms keep theirs');
  const onlyOne = await sync({ room: { timeline: { limit: 5, rooms: [other] } } });
  t.same(timeline(onlyOne), [], "the timeline's rooms: no events from a room not listed");
  t.ok(timeline(onlyOne, other).some((e) => e.event_id === otherMsg), 'the listed room keeps its events');
  const neither = await sync({ room: { timeline: { limit: 5, rooms: [other], not_rooms: [other] } } });
  t.same([timeline(neither), timeline(neither, other)], [[], []], 'not_rooms wins there too');
  const st = await sync({ room: { timeline: { limit: 1 }, state: { types: ['m.room.topic'] } } });
  t.same(st.rooms.join[roomId].state.events.map((e: any) => e.type), ['m.room.topic'], 'only the state types asked for');
});

t.test('lazy-loading members, and redundant members', async (t) => {
  const f = { room: { timeline: { limit: 1 }, state: { lazy_load_members: true } } };
  const stream = new SyncStream(s, alice, { filter: JSON.stringify(f) });
  const first = await stream.next();
  const members = (body: any) => body.rooms.join[roomId]?.state.events.filter((e: any) => e.type === 'm.room.member').map((e: any) => e.state_key).sort() ?? [];
  t.same(members(first), [alice.user_id, dave.user_id].sort(), 'initial: the sender of the timeline and the user');
  t.ok(first.rooms.join[roomId].state.events.some((e: any) => e.type === 'm.room.topic'), 'other state is all there');

  const again = await ops.send(dave, roomId, { msgtype: 'm.text', body: 'dave again' });
  await stream.untilEvent(roomId, again);
  const withDave = stream.bodies.slice(1).find((b) => b.rooms.join[roomId]);
  t.same(members(withDave), [], "dave's membership was sent already: not again");

  const fromBob = await ops.send(bob, roomId, { msgtype: 'm.text', body: 'bob again' });
  const before = stream.bodies.length;
  await stream.untilEvent(roomId, fromBob);
  const withBob = stream.bodies.slice(before).find((b) => b.rooms.join[roomId]);
  t.same(members(withBob), [bob.user_id], "bob's first message for this client: his membership comes with it");

  const redundant = await ops.sync(alice, { filter: JSON.stringify({ room: { timeline: { limit: 1 }, state: { lazy_load_members: true, include_redundant_members: true } } }), since: stream.bodies[0].next_batch });
  t.ok(members(redundant.body).includes(bob.user_id), 'include_redundant_members: sent whatever was sent before');

  const full = await sync({ room: { timeline: { limit: 1 } } });
  t.same(members(full), [alice.user_id, bob.user_id, carol.user_id, dave.user_id].sort(), 'without lazy-loading: every member');
});

t.test('include_leave, account data and presence filters', async (t) => {
  const gone = await ops.create(carol, { preset: 'public_chat', name: 'Gone' });
  await ops.join(alice, gone);
  await ops.leave(alice, gone);
  const st = new SyncStream(s, carol);
  const m = await ops.send(carol, gone);
  await st.untilEvent(gone, m);
  t.notOk(gone in (await sync({})).rooms.leave, 'left rooms are not in an initial sync by default');
  const withLeave = await sync({ room: { include_leave: true } });
  t.ok(gone in withLeave.rooms.leave, 'include_leave: they are');
  t.ok(withLeave.rooms.leave[gone].timeline.events.some((e: any) => e.type === 'm.room.member' && e.state_key === alice.user_id && e.content.membership === 'leave'), 'up to the leave');
  t.notOk(withLeave.rooms.leave[gone].timeline.events.some((e: any) => e.event_id === m), 'not what came after');

  await s.call(alice, 'PUT', `${V3}/user/${enc(alice.user_id)}/account_data/org.example.a`, { a: 1 });
  const ad = await s.call(alice, 'PUT', `${V3}/user/${enc(alice.user_id)}/account_data/org.example.b`, { b: 2 });
  t.equal(ad.status, 200);
  const ast = new SyncStream(s, alice);
  await ast.until((b) => b.account_data.events.some((e: any) => e.type === 'org.example.b'));
  const onlyA = await sync({ account_data: { types: ['org.example.a'] } });
  t.same(onlyA.account_data.events.map((e: any) => e.type), ['org.example.a']);
  const noPresence = await sync({ presence: { types: [] } });
  t.same(noPresence.presence.events, [], 'presence filtered out');
});

t.test('event_fields and event_format', async (t) => {
  const fields = await sync({ event_fields: ['type', 'content.body'], room: { timeline: { limit: 1 } } });
  t.same(timeline(fields), [{ type: 'm.room.message', content: { body: 'bob again' } }], 'only the fields asked for');
  const fed = await sync({ event_format: 'federation', room: { timeline: { limit: 1 } } });
  const ev = timeline(fed)[0];
  t.ok(ev.hashes && ev.signatures && typeof ev.depth === 'number' && ev.prev_events, 'the federation format');
});

t.test('a filter by id (stored through the ClientAPI)', async (t) => {
  const put = await s.call(alice, 'POST', `${V3}/user/${enc(alice.user_id)}/filter`, { room: { timeline: { limit: 1, types: ['m.room.topic'] } } });
  t.equal(put.status, 200);
  const body = await sync(put.body.filter_id);
  t.same(timeline(body).map((e) => e.type), ['m.room.topic']);
  await expectOk(t, await ops.sync(alice, { filter: put.body.filter_id }), 'GET /sync', 'with a filter id');
});

t.test('refusals', async (t) => {
  expectError(t, await ops.sync(alice, { filter: '{not json' }), 400, 'M_NOT_JSON', 'inline filter that is not JSON');
  expectError(t, await ops.sync(alice, { filter: JSON.stringify({ room: { timeline: { limit: 'ten' } } }) }), 400, 'M_BAD_JSON', 'a filter that does not fit the schema');
  expectError(t, await ops.sync(alice, { filter: '424242' }), 400, 'M_INVALID_PARAM', 'an unknown filter id');
  const put = await s.call(bob, 'POST', `${V3}/user/${enc(bob.user_id)}/filter`, { room: { timeline: { limit: 1 } } });
  expectError(t, await ops.sync(alice, { filter: put.body.filter_id === '0' ? '999' : `${put.body.filter_id}x` }), 400, 'M_INVALID_PARAM', "another user's or a wrong id");
});
