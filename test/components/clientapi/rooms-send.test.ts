/**
 * Sending and reading through the ClientAPI: transactions, state events,
 * redactions, canonical alias checks, upgrades, single events under the
 * history visibility rules, rate limits.
 */
import t from 'tap';
import { userApi } from '../../../src/components/userapi/api.js';
import { enc, expectError, expectOk, startRooms, type TestUser } from '../../helpers/clientapi.js';

const h = await startRooms();
t.teardown(() => h.stop());
const S = h.serverName;
const alice = await h.users.add('alice');
const bob = await h.users.add('bob');
const eve = await h.users.add('eve');
const admin = await h.users.add('root', { admin: true });
const V3 = '/_matrix/client/v3';
const room = (id: string) => `${V3}/rooms/${enc(id)}`;
const post = (user: TestUser, path: string, body: unknown = {}) => h.call(user, 'POST', `${V3}${path}`, body);
const send = (user: TestUser, roomId: string, txn: string, body: unknown = { msgtype: 'm.text', body: txn }, type = 'm.room.message') =>
  h.call(user, 'PUT', `${room(roomId)}/send/${enc(type)}/${enc(txn)}`, body);
const putState = (user: TestUser, roomId: string, type: string, key: string | undefined, body: unknown) =>
  h.call(user, 'PUT', `${room(roomId)}/state/${enc(type)}${key === undefined ? '' : `/${enc(key)}`}`, body);
const getEvent = (user: TestUser, roomId: string, id: string) => h.call(user, 'GET', `${room(roomId)}/event/${enc(id)}`);
const createRoom = async (body: unknown = {}) => (await post(alice, '/createRoom', body)).body.room_id as string;
const stateIds = async (roomId: string) => ((await h.call(alice, 'GET', `${room(roomId)}/state`)).body as any[]).map((e) => e.event_id).sort();

t.test('send: a transaction id sent again gives the same event; per device', async (t) => {
  const roomId = await createRoom({ preset: 'public_chat' });
  const first = await send(alice, roomId, 'txn-1');
  await expectOk(t, first, 'PUT /rooms/{roomId}/send/{eventType}/{txnId}');
  const again = await send(alice, roomId, 'txn-1', { msgtype: 'm.text', body: 'different' });
  t.equal(again.body.event_id, first.body.event_id, 'same device, same txn: same event');
  const otherType = await send(alice, roomId, 'txn-1', { x: 1 }, 'org.example.other');
  t.not(otherType.body.event_id, first.body.event_id, 'another endpoint path (event type): another event');
  const otherDevice = await h.users.add('alice2');
  otherDevice.user_id = alice.user_id;
  otherDevice.device_id = 'OTHERDEVICE';
  const fromOther = await send(otherDevice, roomId, 'txn-1');
  t.not(fromOther.body.event_id, first.body.event_id, 'another device: another event');
  const ev = await getEvent(alice, roomId, first.body.event_id);
  await expectOk(t, ev, 'GET /rooms/{roomId}/event/{eventId}');
  t.match(ev.body, { type: 'm.room.message', content: { body: 'txn-1' }, sender: alice.user_id, room_id: roomId, unsigned: { membership: 'join' } });
  t.notOk('hashes' in ev.body || 'signatures' in ev.body || 'prev_events' in ev.body || 'depth' in ev.body, 'client format: no federation fields');
  t.equal(ev.body.unsigned.transaction_id, 'txn-1', 'the sending device sees its transaction id');
  const second = await h.rs.apis.get(userApi).loginWithPassword({ user: 'alice', password: 'password of alice', login: { device_id: 'SECOND' } });
  const aliceElsewhere: TestUser = { ...alice, device_id: second.device_id, token: second.access_token };
  const elsewhere = await getEvent(aliceElsewhere, roomId, first.body.event_id);
  t.equal(elsewhere.status, 200);
  t.notOk('transaction_id' in elsewhere.body.unsigned, "the sender's other devices do not");
  const fromSecond = await send(aliceElsewhere, roomId, 'txn-1');
  t.not(fromSecond.body.event_id, first.body.event_id, 'the same txn id from the second device: another event');
  t.equal((await getEvent(aliceElsewhere, roomId, fromSecond.body.event_id)).body.unsigned.transaction_id, 'txn-1', 'each device sees its own');
  t.notOk('transaction_id' in (await getEvent(alice, roomId, fromSecond.body.event_id)).body.unsigned, 'and not the other one');

  expectError(t, await send(eve, roomId, 't'), 403, 'M_FORBIDDEN', 'sending into a room one is not in');
  expectError(t, await send(alice, '!nowhere:' + S, 't'), 404, 'M_NOT_FOUND', 'unknown room');
  expectError(t, await send(alice, 'nowhere', 't'), 400, 'M_INVALID_PARAM', 'not a room id');
  expectError(t, await send(alice, roomId, 't2', '[1]'), 400, 'M_BAD_JSON', 'content not an object');
  expectError(t, await send(alice, roomId, 't3', '{"n": 1.5}'), 400, 'M_BAD_JSON', 'a float (not canonical JSON)');
  expectError(t, await send(alice, roomId, 't4', { big: 'x'.repeat(70_000) }), 413, 'M_TOO_LARGE', 'larger than an event may be');
  expectError(t, await send(alice, roomId, 't5', { big: 'x'.repeat(65_300) }), 413, 'M_TOO_LARGE', 'the body fits but the event would pass 64 KiB');
  const s = await stateIds(roomId);
  t.equal((await send(alice, roomId, 't6')).status, 200, 'the room still works');
  t.same(await stateIds(roomId), s);
});

