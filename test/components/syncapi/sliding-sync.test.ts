/**
 * Simplified sliding sync (MSC4186) over the real Roomserver, UserAPI,
 * EDUServer, KeyServer and ClientAPI: lists (count, recency order,
 * windows), required_state (`*`, `$ME`, `$LAZY`), timelines (limited,
 * prev_batch with /messages), incremental answers, invites,
 * subscriptions, filters, extensions, long-polls, unknown pos, bad bodies,
 * history visibility.
 */
import t from 'tap';
import { enc, expectError, roomOps, startSync, SyncStream, V3, type Res, type SyncHarness, type User } from '../../helpers/syncapi.js';
import { TestDevice } from '../../helpers/keys.js';

const s: SyncHarness = await startSync();
t.teardown(() => s.stop());
const ops = roomOps(s);
const SS = '/_matrix/client/unstable/org.matrix.simplified_msc3575/sync';
const R = (roomId: string) => `${V3}/rooms/${enc(roomId)}`;

function ss(u: User, body: unknown, q: { pos?: string; timeout?: number } = {}): Promise<Res> {
  const qs = new URLSearchParams(Object.entries(q).filter(([, v]) => v !== undefined).map(([k, v]): [string, string] => [k, String(v)])).toString();
  return s.call(u, 'POST', `${SS}${qs ? `?${qs}` : ''}`, body);
}

/** One sliding sync connection: keeps `pos`, long-polls on. */
class Conn {
  pos: string | undefined;
  readonly bodies: any[] = [];
  constructor(
    readonly user: User,
    public body: any,
  ) {}
  async next(body: any = this.body, timeout = 30_000): Promise<any> {
    const r = await ss(this.user, body, this.pos ? { pos: this.pos, timeout } : {});
    if (r.status !== 200) throw new Error(`sliding sync: ${r.status} ${JSON.stringify(r.body)}`);
    this.pos = r.body.pos;
    this.bodies.push(r.body);
    return r.body;
  }
  async until(pred: (b: any) => boolean, max = 40): Promise<any> {
    for (let i = 0; i < max; i++) {
      const b = await this.next();
      if (pred(b)) return b;
    }
    throw new Error('the condition never held');
  }
}

/** Waits until v2 sync shows the event to the user (the SyncAPI has it). */
async function seen(u: User, roomId: string, eventId: string): Promise<void> {
  await new SyncStream(s, u).untilEvent(roomId, eventId);
}

const list = (ranges: number[][], extra: any = {}) => ({ lists: { all: { ranges, timeline_limit: 1, required_state: [], ...extra } } });
const bodies = (tl: any[]) => tl.map((e: any) => e.content?.body);

