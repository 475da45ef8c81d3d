/**
 * Aliases and the published room directory through the ClientAPI, and what
 * survives a restart of the roomserver: aliases, directory entries and
 * transactions.
 */
import t from 'tap';
import { enc, expectError, expectOk, startRooms, type TestUser, type RoomsHarness } from '../../helpers/clientapi.js';

let h: RoomsHarness = await startRooms();
t.teardown(() => h.stop());
const S = h.serverName;
const alice = await h.users.add('alice');
const bob = await h.users.add('bob');
const carol = await h.users.add('carol');
const guest = await h.users.add('guest', { guest: true });
const V3 = '/_matrix/client/v3';
const aliasUrl = (a: string) => `${V3}/directory/room/${enc(a)}`;
const createRoom = async (user: TestUser, body: unknown = {}) => (await h.call(user, 'POST', `${V3}/createRoom`, body)).body.room_id as string;

t.test('aliases: create, resolve, list, delete', async (t) => {
  const roomId = await createRoom(alice, { preset: 'public_chat' });
  await h.call(bob, 'POST', `${V3}/rooms/${enc(roomId)}/join`, {});
  const put = await h.call(bob, 'PUT', aliasUrl(`#bobs:${S}`), { room_id: roomId });
  await expectOk(t, put, 'PUT /directory/room/{roomAlias}');
  await h.call(alice, 'PUT', aliasUrl(`#alices:${S}`), { room_id: roomId });

  expectError(t, await h.call(alice, 'PUT', aliasUrl(`#bobs:${S}`), { room_id: roomId }), 409, 'M_UNKNOWN', 'the alias exists');
  expectError(t, await h.call(carol, 'PUT', aliasUrl(`#carols:${S}`), { room_id: roomId }), 403, 'M_FORBIDDEN', 'aliasing a room one is not in');
  expectError(t, await h.call(alice, 'PUT', aliasUrl('#x:other.example'), { room_id: roomId }), 400, 'M_INVALID_PARAM', "another server's alias");
  expectError(t, await h.call(alice, 'PUT', aliasUrl('nohash'), { room_id: roomId }), 400, 'M_INVALID_PARAM', 'not an alias');
  expectError(t, await h.call(alice, 'PUT', aliasUrl(`#y:${S}`), { room_id: '!nowhere:' + S }), 404, 'M_NOT_FOUND', 'an unknown room');
  expectError(t, await h.call(alice, 'PUT', aliasUrl(`#y:${S}`), { room_id: 'room' }), 400, 'M_BAD_JSON', 'room_id not a room id (schema)');
  expectError(t, await h.call(alice, 'PUT', aliasUrl(`#y:${S}`), {}), 400, 'M_BAD_JSON', 'no room_id');
  expectError(t, await h.call(guest, 'PUT', aliasUrl(`#y:${S}`), { room_id: roomId }), 403, 'M_GUEST_ACCESS_FORBIDDEN', 'guests');
  expectError(t, await h.call(undefined, 'PUT', aliasUrl(`#y:${S}`), { room_id: roomId }), 401, 'M_MISSING_TOKEN', 'no token');
  expectError(t, await h.call(undefined, 'GET', aliasUrl(`#y:${S}`)), 404, 'M_NOT_FOUND', 'none of the refused aliases exists');
  expectError(t, await h.call(undefined, 'GET', aliasUrl(`#carols:${S}`)), 404, 'M_NOT_FOUND', 'no alias for carol');

  const list = await h.call(alice, 'GET', `${V3}/rooms/${enc(roomId)}/aliases`);
  await expectOk(t, list, 'GET /rooms/{roomId}/aliases');
  t.same(list.body.aliases.sort(), [`#alices:${S}`, `#bobs:${S}`]);
  expectError(t, await h.call(carol, 'GET', `${V3}/rooms/${enc(roomId)}/aliases`), 403, 'M_FORBIDDEN', 'aliases of a room one is not in');

  // Deleting: the creator of the alias, or who may set the canonical alias (alice, the room's creator).
  expectError(t, await h.call(carol, 'DELETE', aliasUrl(`#bobs:${S}`)), 403, 'M_FORBIDDEN', 'a stranger may not delete');
  expectError(t, await h.call(bob, 'DELETE', aliasUrl(`#alices:${S}`)), 403, 'M_FORBIDDEN', 'a member without the power may not delete another user\'s alias');
  t.equal((await h.call(undefined, 'GET', aliasUrl(`#alices:${S}`))).status, 200, 'still there');
  const del = await h.call(bob, 'DELETE', aliasUrl(`#bobs:${S}`));
  await expectOk(t, del, 'DELETE /directory/room/{roomAlias}');
  expectError(t, await h.call(undefined, 'GET', aliasUrl(`#bobs:${S}`)), 404, 'M_NOT_FOUND', 'deleted');
  expectError(t, await h.call(bob, 'DELETE', aliasUrl(`#bobs:${S}`)), 404, 'M_NOT_FOUND', 'deleting again');
  await h.call(bob, 'PUT', aliasUrl(`#bobs2:${S}`), { room_id: roomId });
  t.equal((await h.call(alice, 'DELETE', aliasUrl(`#bobs2:${S}`))).status, 200, "a member who may set the canonical alias deletes another user's alias");
  t.equal((await h.call(alice, 'PUT', aliasUrl(`#bobs:${S}`), { room_id: roomId })).status, 200, 'a deleted alias can be taken again');
});