t.test('send with POST and no transaction id (the form before transactions): each call is a new event', async (t) => {
  const roomId = await createRoom({ preset: 'public_chat' });
  const one = await h.call(alice, 'POST', `${room(roomId)}/send/m.room.message`, { msgtype: 'm.text', body: 'posted' });
  const two = await h.call(alice, 'POST', `${room(roomId)}/send/m.room.message`, { msgtype: 'm.text', body: 'posted' });
  t.equal(one.status, 200);
  t.not(one.body.event_id, two.body.event_id, 'no transaction: two events');
  const ev = await getEvent(alice, roomId, one.body.event_id);
  t.match(ev.body, { type: 'm.room.message', content: { body: 'posted' } });
  t.notOk('transaction_id' in ev.body.unsigned, 'and no transaction id on them');
  expectError(t, await h.call(alice, 'POST', `${room(roomId)}/send/m.room.message`, '{"n": 1.5}'), 400, 'M_BAD_JSON', 'the same checks as PUT');
  expectError(t, await h.call(eve, 'POST', `${room(roomId)}/send/m.room.message`, { msgtype: 'm.text', body: 'x' }), 403, 'M_FORBIDDEN', 'and the same rules');
});

t.test('threads start only from an event without a relation of its own', async (t) => {
  const roomId = await createRoom({ preset: 'public_chat' });
  const rootId = (await send(alice, roomId, 'root')).body.event_id;
  const thread = (to: string) => ({ msgtype: 'm.text', body: 'in thread', 'm.relates_to': { rel_type: 'm.thread', event_id: to } });
  const reply = await send(alice, roomId, 'reply', thread(rootId));
  t.equal(reply.status, 200, 'a thread from a plain message');
  const reaction = (await send(alice, roomId, 'react', { 'm.relates_to': { rel_type: 'm.annotation', event_id: rootId, key: '+1' } }, 'm.reaction')).body.event_id;
  const richReply = (await send(alice, roomId, 'rich', { msgtype: 'm.text', body: '> quoted', 'm.relates_to': { 'm.in_reply_to': { event_id: rootId } } })).body.event_id;
  expectError(t, await send(alice, roomId, 'from-reply', thread(reply.body.event_id)), 400, 'M_UNKNOWN', 'not from a thread reply');
  expectError(t, await send(alice, roomId, 'from-reaction', thread(reaction)), 400, 'M_UNKNOWN', 'not from a reaction');
  t.equal((await send(alice, roomId, 'from-rich', thread(richReply))).status, 200, 'a rich reply has no rel_type: it may be a root');
  const elsewhere = await createRoom({ preset: 'public_chat' });
  const otherReply = (await send(alice, elsewhere, 'other', thread((await send(alice, elsewhere, 'other-root')).body.event_id))).body.event_id;
  t.equal((await send(alice, roomId, 'cross', thread(otherReply))).status, 200, "an event of another room is not looked at (the relation is ignored where it is read)");
});