t.test('a list: count, recency order, windows; incremental answers', async (t) => {
  const u = await s.user('lister');
  const r1 = await ops.create(u, { name: 'one' });
  const r2 = await ops.create(u, { name: 'two' });
  const r3 = await ops.create(u, { name: 'three' });
  await ops.send(u, r3, { msgtype: 'm.text', body: 'in three' });
  const last = await ops.send(u, r1, { msgtype: 'm.text', body: 'in one' });
  await seen(u, r1, last);

  const c = new Conn(u, list([[0, 1]]));
  const first = await c.next();
  t.match(first.pos, /./, 'a pos');
  t.same(first.lists.all, { count: 3 }, 'count: every room of the user');
  t.same(Object.keys(first.rooms).sort(), [r1, r3].sort(), 'the window [0,1]: the two most recently active rooms');
  t.ok(first.rooms[r1].bump_stamp > first.rooms[r3].bump_stamp, 'r1 (latest message) before r3');
  t.match(first.rooms[r1], { initial: true, name: 'one', joined_count: 1, invited_count: 0, membership: 'join', notification_count: 0, highlight_count: 0 });
  t.same(bodies(first.rooms[r1].timeline), ['in one'], 'timeline_limit 1: the latest event');
  t.equal(first.rooms[r1].limited, true, 'more before it: limited');
  t.notOk('room_id' in first.rooms[r1].timeline[0], 'events without room_id, as in /sync');

  // Another connection of the same device needs its own conn_id (one connection per conn_id).
  const other = await new Conn(u, { ...list([[2, 2]]), conn_id: 'side' }).next();
  t.same(Object.keys(other.rooms), [r2], 'the window [2,2]: the least recent room');

  // A new message in r2: it moves to the top and enters the window, whole (new to the connection).
  const m2 = await ops.send(u, r2, { msgtype: 'm.text', body: 'now two' });
  const b = await c.until((x) => x.rooms[r2] !== undefined);
  t.equal(b.rooms[r2].initial, true, 'new to the connection: initial');
  t.same(bodies(b.rooms[r2].timeline), ['now two']);
  t.equal(b.rooms[r2].timeline[0].event_id, m2);
  t.equal(b.rooms[r2].num_live, 1, 'the event arrived after the previous pos: live');
  t.ok(b.rooms[r2].bump_stamp > first.rooms[r1].bump_stamp, 'its bump_stamp is the newest');
  t.notOk(b.rooms[r3], 'r3 left the window and did not change: not sent');
  const order = await new Conn(u, { ...list([[0, 2]]), conn_id: 'side' }).next();
  const sorted = Object.entries<any>(order.rooms).sort((x, y) => y[1].bump_stamp - x[1].bump_stamp).map(([id]) => id);
  t.same(sorted, [r2, r1, r3], 'bump order: r2, r1, r3');

  // A room the connection has: only the new event.
  const m1 = await ops.send(u, r1, { msgtype: 'm.text', body: 'again one' });
  const inc = await c.until((x) => x.rooms[r1] !== undefined);
  const room = inc.rooms[r1];
  t.notOk(room.initial, 'not initial');
  t.same(room.timeline.map((e: any) => e.event_id), [m1], 'only the new event');
  t.equal(room.num_live, 1);
  t.equal(room.limited, false, 'nothing missed');
  t.notOk('name' in room || 'required_state' in room || 'joined_count' in room, 'nothing unchanged is sent again');
  t.ok(room.bump_stamp > b.rooms[r2].bump_stamp, 'the bump_stamp moved');
});

t.test('required_state: exact pairs, $ME, *, $LAZY', async (t) => {
  const alice = await s.user('rs-alice');
  const bob = await s.user('rs-bob');
  const roomId = await ops.create(alice, { preset: 'public_chat', name: 'State', topic: 'a topic' });
  await ops.join(bob, roomId);
  const last = await ops.send(alice, roomId, { msgtype: 'm.text', body: 'from alice' });
  await seen(bob, roomId, last);
  const types = (rs: any[]) => rs.map((e) => `${e.type}|${e.state_key}`).sort();

  const exact = await new Conn(bob, list([[0, 0]], { required_state: [['m.room.name', ''], ['m.room.member', '$ME']] })).next();
  t.same(types(exact.rooms[roomId].required_state), ['m.room.member|' + bob.user_id, 'm.room.name|'].sort(), 'the name and my own membership only');

  const all = await new Conn(bob, list([[0, 0]], { required_state: [['*', '*']] })).next();
  const got = types(all.rooms[roomId].required_state);
  for (const want of ['m.room.create|', 'm.room.power_levels|', 'm.room.topic|', `m.room.member|${alice.user_id}`, `m.room.member|${bob.user_id}`]) t.ok(got.includes(want), `* has ${want}`);

  const lazy = await new Conn(bob, list([[0, 0]], { required_state: [['m.room.create', ''], ['m.room.member', '$LAZY']] })).next();
  t.same(types(lazy.rooms[roomId].required_state), ['m.room.create|', `m.room.member|${alice.user_id}`].sort(), '$LAZY: the member of the timeline sender, not everyone');

  const newer = await new Conn(bob, list([[0, 0]], { required_state: { include: [{ type: 'm.room.topic' }], lazy_members: true } })).next();
  t.same(types(newer.rooms[roomId].required_state), ['m.room.topic|', `m.room.member|${alice.user_id}`].sort(), "the MSC's {include, lazy_members} shape");

  // Incremental: a changed state event the config selects is sent; others are not.
  const c = new Conn(bob, list([[0, 0]], { required_state: [['m.room.topic', '']] }));
  await c.next();
  await ops.state(alice, roomId, 'm.room.topic', '', { topic: 'new topic' });
  await ops.state(alice, roomId, 'm.room.name', '', { name: 'Renamed' });
  const b = await c.until((x) => x.rooms[roomId]?.name === 'Renamed');
  const all2 = c.bodies.slice(1).flatMap((x) => x.rooms[roomId]?.required_state ?? []);
  t.same(types(all2), ['m.room.topic|'], 'the changed topic in required_state, the name event not (it is not asked for)');
  t.equal(b.rooms[roomId].name, 'Renamed', 'but the name field changes');

  // The config grows: the room is sent whole again.
  const grown = await c.next({ lists: { all: { ranges: [[0, 0]], timeline_limit: 1, required_state: [['m.room.topic', ''], ['m.room.create', '']] } } }, 0);
  t.equal(grown.rooms[roomId]?.initial, true, 'required_state grew: initial');
  t.same(types(grown.rooms[roomId].required_state), ['m.room.create|', 'm.room.topic|']);
});

