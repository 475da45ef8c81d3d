/**
 * The roomserver through its internal API, over its Unix socket: rooms of
 * every version created and used by local users, the auth rules enforced,
 * transactions, redactions, queries and the output log.
 */
import t, { type Test } from 'tap';
import { MatrixError } from '../../../src/core/errors.js';
import { ROOM_VERSIONS } from '../../../src/core/room-versions.js';
import { parseEventId, parseRoomId } from '../../../src/core/identifiers.js';
import { roomserverApi, type RoomEvent } from '../../../src/components/roomserver/api.js';
import type { OutputRoomEvent } from '../../../src/components/roomserver/topics.js';
import { logReaderApi } from '../../../src/platform/log/reader-api.js';
import { startComponents } from '../../helpers/components.js';

const SERVER = 'test.neurite.local';
const alice = `@alice:${SERVER}`;
const bob = `@bob:${SERVER}`;
const eve = `@eve:${SERVER}`;

let h = await startComponents(['roomserver', 'serverkeyapi'], { serverName: SERVER });
t.teardown(() => h.stop());
let rs = h.apis.get(roomserverApi);

async function forbidden(t: Test, p: Promise<unknown>, reason: RegExp, what: string) {
  await t.rejects(p, { name: 'MatrixError', errcode: 'M_FORBIDDEN', status: 403, message: reason }, what);
}

function byType(events: RoomEvent[]): Map<string, RoomEvent> {
  return new Map(events.map((e) => [`${e.pdu.type}|${e.pdu.state_key}`, e]));
}

const message = (body: string) => ({ msgtype: 'm.text', body });

t.test('every room version can be created and used; 12 is the default in the version table', async (t) => {
  t.equal(Object.keys(ROOM_VERSIONS).length, 12);
  for (const version of Object.keys(ROOM_VERSIONS)) {
    await t.test(`room version ${version}`, async (t) => {
      const { room_id } = await rs.createRoom({
        creator: alice,
        room_version: version,
        preset: 'private_chat',
        name: 'Plans',
        topic: 'What we do next',
        invite: [bob],
        is_direct: true,
        creator_profile: { displayname: 'Alice' },
      });
      const v = ROOM_VERSIONS[version]!;
      const parsed = parseRoomId(room_id);
      t.ok(parsed.ok, room_id);
      if (v.roomIdIsCreateEventHash) t.match(room_id, /^![A-Za-z0-9_-]{43}$/, 'v12: the room id is the create event hash');
      else t.match(room_id, new RegExp(`^!.+:${SERVER}$`));

      const summary = (await rs.queryRoom({ room_id }))!;
      t.equal(summary.room_version, version);
      t.equal(summary.latest_event_ids.length, 1, 'one forward extremity');

      const state = byType((await rs.queryCurrentState({ room_id })).events);
      t.same([...state.keys()].sort(), [
        'm.room.create|', 'm.room.guest_access|', 'm.room.history_visibility|', 'm.room.join_rules|',
        `m.room.member|${alice}`, `m.room.member|${bob}`, 'm.room.name|', 'm.room.power_levels|', 'm.room.topic|',
      ].sort());
      const create = state.get('m.room.create|')!;
      t.equal(create.pdu.content.room_version, version);
      t.equal(create.pdu.content.creator, v.useSenderAsCreator ? undefined : alice, 'creator field only before v11');
      if (v.roomIdIsCreateEventHash) t.equal(create.pdu.room_id, undefined, 'v12 create event has no room_id');
      t.same(state.get(`m.room.member|${bob}`)!.pdu.content, { membership: 'invite', is_direct: true });
      t.same(state.get(`m.room.member|${alice}`)!.pdu.content, { membership: 'join', displayname: 'Alice' });
      const pl = state.get('m.room.power_levels|')!.pdu.content as any;
      if (v.privilegedCreators) {
        t.same(pl.users, {}, 'v12 does not list the creator');
        t.ok(pl.events['m.room.tombstone'] > pl.state_default, 'v12 tombstone above state_default');
      } else t.same(pl.users, { [alice]: 100 });
      t.equal(state.get('m.room.join_rules|')!.pdu.content.join_rule, 'invite');

      const sent = await rs.sendEvent({ room_id, sender: alice, type: 'm.room.message', content: message('hello') });
      const id = parseEventId(sent.event_id);
      t.ok(id.ok, sent.event_id);
      if (v.eventIdFormat === 'v1') t.match(sent.event_id, new RegExp(`:${SERVER}$`), 'v1/v2: server-assigned id');
      else if (v.eventIdFormat === 'v3') t.match(sent.event_id, /^\$[A-Za-z0-9+/]{43}$/, 'v3: standard base64 hash');
      else t.match(sent.event_id, /^\$[A-Za-z0-9_-]{43}$/, 'v4+: URL-safe hash');
      const [stored] = (await rs.queryEvents({ event_ids: [sent.event_id] })).events;
      t.same(stored!.pdu.content, message('hello'));
      t.equal(stored!.pdu.depth, summary.depth + 1, 'depth grows by one');
      const prev = (stored!.pdu.prev_events as unknown[]).map((p) => (Array.isArray(p) ? p[0] : p));
      t.same(prev, summary.latest_event_ids, 'prev_events are the forward extremities');

      await forbidden(t, rs.sendEvent({ room_id, sender: eve, type: 'm.room.message', content: message('let me in') }), /not joined/, 'a stranger cannot send');
      await forbidden(t, rs.sendEvent({ room_id, sender: eve, type: 'm.room.member', state_key: eve, content: { membership: 'join' } }), /./, 'nor join an invite-only room');
      await rs.sendEvent({ room_id, sender: bob, type: 'm.room.member', state_key: bob, content: { membership: 'join' } });
      t.equal((await rs.queryMembership({ room_id, user_id: bob })).membership, 'join', 'the invitee joins');
      await forbidden(t, rs.sendEvent({ room_id, sender: bob, type: 'm.room.name', state_key: '', content: { name: 'Mine' } }), /needs level 50/, 'a member below the state level cannot rename the room');
    });
  }
});