t.test('the published room directory', async (t) => {
  const rooms: string[] = [];
  for (let i = 0; i < 5; i++) {
    rooms.push(await createRoom(alice, { visibility: 'public', name: `Room ${i}`, topic: i === 2 ? 'Gardening and bees' : `topic ${i}` }));
  }
  // Joined counts order the list: room 3 gets two more members, room 1 one more.
  for (const u of [bob, carol]) await h.call(u, 'POST', `${V3}/rooms/${enc(rooms[3]!)}/join`, {});
  await h.call(bob, 'POST', `${V3}/rooms/${enc(rooms[1]!)}/join`, {});
  const space = await createRoom(alice, { visibility: 'public', name: 'Space', creation_content: { type: 'm.space' }, room_alias_name: 'space' });
  const hidden = await createRoom(alice, { preset: 'public_chat', name: 'Hidden' });
  await h.call(alice, 'PUT', `${V3}/rooms/${enc(space)}/state/m.room.avatar`, { url: 'mxc://x/space' });
  await h.call(alice, 'PUT', `${V3}/rooms/${enc(space)}/state/m.room.history_visibility`, { history_visibility: 'world_readable' });

  const all = await h.call(undefined, 'GET', `${V3}/publicRooms`);
  await expectOk(t, all, 'GET /publicRooms', 'GET /publicRooms without a token');
  const ids = all.body.chunk.map((r: any) => r.room_id);
  t.notOk(ids.includes(hidden), 'an unpublished room is not listed');
  t.equal(ids[0], rooms[3], 'most members first');
  t.equal(ids[1], rooms[1]);
  t.equal(all.body.total_room_count_estimate, ids.length);
  const s = all.body.chunk.find((r: any) => r.room_id === space);
  t.same(s, {
    room_id: space, num_joined_members: 1, world_readable: true, guest_can_join: false, name: 'Space',
    canonical_alias: `#space:${S}`, avatar_url: 'mxc://x/space', join_rule: 'public', room_type: 'm.space',
  }, 'the summary of a room');

  // Pages of two, forwards then back.
  const seen: string[] = [];
  let since: string | undefined;
  const pages: any[] = [];
  do {
    const r = await h.call(undefined, 'GET', `${V3}/publicRooms?limit=2${since ? `&since=${since}` : ''}`);
    await expectOk(t, r, 'GET /publicRooms', 'a page');
    pages.push(r.body);
    seen.push(...r.body.chunk.map((x: any) => x.room_id));
    since = r.body.next_batch;
  } while (since);
  t.same(seen, ids, 'the pages together are the list, in order');
  t.notOk(pages[0].prev_batch, 'the first page has no prev_batch');
  const back = await h.call(undefined, 'GET', `${V3}/publicRooms?limit=2&since=${pages[2].prev_batch}`);
  t.same(back.body.chunk, pages[1].chunk, 'prev_batch gives the page before');

  const search = await h.call(alice, 'POST', `${V3}/publicRooms`, { filter: { generic_search_term: 'BEES' } });
  await expectOk(t, search, 'POST /publicRooms');
  t.same(search.body.chunk.map((r: any) => r.room_id), [rooms[2]], 'search in topics, ignoring case');
  t.same((await h.call(alice, 'POST', `${V3}/publicRooms`, { filter: { generic_search_term: '#space' } })).body.chunk.map((r: any) => r.room_id), [space], 'search in aliases');
  t.same((await h.call(alice, 'POST', `${V3}/publicRooms`, { filter: { room_types: ['m.space'] } })).body.chunk.map((r: any) => r.room_id), [space], 'room_types');
  t.notOk((await h.call(alice, 'POST', `${V3}/publicRooms`, { filter: { room_types: [null] } })).body.chunk.some((r: any) => r.room_id === space), 'null: rooms without a type');
  const limited = await h.call(alice, 'POST', `${V3}/publicRooms`, { limit: 1, filter: { generic_search_term: 'room' } });
  t.equal(limited.body.chunk.length, 1);
  t.equal(limited.body.total_room_count_estimate, 5, 'the estimate counts the filtered rooms');
  t.same((await h.call(alice, 'POST', `${V3}/publicRooms`, { third_party_instance_id: 'irc' })).body.chunk, [], 'no bridged networks');

  expectError(t, await h.call(undefined, 'GET', `${V3}/publicRooms?limit=x`), 400, 'M_INVALID_PARAM', 'limit not a number');
  expectError(t, await h.call(undefined, 'GET', `${V3}/publicRooms?since=garbage`), 400, 'M_INVALID_PARAM', 'a token never given out');
  expectError(t, await h.call(alice, 'POST', `${V3}/publicRooms`, { limit: 0 }), 400, 'M_INVALID_PARAM', 'limit 0');
  expectError(t, await h.call(alice, 'POST', `${V3}/publicRooms`, { limit: 'ten' }), 400, 'M_BAD_JSON', 'limit not an integer (schema)');
  expectError(t, await h.call(undefined, 'POST', `${V3}/publicRooms`, {}), 401, 'M_MISSING_TOKEN', 'POST needs a token');
  expectError(t, await h.call(undefined, 'GET', `${V3}/publicRooms?server=other.example`), 502, 'M_UNKNOWN', 'another server (no federation yet)');
  t.equal((await h.call(undefined, 'GET', `${V3}/publicRooms?server=${enc(S)}`)).status, 200, 'this server by name');

  // Visibility: who may change it.
  expectError(t, await h.call(bob, 'PUT', `${V3}/directory/list/room/${enc(rooms[3]!)}`, { visibility: 'private' }), 403, 'M_FORBIDDEN', 'a member without the power');
  expectError(t, await h.call(alice, 'PUT', `${V3}/directory/list/room/${enc(rooms[3]!)}`, { visibility: 'secret' }), 400, 'M_BAD_JSON', 'not a visibility');
  expectError(t, await h.call(alice, 'PUT', `${V3}/directory/list/room/${enc('!nowhere:' + S)}`, { visibility: 'public' }), 404, 'M_NOT_FOUND', 'an unknown room');
  expectError(t, await h.call(undefined, 'GET', `${V3}/directory/list/room/${enc('!nowhere:' + S)}`), 404, 'M_NOT_FOUND', 'the visibility of an unknown room');
  t.equal((await h.call(undefined, 'GET', `${V3}/directory/list/room/${enc(rooms[3]!)}`)).body.visibility, 'public', 'unchanged');
  const unpublish = await h.call(alice, 'PUT', `${V3}/directory/list/room/${enc(rooms[3]!)}`, { visibility: 'private' });
  await expectOk(t, unpublish, 'PUT /directory/list/room/{roomId}');
  t.equal((await h.call(undefined, 'GET', `${V3}/directory/list/room/${enc(rooms[3]!)}`)).body.visibility, 'private');
  t.notOk((await h.call(undefined, 'GET', `${V3}/publicRooms`)).body.chunk.some((r: any) => r.room_id === rooms[3]), 'gone from the list');
  t.equal((await h.call(alice, 'PUT', `${V3}/directory/list/room/${enc(hidden)}`, {})).status, 200, 'visibility defaults to public');
  t.ok((await h.call(undefined, 'GET', `${V3}/publicRooms`)).body.chunk.some((r: any) => r.room_id === hidden), 'published');
});