t.test('timeline_limit, limited, prev_batch with /messages', async (t) => {
  const u = await s.user('timeliner');
  const roomId = await ops.create(u, {});
  let last = '';
  for (let i = 0; i < 5; i++) last = await ops.send(u, roomId, { msgtype: 'm.text', body: `m${i}` });
  await seen(u, roomId, last);
  const b = await new Conn(u, list([[0, 0]], { timeline_limit: 2 })).next();
  const room = b.rooms[roomId];
  t.same(bodies(room.timeline), ['m3', 'm4'], 'the latest two, oldest first');
  t.equal(room.limited, true);
  t.equal(room.num_live, 0, 'a first request: nothing is live');
  const back = await s.call(u, 'GET', `${R(roomId)}/messages?dir=b&limit=3&from=${room.prev_batch}`);
  t.equal(back.status, 200);
  t.same(bodies(back.body.chunk), ['m2', 'm1', 'm0'], 'prev_batch continues backwards from the timeline');

  const c = new Conn(u, list([[0, 0]], { timeline_limit: 2 }));
  await c.next();
  for (let i = 5; i < 9; i++) last = await ops.send(u, roomId, { msgtype: 'm.text', body: `m${i}` });
  await seen(u, roomId, last);
  const inc = await c.next();
  t.same(bodies(inc.rooms[roomId].timeline), ['m7', 'm8'], 'the latest two of the four new events');
  t.equal(inc.rooms[roomId].limited, true, 'more new events than the limit: limited');
  t.equal(inc.rooms[roomId].num_live, 2);
  const gap = await s.call(u, 'GET', `${R(roomId)}/messages?dir=b&limit=2&from=${inc.rooms[roomId].prev_batch}`);
  t.same(bodies(gap.body.chunk), ['m6', 'm5'], 'the gap is reachable from prev_batch');
});