t.test('rooms one user creates at the same moment with the same content are different rooms (v12 room ids are create-event hashes)', async (t) => {
  const created = await Promise.all(Array.from({ length: 40 }, () => rs.createRoom({ creator: alice, room_version: '12', preset: 'private_chat' })));
  const ids = created.map((r) => r.room_id);
  t.equal(new Set(ids).size, ids.length, 'forty room ids');
  for (const room_id of ids) {
    const { events } = await rs.queryCurrentState({ room_id, types: ['m.room.create'] });
    t.equal(events.length, 1, `${room_id}: one create event`);
  }
});

t.test('membership: public rooms, kicks, bans, leaving; knocking from v7', async (t) => {
  const { room_id } = await rs.createRoom({ creator: alice, room_version: '12', preset: 'public_chat' });
  await rs.sendEvent({ room_id, sender: eve, type: 'm.room.member', state_key: eve, content: { membership: 'join' } });
  t.equal((await rs.queryMembership({ room_id, user_id: eve })).membership, 'join', 'anyone joins a public room');
  await forbidden(t, rs.sendEvent({ room_id, sender: eve, type: 'm.room.member', state_key: alice, content: { membership: 'leave' } }), /./, 'a member cannot kick the creator');
  await rs.sendEvent({ room_id, sender: alice, type: 'm.room.member', state_key: eve, content: { membership: 'ban', reason: 'spam' } });
  t.equal((await rs.queryMembership({ room_id, user_id: eve })).membership, 'ban');
  await forbidden(t, rs.sendEvent({ room_id, sender: eve, type: 'm.room.member', state_key: eve, content: { membership: 'join' } }), /banned/, 'a banned user cannot rejoin');
  await rs.sendEvent({ room_id, sender: alice, type: 'm.room.member', state_key: eve, content: { membership: 'leave' } });
  await rs.sendEvent({ room_id, sender: eve, type: 'm.room.member', state_key: eve, content: { membership: 'join' } });
  t.equal((await rs.queryMembership({ room_id, user_id: eve })).membership, 'join', 'unbanned, she rejoins');
  await rs.sendEvent({ room_id, sender: eve, type: 'm.room.member', state_key: eve, content: { membership: 'leave' } });
  t.same((await rs.queryRoomsForUser({ user_id: eve, membership: 'join' })).rooms.filter((r) => r.room_id === room_id), [], 'she left');
  t.same((await rs.queryJoinedHosts({ room_id })).servers, [SERVER]);
  t.same(await rs.queryServerInRoom({ room_id, server_name: 'elsewhere.example' }), { joined: false });

  const knockable = await rs.createRoom({ creator: alice, room_version: '10', preset: 'private_chat', initial_state: [{ type: 'm.room.join_rules', state_key: '', content: { join_rule: 'knock' } }] });
  await rs.sendEvent({ room_id: knockable.room_id, sender: eve, type: 'm.room.member', state_key: eve, content: { membership: 'knock' } });
  t.equal((await rs.queryMembership({ room_id: knockable.room_id, user_id: eve })).membership, 'knock', 'v10 knock');
  const old = await rs.createRoom({ creator: alice, room_version: '6', preset: 'private_chat', initial_state: [{ type: 'm.room.join_rules', state_key: '', content: { join_rule: 'knock' } }] });
  await forbidden(t, rs.sendEvent({ room_id: old.room_id, sender: eve, type: 'm.room.member', state_key: eve, content: { membership: 'knock' } }), /./, 'no knocking before v7');
});

