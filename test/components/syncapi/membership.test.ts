/**
 * Membership in /sync: invites and knocks with stripped state, a newly
 * joined room with its full state, leaving (the room up to the leave and no
 * further), declined invites, bans, summaries with heroes, ignored users;
 * and history visibility (joined, invited, shared, world_readable) applied
 * to timelines and history.
 */
import t from 'tap';
import { enc, expectOk, roomOps, startSync, SyncStream, V3, type User } from '../../helpers/syncapi.js';

const s = await startSync();
t.teardown(() => s.stop());
const ops = roomOps(s);
const alice = await s.user('alice');
const bob = await s.user('bob');
const carol = await s.user('carol');
const dave = await s.user('dave');
const eve = await s.user('eve');
const big = { filter: JSON.stringify({ room: { timeline: { limit: 100 } } }) };

/** Waits until the user's sync has seen the event (so later reads are settled). */
async function seen(u: User, roomId: string, eventId: string) {
  await new SyncStream(s, u).untilEvent(roomId, eventId);
}
const messages = async (u: User, roomId: string) =>
  s.call(u, 'GET', `${V3}/rooms/${enc(roomId)}/messages?dir=b&limit=100`);
const bodies = (evs: any[]) => evs.filter((e) => e.type === 'm.room.message').map((e) => e.content.body);

t.test('invite, join, leave: each section in turn', async (t) => {
  const roomId = await ops.create(alice, { preset: 'private_chat', name: 'Journey' });
  const stream = new SyncStream(s, bob);
  await stream.next();
  await ops.invite(alice, roomId, bob);
  const inv = await stream.until((b) => roomId in b.rooms.invite);
  await expectOk(t, { status: 200, body: inv }, 'GET /sync', 'an answer with an invite');
  const state = inv.rooms.invite[roomId].invite_state.events;
  t.ok(state.some((e: any) => e.type === 'm.room.create'), 'stripped state holds the create event (v1.16)');
  t.ok(state.some((e: any) => e.type === 'm.room.name' && e.content.name === 'Journey'));
  t.match(state.find((e: any) => e.type === 'm.room.member' && e.state_key === bob.user_id), { sender: alice.user_id, content: { membership: 'invite' } });
  t.ok(state.every((e: any) => Object.keys(e).every((k) => ['type', 'state_key', 'sender', 'content'].includes(k))), 'stripped: four fields only');

  await ops.join(bob, roomId);
  const joined = await stream.until((b) => roomId in b.rooms.join);
  t.notOk(roomId in joined.rooms.invite, 'no longer invited');
  const jr = joined.rooms.join[roomId];
  t.ok([...jr.state.events, ...jr.timeline.events].some((e: any) => e.type === 'm.room.create'), 'a newly joined room comes with its full state');
  t.match(jr.summary, { 'm.joined_member_count': 2 });

  const m1 = await ops.send(alice, roomId, { msgtype: 'm.text', body: 'while bob is here' });
  await stream.untilEvent(roomId, m1);
  await ops.leave(bob, roomId);
  const left = await stream.until((b) => roomId in b.rooms.leave);
  await expectOk(t, { status: 200, body: left }, 'GET /sync', 'an answer with a left room');
  t.notOk(roomId in left.rooms.join);
  t.match(left.rooms.leave[roomId].timeline.events.at(-1), { type: 'm.room.member', state_key: bob.user_id, content: { membership: 'leave' } }, 'the leave ends the timeline');

  const after = await ops.send(alice, roomId, { msgtype: 'm.text', body: 'after bob left' });
  await seen(alice, roomId, after);
  const later = await ops.sync(bob, { since: stream.since! });
  t.notOk(roomId in later.body.rooms.leave || roomId in later.body.rooms.join, 'nothing of the room after the leave');
  const hist = await messages(bob, roomId);
  t.equal(hist.status, 200, 'a former member may read the history');
  t.same(bodies(hist.body.chunk), ['while bob is here'], '...up to the leave, not after');
  const ctx = await s.call(bob, 'GET', `${V3}/rooms/${enc(roomId)}/context/${enc(after)}`);
  t.equal(ctx.status, 404, 'an event after the leave looks absent');
  const before = hist.body.chunk.find((e: any) => e.content?.body === 'while bob is here').event_id;
  t.equal((await s.call(bob, 'GET', `${V3}/rooms/${enc(roomId)}/context/${enc(before)}`)).status, 200, 'an event before the leave has its context');

  // Forgetting closes the history (spec: POST /forget).
  t.equal((await s.call(bob, 'POST', `${V3}/rooms/${enc(roomId)}/forget`, {})).status, 200, 'forgotten');
  for (const dir of ['b', 'f']) {
    const r = await s.call(bob, 'GET', `${V3}/rooms/${enc(roomId)}/messages?dir=${dir}`);
    t.same([r.status, r.body.errcode], [403, 'M_FORBIDDEN'], `/messages dir=${dir} after forgetting`);
  }
  const forgotCtx = await s.call(bob, 'GET', `${V3}/rooms/${enc(roomId)}/context/${enc(before)}`);
  t.same([forgotCtx.status, forgotCtx.body.errcode], [403, 'M_FORBIDDEN'], '/context after forgetting: refused as /messages is');
  t.equal((await messages(alice, roomId)).status, 200, 'the others still read it');
  // Coming back (an invite) opens it again.
  await ops.invite(alice, roomId, bob);
  const back = await stream.until((b) => roomId in b.rooms.invite);
  t.ok(back, 'the invite arrives');
  t.equal((await messages(bob, roomId)).status, 200, 'an invited former member reads the history again');
});