t.test('invites: invite_state, the is_invite filter; joining sends the room whole', async (t) => {
  const alice = await s.user('inv-alice');
  const bob = await s.user('inv-bob');
  const roomId = await ops.create(alice, { name: 'Invitation' });
  const c = new Conn(bob, { lists: { invites: { ranges: [[0, 9]], timeline_limit: 5, required_state: [['*', '*']], filters: { is_invite: true } } } });
  await c.next();
  await ops.invite(alice, roomId, bob);
  const b = await c.until((x) => x.rooms[roomId] !== undefined);
  const room = b.rooms[roomId];
  t.equal(room.membership, 'invite');
  t.equal(room.initial, true);
  t.ok(room.invite_state.some((e: any) => e.type === 'm.room.member' && e.state_key === bob.user_id && e.content.membership === 'invite'), 'invite_state has the invite');
  t.ok(room.invite_state.some((e: any) => e.type === 'm.room.name' && e.content.name === 'Invitation'), 'and the room name');
  t.notOk(room.timeline || room.required_state, 'nothing of the room itself');
  t.same(b.lists.invites, { count: 1 });
  const notInv = await new Conn(bob, list([[0, 9]], { filters: { is_invite: false } })).next();
  t.notOk(notInv.rooms[roomId], 'is_invite false leaves it out');

  const all = new Conn(bob, list([[0, 9]], { required_state: [['m.room.name', '']] }));
  await all.next();
  await ops.join(bob, roomId);
  const joined = await all.until((x) => x.rooms[roomId]?.membership === 'join');
  t.equal(joined.rooms[roomId].initial, true, 'joined: sent whole');
  t.equal(joined.rooms[roomId].name, 'Invitation');
});

t.test('a declined invite: the own leave event in required_state and the timeline', async (t) => {
  const alice = await s.user('dec-alice');
  const bob = await s.user('dec-bob');
  const roomId = await ops.create(alice, { name: 'Declined' });
  // What Element X asks for: its own membership among the required state, one event of timeline.
  const c = new Conn(bob, list([[0, 9]], { required_state: [['m.room.member', '$ME'], ['m.room.name', '']] }));
  await c.next();
  await ops.invite(alice, roomId, bob);
  await c.until((x) => x.rooms[roomId]?.membership === 'invite');
  await ops.leave(bob, roomId);
  const left = (await c.until((x) => x.rooms[roomId] !== undefined && x.rooms[roomId].invite_state === undefined)).rooms[roomId];
  const own = (evs: any[] | undefined) => (evs ?? []).find((e: any) => e.type === 'm.room.member' && e.state_key === bob.user_id);
  t.equal(own(left.required_state)?.content.membership, 'leave', 'required_state: the leave (a client reads the membership from it)');
  t.equal(own(left.timeline)?.content.membership, 'leave', 'the timeline: the leave');
  t.notOk((left.required_state ?? []).some((e: any) => e.type === 'm.room.name'), 'nothing else of a room never joined');
  // Withdrawn by the inviter: the same.
  const other = await ops.create(alice, { name: 'Withdrawn' });
  await ops.invite(alice, other, bob);
  await c.until((x) => x.rooms[other]?.membership === 'invite');
  const kick = await s.call(alice, 'POST', `${R(other)}/kick`, { user_id: bob.user_id });
  t.equal(kick.status, 200);
  const withdrawn = (await c.until((x) => x.rooms[other] !== undefined && x.rooms[other].invite_state === undefined)).rooms[other];
  t.equal(own(withdrawn.required_state)?.content.membership, 'leave', 'a withdrawn invite: the leave too');
});

t.test('room subscriptions', async (t) => {
  const u = await s.user('subscriber');
  const old = await ops.create(u, { name: 'old' });
  const m = await ops.send(u, old, { msgtype: 'm.text', body: 'old message' });
  const recent = await ops.create(u, { name: 'recent' });
  const m2 = await ops.send(u, recent, { msgtype: 'm.text', body: 'recent message' });
  await seen(u, old, m);
  await seen(u, recent, m2);
  const stranger = await s.user('stranger');
  const hidden = await ops.create(stranger, { preset: 'public_chat', name: 'not yours' });
  const c = new Conn(u, { ...list([[0, 0]]), room_subscriptions: { [old]: { timeline_limit: 3, required_state: [['m.room.create', '']] }, [hidden]: { timeline_limit: 3, required_state: [] } } });
  const b = await c.next();
  t.same(Object.keys(b.rooms).sort(), [old, recent].sort(), 'the window has the recent room, the subscription the old one');
  t.ok(b.rooms[old].timeline.length > 1, "the subscription's timeline_limit");
  t.same(b.rooms[old].required_state.map((e: any) => e.type), ['m.room.create']);
  t.notOk(b.rooms[hidden], 'a room the user was never in is not shown');
  // Subscribed rooms get their updates too.
  const m3 = await ops.send(u, old, { msgtype: 'm.text', body: 'update' });
  const inc = await c.until((x) => x.rooms[old] !== undefined, 10);
  t.same(inc.rooms[old].timeline.map((e: any) => e.event_id), [m3]);
});

