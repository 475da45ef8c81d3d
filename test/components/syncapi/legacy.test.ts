/**
 * The deprecated streams older tools still call: GET /events (long-poll),
 * GET /events/{eventId}, GET /initialSync, GET /rooms/{roomId}/initialSync.
 */
import t from 'tap';
import { enc, expectError, expectOk, roomOps, startSync, SyncStream, V3 } from '../../helpers/syncapi.js';

const s = await startSync();
t.teardown(() => s.stop());
const ops = roomOps(s);
const alice = await s.user('alice');
const bob = await s.user('bob');
const eve = await s.user('eve');
const roomId = await ops.create(alice, { preset: 'public_chat', name: 'Legacy' });
await ops.join(bob, roomId);
const first = await ops.send(alice, roomId, { msgtype: 'm.text', body: 'first' });
await new SyncStream(s, bob).untilEvent(roomId, first);

t.test('GET /events: a long-poll of room events from a token', async (t) => {
  const start = await s.call(bob, 'GET', `${V3}/events?timeout=0`);
  await expectOk(t, start, 'GET /events', 'no token: starts now');
  t.same(start.body.chunk, []);
  const waiting = s.call(bob, 'GET', `${V3}/events?from=${start.body.end}&timeout=60000`);
  const m = await ops.send(alice, roomId, { msgtype: 'm.text', body: 'streamed' });
  let r = await waiting;
  let chunk = r.body.chunk as any[];
  while (!chunk.some((e) => e.event_id === m)) {
    r = await s.call(bob, 'GET', `${V3}/events?from=${r.body.end}&timeout=60000`);
    chunk = r.body.chunk;
  }
  await expectOk(t, r, 'GET /events', 'with the new event');
  const m2 = await ops.send(alice, roomId, { msgtype: 'm.text', body: 'paged' });
  await new SyncStream(s, bob).untilEvent(roomId, m2);
  const one = await s.call(bob, 'GET', `${V3}/events?from=${start.body.end}&timeout=0&limit=1`);
  const two = await s.call(bob, 'GET', `${V3}/events?from=${one.body.end}&timeout=0&limit=1`);
  t.same([...one.body.chunk, ...two.body.chunk].filter((e: any) => e.event_id).map((e: any) => e.event_id), [m, m2], 'limit: one room event a page, the next page goes on from its end');
  for (const bad of ['hello', '-2']) expectError(t, await s.call(bob, 'GET', `${V3}/events?from=${start.body.end}&timeout=0&limit=${bad}`), 400, 'M_INVALID_PARAM', `limit=${bad}`);
  t.match(chunk.find((e) => e.event_id === m), { room_id: roomId, content: { body: 'streamed' }, user_id: alice.user_id, sender: alice.user_id }, 'the sender also as user_id, as these endpoints gave it');
  const single = await s.call(bob, 'GET', `${V3}/events/${enc(m)}`);
  t.equal(single.status, 200);
  t.equal(single.body.event_id, m);
  expectError(t, await s.call(eve, 'GET', `${V3}/events/${enc(m)}`), 404, 'M_NOT_FOUND', 'an event of a room one is not in');
});

t.test('GET /events?room_id= peeking at a world-readable room: its events wake the long-poll', async (t) => {
  const open = await ops.create(alice, { preset: 'public_chat', initial_state: [{ type: 'm.room.history_visibility', state_key: '', content: { history_visibility: 'world_readable' } }] });
  const settled = await ops.send(alice, open, { msgtype: 'm.text', body: 'settled' });
  await new SyncStream(s, alice).untilEvent(open, settled);
  const start = await s.call(eve, 'GET', `${V3}/events?room_id=${enc(open)}&timeout=0`);
  t.equal(start.status, 200);
  // Eve is not in the room: only the room's own wake-up can end this wait before its timeout.
  const waiting = s.call(eve, 'GET', `${V3}/events?room_id=${enc(open)}&from=${start.body.end}&timeout=20000`);
  const m = await ops.send(alice, open, { msgtype: 'm.text', body: 'for the peeker' });
  const r = await waiting;
  t.same(r.body.chunk.map((e: any) => e.event_id), [m], 'the first answer holds the new event');
});

