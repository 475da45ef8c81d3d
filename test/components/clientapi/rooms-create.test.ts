/**
 * POST /createRoom through the ClientAPI on a real roomserver: every field
 * of the request, and every refusal with its errcode, leaving nothing
 * behind.
 */
import t from 'tap';
import { enc, expectError, expectOk, startRooms } from '../../helpers/clientapi.js';

const h = await startRooms();
t.teardown(() => h.stop());
const S = h.serverName;
const alice = await h.users.add('alice', { profile: { displayname: 'Alice', avatar_url: 'mxc://x/alice' } });
const bob = await h.users.add('bob');
const guest = await h.users.add('guest', { guest: true });

const create = (body: unknown, user = alice) => h.call(user, 'POST', '/_matrix/client/v3/createRoom', body);
const state = async (roomId: string) => {
  const r = await h.call(alice, 'GET', `/_matrix/client/v3/rooms/${enc(roomId)}/state`);
  return new Map<string, any>((r.body as any[]).map((e) => [`${e.type}|${e.state_key}`, e]));
};
const joinedRooms = async (user = alice) => (await h.call(user, 'GET', '/_matrix/client/v3/joined_rooms')).body.joined_rooms as string[];

t.test('a room with every option', async (t) => {
  const r = await create({
    preset: 'private_chat',
    name: 'Plans',
    topic: 'What next',
    room_alias_name: 'plans',
    invite: [bob.user_id],
    is_direct: true,
    creation_content: { 'm.federate': false, type: 'org.example.board' },
    initial_state: [{ type: 'm.room.encryption', content: { algorithm: 'm.megolm.v1.aes-sha2' } }, { type: 'org.example.s', state_key: 'k', content: { a: 1 } }],
    power_level_content_override: { events_default: 10 },
  });
  await expectOk(t, r, 'POST /createRoom');
  const roomId = r.body.room_id;
  const s = await state(roomId);
  t.equal(s.get('m.room.create|').content['m.federate'], false, 'creation_content kept');
  t.equal(s.get('m.room.create|').content.type, 'org.example.board', 'room type');
  t.equal(s.get('m.room.create|').content.room_version, '12', 'version 12 by default');
  t.same(s.get(`m.room.member|${alice.user_id}`).content, { membership: 'join', displayname: 'Alice', avatar_url: 'mxc://x/alice' }, 'the creator joins with their profile');
  t.same(s.get(`m.room.member|${bob.user_id}`).content, { membership: 'invite', is_direct: true }, 'invitee, is_direct');
  t.equal(s.get('m.room.power_levels|').content.events_default, 10, 'power_level_content_override');
  t.equal(s.get('m.room.join_rules|').content.join_rule, 'invite');
  t.equal(s.get('m.room.history_visibility|').content.history_visibility, 'shared');
  t.equal(s.get('m.room.guest_access|').content.guest_access, 'can_join');
  t.equal(s.get('m.room.name|').content.name, 'Plans');
  t.equal(s.get('m.room.topic|').content.topic, 'What next');
  t.same(s.get('m.room.canonical_alias|').content, { alias: `#plans:${S}` }, 'canonical alias');
  t.equal(s.get('m.room.encryption|').content.algorithm, 'm.megolm.v1.aes-sha2', 'initial_state');
  t.same(s.get('org.example.s|k').content, { a: 1 }, 'initial_state with a state key');
  const alias = await h.call(undefined, 'GET', `/_matrix/client/v3/directory/room/${enc(`#plans:${S}`)}`);
  await expectOk(t, alias, 'GET /directory/room/{roomAlias}');
  t.equal(alias.body.room_id, roomId, 'the alias points to the room');
  t.same(alias.body.servers, [S]);
  const vis = await h.call(undefined, 'GET', `/_matrix/client/v3/directory/list/room/${enc(roomId)}`);
  await expectOk(t, vis, 'GET /directory/list/room/{roomId}');
  t.equal(vis.body.visibility, 'private', 'not published without visibility: public');
});

t.test('presets and visibility', async (t) => {
  const pub = await create({ visibility: 'public' });
  await expectOk(t, pub, 'POST /createRoom');
  let s = await state(pub.body.room_id);
  t.equal(s.get('m.room.join_rules|').content.join_rule, 'public', 'visibility public without preset: public_chat');
  t.equal(s.get('m.room.guest_access|').content.guest_access, 'forbidden');
  t.equal((await h.call(undefined, 'GET', `/_matrix/client/v3/directory/list/room/${enc(pub.body.room_id)}`)).body.visibility, 'public', 'published');

  const priv = await create({});
  s = await state(priv.body.room_id);
  t.equal(s.get('m.room.join_rules|').content.join_rule, 'invite', 'no preset, no visibility: private_chat');

  const trusted = await create({ preset: 'trusted_private_chat', invite: [bob.user_id] });
  s = await state(trusted.body.room_id);
  t.same(s.get('m.room.create|').content.additional_creators, [bob.user_id], 'v12 trusted_private_chat: invitees become creators');

  const v10 = await create({ preset: 'trusted_private_chat', invite: [bob.user_id], room_version: '10' });
  s = await state(v10.body.room_id);
  t.same(s.get('m.room.power_levels|').content.users, { [alice.user_id]: 100, [bob.user_id]: 100 }, 'v10 trusted_private_chat: invitees get the creator level');

  const preset = await create({ preset: 'private_chat', visibility: 'public' });
  s = await state(preset.body.room_id);
  t.equal(s.get('m.room.join_rules|').content.join_rule, 'invite', 'an explicit preset wins over visibility');
  t.equal((await h.call(undefined, 'GET', `/_matrix/client/v3/directory/list/room/${enc(preset.body.room_id)}`)).body.visibility, 'public', 'yet the room is published');
});

t.test('initial_state overrides the preset; name and topic override initial_state', async (t) => {
  const r = await create({
    preset: 'public_chat',
    name: 'From name',
    initial_state: [
      { type: 'm.room.join_rules', state_key: '', content: { join_rule: 'invite' } },
      { type: 'm.room.name', content: { name: 'From initial_state' } },
    ],
  });
  const s = await state(r.body.room_id);
  t.equal(s.get('m.room.join_rules|').content.join_rule, 'invite');
  t.equal(s.get('m.room.name|').content.name, 'From name');
});

t.test('refusals change nothing', async (t) => {
  const before = (await joinedRooms()).length;
  const taken = await create({ room_alias_name: 'taken' });
  await expectOk(t, taken, 'POST /createRoom');
  const count = before + 1;

  const cases: [string, unknown, number, string][] = [
    ['alias taken', { room_alias_name: 'taken' }, 400, 'M_ROOM_IN_USE'],
    ['unknown room version', { room_version: '99' }, 400, 'M_UNSUPPORTED_ROOM_VERSION'],
    ['alias name with a colon', { room_alias_name: 'a:b' }, 400, 'M_INVALID_PARAM'],
    ['alias name with a space', { room_alias_name: 'a b' }, 400, 'M_INVALID_PARAM'],
    ['empty alias name', { room_alias_name: '' }, 400, 'M_INVALID_PARAM'],
    ['invite of something that is not a user id', { invite: ['@'] }, 400, 'M_INVALID_PARAM'],
    ['invite not a list', { invite: 'bob' }, 400, 'M_BAD_JSON'],
    ['unknown preset', { preset: 'open' }, 400, 'M_BAD_JSON'],
    ['visibility not an enum value', { visibility: 'hidden' }, 400, 'M_BAD_JSON'],
    ['initial_state entry without content', { initial_state: [{ type: 'm.room.topic' }] }, 400, 'M_BAD_JSON'],
    ['a float in power levels', '{"power_level_content_override": {"ban": 1.5}}', 400, 'M_BAD_JSON'],
    ['not JSON', '{"name": ', 400, 'M_NOT_JSON'],
    ['body not an object', '[]', 400, 'M_BAD_JSON'],
    ['creator lowered below state_default', { power_level_content_override: { users_default: 0, state_default: 100, users: {} }, room_version: '10', name: 'x' }, 400, 'M_INVALID_ROOM_STATE'],
    ['initial state the creator may not send', { initial_state: [{ type: 'm.room.member', state_key: bob.user_id, content: { membership: 'join' } }] }, 400, 'M_INVALID_ROOM_STATE'],
    ['a second create event', { initial_state: [{ type: 'm.room.create', content: {} }] }, 400, 'M_BAD_JSON'],
    ['v12 additional_creators not a list', { room_version: '12', creation_content: { additional_creators: bob.user_id } }, 400, 'M_BAD_JSON'],
    ['third-party invites', { invite_3pid: [{ id_server: 'id.example', id_access_token: 'x', medium: 'email', address: 'a@b.c' }] }, 400, 'M_INVALID_PARAM'],
  ];
  for (const [what, body, status, errcode] of cases) {
    const r = await create(body);
    expectError(t, r, status, errcode, what);
  }
  t.equal((await joinedRooms()).length, count, 'no room was created by a refused request');
  t.same((await h.call(undefined, 'GET', `/_matrix/client/v3/directory/room/${enc(`#taken:${S}`)}`)).body.room_id, taken.body.room_id, 'the taken alias still points to its room');
  for (const bad of ['a:b', 'a b']) {
    t.not((await h.call(undefined, 'GET', `/_matrix/client/v3/directory/room/${enc(`#${bad}:${S}`)}`)).status, 200, `no alias ${bad}`);
  }

  expectError(t, await create({}, guest), 403, 'M_GUEST_ACCESS_FORBIDDEN', 'guests cannot create rooms');
  expectError(t, await h.call(undefined, 'POST', '/_matrix/client/v3/createRoom', {}), 401, 'M_MISSING_TOKEN', 'no token');
  expectError(t, await h.call({ ...alice, token: 'nope' }, 'POST', '/_matrix/client/v3/createRoom', {}), 401, 'M_UNKNOWN_TOKEN', 'unknown token');
  t.equal((await joinedRooms()).length, count, 'still nothing created');
});

t.test('two requests for one alias at once: one room gets it, the other gets M_ROOM_IN_USE', async (t) => {
  const before = (await joinedRooms()).length;
  const [a, b] = await Promise.all([create({ room_alias_name: 'race' }), create({ room_alias_name: 'race' })]);
  const statuses = [a.status, b.status].sort();
  t.same(statuses, [200, 400]);
  const loser = a.status === 400 ? a : b;
  t.equal(loser.body.errcode, 'M_ROOM_IN_USE');
  t.equal((await joinedRooms()).length, before + 1, 'one room');
});

t.test('every room version can be created through the API', async (t) => {
  for (let v = 1; v <= 12; v++) {
    const r = await create({ room_version: String(v), name: `v${v}` });
    await expectOk(t, r, 'POST /createRoom', `room version ${v}`);
    const s = await state(r.body.room_id);
    t.equal(s.get('m.room.create|').content.room_version, String(v));
  }
});