t.test('aliases, the directory and transactions survive a restart of the roomserver', async (t) => {
  const roomId = await createRoom(alice, { room_alias_name: 'durable', visibility: 'public', name: 'Durable' });
  const sent = await h.call(alice, 'PUT', `${V3}/rooms/${enc(roomId)}/send/m.room.message/keep-1`, { msgtype: 'm.text', body: 'before' });
  h = await h.restart();
  t.equal((await h.call(undefined, 'GET', aliasUrl(`#durable:${S}`))).body.room_id, roomId, 'alias');
  t.ok((await h.call(undefined, 'GET', `${V3}/publicRooms`)).body.chunk.some((r: any) => r.room_id === roomId && r.name === 'Durable'), 'directory');
  const again = await h.call(alice, 'PUT', `${V3}/rooms/${enc(roomId)}/send/m.room.message/keep-1`, { msgtype: 'm.text', body: 'after' });
  t.equal(again.body.event_id, sent.body.event_id, 'the transaction id still names the first event');
  t.same((await h.call(alice, 'GET', `${V3}/rooms/${enc(roomId)}/aliases`)).body.aliases, [`#durable:${S}`]);
  expectError(t, await h.call(alice, 'POST', `${V3}/createRoom`, { room_alias_name: 'durable' }), 400, 'M_ROOM_IN_USE', 'the alias is still taken');
});

