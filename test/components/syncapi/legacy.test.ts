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
  t.match(chunk.find((e) => e.event_id === m), { room_id: roomId, content: { body: 'streamed' } });
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
  await ops.leave(bob, roomId);
  const after = await ops.send(alice, roomId, { msgtype: 'm.text', body: 'after' });
  await new SyncStream(s, alice).untilEvent(roomId, after);
  const left = await s.call(bob, 'GET', `${V3}/initialSync?archived=true`);
  const lr = left.body.rooms.find((x: any) => x.room_id === roomId);
  t.equal(lr.membership, 'leave', 'archived: left rooms too');
  t.notOk(lr.messages.chunk.some((e: any) => e.event_id === after), 'up to the leave');
  const notArchived = await s.call(bob, 'GET', `${V3}/initialSync`);
  t.notOk(notArchived.body.rooms.some((x: any) => x.room_id === roomId), 'not without archived');
});