t.test('a declined invite: the leave alone, nothing of the room', async (t) => {
  const roomId = await ops.create(alice, { preset: 'private_chat', name: 'Secret' });
  await ops.send(alice, roomId, { msgtype: 'm.text', body: 'secret' });
  const stream = new SyncStream(s, carol);
  await stream.next();
  await ops.invite(alice, roomId, carol);
  await stream.until((b) => roomId in b.rooms.invite);
  await ops.leave(carol, roomId);
  const left = await stream.until((b) => roomId in b.rooms.leave);
  const lr = left.rooms.leave[roomId];
  t.same(lr.state.events, [], 'no room state');
  t.same(lr.timeline.events.map((e: any) => [e.type, e.content.membership]), [['m.room.member', 'leave']], 'only the leave');
});

t.test('ban: the room moves to leave with the ban', async (t) => {
  const roomId = await ops.create(alice, { preset: 'public_chat' });
  await ops.join(dave, roomId);
  const stream = new SyncStream(s, dave);
  await stream.until((b) => roomId in b.rooms.join);
  const ban = await s.call(alice, 'POST', `${V3}/rooms/${enc(roomId)}/ban`, { user_id: dave.user_id, reason: 'test' });
  t.equal(ban.status, 200);
  const left = await stream.until((b) => roomId in b.rooms.leave);
  t.match(left.rooms.leave[roomId].timeline.events.at(-1), { type: 'm.room.member', content: { membership: 'ban', reason: 'test' } });
});

t.test('knock: the knock section with stripped state', async (t) => {
  const roomId = await ops.create(alice, { preset: 'private_chat', name: 'Knock knock', room_version: '10' });
  await ops.state(alice, roomId, 'm.room.join_rules', '', { join_rule: 'knock' });
  const stream = new SyncStream(s, eve);
  await stream.next();
  const k = await s.call(eve, 'POST', `${V3}/knock/${enc(roomId)}`, { reason: 'let me in' });
  t.equal(k.status, 200, `knock: ${JSON.stringify(k.body)}`);
  const body = await stream.until((b) => roomId in b.rooms.knock);
  await expectOk(t, { status: 200, body }, 'GET /sync', 'an answer with a knock');
  const ks = body.rooms.knock[roomId].knock_state.events;
  t.ok(ks.some((e: any) => e.type === 'm.room.name' && e.content.name === 'Knock knock'));
  t.match(ks.find((e: any) => e.type === 'm.room.member'), { state_key: eve.user_id, content: { membership: 'knock' } });
});

t.test('summary: heroes for a room without a name', async (t) => {
  const roomId = await ops.create(alice, { preset: 'public_chat' });
  await ops.join(bob, roomId);
  await ops.join(carol, roomId);
  await ops.invite(alice, roomId, dave);
  const m = await ops.send(alice, roomId);
  const stream = new SyncStream(s, alice);
  await stream.untilEvent(roomId, m);
  const r = await ops.sync(alice);
  t.same(r.body.rooms.join[roomId].summary, { 'm.heroes': [bob.user_id, carol.user_id, dave.user_id], 'm.joined_member_count': 3, 'm.invited_member_count': 1 }, 'in stream order, never the user');
  const since = r.body.next_batch;
  await ops.leave(carol, roomId);
  const st2 = new SyncStream(s, alice);
  st2.since = since;
  const changed = await st2.until((b) => roomId in b.rooms.join);
  t.same(changed.rooms.join[roomId].summary, { 'm.heroes': [bob.user_id, dave.user_id], 'm.joined_member_count': 2, 'm.invited_member_count': 1 }, 'a fresh summary when members change');
  const m2 = await ops.send(alice, roomId);
  await st2.untilEvent(roomId, m2);
  const quiet = st2.bodies.at(-1).rooms.join[roomId];
  t.notOk('summary' in quiet && quiet.summary['m.heroes'], 'no new summary when nobody changed');
});