t.test('power levels no one could set are a malformed request (400), not a refusal', async (t) => {
  const v12 = await createRoom({ preset: 'public_chat', room_version: '12' });
  await post(bob, `/rooms/${enc(v12)}/join`);
  const before = await stateIds(v12);
  expectError(t, await putState(alice, v12, 'm.room.power_levels', '', { users: { [alice.user_id]: 100 } }), 400, 'M_BAD_JSON', 'v12: the creator listed in users');
  expectError(t, await putState(alice, v12, 'm.room.power_levels', '', { users: { [bob.user_id]: 50 }, ban: 50.5 }), 400, 'M_BAD_JSON', 'a level that is not an integer');
  expectError(t, await putState(bob, v12, 'm.room.power_levels', '', { users: { [bob.user_id]: 100 } }), 403, 'M_FORBIDDEN', 'well formed but beyond the sender: 403 still');
  expectError(t, await putState(eve, v12, 'm.room.power_levels', '', { users: { [alice.user_id]: 100 } }), 403, 'M_FORBIDDEN', 'someone outside the room: 403, nothing learnt');
  t.same(await stateIds(v12), before, 'nothing changed');
  t.equal((await putState(alice, v12, 'm.room.power_levels', '', { users: { [bob.user_id]: 50 } })).status, 200, 'a valid change goes through');
});

t.test('state: put and get, empty state keys, format=event', async (t) => {
  const roomId = await createRoom({ preset: 'public_chat' });
  await post(bob, `/rooms/${enc(roomId)}/join`);
  const r = await putState(alice, roomId, 'm.room.topic', undefined, { topic: 'one' });
  await expectOk(t, r, 'PUT /rooms/{roomId}/state/{eventType}/{stateKey}');
  const same = await putState(alice, roomId, 'm.room.topic', '', { topic: 'one' });
  t.equal(same.body.event_id, r.body.event_id, 'the same content again: the event in place, no new one');
  const slash = await h.call(alice, 'PUT', `${room(roomId)}/state/m.room.name/`, { name: 'Slash' });
  t.equal(slash.status, 200, 'trailing slash: empty state key');
  const keyed = await putState(alice, roomId, 'org.example.pref', 'x/y:z', { v: 1 });
  t.equal(keyed.status, 200, 'a state key with / and :');

  const topic = await h.call(bob, 'GET', `${room(roomId)}/state/m.room.topic`);
  await expectOk(t, topic, 'GET /rooms/{roomId}/state/{eventType}/{stateKey}', 'state content', { oneOf: 0 });
  t.same(topic.body, { topic: 'one' }, 'content by default');
  t.same((await h.call(bob, 'GET', `${room(roomId)}/state/m.room.name/`)).body, { name: 'Slash' });
  t.same((await h.call(bob, 'GET', `${room(roomId)}/state/org.example.pref/${enc('x/y:z')}`)).body, { v: 1 });
  const asEvent = await h.call(bob, 'GET', `${room(roomId)}/state/m.room.topic?format=event`);
  await expectOk(t, asEvent, 'GET /rooms/{roomId}/state/{eventType}/{stateKey}', 'format=event', { oneOf: 1 });
  t.match(asEvent.body, { event_id: r.body.event_id, type: 'm.room.topic', state_key: '', sender: alice.user_id, content: { topic: 'one' } });
  const all = await h.call(bob, 'GET', `${room(roomId)}/state`);
  await expectOk(t, all, 'GET /rooms/{roomId}/state');
  t.ok((all.body as any[]).some((e) => e.event_id === r.body.event_id));

  expectError(t, await h.call(bob, 'GET', `${room(roomId)}/state/m.room.avatar`), 404, 'M_NOT_FOUND', 'no such state');
  expectError(t, await h.call(bob, 'GET', `${room(roomId)}/state/m.room.topic?format=xml`), 400, 'M_INVALID_PARAM', 'unknown format');
  expectError(t, await h.call(eve, 'GET', `${room(roomId)}/state`), 403, 'M_FORBIDDEN', 'state of a room one was never in');
  expectError(t, await h.call(eve, 'GET', `${room(roomId)}/state/m.room.topic`), 403, 'M_FORBIDDEN', 'a state entry of a room one was never in');
  expectError(t, await h.call(eve, 'GET', `${room('!nowhere:' + S)}/state`), 403, 'M_FORBIDDEN', 'unknown room: the same answer, no probing');
  const before = await stateIds(roomId);
  expectError(t, await putState(bob, roomId, 'm.room.topic', '', { topic: 'mine' }), 403, 'M_FORBIDDEN', 'state without the power');
  expectError(t, await putState(alice, roomId, 'm.room.topic', '', '"text"'), 400, 'M_BAD_JSON', 'content not an object');
  t.same(await stateIds(roomId), before, 'refusals changed nothing');

  // After leaving, the state as it was then.
  await post(bob, `/rooms/${enc(roomId)}/leave`);
  await putState(alice, roomId, 'm.room.topic', '', { topic: 'two' });
  t.same((await h.call(bob, 'GET', `${room(roomId)}/state/m.room.topic`)).body, { topic: 'one' }, 'a departed member sees the state when they left');
  t.same((await h.call(alice, 'GET', `${room(roomId)}/state/m.room.topic`)).body, { topic: 'two' });
  await putState(alice, roomId, 'm.room.history_visibility', '', { history_visibility: 'world_readable' });
  t.same((await h.call(eve, 'GET', `${room(roomId)}/state/m.room.topic`)).body, { topic: 'two' }, 'anyone reads the current state of a world-readable room');
});