t.test('filters: is_dm, is_encrypted, room_types, not_room_types', async (t) => {
  const u = await s.user('filterer');
  const friend = await s.user('friend');
  const plain = await ops.create(u, {});
  const dm = await ops.create(u, { is_direct: true, invite: [friend.user_id] });
  const e2e = await ops.create(u, { initial_state: [{ type: 'm.room.encryption', state_key: '', content: { algorithm: 'm.megolm.v1.aes-sha2' } }] });
  const space = await ops.create(u, { creation_content: { type: 'm.space' } });
  await s.call(u, 'PUT', `${V3}/user/${enc(u.user_id)}/account_data/m.direct`, { [friend.user_id]: [dm] });
  const mark = await ops.send(u, space);
  await seen(u, space, mark);
  const ids = async (filters: any) => {
    const b = await new Conn(u, list([[0, 20]], { filters })).until((x) => x.lists.all.count > 0, 3);
    return Object.keys(b.rooms).sort();
  };
  // m.direct arrives through the account data consumer: wait for it.
  const c = new Conn(u, list([[0, 20]], { filters: { is_dm: true } }));
  const dms = await c.until((x) => x.lists.all.count === 1);
  t.same(Object.keys(dms.rooms), [dm], 'is_dm: the room in m.direct');
  t.equal(dms.rooms[dm].is_dm, true);
  t.same(await ids({ is_dm: false }), [plain, e2e, space].sort(), 'is_dm false: the others');
  t.same(await ids({ is_encrypted: true }), [e2e], 'is_encrypted');
  t.same(await ids({ room_types: ['m.space'] }), [space], 'room_types');
  t.same(await ids({ room_types: [null] }), [plain, dm, e2e].sort(), 'room_types [null]: rooms without a type');
  t.same(await ids({ not_room_types: ['m.space'] }), [plain, dm, e2e].sort(), 'not_room_types');
});