t.test('summary: heroes once a named room loses its name', async (t) => {
  const roomId = await ops.create(alice, { preset: 'public_chat', name: 'Named' });
  await ops.join(bob, roomId);
  const m = await ops.send(alice, roomId);
  const stream = new SyncStream(s, alice);
  await stream.untilEvent(roomId, m);
  t.notOk('m.heroes' in (stream.bodies.at(-1).rooms.join[roomId].summary ?? {}), 'named: no heroes');
  const unnamed = await ops.state(alice, roomId, 'm.room.name', '', {});
  const b = await stream.untilEvent(roomId, unnamed);
  t.same(b.rooms.join[roomId].summary, { 'm.heroes': [bob.user_id], 'm.joined_member_count': 2, 'm.invited_member_count': 0 }, 'the name removed, nobody joined or left: heroes in the same sync');
});

t.test('ignored users: their messages and invites are not shown', async (t) => {
  const roomId = await ops.create(alice, { preset: 'public_chat' });
  await ops.join(eve, roomId);
  await s.call(alice, 'PUT', `${V3}/user/${enc(alice.user_id)}/account_data/m.ignored_user_list`, { ignored_users: { [eve.user_id]: {} } });
  const stream = new SyncStream(s, alice);
  await stream.until((b) => b.account_data.events.some((e: any) => e.type === 'm.ignored_user_list'));
  await ops.send(eve, roomId, { msgtype: 'm.text', body: 'ignored' });
  const ok = await ops.send(alice, roomId, { msgtype: 'm.text', body: 'not ignored' });
  await stream.untilEvent(roomId, ok);
  t.notOk(stream.events(roomId).some((e) => e.content.body === 'ignored'), "eve's message is not shown");
  const other = await ops.create(eve, { preset: 'private_chat' });
  await ops.invite(eve, other, alice);
  const mark = await ops.send(alice, roomId, { msgtype: 'm.text', body: 'mark' });
  await stream.untilEvent(roomId, mark);
  t.notOk(stream.bodies.some((b) => other in b.rooms.invite), "eve's invite is not shown");
  await ops.join(bob, roomId);
  await ops.send(eve, roomId, { msgtype: 'm.text', body: 'ignored again' });
  const fromBob = await ops.send(bob, roomId, { msgtype: 'm.text', body: 'from bob' });
  await stream.untilEvent(roomId, fromBob);
  const counts = (await ops.sync(alice)).body.rooms.join[roomId].unread_notifications;
  t.equal(counts.notification_count, 1, "bob's message counts as unread, eve's (never shown) does not");
  const before = (await ops.sync(alice)).body.next_batch;
  await ops.send(eve, roomId, { msgtype: 'm.text', body: 'ignored once more' });
  const quiet = (await ops.sync(alice, { since: before, timeout: 0 })).body;
  t.not(quiet.next_batch, before, "the incremental sync is past eve's message");
  t.notOk(quiet.rooms?.join?.[roomId], 'and the room, where nothing shown changed, is not in it');
  await s.call(alice, 'PUT', `${V3}/user/${enc(alice.user_id)}/account_data/m.ignored_user_list`, { ignored_users: {} });
});

t.test('state that changed while the user was away from a joined-only room comes in the timeline (SyTest)', async (t) => {
  const roomId = await ops.create(alice, { preset: 'public_chat' });
  await ops.join(bob, roomId);
  await s.call(alice, 'PUT', `${V3}/rooms/${enc(roomId)}/state/m.room.history_visibility/`, { history_visibility: 'joined' });
  await ops.invite(alice, roomId, dave);
  const since = (await ops.sync(bob)).body.next_batch;
  await ops.leave(bob, roomId);
  await ops.join(dave, roomId);
  await ops.join(bob, roomId);
  const mark = await ops.send(alice, roomId, { msgtype: 'm.text', body: 'after the rejoin' });
  const stream = new SyncStream(s, bob);
  stream.since = since;
  await stream.untilEvent(roomId, mark);
  const daves = stream.events(roomId).filter((e) => e.type === 'm.room.member' && e.state_key === dave.user_id);
  t.same(daves.map((e) => e.content.membership), ['invite', 'join'], "dave's join comes after his invite in the timeline, though bob was away when he joined");
  const hidden = await ops.send(alice, roomId, { msgtype: 'm.text', body: 'seen' });
  await seen(bob, roomId, hidden);
  t.equal((await messages(bob, roomId)).body.chunk.some((e: any) => e.type === 'm.room.member' && e.state_key === dave.user_id && e.content.membership === 'join'), false, '/messages still hides it (only sync shows the current state)');
});