t.test('redactions: the endpoint and /send', async (t) => {
  const roomId = await createRoom({ preset: 'public_chat' });
  await post(bob, `/rooms/${enc(roomId)}/join`);
  const msg = (await send(bob, roomId, 'm1', { msgtype: 'm.text', body: 'oops' })).body.event_id;
  const other = (await send(alice, roomId, 'm2', { msgtype: 'm.text', body: 'mine' })).body.event_id;
  expectError(t, await h.call(bob, 'PUT', `${room(roomId)}/redact/${enc(other)}/r1`, {}), 403, 'M_FORBIDDEN', "redacting another's event without the power");
  t.equal((await getEvent(alice, roomId, other)).body.content.body, 'mine', 'not redacted');

  const r = await h.call(bob, 'PUT', `${room(roomId)}/redact/${enc(msg)}/r2`, { reason: 'typo' });
  await expectOk(t, r, 'PUT /rooms/{roomId}/redact/{eventId}/{txnId}');
  const again = await h.call(bob, 'PUT', `${room(roomId)}/redact/${enc(msg)}/r2`, { reason: 'typo' });
  t.equal(again.body.event_id, r.body.event_id, 'the same transaction: the same redaction');
  const redacted = await getEvent(alice, roomId, msg);
  await expectOk(t, redacted, 'GET /rooms/{roomId}/event/{eventId}');
  t.same(redacted.body.content, {}, 'content removed');
  t.match(redacted.body.unsigned.redacted_because, { event_id: r.body.event_id, type: 'm.room.redaction', sender: bob.user_id, redacts: msg, content: { reason: 'typo' } });

  const bySend = await send(alice, roomId, 'r3', { redacts: other, reason: 'moderation' }, 'm.room.redaction');
  t.equal(bySend.status, 200, 'a redaction sent with /send (v1.18)');
  t.same((await getEvent(alice, roomId, other)).body.content, {}, 'applied');
  expectError(t, await send(alice, roomId, 'r4', { reason: 'no target' }, 'm.room.redaction'), 400, 'M_INVALID_PARAM', '/send of a redaction without redacts');
  expectError(t, await h.call(alice, 'PUT', `${room(roomId)}/redact/not-an-event/r5`, {}), 400, 'M_INVALID_PARAM', 'redacting something that is not an event id');
  const elsewhere = await createRoom({ preset: 'public_chat' });
  const there = (await send(alice, elsewhere, 'x1', { msgtype: 'm.text', body: 'over there' })).body.event_id;
  const before = await stateIds(roomId);
  expectError(t, await h.call(alice, 'PUT', `${room(roomId)}/redact/${enc(there)}/r6`, {}), 400, 'M_INVALID_PARAM', 'an event of another room');
  t.equal((await getEvent(alice, elsewhere, there)).body.content.body, 'over there', 'which stays as it was');
  t.same(await stateIds(roomId), before);
});