/** Polls GET /events from `from` until an event matching `match` comes; returns it and the first answer. */
async function streamUntil(user: typeof bob, query: string, from: string, match: (e: any) => boolean) {
  let first: any;
  for (let i = 0; i < 20; i++) {
    const r = await s.call(user, 'GET', `${V3}/events?${query}from=${from}&timeout=20000`);
    first ??= r.body;
    const found = (r.body.chunk as any[]).find(match);
    if (found) return { found, first };
    from = r.body.end;
  }
  throw new Error('never came');
}

t.test('GET /events: the typing, receipts and presence of the rooms one reads, and account data, as events', async (t) => {
  const room = await ops.create(alice, { preset: 'public_chat', initial_state: [{ type: 'm.room.history_visibility', state_key: '', content: { history_visibility: 'world_readable' } }] });
  await ops.join(bob, room);
  for (const [who, query] of [[bob, ''], [eve, `room_id=${enc(room)}&`]] as const) {
    const label = who === bob ? 'a member' : 'a peeker';
    const m = await ops.send(alice, room, { msgtype: 'm.text', body: `read me, ${label}` });
    await new SyncStream(s, bob).untilEvent(room, m);
    const start = (await s.call(who, 'GET', `${V3}/events?${query}timeout=0`)).body.end;
    const waiting = streamUntil(who, query, start, (e) => e.type === 'm.typing' && e.room_id === room && e.content.user_ids.includes(alice.user_id));
    await s.call(alice, 'PUT', `${V3}/rooms/${enc(room)}/typing/${enc(alice.user_id)}`, { typing: true, timeout: 30000 });
    const typing = await waiting;
    t.ok(typing.first.chunk.some((e: any) => e.type === 'm.typing'), `${label}: typing wakes the long-poll`);
    await s.call(alice, 'PUT', `${V3}/rooms/${enc(room)}/typing/${enc(alice.user_id)}`, { typing: false });

    const receipt = streamUntil(who, query, typing.first.end, (e) => e.type === 'm.receipt' && e.content[m]?.['m.read']?.[alice.user_id]);
    await s.call(alice, 'POST', `${V3}/rooms/${enc(room)}/receipt/m.read/${enc(m)}`, {});
    const r = await receipt;
    t.equal(r.found.room_id, room, `${label}: a receipt names its room`);
    t.type(r.found.content[m]['m.read'][alice.user_id].ts, 'number');

    const status = `streamed to ${label}`;
    const presence = streamUntil(who, query, r.first.end, (e) => e.type === 'm.presence' && e.content.status_msg === status);
    await s.call(alice, 'PUT', `${V3}/presence/${enc(alice.user_id)}/status`, { presence: 'online', status_msg: status });
    const p = await presence;
    t.match(p.found, { sender: alice.user_id, content: { user_id: alice.user_id, presence: 'online' } }, `${label}: presence, its content naming the user as these endpoints did`);

    if (who !== bob) continue;
    const tagged = streamUntil(who, query, p.first.end, (e) => e.type === 'm.tag');
    await s.call(who, 'PUT', `${V3}/user/${enc(who.user_id)}/rooms/${enc(room)}/tags/u.streamed`, { order: 0.5 });
    t.match((await tagged).found, { room_id: room, content: { tags: { 'u.streamed': { order: 0.5 } } } }, `${label}: its own room account data, naming the room`);
    const global = streamUntil(who, query, (await tagged).first.end, (e) => e.type === 'u.legacy.global');
    await s.call(who, 'PUT', `${V3}/user/${enc(who.user_id)}/account_data/u.legacy.global`, { n: 1 });
    t.same((await global).found, { type: 'u.legacy.global', content: { n: 1 } }, `${label}: and its global account data`);
  }
});

t.test('GET /initialSync: one is online, and the receipts of joined rooms', async (t) => {
  const hal = await s.user('hal');
  const room = await ops.create(hal, { preset: 'private_chat' });
  const m = await ops.send(hal, room, { msgtype: 'm.text', body: 'mine' });
  await s.call(hal, 'POST', `${V3}/rooms/${enc(room)}/receipt/m.read/${enc(m)}`, {});
  await new SyncStream(s, hal, { set_presence: 'offline' }).until((x) => (x.rooms.join[room]?.ephemeral.events ?? []).some((e: any) => e.type === 'm.receipt'));
  const r = await s.call(hal, 'GET', `${V3}/initialSync`);
  await expectOk(t, r, 'GET /initialSync');
  t.match(r.body.presence.find((e: any) => e.sender === hal.user_id), { type: 'm.presence', content: { user_id: hal.user_id, presence: 'online', last_active_ago: Number } }, 'calling it makes one online, as /sync does');
  t.same(r.body.receipts.map((e: any) => [e.type, e.room_id, Object.keys(e.content[m]?.['m.read'] ?? {})]), [['m.receipt', room, [hal.user_id]]], 'one m.receipt per room, naming it');
});