t.test('history visibility', async (t) => {
  const scenario = async (visibility: string) => {
    const roomId = await ops.create(alice, { preset: 'public_chat', initial_state: [{ type: 'm.room.history_visibility', state_key: '', content: { history_visibility: visibility } }] });
    await ops.send(alice, roomId, { msgtype: 'm.text', body: 'before invite' });
    await ops.invite(alice, roomId, bob);
    await ops.send(alice, roomId, { msgtype: 'm.text', body: 'while invited' });
    await ops.join(bob, roomId);
    const last = await ops.send(alice, roomId, { msgtype: 'm.text', body: 'after join' });
    await seen(bob, roomId, last);
    const initial = (await ops.sync(bob, big)).body.rooms.join[roomId];
    return { roomId, sync: bodies(initial.timeline.events), history: bodies((await messages(bob, roomId)).body.chunk).reverse() };
  };
  const joined = await scenario('joined');
  t.same(joined.sync, ['after join'], 'joined: the sync timeline starts at the join');
  t.same(joined.history, ['after join'], 'joined: so does history');
  // prev_content only where the previous state event is one the user may see.
  const pc = (await scenario('joined')).roomId;
  await ops.state(alice, pc, 'm.room.topic', '', { topic: 'first' });
  const second = await ops.state(alice, pc, 'm.room.topic', '', { topic: 'second' });
  await ops.leave(bob, pc);
  await ops.state(alice, pc, 'm.room.topic', '', { topic: 'while bob is away' });
  await ops.join(bob, pc);
  const backTopic = await ops.state(alice, pc, 'm.room.topic', '', { topic: 'bob back' });
  await seen(bob, pc, backTopic);
  const topics = (await s.call(bob, 'GET', `${V3}/rooms/${enc(pc)}/messages?dir=b&limit=50`)).body.chunk.filter((e: any) => e.type === 'm.room.topic');
  t.same(
    topics.map((e: any) => [e.content.topic, e.unsigned.prev_content]),
    [['bob back', undefined], ['second', { topic: 'first' }], ['first', undefined]],
    'prev_content of a topic bob saw replace one he saw; none where the topic replaced was set while he was away',
  );
  t.same((await s.call(bob, 'GET', `${V3}/rooms/${enc(pc)}/event/${enc(second)}`)).body.unsigned.prev_content, { topic: 'first' }, 'the same from /event');
  t.notOk('prev_content' in (await s.call(bob, 'GET', `${V3}/rooms/${enc(pc)}/event/${enc(backTopic)}`)).body.unsigned, 'and none there either');
  const invited = await scenario('invited');
  t.same(invited.sync, ['while invited', 'after join'], 'invited: from the invite on');
  t.same(invited.history, ['while invited', 'after join']);
  const shared = await scenario('shared');
  t.same(shared.sync, ['before invite', 'while invited', 'after join'], 'shared: everything, once joined');
  t.same(shared.history, ['before invite', 'while invited', 'after join']);

  // world_readable: anyone reads; strangers get 403 elsewhere.
  const open = await ops.create(alice, { preset: 'public_chat', initial_state: [{ type: 'm.room.history_visibility', state_key: '', content: { history_visibility: 'world_readable' } }] });
  const w = await ops.send(alice, open, { msgtype: 'm.text', body: 'for the world' });
  await seen(alice, open, w);
  t.same(bodies((await messages(eve, open)).body.chunk), ['for the world'], 'world_readable: a stranger reads the history');
  const initialSync = await s.call(eve, 'GET', `${V3}/rooms/${enc(open)}/initialSync`);
  t.equal(initialSync.status, 200, 'and the room initialSync');
  t.equal((await messages(eve, shared.roomId)).status, 403, 'not world-readable: 403 for a stranger');
  t.equal((await s.call(eve, 'GET', `${V3}/rooms/${enc('!nowhere:' + s.serverName)}/messages?dir=b`)).status, 403, 'an unknown room looks the same');

  // A member who leaves and comes back under `joined` does not see the time away.
  await ops.leave(bob, joined.roomId);
  await ops.send(alice, joined.roomId, { msgtype: 'm.text', body: 'while away' });
  await ops.join(bob, joined.roomId);
  const back = await ops.send(alice, joined.roomId, { msgtype: 'm.text', body: 'back' });
  await seen(alice, joined.roomId, back);
  t.same(bodies((await messages(bob, joined.roomId)).body.chunk).reverse(), ['after join', 'back'], 'joined: nothing from the time away');
  // History visibility changes apply from the change on.
  await ops.state(alice, joined.roomId, 'm.room.history_visibility', '', { history_visibility: 'shared' });
  await ops.join(carol, joined.roomId);
  const c = await ops.send(alice, joined.roomId, { msgtype: 'm.text', body: 'for carol' });
  await seen(alice, joined.roomId, c);
  t.same(bodies((await messages(carol, joined.roomId)).body.chunk).reverse(), ['for carol'], 'shared from a point on: carol sees from that point, not what was joined-only');
});