t.test('extensions: to_device, e2ee, account_data, receipts, typing', async (t) => {
  const alice = await s.user('ext-alice');
  const bob = await s.user('ext-bob');
  const roomId = await ops.create(alice, { preset: 'public_chat', name: 'Ext' });
  await ops.join(bob, roomId);
  const ready = await ops.send(alice, roomId);
  await seen(bob, roomId, ready);
  const extensions = { to_device: { enabled: true }, e2ee: { enabled: true }, account_data: { enabled: true }, receipts: { enabled: true }, typing: { enabled: true } };
  const c = new Conn(bob, { ...list([[0, 9]]), extensions });
  const first = await c.next();
  t.match(first.extensions.to_device, { next_batch: String, events: [] });
  t.same(first.extensions.e2ee.device_lists, { changed: [], left: [] });
  t.ok(first.extensions.account_data.global.some((e: any) => e.type === 'm.push_rules'), 'the first answer has the push rules');

  // to_device: delivered, sent again until acknowledged by `since`, then deleted.
  const put = await s.call(alice, 'PUT', `${V3}/sendToDevice/org.example.ping/t1`, { messages: { [bob.user_id]: { [bob.device_id]: { n: 1 } } } });
  t.equal(put.status, 200);
  c.body = { ...list([[0, 9]]), extensions: { to_device: { since: first.extensions.to_device.next_batch } } };
  const got = await c.until((x) => (x.extensions.to_device?.events ?? []).length > 0);
  t.same(got.extensions.to_device.events, [{ sender: alice.user_id, type: 'org.example.ping', content: { n: 1 } }]);
  const oldSince = first.extensions.to_device.next_batch;
  const again = await new Conn(bob, { ...list([[0, 0]]), conn_id: 'td', extensions: { to_device: { enabled: true, since: oldSince } } }).next();
  t.same(again.extensions.to_device.events.map((e: any) => e.content.n), [1], 'not acknowledged: sent again');
  const acked = await new Conn(bob, { ...list([[0, 0]]), conn_id: 'td', extensions: { to_device: { enabled: true, since: got.extensions.to_device.next_batch } } }).next();
  t.same(acked.extensions.to_device.events, [], 'acknowledged: gone');
  const after = await new Conn(bob, { ...list([[0, 0]]), conn_id: 'td', extensions: { to_device: { enabled: true, since: oldSince } } }).next();
  t.same(after.extensions.to_device.events, [], 'and deleted: the old since does not bring it back');

  // e2ee: alice's keys change; bob shares a room with her.
  c.body = list([[0, 9]]);
  const devA = new TestDevice(alice);
  const up = await s.call(alice, 'POST', `${V3}/keys/upload`, { device_keys: devA.deviceKeys(), one_time_keys: devA.oneTimeKeys(3) });
  t.equal(up.status, 200);
  const dl = await c.until((x) => (x.extensions.e2ee?.device_lists.changed ?? []).includes(alice.user_id));
  t.ok(dl.extensions.e2ee.device_lists.changed.includes(alice.user_id), "e2ee: alice's device list changed");
  const own = await new Conn(alice, { extensions: { e2ee: { enabled: true } } }).next();
  t.same(own.extensions.e2ee.device_one_time_keys_count, { signed_curve25519: 3 }, 'e2ee: the one-time key count');
  t.same(own.extensions.e2ee.device_unused_fallback_key_types, []);

  // account_data: global and per room.
  await s.call(bob, 'PUT', `${V3}/user/${enc(bob.user_id)}/account_data/org.example.g`, { g: 1 });
  await s.call(bob, 'PUT', `${V3}/user/${enc(bob.user_id)}/rooms/${enc(roomId)}/account_data/org.example.r`, { r: 1 });
  await c.until((x) => x.extensions.account_data?.rooms?.[roomId] !== undefined);
  const ad = c.bodies.flatMap((x) => x.extensions.account_data?.global ?? []);
  t.ok(ad.some((e: any) => e.type === 'org.example.g' && e.content.g === 1), 'global account data');
  t.same(c.bodies.at(-1).extensions.account_data.rooms[roomId], [{ type: 'org.example.r', content: { r: 1 } }], 'room account data');

  // receipts and typing.
  const msg = await ops.send(bob, roomId, { msgtype: 'm.text', body: 'read me' });
  await c.until((x) => x.rooms[roomId]?.timeline?.some((e: any) => e.event_id === msg));
  await s.call(alice, 'POST', `${R(roomId)}/receipt/m.read/${enc(msg)}`, {});
  const rc = await c.until((x) => x.extensions.receipts?.rooms?.[roomId] !== undefined);
  t.match(rc.extensions.receipts.rooms[roomId], { type: 'm.receipt', content: { [msg]: { 'm.read': { [alice.user_id]: { ts: Number } } } } });
  await s.call(alice, 'PUT', `${R(roomId)}/typing/${enc(alice.user_id)}`, { typing: true, timeout: 30000 });
  const ty = await c.until((x) => x.extensions.typing?.rooms?.[roomId] !== undefined);
  t.same(ty.extensions.typing.rooms[roomId], { type: 'm.typing', content: { user_ids: [alice.user_id] } });
  // Extensions are kept by the connection: the requests above named none after the first.
});