t.test('transactions make sends idempotent per device, room and type, across restarts', async (t) => {
  const { room_id } = await rs.createRoom({ creator: alice, room_version: '12', preset: 'private_chat' });
  const other = await rs.createRoom({ creator: alice, room_version: '12', preset: 'private_chat' });
  const txn = { device_id: 'PHONE', txn_id: 'm1' };
  const first = await rs.sendEvent({ room_id, sender: alice, type: 'm.room.message', content: message('once'), txn });
  const again = await rs.sendEvent({ room_id, sender: alice, type: 'm.room.message', content: message('once'), txn });
  t.same(again, { event_id: first.event_id, duplicate: true });
  const [a, b] = await Promise.all([
    rs.sendEvent({ room_id, sender: alice, type: 'm.room.message', content: message('race'), txn: { device_id: 'PHONE', txn_id: 'm2' } }),
    rs.sendEvent({ room_id, sender: alice, type: 'm.room.message', content: message('race'), txn: { device_id: 'PHONE', txn_id: 'm2' } }),
  ]);
  t.equal(a.event_id, b.event_id, 'two concurrent retries give one event');
  const elsewhere = await rs.sendEvent({ room_id: other.room_id, sender: alice, type: 'm.room.message', content: message('once'), txn });
  t.not(elsewhere.event_id, first.event_id, 'the same txn id in another room is another request');
  const otherDevice = await rs.sendEvent({ room_id, sender: alice, type: 'm.room.message', content: message('once'), txn: { device_id: 'LAPTOP', txn_id: 'm1' } });
  t.not(otherDevice.event_id, first.event_id, 'and from another device too');

  h = await h.restart();
  rs = h.apis.get(roomserverApi);
  const afterRestart = await rs.sendEvent({ room_id, sender: alice, type: 'm.room.message', content: message('once'), txn });
  t.same(afterRestart, { event_id: first.event_id, duplicate: true }, 'remembered after a restart');
  const latest = (await rs.queryRoom({ room_id }))!.latest_event_ids;
  const next = await rs.sendEvent({ room_id, sender: alice, type: 'm.room.message', content: message('after restart') });
  const [ev] = (await rs.queryEvents({ event_ids: [next.event_id] })).events;
  t.same(ev!.pdu.prev_events, latest, 'the room continues where it was');
});