t.test('/members?at= takes a sync token: the members at that point', async (t) => {
  const beforeRoom = (await ops.sync(alice)).body.next_batch as string;
  const roomId = await ops.create(alice, { preset: 'public_chat', name: 'Members then' });
  await ops.join(bob, roomId);
  const hello = await ops.send(bob, roomId, { msgtype: 'm.text', body: 'hello' });
  await seen(alice, roomId, hello);
  const then = (await ops.sync(alice)).body;
  const point = then.next_batch as string;
  const prevBatch = then.rooms.join[roomId].timeline.prev_batch as string;
  await ops.join(carol, roomId);
  const later = await ops.send(carol, roomId, { msgtype: 'm.text', body: 'carol here' });
  await seen(alice, roomId, later);
  const members = async (at?: string) => {
    const r = await s.call(alice, 'GET', `${V3}/rooms/${enc(roomId)}/members${at ? `?at=${encodeURIComponent(at)}` : ''}`);
    t.equal(r.status, 200, `members at ${at ?? 'now'}`);
    return r.body.chunk.filter((e: any) => e.content.membership === 'join').map((e: any) => e.state_key).sort();
  };
  t.same(await members(), [alice.user_id, bob.user_id, carol.user_id].sort(), 'now: carol too');
  t.same(await members(point), [alice.user_id, bob.user_id].sort(), "at a sync's next_batch: before carol came");
  t.ok((await members(prevBatch)).every((u: string) => u !== carol.user_id), "at a timeline's prev_batch: carol not yet");
  t.same(await members(beforeRoom), [], 'before the room existed: nobody');
  const bad = await s.call(alice, 'GET', `${V3}/rooms/${enc(roomId)}/members?at=not-a-token`);
  t.same([bad.status, bad.body.errcode], [400, 'M_INVALID_PARAM'], 'a token that is not one');
});

t.test('left and joined again between two syncs: the state of the time away comes with the room', async (t) => {
  const roomId = await ops.create(alice, { preset: 'public_chat', name: 'Away' });
  await ops.state(alice, roomId, 'm.room.history_visibility', '', { history_visibility: 'joined' });
  await ops.join(bob, roomId);
  const stream = new SyncStream(s, bob);
  await stream.until((b) => roomId in b.rooms.join);
  const beforeLeaving = stream.since!;
  await ops.leave(bob, roomId);
  await ops.join(dave, roomId);
  await ops.state(alice, roomId, 'm.room.topic', '', { topic: 'set while bob was away' });
  await ops.join(bob, roomId);
  const back = await stream.until((b) => b.rooms.join[roomId]?.timeline.events.some((e: any) => e.type === 'm.room.member' && e.state_key === bob.user_id && e.content.membership === 'join'));
  const r = back.rooms.join[roomId];
  const seen = [...r.state.events, ...r.timeline.events];
  t.ok(seen.some((e: any) => e.type === 'm.room.member' && e.state_key === dave.user_id && e.content.membership === 'join'), "dave's join, made while bob was away, is in bob's view");
  t.ok(seen.some((e: any) => e.type === 'm.room.topic' && e.content.topic === 'set while bob was away'), 'and the topic set meanwhile');
  // One sync over the whole time away (the leave and the join both after its token).
  const spanning = (await ops.sync(bob, { since: beforeLeaving })).body.rooms.join[roomId];
  const all = [...spanning.state.events, ...spanning.timeline.events];
  t.ok(all.some((e: any) => e.type === 'm.room.member' && e.state_key === dave.user_id), "one sync across the time away: dave's join");
  t.ok(all.some((e: any) => e.type === 'm.room.topic' && e.content.topic === 'set while bob was away'), 'and the topic');
  t.equal(all.filter((e: any) => e.type === 'm.room.topic').length, 1, 'each state key once (in the timeline: the room state now, shown though bob was away)');
});