t.test('canonical alias: new aliases must exist and point to the room', async (t) => {
  const roomId = await createRoom({ preset: 'public_chat', room_alias_name: 'home' });
  const otherRoom = await createRoom({ room_alias_name: 'elsewhere' });
  t.equal((await h.call(alice, 'PUT', `${V3}/directory/room/${enc(`#second:${S}`)}`, { room_id: roomId })).status, 200);
  const before = await stateIds(roomId);
  const cases: [string, unknown, string][] = [
    ['an alias of another room', { alias: `#elsewhere:${S}` }, 'M_BAD_ALIAS'],
    ['an alias that does not exist', { alias: `#ghost:${S}` }, 'M_BAD_ALIAS'],
    ['an alt alias that does not exist', { alias: `#home:${S}`, alt_aliases: [`#ghost:${S}`] }, 'M_BAD_ALIAS'],
    ['an alias of another server (cannot be checked yet)', { alias: '#x:other.example' }, 'M_BAD_ALIAS'],
    ['a malformed alias', { alias: 'home' }, 'M_INVALID_PARAM'],
    ['alias not a string', { alias: 5 }, 'M_INVALID_PARAM'],
    ['alt_aliases not a list', { alt_aliases: `#second:${S}` }, 'M_INVALID_PARAM'],
  ];
  for (const [what, content, errcode] of cases) expectError(t, await putState(alice, roomId, 'm.room.canonical_alias', '', content), 400, errcode, what);
  const ok = await putState(alice, roomId, 'm.room.canonical_alias', '', { alias: `#home:${S}`, alt_aliases: [`#second:${S}`] });
  t.equal(ok.status, 200, 'aliases that point to the room');
  // Existing entries are not checked again, even once deleted.
  t.equal((await h.call(alice, 'DELETE', `${V3}/directory/room/${enc(`#elsewhere:${S}`)}`)).status, 200);
  t.same(
    (await h.call(alice, 'GET', `${room(roomId)}/state/m.room.canonical_alias`)).body,
    { alias: `#home:${S}`, alt_aliases: [`#second:${S}`] },
    'unchanged by the deletion of an alias it does not list',
  );
  t.equal((await h.call(alice, 'DELETE', `${V3}/directory/room/${enc(`#second:${S}`)}`)).status, 200);
  t.same((await h.call(alice, 'GET', `${room(roomId)}/state/m.room.canonical_alias`)).body, { alias: `#home:${S}`, alt_aliases: [] }, 'a deleted alias leaves the canonical alias event');
  t.equal((await putState(alice, roomId, 'm.room.canonical_alias', '', { alias: `#home:${S}`, alt_aliases: [] })).status, 200, 'listing only known aliases');
  t.equal((await putState(alice, roomId, 'm.room.canonical_alias', '', {})).status, 200, 'removing every alias');
  void otherRoom;
});

t.test('upgrade: a new room, aliases and directory entry moved', async (t) => {
  const roomId = await createRoom({ preset: 'public_chat', room_alias_name: 'club', visibility: 'public', name: 'Club', room_version: '10', creation_content: { 'm.federate': false } });
  await post(bob, `/rooms/${enc(roomId)}/join`);
  await post(eve, `/rooms/${enc(roomId)}/join`);
  t.equal((await post(alice, `/rooms/${enc(roomId)}/ban`, { user_id: eve.user_id, reason: 'spam' })).status, 200, 'eve is banned from the old room');
  expectError(t, await putState(alice, roomId, 'm.room.tombstone', '', { body: 'loop', replacement_room: roomId }), 400, 'M_BAD_JSON', 'a tombstone naming its own room');
  expectError(t, await post(bob, `/rooms/${enc(roomId)}/upgrade`, { new_version: '12' }), 403, 'M_FORBIDDEN', 'upgrade without the power');
  expectError(t, await post(alice, `/rooms/${enc(roomId)}/upgrade`, { new_version: '99' }), 400, 'M_UNSUPPORTED_ROOM_VERSION', 'unknown version');
  expectError(t, await post(alice, `/rooms/${enc(roomId)}/upgrade`, {}), 400, 'M_BAD_JSON', 'no new_version');
  const r = await post(alice, `/rooms/${enc(roomId)}/upgrade`, { new_version: '12', additional_creators: [bob.user_id] });
  await expectOk(t, r, 'POST /rooms/{roomId}/upgrade');
  const next = r.body.replacement_room;
  t.match((await h.call(alice, 'GET', `${room(roomId)}/state/m.room.tombstone`)).body, { replacement_room: next });
  const create = (await h.call(alice, 'GET', `${room(next)}/state/m.room.create`)).body;
  t.match(create, { room_version: '12', predecessor: { room_id: roomId }, additional_creators: [bob.user_id] });
  t.equal((await h.call(alice, 'GET', `${room(next)}/state/m.room.name`)).body.name, 'Club', 'name carried over');
  t.equal(create['m.federate'], false, 'a room kept off federation stays off it');
  t.match((await h.call(alice, 'GET', `${room(next)}/state/m.room.member/${enc(eve.user_id)}`)).body, { membership: 'ban', reason: 'spam' }, 'the ban carried over');
  expectError(t, await post(eve, `/rooms/${enc(next)}/join`), 403, 'M_FORBIDDEN', 'so eve cannot join the new room');
  t.equal((await h.call(alice, 'GET', `${V3}/directory/room/${enc(`#club:${S}`)}`)).body.room_id, next, 'the alias moved');
  t.same((await h.call(alice, 'GET', `${room(next)}/state/m.room.canonical_alias`)).body, { alias: `#club:${S}` }, 'canonical alias in the new room');
  t.same((await h.call(alice, 'GET', `${room(roomId)}/state/m.room.canonical_alias`)).body, {}, 'and gone from the old one');
  t.equal((await h.call(alice, 'GET', `${V3}/directory/list/room/${enc(next)}`)).body.visibility, 'public', 'new room published');
  t.equal((await h.call(alice, 'GET', `${V3}/directory/list/room/${enc(roomId)}`)).body.visibility, 'private', 'old room no longer');
  t.same((await h.call(alice, 'GET', `${room(roomId)}/aliases`)).body.aliases, []);
});

t.test('upgrade by a moderator who may send the tombstone: the room is set up, and the power levels are as they were', async (t) => {
  const roomId = await createRoom({ preset: 'public_chat', room_version: '10', name: 'Moderated', initial_state: [{ type: 'm.room.history_visibility', content: { history_visibility: 'shared' } }] });
  await post(bob, `/rooms/${enc(roomId)}/join`);
  const levels = (await h.call(alice, 'GET', `${room(roomId)}/state/m.room.power_levels`)).body;
  const mod = { ...levels, users: { ...levels.users, [bob.user_id]: 50 }, events: { ...levels.events, 'm.room.tombstone': 50 } };
  t.equal((await h.call(alice, 'PUT', `${room(roomId)}/state/m.room.power_levels`, mod)).status, 200);
  const r = await post(bob, `/rooms/${enc(roomId)}/upgrade`, { new_version: '10' });
  await expectOk(t, r, 'POST /rooms/{roomId}/upgrade', 'a moderator at 50 upgrades');
  const next = r.body.replacement_room;
  t.equal((await h.call(bob, 'GET', `${room(next)}/state/m.room.history_visibility`)).body.history_visibility, 'shared', 'state that needs 100 was copied');
  const after = (await h.call(bob, 'GET', `${room(next)}/state/m.room.power_levels`)).body;
  t.equal(after.users[bob.user_id], 50, 'and the moderator is back at 50');
  t.equal(after.users[alice.user_id], 100);
  t.same(after.events, mod.events, 'the levels carried over');
});

t.test("upgrade: each user's tags, room push rule and m.direct entry follow them to the new room", async (t) => {
  const ua = h.rs.apis.get(userApi);
  const roomId = await createRoom({ preset: 'public_chat', room_version: '10' });
  await post(bob, `/rooms/${enc(roomId)}/join`);
  for (const u of [alice, bob]) {
    await ua.setAccountData({ user_id: u.user_id, room_id: roomId, type: 'm.tag', content: { tags: { 'm.favourite': { order: 0.5 } } } });
    await ua.setAccountData({ user_id: u.user_id, type: 'm.direct', content: { '@someone:example.org': ['!other:example.org', roomId] } });
  }
  await ua.putPushRule({ user_id: bob.user_id, kind: 'room', rule_id: roomId, rule: { actions: [] } });
  const r = await post(alice, `/rooms/${enc(roomId)}/upgrade`, { new_version: '10' });
  await expectOk(t, r, 'POST /rooms/{roomId}/upgrade');
  const next = r.body.replacement_room as string;
  const tagsOf = async (u: TestUser) => (await ua.queryAccountData({ user_id: u.user_id, room_id: next, type: 'm.tag' }))?.content;
  const directOf = async (u: TestUser) => (await ua.queryAccountData({ user_id: u.user_id, type: 'm.direct' }))?.content;
  t.same(await tagsOf(alice), { tags: { 'm.favourite': { order: 0.5 } } }, "the upgrader's tags, at once");
  t.same(await directOf(alice), { '@someone:example.org': ['!other:example.org', roomId, next] }, 'and m.direct lists the new room too');
  t.equal(await tagsOf(bob), undefined, "bob's wait until he joins");
  t.equal((await post(bob, `/rooms/${enc(next)}/join`)).status, 200);
  t.same(await tagsOf(bob), { tags: { 'm.favourite': { order: 0.5 } } }, "bob's tags when he joins");
  t.same(await directOf(bob), { '@someone:example.org': ['!other:example.org', roomId, next] });
  t.same((await ua.queryPushRule({ user_id: bob.user_id, kind: 'room', rule_id: next })).actions, [], 'and his room push rule');
  const plain = await createRoom({ preset: 'public_chat' });
  t.equal((await post(bob, `/rooms/${enc(plain)}/join`)).status, 200, 'a room that replaced none: nothing to carry');

  // Upgraded by hand: a new room naming the old one as predecessor, made by someone with settings for the old one.
  await ua.putPushRule({ user_id: alice.user_id, kind: 'room', rule_id: roomId, rule: { actions: ['dont_notify'] } });
  const manual = await post(alice, '/createRoom', { preset: 'public_chat', creation_content: { predecessor: { room_id: roomId } } });
  await expectOk(t, manual, 'POST /createRoom');
  const manualId = manual.body.room_id as string;
  t.same((await ua.queryPushRule({ user_id: alice.user_id, kind: 'room', rule_id: manualId })).actions, ['dont_notify'], "the creator's room push rule follows a manual upgrade");
  t.same(await tagsOf(alice), { tags: { 'm.favourite': { order: 0.5 } } });
  t.same((await ua.queryAccountData({ user_id: alice.user_id, room_id: manualId, type: 'm.tag' }))?.content, { tags: { 'm.favourite': { order: 0.5 } } }, 'and the tags');
});

t.test('GET /event follows history visibility at the event', async (t) => {
  const cases: { vis: string; seen: string[] }[] = [
    { vis: 'joined', seen: ['whileJoined'] },
    { vis: 'invited', seen: ['whileInvited', 'whileJoined'] },
    { vis: 'shared', seen: ['beforeInvite', 'whileInvited', 'whileJoined'] },
    { vis: 'world_readable', seen: ['beforeInvite', 'whileInvited', 'whileJoined', 'afterLeave'] },
  ];
  for (const c of cases) {
    await t.test(c.vis, async (t) => {
      const roomId = await createRoom({ preset: 'private_chat', initial_state: [{ type: 'm.room.history_visibility', content: { history_visibility: c.vis } }] });
      const ids: Record<string, string> = {};
      const say = async (name: string) => (ids[name] = (await send(alice, roomId, name)).body.event_id);
      await say('beforeInvite');
      await post(alice, `/rooms/${enc(roomId)}/invite`, { user_id: bob.user_id });
      await say('whileInvited');
      await post(bob, `/rooms/${enc(roomId)}/join`);
      await say('whileJoined');
      await post(bob, `/rooms/${enc(roomId)}/leave`);
      await say('afterLeave');
      for (const [name, id] of Object.entries(ids)) {
        const r = await getEvent(bob, roomId, id);
        if (c.seen.includes(name)) t.equal(r.status, 200, `bob sees ${name}`);
        else expectError(t, r, 404, 'M_NOT_FOUND', `bob does not see ${name}`);
        const stranger = await getEvent(eve, roomId, id);
        t.equal(stranger.status, c.vis === 'world_readable' ? 200 : 404, `eve (never a member) ${c.vis === 'world_readable' ? 'sees' : 'does not see'} ${name}`);
      }
      const leave = (await h.call(alice, 'GET', `${room(roomId)}/state/m.room.member/${enc(bob.user_id)}?format=event`)).body.event_id;
      const own = await getEvent(bob, roomId, leave);
      t.equal(own.status, 200, "bob sees his own leave event (his membership before it allowed it)");
      t.equal(own.body.unsigned.membership, 'leave', 'unsigned.membership includes the change');
      t.equal((await getEvent(alice, roomId, ids.whileJoined!)).body.unsigned.membership, 'join');
    });
  }

  await t.test('joined later under shared; a history visibility change is seen from either side', async (t) => {
    const roomId = await createRoom({ preset: 'public_chat', initial_state: [{ type: 'm.room.history_visibility', content: { history_visibility: 'joined' } }] });
    const early = (await send(alice, roomId, 'early')).body.event_id;
    const hv = (await putState(alice, roomId, 'm.room.history_visibility', '', { history_visibility: 'shared' })).body.event_id;
    const shared = (await send(alice, roomId, 'shared')).body.event_id;
    await post(bob, `/rooms/${enc(roomId)}/join`);
    t.equal((await getEvent(bob, roomId, shared)).status, 200, 'sent under shared before bob joined: visible');
    t.equal((await getEvent(bob, roomId, early)).status, 404, 'sent under joined before bob joined: hidden');
    t.equal((await getEvent(bob, roomId, hv)).status, 200, 'the change to shared itself is visible (shared after it)');
    await post(bob, `/rooms/${enc(roomId)}/leave`);
    t.equal((await getEvent(bob, roomId, shared)).status, 200, 'still visible after leaving: bob joined after it');
    const open = (await putState(alice, roomId, 'm.room.history_visibility', '', { history_visibility: 'world_readable' })).body.event_id;
    t.equal((await getEvent(eve, roomId, open)).status, 200, 'the change to world_readable is visible to anyone');
    const closed = (await putState(alice, roomId, 'm.room.history_visibility', '', { history_visibility: 'joined' })).body.event_id;
    t.equal((await getEvent(eve, roomId, closed)).status, 200, 'and so is the change back (world_readable before it)');
    const after = (await send(alice, roomId, 'after')).body.event_id;
    t.equal((await getEvent(eve, roomId, after)).status, 404, 'then nothing more');
    const ev = await getEvent(alice, roomId, closed);
    t.equal(ev.body.unsigned.replaces_state, open, 'replaces_state');
    t.same(ev.body.unsigned.prev_content, { history_visibility: 'world_readable' }, 'prev_content');
  });

  await t.test('refusals', async (t) => {
    const roomId = await createRoom();
    const id = (await send(alice, roomId, 'x')).body.event_id;
    const otherRoom = await createRoom();
    expectError(t, await getEvent(alice, otherRoom, id), 404, 'M_NOT_FOUND', 'an event of another room');
    expectError(t, await getEvent(alice, roomId, '$nope'), 404, 'M_NOT_FOUND', 'an unknown event');
    expectError(t, await getEvent(alice, roomId, 'nope'), 404, 'M_NOT_FOUND', 'not an event id');
    expectError(t, await h.call(undefined as unknown as TestUser, 'GET', `${room(roomId)}/event/${enc(id)}`), 401, 'M_MISSING_TOKEN', 'no token');
  });
});

t.test('admins', async (t) => {
  const roomId = await createRoom({ room_alias_name: 'adm' });
  t.equal((await h.call(admin, 'GET', `${room(roomId)}/aliases`)).status, 200, 'an admin lists aliases of a room they are not in');
  t.equal((await h.call(admin, 'DELETE', `${V3}/directory/room/${enc(`#adm:${S}`)}`)).status, 200, 'and deletes them');
});

t.test('rate limits on sending', async (t) => {
  // A stopped clock: the limit is reached after `burst` requests whatever the speed of the machine.
  const limited = await startRooms({ serverName: 'limits.neurite.local', frozenLimits: { burst: 5 } });
  t.teardown(() => limited.stop());
  const u = await limited.users.add('fast');
  const other = await limited.users.add('slow');
  const roomId = (await limited.call(u, 'POST', `${V3}/createRoom`, { preset: 'public_chat' })).body.room_id;
  t.equal((await limited.call(other, 'POST', `${V3}/rooms/${enc(roomId)}/join`, {})).status, 200);
  const statuses: number[] = [];
  let last;
  let firstId = '';
  for (let i = 0; i < 6; i++) {
    last = await limited.call(u, 'PUT', `${V3}/rooms/${enc(roomId)}/send/m.room.message/t${i}`, { msgtype: 'm.text', body: String(i) });
    statuses.push(last.status);
    firstId ||= last.body.event_id;
  }
  t.same(statuses, [200, 200, 200, 200, 429, 429], 'createRoom took one of five; four sends pass, then the limit');
  expectError(t, last!, 429, 'M_LIMIT_EXCEEDED', 'over the limit');
  t.type(last!.body.retry_after_ms, 'number', 'retry_after_ms');
  t.ok(last!.raw.headers['retry-after'], 'Retry-After header');
  expectError(t, await limited.call(u, 'PUT', `${V3}/rooms/${enc(roomId)}/state/m.room.topic`, { topic: 'x' }), 429, 'M_LIMIT_EXCEEDED', 'state events count too');
  expectError(t, await limited.call(u, 'PUT', `${V3}/rooms/${enc(roomId)}/redact/${enc(firstId)}/r`, {}), 429, 'M_LIMIT_EXCEEDED', 'and redactions');
  t.equal((await limited.call(u, 'GET', `${V3}/rooms/${enc(roomId)}/state`)).status, 200, 'reading is not limited');
  const r = await limited.call(other, 'PUT', `${V3}/rooms/${enc(roomId)}/send/m.room.message/x`, { msgtype: 'm.text', body: 'x' });
  t.equal(r.status, 200, 'another user has their own budget');
});

t.test('sending an event makes the sender online and active (presence)', async (t) => {
  const edu = h.cctx.eduserver;
  const carol = await h.users.add('carol');
  const roomId = await createRoom({ preset: 'public_chat' });
  await post(carol, `/rooms/${enc(roomId)}/join`);
  const view = async () => (await edu.queryPresence({ user_ids: [carol.user_id] })).presence[0];
  t.match(await view(), { presence: 'offline' }, 'never seen: offline');
  await expectOk(t, await send(carol, roomId, 'hello-presence'), 'PUT /rooms/{roomId}/send/{eventType}/{txnId}');
  // Told after the answer, without waiting: poll until the EDUServer has it.
  let seen = await view();
  for (let i = 0; i < 500 && seen?.presence !== 'online'; i++) {
    await new Promise((r) => setTimeout(r, 20));
    seen = await view();
  }
  t.match(seen, { presence: 'online', currently_active: true }, 'online and currently active after sending');
});
