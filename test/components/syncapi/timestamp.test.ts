/**
 * GET /rooms/{roomId}/timestamp_to_event: the closest event forwards and
 * backwards, exact timestamps, none → 404, bad parameters → 400, a room the
 * user may not see → 403, history visibility for a user who joined late.
 * Timestamps are the events' own; the messages are sent apart so that they
 * differ.
 */
import t from 'tap';
import { enc, expectError, expectOk, roomOps, startSync, SyncStream, V3 } from '../../helpers/syncapi.js';

const s = await startSync();
t.teardown(() => s.stop());
const ops = roomOps(s);
const alice = await s.user('alice');
const bob = await s.user('bob');
const eve = await s.user('eve');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// History visible to joined members only: bob, who joins after the messages, sees none of them.
const roomId = await ops.create(alice, { preset: 'private_chat', initial_state: [{ type: 'm.room.history_visibility', state_key: '', content: { history_visibility: 'joined' } }] });
await sleep(20);
const sent: string[] = [];
for (let i = 0; i < 3; i++) {
  sent.push(await ops.send(alice, roomId, { msgtype: 'm.text', body: `m${i}` }));
  await sleep(20);
}
await ops.invite(alice, roomId, bob);
await sleep(20);
await ops.join(bob, roomId);
await sleep(20);
const afterJoin = await ops.send(alice, roomId, { msgtype: 'm.text', body: 'after join' });
await new SyncStream(s, alice).untilEvent(roomId, afterJoin);

const tsOf = async (eventId: string): Promise<number> => {
  const r = await s.call(alice, 'GET', `${V3}/rooms/${enc(roomId)}/context/${enc(eventId)}?limit=0`);
  return r.body.event.origin_server_ts;
};
const ts = await Promise.all(sent.map(tsOf));
const joinTs = ts[2]! + 1;
const lastTs = await tsOf(afterJoin);
const url = (q: string, room = roomId) => `/_matrix/client/v1/rooms/${enc(room)}/timestamp_to_event?${q}`;

t.test('forwards and backwards', async (t) => {
  t.ok(ts[0]! < ts[1]! && ts[1]! < ts[2]!, 'the messages have distinct timestamps');
  const exact = await s.call(alice, 'GET', url(`ts=${ts[1]}&dir=f`));
  await expectOk(t, exact, 'GET /rooms/{roomId}/timestamp_to_event');
  t.same(exact.body, { event_id: sent[1], origin_server_ts: ts[1] }, 'f at an exact timestamp: that event');
  t.same((await s.call(alice, 'GET', url(`ts=${ts[1]}&dir=b`))).body, { event_id: sent[1], origin_server_ts: ts[1] }, 'b at an exact timestamp: that event');
  t.equal((await s.call(alice, 'GET', url(`ts=${ts[1]! + 1}&dir=f`))).body.event_id, sent[2], 'f just after: the next one');
  t.equal((await s.call(alice, 'GET', url(`ts=${ts[1]! - 1}&dir=b`))).body.event_id, sent[0], 'b just before: the previous one');
  t.equal((await s.call(alice, 'GET', url(`ts=${lastTs + 60_000}&dir=b`))).body.event_id, afterJoin, 'b from the future: the latest event');
  const first = await s.call(alice, 'GET', url('ts=0&dir=f'));
  t.equal(first.status, 200);
  const create = await s.call(alice, 'GET', `${V3}/rooms/${enc(roomId)}/messages?dir=f&limit=1`);
  t.equal(first.body.event_id, create.body.chunk[0].event_id, 'f from 0: the first event (m.room.create)');
});

t.test('none found: 404', async (t) => {
  expectError(t, await s.call(alice, 'GET', url(`ts=${lastTs + 60_000}&dir=f`)), 404, 'M_NOT_FOUND', 'nothing after the last event');
  expectError(t, await s.call(alice, 'GET', url('ts=1000&dir=b')), 404, 'M_NOT_FOUND', 'nothing before the room');
});

t.test('only events the user may see', async (t) => {
  // The room's first events came before the visibility was `joined` (`shared` until then): bob sees those.
  const back = await s.call(bob, 'GET', url(`ts=${ts[2]}&dir=b`));
  t.equal(back.status, 200);
  t.notOk(sent.includes(back.body.event_id), 'joined later: backwards skips the messages bob may not see');
  t.ok(back.body.origin_server_ts < ts[0]!, 'and finds an event from before them');
  const bobsView = (await s.call(bob, 'GET', `${V3}/rooms/${enc(roomId)}/messages?dir=b&limit=50`)).body.chunk;
  t.same(back.body.event_id, bobsView.find((e: any) => e.origin_server_ts <= ts[2]!)?.event_id, 'the latest one /messages shows him before then');
  t.equal(bobsView.find((e: any) => e.event_id === back.body.event_id)?.type, 'm.room.history_visibility', 'the change of visibility itself');
  const fwd = await s.call(bob, 'GET', url(`ts=${ts[0]}&dir=f`));
  t.equal(fwd.status, 200);
  t.notOk(sent.includes(fwd.body.event_id), 'forwards skips the messages bob may not see');
  t.ok(fwd.body.origin_server_ts >= joinTs, 'and finds his join or later');
  t.equal((await s.call(bob, 'GET', url(`ts=${lastTs}&dir=b`))).body.event_id, afterJoin, 'what came after the join');
});

t.test('bad parameters: 400; a room not seen: 403', async (t) => {
  for (const [q, what] of [
    ['dir=f', 'no ts'],
    ['ts=&dir=f', 'empty ts'],
    ['ts=abc&dir=f', 'ts not a number'],
    ['ts=-5&dir=f', 'negative ts'],
    ['ts=1.5&dir=f', 'ts not an integer'],
    [`ts=${ts[0]}`, 'no dir'],
    [`ts=${ts[0]}&dir=x`, 'dir not f or b'],
    [`ts=${ts[0]}&dir=f&dir=b`, 'dir twice'],
  ] as const) {
    expectError(t, await s.call(alice, 'GET', url(q)), 400, 'M_INVALID_PARAM', what);
  }
  expectError(t, await s.call(eve, 'GET', url(`ts=${ts[0]}&dir=f`)), 403, 'M_FORBIDDEN', 'a stranger');
  expectError(t, await s.call(eve, 'GET', url(`ts=${ts[0]}&dir=f`, `!nope:${s.serverName}`)), 403, 'M_FORBIDDEN', 'a room that does not exist looks the same');
  expectError(t, await s.call(alice, 'GET', url(`ts=${ts[0]}&dir=f`, 'not-a-room')), 400, 'M_INVALID_PARAM', 'not a room id');
  t.equal((await s.call(undefined, 'GET', url(`ts=${ts[0]}&dir=f`))).status, 401, 'no access token');
});