t.test('redactions', async (t) => {
  const { room_id } = await rs.createRoom({ creator: alice, room_version: '11', preset: 'public_chat' });
  await rs.sendEvent({ room_id, sender: bob, type: 'm.room.member', state_key: bob, content: { membership: 'join' } });
  const bobs = await rs.sendEvent({ room_id, sender: bob, type: 'm.room.message', content: message('secret') });
  const alices = await rs.sendEvent({ room_id, sender: alice, type: 'm.room.message', content: message('mine') });
  await forbidden(t, rs.sendEvent({ room_id, sender: bob, type: 'm.room.redaction', redacts: alices.event_id, content: {} }), /redact/, "bob may not redact alice's message");
  const own = await rs.sendEvent({ room_id, sender: bob, type: 'm.room.redaction', redacts: bobs.event_id, content: { reason: 'oops' } });
  const [redacted] = (await rs.queryEvents({ event_ids: [bobs.event_id] })).events;
  t.same(redacted!.pdu.content, {}, 'the content is gone');
  t.equal(redacted!.redacted_because?.event_id, own.event_id, 'with the redaction that removed it');
  t.equal(redacted!.redacted_because?.content.redacts, bobs.event_id, 'v11: redacts inside content');
  await rs.sendEvent({ room_id, sender: alice, type: 'm.room.redaction', redacts: alices.event_id, content: {} });
  const mod = await rs.sendEvent({ room_id, sender: alice, type: 'm.room.message', content: message('x') });
  await rs.sendEvent({ room_id, sender: alice, type: 'm.room.redaction', redacts: mod.event_id, content: {} });
  t.same((await rs.queryEvents({ event_ids: [mod.event_id] })).events[0]!.pdu.content, {});
});

t.test('state at an event, before and after', async (t) => {
  const { room_id } = await rs.createRoom({ creator: alice, room_version: '12', preset: 'public_chat', name: 'One' });
  const rename = await rs.sendEvent({ room_id, sender: alice, type: 'm.room.name', state_key: '', content: { name: 'Two' } });
  const name = (ev: RoomEvent[]) => ev.find((e) => e.pdu.type === 'm.room.name')?.pdu.content.name;
  t.equal(name((await rs.queryStateAtEvent({ event_id: rename.event_id })).events), 'One', 'before');
  t.equal(name((await rs.queryStateAtEvent({ event_id: rename.event_id, after: true })).events), 'Two', 'after');
  const onlyName = await rs.queryStateAtEvent({ event_id: rename.event_id, keys: [['m.room.name', '']] });
  t.equal(onlyName.events.length, 1);
  const members = await rs.queryStateAtEvent({ event_id: rename.event_id, types: ['m.room.member'] });
  t.same(members.events.map((e) => e.pdu.state_key), [alice]);
  t.same((await rs.queryStateAtEvent({ event_id: '$unknown' })).events, []);
});

t.test('bad input gets a clear error and changes nothing', async (t) => {
  const { room_id } = await rs.createRoom({ creator: alice, room_version: '12', preset: 'private_chat' });
  const before = (await rs.queryRoom({ room_id }))!;
  await t.rejects(rs.createRoom({ creator: alice, room_version: '99', preset: 'private_chat' }), { name: 'MatrixError', errcode: 'M_UNSUPPORTED_ROOM_VERSION', status: 400 });
  await t.rejects(rs.sendEvent({ room_id: '!nope:elsewhere', sender: alice, type: 'm.room.message', content: {} }), { name: 'MatrixError', errcode: 'M_NOT_FOUND', status: 404 });
  await t.rejects(rs.sendEvent({ room_id, sender: alice, type: 'm.room.message', content: message('x'.repeat(70_000)) }), { name: 'MatrixError', errcode: 'M_TOO_LARGE', status: 413 });
  await t.rejects(rs.sendEvent({ room_id, sender: alice, type: 'm.room.message', content: { n: 1.5 } }), { name: 'MatrixError', errcode: 'M_BAD_JSON', status: 400 }, 'floats are not canonical JSON');
  await t.rejects(rs.sendEvent({ room_id, sender: alice, type: 'm.room.message', content: { n: 2 ** 53 } }), { name: 'MatrixError', errcode: 'M_BAD_JSON' }, 'nor integers past 2^53-1');
  await t.rejects(
    rs.sendEvent({ room_id, sender: alice, type: 'm.room.power_levels', state_key: '', content: { users: { [alice]: 100 } } }),
    { name: 'MatrixError', errcode: 'M_FORBIDDEN' },
    'v12: creators may not be listed in power levels',
  );
  t.same(await rs.queryRoom({ room_id }), before, 'the room did not move');
});