t.test('long-poll: wakes on a message, times out with a new pos', async (t) => {
  const alice = await s.user('lp-alice');
  const bob = await s.user('lp-bob');
  const roomId = await ops.create(alice, { preset: 'public_chat' });
  await ops.join(bob, roomId);
  const ready = await ops.send(alice, roomId);
  await seen(bob, roomId, ready);
  const c = new Conn(bob, list([[0, 9]]));
  await c.next();
  // Drain whatever is pending (presence, the join).
  while (Object.keys((await c.next(undefined, 0)).rooms).length > 0);
  const started = Date.now();
  const waiting = c.next(undefined, 60_000);
  await new Promise((r) => setTimeout(r, 200));
  const msg = await ops.send(alice, roomId, { msgtype: 'm.text', body: 'wake up' });
  let b = await waiting;
  if (!b.rooms[roomId]) b = await c.until((x) => x.rooms[roomId] !== undefined, 5);
  t.same(b.rooms[roomId].timeline.map((e: any) => e.event_id), [msg], 'answered with the message');
  t.ok(Date.now() - started < 30_000, 'long before the timeout');

  const before = c.pos;
  const t0 = Date.now();
  const quiet = await c.next(undefined, 700);
  const took = Date.now() - t0;
  t.ok(took >= 600, `waited for the timeout (${took} ms)`);
  t.same(quiet.rooms, {}, 'nothing new: no rooms');
  t.not(quiet.pos, before, 'a new pos');
  const again = await ss(bob, list([[0, 9]]), { pos: quiet.pos, timeout: 0 });
  t.equal(again.status, 200, 'the new pos is good');
});

t.test('unknown pos and bad bodies: 400, nothing changes', async (t) => {
  const u = await s.user('bad');
  const u2 = await s.login('bad');
  expectError(t, await ss(u, list([[0, 0]]), { pos: 'nonsense' }), 400, 'M_UNKNOWN_POS', 'a pos never issued');
  const c = new Conn(u, list([[0, 0]]));
  await c.next();
  expectError(t, await ss(u2, list([[0, 0]]), { pos: c.pos! }), 400, 'M_UNKNOWN_POS', "another device's pos");
  expectError(t, await ss(u, { ...list([[0, 0]]), conn_id: 'other' }, { pos: c.pos! }), 400, 'M_UNKNOWN_POS', "another connection's pos");
  expectError(t, await ss(u, [1, 2], { pos: c.pos! }), 400, 'M_BAD_JSON', 'a body that is not an object');
  expectError(t, await ss(u, list([[3, 1]]), { pos: c.pos! }), 400, 'M_INVALID_PARAM', 'a range that ends before it starts');
  expectError(t, await ss(u, list([[0]]), { pos: c.pos! }), 400, 'M_INVALID_PARAM', 'a range that is not a pair');
  expectError(t, await ss(u, list([[-1, 2]]), { pos: c.pos! }), 400, 'M_INVALID_PARAM', 'a negative range');
  expectError(t, await ss(u, list([[0, 1]], { filters: { is_spaceship: true } }), { pos: c.pos! }), 400, 'M_INVALID_PARAM', 'an unknown filter');
  expectError(t, await ss(u, list([[0, 1]], { filters: { is_dm: 'yes' } }), { pos: c.pos! }), 400, 'M_INVALID_PARAM', 'a filter of the wrong type');
  expectError(t, await ss(u, list([[0, 1]], { required_state: [['m.room.name']] }), { pos: c.pos! }), 400, 'M_INVALID_PARAM', 'required_state not in pairs');
  expectError(t, await ss(u, list([[0, 1]], { timeline_limit: -1 }), { pos: c.pos! }), 400, 'M_INVALID_PARAM', 'a negative timeline_limit');
  expectError(t, await ss(u, { room_subscriptions: { 'not a room': { timeline_limit: 1, required_state: [] } } }, { pos: c.pos! }), 400, 'M_INVALID_PARAM', 'a subscription to something that is no room id');
  const ok = await ss(u, list([[0, 0]]), { pos: c.pos!, timeout: 0 });
  t.equal(ok.status, 200, 'the pos still works after the refused requests');
  const reused = await ss(u, list([[0, 0]]), { pos: c.pos!, timeout: 0 });
  t.equal(reused.status, 200, 'the same pos again (a retry) works too');
  const next = await ss(u, list([[0, 0]]), { pos: reused.body.pos, timeout: 0 });
  t.equal(next.status, 200);
  expectError(t, await ss(u, list([[0, 0]]), { pos: c.pos! }), 400, 'M_UNKNOWN_POS', 'a pos older than one already used is gone');
  const restart = await new Conn(u, list([[0, 0]])).next();
  expectError(t, await ss(u, list([[0, 0]]), { pos: next.body.pos }), 400, 'M_UNKNOWN_POS', 'a new connection without pos replaces the old one');
  t.ok(restart.pos);
  const unauth = await s.call(undefined, 'POST', SS, {});
  t.equal(unauth.status, 401, 'an access token is required');
});