t.test('GET /initialSync and GET /rooms/{roomId}/initialSync', async (t) => {
  const r = await s.call(bob, 'GET', `${V3}/initialSync?limit=5`);
  await expectOk(t, r, 'GET /initialSync');
  const room = r.body.rooms.find((x: any) => x.room_id === roomId);
  t.match(room, { membership: 'join', visibility: 'private' });
  t.ok(room.messages.chunk.some((e: any) => e.event_id === first));
  t.ok(room.state.some((e: any) => e.type === 'm.room.name' && e.content.name === 'Legacy'));
  const one = await s.call(bob, 'GET', `${V3}/rooms/${enc(roomId)}/initialSync`);
  await expectOk(t, one, 'GET /rooms/{roomId}/initialSync');
  t.equal(one.body.room_id, roomId);
  t.ok(one.body.messages.chunk.length > 0);
  const back = await s.call(bob, 'GET', `${V3}/rooms/${enc(roomId)}/messages?dir=b&from=${one.body.messages.start}`);
  t.equal(back.status, 200, 'messages.start continues with /messages');
  expectError(t, await s.call(eve, 'GET', `${V3}/rooms/${enc(roomId)}/initialSync`), 403, 'M_FORBIDDEN', 'a stranger');
  t.ok(one.body.presence.some((e: any) => e.sender === bob.user_id), "a member sees the members' presence");
  t.ok(one.body.state.some((e: any) => e.type === 'm.room.member' && e.state_key === bob.user_id && e.user_id === bob.user_id), 'state events name their sender as user_id too');
  t.same(one.body.receipts, [], 'and the receipts, none yet');
  const latest = one.body.messages.chunk.at(-1).event_id;
  await s.call(alice, 'POST', `${V3}/rooms/${enc(roomId)}/receipt/m.read/${enc(latest)}`, {});
  await new SyncStream(s, bob).until((x) => (x.rooms.join[roomId]?.ephemeral.events ?? []).some((e: any) => e.type === 'm.receipt'));
  const withReceipt = await s.call(bob, 'GET', `${V3}/rooms/${enc(roomId)}/initialSync?limit=1`);
  t.same(withReceipt.body.receipts.map((e: any) => [e.type, e.room_id, Object.keys(e.content[latest]['m.read'])]), [['m.receipt', roomId, [alice.user_id]]], 'one m.receipt for the room');
  t.same(withReceipt.body.messages.chunk.map((e: any) => e.event_id), [latest], 'limit=1: the latest event only');
  t.same((await s.call(bob, 'GET', `${V3}/rooms/${enc(roomId)}/initialSync?limit=0`)).body.messages.chunk, [], 'limit=0: none');
  await ops.leave(bob, roomId);
  const after = await ops.send(alice, roomId, { msgtype: 'm.text', body: 'after' });
  await new SyncStream(s, alice).untilEvent(roomId, after);
  const left = await s.call(bob, 'GET', `${V3}/initialSync?archived=true`);
  const lr = left.body.rooms.find((x: any) => x.room_id === roomId);
  t.equal(lr.membership, 'leave', 'archived: left rooms too');
  const departed = await s.call(bob, 'GET', `${V3}/rooms/${enc(roomId)}/initialSync`);
  t.same([departed.body.membership, departed.body.presence, departed.body.receipts], ['leave', [], []], 'a room one left: no presence or receipts of now');
  t.notOk(lr.messages.chunk.some((e: any) => e.event_id === after), 'up to the leave');
  const notArchived = await s.call(bob, 'GET', `${V3}/initialSync`);
  t.notOk(notArchived.body.rooms.some((x: any) => x.room_id === roomId), 'not without archived');
});