t.test('the output log carries every event once, in order, with its state change', async (t) => {
  const reader = h.apis.get(logReaderApi('roomserver'));
  const all = async () => {
    const out: OutputRoomEvent[] = [];
    for (let from = 1; ; ) {
      const { records } = await reader.read({ topic: 'output_room_events', consumer: 'test', from, limit: 1000, waitMs: 0, durable: 0 });
      if (records.length === 0) return out;
      out.push(...records.map((r) => r.record as OutputRoomEvent));
      from = records[records.length - 1]!.offset + 1;
    }
  };
  const { room_id } = await rs.createRoom({ creator: alice, room_version: '12', preset: 'public_chat', name: 'Log' });
  const msg = await rs.sendEvent({ room_id, sender: alice, type: 'm.room.message', content: message('logged'), txn: { device_id: 'D', txn_id: 'log1' } });
  const rename = await rs.sendEvent({ room_id, sender: alice, type: 'm.room.name', state_key: '', content: { name: 'Log 2' } });
  const records = (await all()).filter((r) => (r.kind === 'new_room_event' ? r.event.room_id : r.room_id) === room_id);
  const news = records.filter((r) => r.kind === 'new_room_event');
  t.equal(news[0]!.event.pdu.type, 'm.room.create', 'starts with the create event');
  const ids = news.map((r) => r.event.event_id);
  t.equal(new Set(ids).size, ids.length, 'each event once');
  t.same(ids.slice(-2), [msg.event_id, rename.event_id], 'in the order accepted');
  const m = news.find((r) => r.event.event_id === msg.event_id)!;
  t.same(m.adds_state, [], 'a message changes no state');
  t.same(m.txn, { user_id: alice, device_id: 'D', room_id, type: 'm.room.message', txn_id: 'log1' }, 'and carries its transaction');
  const r = news.find((x) => x.event.event_id === rename.event_id)!;
  t.same(r.adds_state, [rename.event_id]);
  t.equal(r.removes_state.length, 1, 'the old name leaves the current state');
  t.same(r.latest_event_ids, [rename.event_id]);
});

t.test('errors crossing the socket keep their Matrix shape', async (t) => {
  const err = await rs.sendEvent({ room_id: '!nope:x', sender: alice, type: 't', content: {} }).catch((e) => e);
  t.ok(err instanceof MatrixError);
});

t.test('joins: invited, public, restricted by membership of another room', async (t) => {
  const space = await rs.createRoom({ creator: alice, preset: 'private_chat', invite: [bob] });
  t.equal((await rs.queryRoom({ room_id: space.room_id }))!.room_version, '12', 'rooms default to version 12');
  await rs.performJoin({ room_id: space.room_id, user_id: bob, content: { displayname: 'Bob' } });
  const restricted = await rs.createRoom({
    creator: alice,
    preset: 'private_chat',
    initial_state: [{ type: 'm.room.join_rules', state_key: '', content: { join_rule: 'restricted', allow: [{ type: 'm.room_membership', room_id: space.room_id }] } }],
  });
  const { event_id } = await rs.performJoin({ room_id: restricted.room_id, user_id: bob });
  const [join] = (await rs.queryEvents({ event_ids: [event_id] })).events;
  t.equal(join!.pdu.content.join_authorised_via_users_server, alice, 'a local member with invite power vouches');
  await t.rejects(rs.performJoin({ room_id: restricted.room_id, user_id: eve }), { name: 'MatrixError', errcode: 'M_FORBIDDEN' }, 'a user in none of the allowed rooms cannot join');
  await t.rejects(rs.performJoin({ room_id: '!unknown:elsewhere.example', user_id: bob }), { name: 'MatrixError', errcode: 'M_NOT_FOUND' });
});

t.test('invites are announced to consumers and retired when answered', async (t) => {
  const reader = h.apis.get(logReaderApi('roomserver'));
  let from = 1;
  for (;;) {
    const { records } = await reader.read({ topic: 'output_room_events', consumer: 'inv', from, limit: 1000, waitMs: 0, durable: 0 });
    if (records.length === 0) break;
    from = records[records.length - 1]!.offset + 1;
  }
  const { room_id } = await rs.createRoom({ creator: alice, preset: 'private_chat', invite: [bob] });
  await rs.performJoin({ room_id, user_id: bob });
  const { records } = await reader.read({ topic: 'output_room_events', consumer: 'inv', from, limit: 1000, waitMs: 0, durable: 0 });
  const kinds = records.map((r) => r.record as OutputRoomEvent).filter((r) => r.kind === 'new_invite_event' || r.kind === 'retire_invite_event');
  t.same(kinds.map((k) => [k.kind, k.user_id, k.room_id]), [
    ['new_invite_event', bob, room_id],
    ['retire_invite_event', bob, room_id],
  ]);
  t.equal((kinds[1] as { membership: string }).membership, 'join');
});