t.test('room summaries (v1.15)', async (t) => {
  const V1 = '/_matrix/client/v1';
  const summary = (user: TestUser | undefined, idOrAlias: string) => h.call(user, 'GET', `${V1}/room_summary/${enc(idOrAlias)}`);
  const pub = await createRoom(alice, { preset: 'public_chat', name: 'Open', topic: 'All welcome', room_alias_name: 'open-summary' });
  const anon = await summary(undefined, `#open-summary:${S}`);
  await expectOk(t, anon, 'GET /room_summary/{roomIdOrAlias}', 'a public room, without a token, by alias');
  t.same(anon.body, {
    room_id: pub, room_version: '12', name: 'Open', topic: 'All welcome', canonical_alias: `#open-summary:${S}`,
    num_joined_members: 1, world_readable: false, guest_can_join: false, join_rule: 'public',
  }, 'no membership without a token');
  t.equal((await summary(alice, pub)).body.membership, 'join', "the caller's membership");
  // MSC3266's unstable paths, which matrix-js-sdk still calls: the same answer.
  for (const path of [`/_matrix/client/unstable/im.nheko.summary/summary/${enc(pub)}`, `/_matrix/client/unstable/im.nheko.summary/rooms/${enc(pub)}/summary`]) {
    t.same((await h.call(alice, 'GET', path)).body, (await summary(alice, pub)).body, `unstable: ${path.split('/').slice(5, 6)}`);
  }

  const priv = await createRoom(alice, { preset: 'private_chat', initial_state: [{ type: 'm.room.encryption', content: { algorithm: 'm.megolm.v1.aes-sha2' } }] });
  expectError(t, await summary(undefined, priv), 404, 'M_NOT_FOUND', 'a private room without a token');
  expectError(t, await summary(carol, priv), 404, 'M_NOT_FOUND', 'a private room for a stranger: it looks absent');
  await h.call(alice, 'POST', `${V3}/rooms/${enc(priv)}/invite`, { user_id: carol.user_id });
  const invited = await summary(carol, priv);
  await expectOk(t, invited, 'GET /room_summary/{roomIdOrAlias}', 'an invitee');
  t.match(invited.body, { membership: 'invite', encryption: 'm.megolm.v1.aes-sha2', join_rule: 'invite' });

  const restricted = await createRoom(alice, { room_version: '10', initial_state: [{ type: 'm.room.join_rules', content: { join_rule: 'restricted', allow: [{ type: 'm.room_membership', room_id: pub }] } }] });
  expectError(t, await summary(bob, restricted), 404, 'M_NOT_FOUND', 'restricted, and bob is in none of the allowed rooms');
  await h.call(bob, 'POST', `${V3}/rooms/${enc(pub)}/join`, {});
  const allowed = await summary(bob, restricted);
  await expectOk(t, allowed, 'GET /room_summary/{roomIdOrAlias}', 'restricted, bob meets the condition');
  t.same(allowed.body.allowed_room_ids, [pub]);
  t.equal(allowed.body.room_version, '10');

  expectError(t, await summary(alice, '!nowhere:' + S), 404, 'M_NOT_FOUND', 'an unknown room');
  expectError(t, await summary(alice, `#nowhere:${S}`), 404, 'M_NOT_FOUND', 'an unknown alias');
  expectError(t, await summary(alice, 'nothing'), 400, 'M_INVALID_PARAM', 'neither id nor alias');
});
