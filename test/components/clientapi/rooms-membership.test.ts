/**
 * Membership through the ClientAPI: joining by id and alias, knocking,
 * invites, leaving, forgetting, kicks and bans, and the member lists —
 * with the refusals the spec names, each leaving the room as it was.
 */
import t from 'tap';
import { enc, expectError, expectOk, startRooms, type TestUser } from '../../helpers/clientapi.js';

const h = await startRooms();
t.teardown(() => h.stop());
const S = h.serverName;
const alice = await h.users.add('alice', { profile: { displayname: 'Alice' } });
const bob = await h.users.add('bob', { profile: { displayname: 'Bob', avatar_url: 'mxc://x/bob' } });
const carol = await h.users.add('carol');
const guest = await h.users.add('visitor', { guest: true, profile: { displayname: 'Visitor' } });
const V3 = '/_matrix/client/v3';

const post = (user: TestUser | undefined, path: string, body: unknown = {}) => h.call(user, 'POST', `${V3}${path}`, body);
const room = (id: string) => `/rooms/${enc(id)}`;
const membershipOf = async (roomId: string, userId: string) => {
  const r = await h.call(alice, 'GET', `${V3}${room(roomId)}/state/m.room.member/${enc(userId)}`);
  return r.status === 200 ? r.body : null;
};
const stateIds = async (roomId: string) => ((await h.call(alice, 'GET', `${V3}${room(roomId)}/state`)).body as any[]).map((e) => e.event_id).sort();
const createRoom = async (body: unknown = {}, user = alice) => (await post(user, '/createRoom', body)).body.room_id as string;