t.test('forgetting a room', async (t) => {
  const { room_id } = await rs.createRoom({ creator: alice, preset: 'public_chat' });
  await rs.performJoin({ room_id, user_id: eve });
  await t.rejects(rs.performForget({ room_id, user_id: eve }), { name: 'MatrixError', message: /left/ }, 'not while in the room');
  await rs.sendEvent({ room_id, sender: eve, type: 'm.room.member', state_key: eve, content: { membership: 'leave' } });
  await rs.performForget({ room_id, user_id: eve });
  const mine = (r: { rooms: { room_id: string }[] }) => r.rooms.filter((x) => x.room_id === room_id);
  t.same(mine(await rs.queryRoomsForUser({ user_id: eve })), [], 'forgotten rooms are left out');
  t.same(mine(await rs.queryRoomsForUser({ user_id: eve, include_forgotten: true })), [{ room_id, membership: 'leave', forgotten: true }]);
  await rs.performJoin({ room_id, user_id: eve });
  t.same(mine(await rs.queryRoomsForUser({ user_id: eve })), [{ room_id, membership: 'join' }], 'rejoining undoes it');
});

t.test('upgrading a room', async (t) => {
  const { room_id } = await rs.createRoom({ creator: alice, room_version: '10', preset: 'public_chat', name: 'Old', topic: 'Kept' });
  await rs.performJoin({ room_id, user_id: bob });
  await t.rejects(rs.performUpgrade({ room_id, user_id: bob, new_version: '12' }), { name: 'MatrixError', errcode: 'M_FORBIDDEN' }, 'needs the tombstone power');
  await t.rejects(rs.performUpgrade({ room_id, user_id: alice, new_version: '77' }), { name: 'MatrixError', errcode: 'M_UNSUPPORTED_ROOM_VERSION' });
  const { replacement_room } = await rs.performUpgrade({ room_id, user_id: alice, new_version: '12' });
  const newState = byType((await rs.queryCurrentState({ room_id: replacement_room })).events);
  const create = newState.get('m.room.create|')!.pdu.content as any;
  t.equal(create.room_version, '12');
  t.equal(create.predecessor.room_id, room_id, 'the new room names its predecessor');
  t.notOk('event_id' in create.predecessor, 'v12: by its room id alone (event_id may be left out from v12 on)');
  const older = await rs.createRoom({ creator: alice, room_version: '9', preset: 'public_chat' });
  const to10 = await rs.performUpgrade({ room_id: older.room_id, user_id: alice, new_version: '10' });
  const create10 = (await rs.queryCurrentState({ room_id: to10.replacement_room, keys: [['m.room.create', '']] })).events[0]!.pdu.content as any;
  t.match(create10.predecessor, { room_id: older.room_id, event_id: /^\$/ }, 'before v12: with the last event known in the old room');
  t.equal(newState.get('m.room.name|')!.pdu.content.name, 'Old', 'name carried over');
  t.equal(newState.get('m.room.topic|')!.pdu.content.topic, 'Kept', 'topic carried over');
  t.equal(newState.get('m.room.join_rules|')!.pdu.content.join_rule, 'public', 'join rules carried over');
  t.same((newState.get('m.room.power_levels|')!.pdu.content as any).users, {}, 'v12: the upgrader is a creator, not listed');
  const oldState = byType((await rs.queryCurrentState({ room_id })).events);
  t.equal(oldState.get('m.room.tombstone|')!.pdu.content.replacement_room, replacement_room, 'a tombstone points to the new room');
  t.equal((oldState.get('m.room.power_levels|')!.pdu.content as any).events_default, 50, 'the old room is quietened');
  await forbidden(t, rs.sendEvent({ room_id, sender: bob, type: 'm.room.message', content: message('still here?') }), /needs level 50/, 'members can no longer talk there');
});