t.test('history visibility: rooms never joined or left, events before a join', async (t) => {
  const alice = await s.user('vis-alice');
  const bob = await s.user('vis-bob');
  const carol = await s.user('vis-carol');
  const secret = await ops.create(alice, { preset: 'public_chat', name: 'joined only' });
  await ops.state(alice, secret, 'm.room.history_visibility', '', { history_visibility: 'joined' });
  await ops.send(alice, secret, { msgtype: 'm.text', body: 'before bob' });
  await ops.join(bob, secret);
  const afterJoin = await ops.send(alice, secret, { msgtype: 'm.text', body: 'after bob' });
  await seen(bob, secret, afterJoin);
  const b = await new Conn(bob, list([[0, 9]], { timeline_limit: 20 })).next();
  const texts = bodies(b.rooms[secret].timeline).filter(Boolean);
  t.same(texts, ['after bob'], 'events before the join are not shown where visibility is joined');

  const never = await ops.create(alice, { preset: 'public_chat', name: 'never' });
  const left = await ops.create(alice, { preset: 'public_chat', name: 'left' });
  await ops.join(carol, left);
  const kicked = await ops.create(alice, { preset: 'public_chat', name: 'kicked' });
  await ops.join(carol, kicked);
  await ops.leave(carol, left);
  const k = await s.call(alice, 'POST', `${R(kicked)}/kick`, { user_id: carol.user_id, reason: 'test' });
  t.equal(k.status, 200);
  const mark = await ops.create(carol, {});
  const m = await ops.send(carol, mark);
  await seen(carol, mark, m);
  const cb = await new Conn(carol, { ...list([[0, 9]], { timeline_limit: 5 }), room_subscriptions: { [never]: { timeline_limit: 5, required_state: [] } } }).next();
  t.notOk(cb.rooms[never], 'a room never joined: not shown, even subscribed');
  t.notOk(cb.rooms[left], 'a room left by oneself: not in the list');
  t.equal(cb.rooms[kicked]?.membership, 'leave', 'a room one was kicked from: in the list');
  const kt = cb.rooms[kicked].timeline;
  t.equal(kt.at(-1).content.membership, 'leave', 'its timeline ends at the kick');
  // Alice talks in the room carol was kicked from: carol is told nothing.
  const c = new Conn(carol, list([[0, 9]], { timeline_limit: 5 }));
  await c.next();
  await ops.send(alice, kicked, { msgtype: 'm.text', body: 'after the kick' });
  const m2 = await ops.send(carol, mark, { msgtype: 'm.text', body: 'mark' });
  await c.until((x) => x.rooms[mark]?.timeline?.some((e: any) => e.event_id === m2));
  t.notOk(JSON.stringify(c.bodies).includes('after the kick'), 'nothing after the kick reaches carol');
  // Forgotten: no longer listed on a new connection.
  t.equal((await s.call(carol, 'POST', `${R(kicked)}/forget`, {})).status, 200);
  const fresh = await new Conn(carol, list([[0, 9]], { timeline_limit: 5 })).next();
  t.notOk(fresh.rooms[kicked], 'a room one was kicked from and forgot: not in the list');
});