t.test('join by alias and by id, with the profile in the join event', async (t) => {
  const roomId = await createRoom({ preset: 'public_chat', room_alias_name: 'lobby' });
  const byAlias = await post(bob, `/join/${enc(`#lobby:${S}`)}?server_name=elsewhere.example&via=x.example`, { reason: 'hello' });
  await expectOk(t, byAlias, 'POST /join/{roomIdOrAlias}');
  t.equal(byAlias.body.room_id, roomId, 'the alias resolved');
  t.same(await membershipOf(roomId, bob.user_id), { membership: 'join', displayname: 'Bob', avatar_url: 'mxc://x/bob', reason: 'hello' });

  const byId = await post(carol, `${room(roomId)}/join`);
  await expectOk(t, byId, 'POST /rooms/{roomId}/join');
  const carolJoin = (await h.call(alice, 'GET', `${V3}${room(roomId)}/state/m.room.member/${enc(carol.user_id)}?format=event`)).body.event_id;
  const byIdPath = await post(carol, `/join/${enc(roomId)}`, undefined);
  t.equal(byIdPath.status, 200, 'a join without a body (clients send none)');
  const after = (await h.call(alice, 'GET', `${V3}${room(roomId)}/state/m.room.member/${enc(carol.user_id)}?format=event`)).body.event_id;
  t.equal(after, carolJoin, 'joining a room one is in, with the same profile, sends no new event');
  await h.users.setProfile(carol, { displayname: 'Carol' });
  await post(carol, `${room(roomId)}/join`);
  t.same(await membershipOf(roomId, carol.user_id), { membership: 'join', displayname: 'Carol' }, 'with a new profile it does');

  const joined = await h.call(bob, 'GET', `${V3}/joined_rooms`);
  await expectOk(t, joined, 'GET /joined_rooms');
  t.same(joined.body.joined_rooms, [roomId]);

  expectError(t, await post(bob, `/join/${enc(`#nowhere:${S}`)}`), 404, 'M_NOT_FOUND', 'unknown alias');
  expectError(t, await post(bob, `/join/${enc('#lobby:other.example')}`), 404, 'M_NOT_FOUND', 'alias of another server (no federation yet)');
  expectError(t, await post(bob, `/join/${enc('!unknown:other.example')}`), 404, 'M_NOT_FOUND', 'room this server does not know');
  expectError(t, await post(bob, `/join/${enc('not-an-id')}`), 400, 'M_INVALID_PARAM', 'neither a room id nor an alias');
  expectError(t, await post(bob, `/join/${enc('#bad')}`), 400, 'M_INVALID_PARAM', 'alias without a server');
  expectError(t, await post(bob, `${room(roomId)}/join`, { reason: 5 }), 400, 'M_BAD_JSON', 'reason not a string');

  // Keys of the client's own go into the join event (as Synapse keeps them); membership is the server's to set.
  await post(bob, `${room(roomId)}/leave`);
  await expectOk(t, await post(bob, `/join/${enc(roomId)}`, { foo: 'bar', membership: 'leave', displayname: 'Bobby' }), 'POST /join/{roomIdOrAlias}');
  t.same(await membershipOf(roomId, bob.user_id), { membership: 'join', displayname: 'Bobby', avatar_url: 'mxc://x/bob', foo: 'bar' }, 'extra keys kept, a display name given wins, membership stays join');
  const again = await post(bob, `${room(roomId)}/join`, { foo: 'baz' });
  await expectOk(t, again, 'POST /rooms/{roomId}/join');
  t.equal((await membershipOf(roomId, bob.user_id)).foo, 'baz', 'sends a new event');
});

t.test('invite-only rooms: invite, join, leave; the refusals', async (t) => {
  const roomId = await createRoom({ preset: 'private_chat' });
  const before = await stateIds(roomId);
  expectError(t, await post(bob, `${room(roomId)}/join`), 403, 'M_FORBIDDEN', 'joining without an invite');
  expectError(t, await post(bob, `${room(roomId)}/invite`, { user_id: carol.user_id }), 403, 'M_FORBIDDEN', 'inviting from outside the room');
  expectError(t, await post(alice, `${room(roomId)}/invite`, { user_id: 'carol' }), 400, 'M_BAD_JSON', 'invite of a user id without @ (the schema)');
  expectError(t, await post(alice, `${room(roomId)}/invite`, { user_id: '@carol' }), 400, 'M_INVALID_PARAM', 'invite of a user id without a server');
  expectError(t, await post(alice, `${room(roomId)}/invite`, {}), 400, 'M_BAD_JSON', 'invite without user_id');
  expectError(t, await post(alice, `${room(roomId)}/invite`, { user_id: alice.user_id }), 403, 'M_FORBIDDEN', 'inviting oneself (already joined)');
  expectError(t, await post(guest, `${room(roomId)}/invite`, { user_id: bob.user_id }), 403, 'M_GUEST_ACCESS_FORBIDDEN', 'guests cannot invite');
  t.same(await stateIds(roomId), before, 'refusals changed nothing');

  const inv = await post(alice, `${room(roomId)}/invite`, { user_id: bob.user_id, reason: 'come' });
  await expectOk(t, inv, 'POST /rooms/{roomId}/invite');
  t.same(await membershipOf(roomId, bob.user_id), { membership: 'invite', displayname: 'Bob', avatar_url: 'mxc://x/bob', reason: 'come' }, "the invite carries the invitee's profile");
  t.equal((await post(bob, `${room(roomId)}/join`)).status, 200, 'the invitee joins');

  const leave = await post(bob, `${room(roomId)}/leave`, { reason: 'bye' });
  await expectOk(t, leave, 'POST /rooms/{roomId}/leave');
  t.same(await membershipOf(roomId, bob.user_id), { membership: 'leave', reason: 'bye' });
  const again = await post(bob, `${room(roomId)}/leave`, undefined);
  t.equal(again.status, 200, 'leaving again is already done');
  expectError(t, await post(carol, `${room(roomId)}/leave`), 403, 'M_FORBIDDEN', 'leaving a room one was never in');
  expectError(t, await post(carol, `${room('!nope:' + S)}/leave`), 404, 'M_NOT_FOUND', 'leaving an unknown room');
  expectError(t, await post(bob, `${room(roomId)}/join`), 403, 'M_FORBIDDEN', 'invite-only: rejoining needs a new invite');

  // Rejecting an invite is leaving.
  await post(alice, `${room(roomId)}/invite`, { user_id: carol.user_id });
  t.equal((await post(carol, `${room(roomId)}/leave`)).status, 200, 'rejecting an invite');
  t.equal((await membershipOf(roomId, carol.user_id)).membership, 'leave');
});

t.test('a client cannot name who authorised its restricted join', async (t) => {
  const space = await createRoom({ preset: 'private_chat' });
  const restricted = await createRoom({
    room_version: '10',
    preset: 'private_chat',
    initial_state: [{ type: 'm.room.join_rules', content: { join_rule: 'restricted', allow: [{ type: 'm.room_membership', room_id: space }] } }],
  });
  const member = (u: TestUser) => `${V3}${room(restricted)}/state/m.room.member/${enc(u.user_id)}`;
  const vouched = await h.call(carol, 'PUT', member(carol), { membership: 'join', join_authorised_via_users_server: alice.user_id });
  expectError(t, vouched, 403, 'M_FORBIDDEN', 'carol, in none of the allowed rooms, naming alice herself');
  t.equal(await membershipOf(restricted, carol.user_id), null, 'carol is not in the room');
  await post(alice, `${room(space)}/invite`, { user_id: bob.user_id });
  await post(bob, `${room(space)}/join`);
  t.equal((await post(bob, `${room(restricted)}/join`)).status, 200, 'bob, in the allowed room, joins through /join');
  const rename = await h.call(bob, 'PUT', member(bob), { membership: 'join', displayname: 'Bobby', join_authorised_via_users_server: 'unused' });
  t.equal(rename.status, 200, 'a member changing their name with a stray key: the key is dropped, the change goes through');
  const now = await membershipOf(restricted, bob.user_id);
  t.same([now.displayname, 'join_authorised_via_users_server' in now], ['Bobby', false]);
});

t.test('forget', async (t) => {
  const roomId = await createRoom({ preset: 'public_chat' });
  await post(bob, `${room(roomId)}/join`);
  expectError(t, await post(bob, `${room(roomId)}/forget`), 400, 'M_UNKNOWN', 'forgetting a room one is in');
  expectError(t, await post(carol, `${room(roomId)}/forget`), 404, 'M_NOT_FOUND', 'forgetting a room one was never in');
  const said = (await h.call(bob, 'PUT', `${V3}${room(roomId)}/send/m.room.message/f1`, { msgtype: 'm.text', body: 'before forgetting' })).body.event_id as string;
  await post(bob, `${room(roomId)}/leave`);
  const reads = [`${room(roomId)}/state`, `${room(roomId)}/state/m.room.create/`, `${room(roomId)}/members`];
  for (const path of reads) t.equal((await h.call(bob, 'GET', `${V3}${path}`)).status, 200, `${path}: a former member reads the room as it was`);
  t.equal((await h.call(bob, 'GET', `${V3}${room(roomId)}/event/${enc(said)}`)).status, 200, 'and the events they saw');
  const r = await post(bob, `${room(roomId)}/forget`);
  await expectOk(t, r, 'POST /rooms/{roomId}/forget');
  const rooms = await h.rs.apis.get((await import('../../../src/components/roomserver/api.js')).roomserverApi).queryRoomsForUser({ user_id: bob.user_id });
  t.notOk(rooms.rooms.some((x) => x.room_id === roomId), 'forgotten');
  // Forgetting closes the room's history to the user (spec: POST /forget).
  for (const path of reads) expectError(t, await h.call(bob, 'GET', `${V3}${path}`), 403, 'M_FORBIDDEN', `${path} after forgetting`);
  expectError(t, await h.call(bob, 'GET', `${V3}${room(roomId)}/event/${enc(said)}`), 404, 'M_NOT_FOUND', 'an event after forgetting looks absent');
  t.equal((await h.call(alice, 'GET', `${V3}${room(roomId)}/state`)).status, 200, 'the others still read it');
  await post(bob, `${room(roomId)}/join`);
  t.equal((await h.call(bob, 'GET', `${V3}${room(roomId)}/event/${enc(said)}`)).status, 200, 'joining again opens it again');
});

t.test('kick, ban, unban', async (t) => {
  const roomId = await createRoom({ preset: 'public_chat' });
  await post(bob, `${room(roomId)}/join`);
  await post(carol, `${room(roomId)}/join`);
  const before = await stateIds(roomId);
  expectError(t, await post(bob, `${room(roomId)}/kick`, { user_id: carol.user_id }), 403, 'M_FORBIDDEN', 'kick without the power');
  expectError(t, await post(bob, `${room(roomId)}/ban`, { user_id: carol.user_id }), 403, 'M_FORBIDDEN', 'ban without the power');
  expectError(t, await post(alice, `${room(roomId)}/kick`, { user_id: '@nobody:' + S }), 403, 'M_FORBIDDEN', 'kick of someone not in the room');
  expectError(t, await post(alice, `${room(roomId)}/unban`, { user_id: carol.user_id }), 403, 'M_FORBIDDEN', 'unban of someone not banned');
  expectError(t, await post(alice, `${room(roomId)}/kick`, { user_id: '@carol:' }), 400, 'M_INVALID_PARAM', 'kick of a bad user id');
  expectError(t, await post(alice, `${room(roomId)}/ban`, { reason: 'x' }), 400, 'M_BAD_JSON', 'ban without user_id');
  t.same(await stateIds(roomId), before, 'refusals changed nothing');

  const kick = await post(alice, `${room(roomId)}/kick`, { user_id: carol.user_id, reason: 'calm down' });
  await expectOk(t, kick, 'POST /rooms/{roomId}/kick');
  const kicked = await h.call(alice, 'GET', `${V3}${room(roomId)}/state/m.room.member/${enc(carol.user_id)}?format=event`);
  t.match(kicked.body, { sender: alice.user_id, content: { membership: 'leave', reason: 'calm down' } }, 'a kick is a leave sent by the kicker');
  t.equal((await post(carol, `${room(roomId)}/join`)).status, 200, 'a kicked user may rejoin a public room');

  const ban = await post(alice, `${room(roomId)}/ban`, { user_id: carol.user_id, reason: 'enough' });
  await expectOk(t, ban, 'POST /rooms/{roomId}/ban');
  t.same(await membershipOf(roomId, carol.user_id), { membership: 'ban', reason: 'enough' });
  expectError(t, await post(carol, `${room(roomId)}/join`), 403, 'M_FORBIDDEN', 'a banned user cannot join');
  expectError(t, await post(alice, `${room(roomId)}/invite`, { user_id: carol.user_id }), 403, 'M_FORBIDDEN', 'a banned user cannot be invited');
  const preban = await post(alice, `${room(roomId)}/ban`, { user_id: '@stranger:' + S });
  t.equal(preban.status, 200, 'a user who never came can be banned');

  const unban = await post(alice, `${room(roomId)}/unban`, { user_id: carol.user_id });
  await expectOk(t, unban, 'POST /rooms/{roomId}/unban');
  t.equal((await membershipOf(roomId, carol.user_id)).membership, 'leave');
  t.equal((await post(carol, `${room(roomId)}/join`)).status, 200, 'unbanned, carol can join again');
});

t.test('knock', async (t) => {
  const roomId = await createRoom({ preset: 'private_chat', initial_state: [{ type: 'm.room.join_rules', content: { join_rule: 'knock' } }] });
  const r = await post(bob, `/knock/${enc(roomId)}`, { reason: 'let me in' });
  await expectOk(t, r, 'POST /knock/{roomIdOrAlias}');
  t.same(await membershipOf(roomId, bob.user_id), { membership: 'knock', displayname: 'Bob', avatar_url: 'mxc://x/bob', reason: 'let me in' });
  expectError(t, await post(alice, `/knock/${enc(roomId)}`), 403, 'M_FORBIDDEN', 'members cannot knock');
  expectError(t, await post(bob, `/knock/${enc('!nowhere:' + S)}`), 404, 'M_NOT_FOUND', 'knocking on an unknown room');
  const invite = await createRoom({ preset: 'private_chat' });
  expectError(t, await post(bob, `/knock/${enc(invite)}`), 403, 'M_FORBIDDEN', 'knocking where the join rule is invite');
  t.equal((await post(alice, `${room(roomId)}/invite`, { user_id: bob.user_id })).status, 200, 'a knock accepted by an invite');
  t.equal((await post(bob, `${room(roomId)}/join`)).status, 200);
});

t.test('guests join only rooms that let them', async (t) => {
  const open = await createRoom({ preset: 'public_chat', initial_state: [{ type: 'm.room.guest_access', content: { guest_access: 'can_join' } }] });
  const closed = await createRoom({ preset: 'public_chat' });
  t.equal((await post(guest, `${room(open)}/join`)).status, 200, 'guest_access can_join');
  t.same(await membershipOf(open, guest.user_id), { membership: 'join', displayname: 'Visitor' });
  expectError(t, await post(guest, `${room(closed)}/join`), 403, 'M_FORBIDDEN', 'guest_access forbidden');
  t.equal(await membershipOf(closed, guest.user_id), null, 'no membership');
  t.equal((await h.call(guest, 'PUT', `${V3}${room(open)}/send/m.room.message/g1`, { msgtype: 'm.text', body: 'hi' })).status, 200, 'guests may send');
  t.equal((await h.call(guest, 'GET', `${V3}${room(open)}/members`)).status, 200, 'read the members');
  expectError(t, await h.call(guest, 'GET', `${V3}${room(open)}/joined_members`), 403, 'M_GUEST_ACCESS_FORBIDDEN', 'but not joined_members (not opened to guests)');
  expectError(t, await h.call(guest, 'GET', `${V3}${room(open)}/aliases`), 403, 'M_GUEST_ACCESS_FORBIDDEN', 'nor the aliases');
  expectError(t, await post(guest, `${room(open)}/kick`, { user_id: alice.user_id }), 403, 'M_GUEST_ACCESS_FORBIDDEN', 'nor kick');
  t.equal((await post(guest, `${room(open)}/leave`)).status, 200, 'and leave');
});

t.test('guest access withdrawn: the guests in the room leave it, the others stay', async (t) => {
  const roomId = await createRoom({ preset: 'public_chat', initial_state: [{ type: 'm.room.guest_access', content: { guest_access: 'can_join' } }] });
  await post(guest, `${room(roomId)}/join`);
  await post(bob, `${room(roomId)}/join`);
  const put = await h.call(alice, 'PUT', `${V3}${room(roomId)}/state/m.room.guest_access`, { guest_access: 'forbidden' });
  t.equal(put.status, 200);
  t.match(await membershipOf(roomId, guest.user_id), { membership: 'leave' }, 'the guest has left');
  t.match(await membershipOf(roomId, bob.user_id), { membership: 'join' }, 'bob is still there');
  expectError(t, await h.call(guest, 'PUT', `${V3}${room(roomId)}/send/m.room.message/g2`, { msgtype: 'm.text', body: 'still here?' }), 403, 'M_FORBIDDEN', 'and can no longer send');
});

t.test('members and joined_members', async (t) => {
  const roomId = await createRoom({ preset: 'public_chat' });
  await post(bob, `${room(roomId)}/join`);
  const afterBob = (await h.call(alice, 'PUT', `${V3}${room(roomId)}/send/m.room.message/m1`, { msgtype: 'm.text', body: 'x' })).body.event_id;
  await post(alice, `${room(roomId)}/invite`, { user_id: carol.user_id });
  await post(alice, `${room(roomId)}/ban`, { user_id: '@spammer:' + S });

  const all = await h.call(alice, 'GET', `${V3}${room(roomId)}/members`);
  await expectOk(t, all, 'GET /rooms/{roomId}/members');
  const m = (r: any) => Object.fromEntries(r.body.chunk.map((e: any) => [e.state_key, e.content.membership]));
  t.same(m(all), { [alice.user_id]: 'join', [bob.user_id]: 'join', [carol.user_id]: 'invite', ['@spammer:' + S]: 'ban' });
  t.same(m(await h.call(alice, 'GET', `${V3}${room(roomId)}/members?membership=join`)), { [alice.user_id]: 'join', [bob.user_id]: 'join' });
  t.same(m(await h.call(alice, 'GET', `${V3}${room(roomId)}/members?not_membership=join`)), { [carol.user_id]: 'invite', ['@spammer:' + S]: 'ban' });
  t.same(
    m(await h.call(alice, 'GET', `${V3}${room(roomId)}/members?membership=invite&not_membership=join`)),
    { [carol.user_id]: 'invite', ['@spammer:' + S]: 'ban' },
    'both: membership is X or is not Y',
  );
  const at = await h.call(alice, 'GET', `${V3}${room(roomId)}/members?at=${enc(afterBob)}`);
  t.same(m(at), { [alice.user_id]: 'join', [bob.user_id]: 'join' }, 'at: the members at that point');
  expectError(t, await h.call(alice, 'GET', `${V3}${room(roomId)}/members?membership=member`), 400, 'M_INVALID_PARAM', 'unknown membership filter');
  expectError(t, await h.call(carol, 'GET', `${V3}${room(roomId)}/members`), 403, 'M_FORBIDDEN', 'an invitee does not see the members');

  const jm = await h.call(bob, 'GET', `${V3}${room(roomId)}/joined_members`);
  await expectOk(t, jm, 'GET /rooms/{roomId}/joined_members');
  t.same(jm.body.joined, { [alice.user_id]: { display_name: 'Alice' }, [bob.user_id]: { display_name: 'Bob', avatar_url: 'mxc://x/bob' } });
  expectError(t, await h.call(carol, 'GET', `${V3}${room(roomId)}/joined_members`), 403, 'M_FORBIDDEN', 'joined_members needs a joined user');

  // A departed member sees the members as they were when they left.
  await post(bob, `${room(roomId)}/leave`);
  await post(alice, `${room(roomId)}/kick`, { user_id: carol.user_id });
  const departed = await h.call(bob, 'GET', `${V3}${room(roomId)}/members`);
  t.same(m(departed), { [alice.user_id]: 'join', [bob.user_id]: 'leave', [carol.user_id]: 'invite', ['@spammer:' + S]: 'ban' }, 'the state when bob left');
  const later = await h.call(bob, 'GET', `${V3}${room(roomId)}/members?at=${enc(afterBob)}`);
  t.equal(later.status, 200, 'a departed member may look at an earlier point');
  expectError(t, await h.call(bob, 'GET', `${V3}${room(roomId)}/joined_members`), 403, 'M_FORBIDDEN', 'joined_members after leaving');
});

t.test('mutual rooms: the rooms two users are both joined to, a page at a time', async (t) => {
  const dave = await h.users.add('dave');
  const erin = await h.users.add('erin');
  const mutual = (user: TestUser, q: string) => h.call(user, 'GET', `/_matrix/client/v1/mutual_rooms?${q}`);
  t.same((await mutual(dave, `user_id=${enc(erin.user_id)}`)).body, { joined: [], count: 0 }, 'nothing shared yet');
  const shared: string[] = [];
  for (let i = 0; i < 103; i++) {
    const id = await createRoom({ preset: 'public_chat' }, dave);
    await post(erin, `${room(id)}/join`);
    shared.push(id);
  }
  const left = await createRoom({ preset: 'public_chat' }, dave);
  await post(erin, `${room(left)}/join`);
  await post(erin, `${room(left)}/leave`);
  await createRoom({ preset: 'public_chat' }, dave);
  const first = await mutual(dave, `user_id=${enc(erin.user_id)}`);
  t.equal(first.body.count, 103, 'the count is the total');
  t.equal(first.body.joined.length, 100, 'a page of 100');
  const second = await mutual(dave, `user_id=${enc(erin.user_id)}&from=${first.body.next_batch}`);
  t.same([...first.body.joined, ...second.body.joined], [...shared].sort(), 'every shared room once, not the one erin left nor the one she never joined');
  t.equal(second.body.next_batch, undefined, 'and then no more');
  t.same((await mutual(dave, `user_id=${enc(`@nobody:${S}`)}`)).body, { joined: [], count: 0 }, 'a user who does not exist: an empty list');
  for (const [q, what] of [['', 'no user_id'], ['user_id=not-a-user', 'not a user id'], [`user_id=${enc(dave.user_id)}`, 'oneself'], [`user_id=${enc(erin.user_id)}&from=zzz`, 'a token that is not ours']] as const) {
    await expectError(t, await mutual(dave, q), 400, 'M_INVALID_PARAM', what);
  }
});
