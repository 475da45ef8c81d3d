// Auth rules that differ between room versions, each checked on both sides of the change.
import t, { type Test } from 'tap';
import { authEventKeys } from '../../../src/core/auth/index.js';
import { TestRoom } from './room.js';

const alice = '@alice:a';
const bob = '@bob:b';
const carol = '@carol:c';

function allowed(t: Test, room: TestRoom, event: Parameters<TestRoom['check']>[0], what: string, hooks?: Parameters<TestRoom['check']>[1]) {
  const r = room.check(event, hooks);
  t.ok(r.allowed, `v${room.version.id}: ${what}${r.allowed ? '' : ` (${r.reason})`}`);
}
function denied(t: Test, room: TestRoom, event: Parameters<TestRoom['check']>[0], what: string, hooks?: Parameters<TestRoom['check']>[1]) {
  const r = room.check(event, hooks);
  t.notOk(r.allowed, `v${room.version.id}: ${what}`);
}

t.test('knocking exists from v7', async (t) => {
  for (const v of ['6', '7']) {
    const room = new TestRoom(v).join(alice);
    room.put(room.state_('m.room.join_rules', { join_rule: 'knock' }, alice));
    const knock = room.member(bob, 'knock');
    if (v === '6') denied(t, room, knock, 'knock membership is unknown');
    else allowed(t, room, knock, 'knock under join rule knock');
    room.put(room.member(bob, 'invite', alice));
    // Before v7 "knock" is no join rule at all, so an invite does not help.
    if (v === '6') denied(t, room, room.member(bob, 'join'), 'join under unknown join rule knock');
    else allowed(t, room, room.member(bob, 'join'), 'invited join under join rule knock');
  }
  const room = new TestRoom('7').join(alice);
  room.put(room.state_('m.room.join_rules', { join_rule: 'invite' }, alice));
  denied(t, room, room.member(bob, 'knock'), 'knock under join rule invite');
  room.put(room.state_('m.room.join_rules', { join_rule: 'knock' }, alice), room.member(bob, 'knock'));
  allowed(t, room, room.member(bob, 'leave'), 'retracting a knock');
  denied(t, room, room.member(carol, 'knock', bob), 'knocking for someone else');
});

t.test('restricted joins from v8', async (t) => {
  const via = { join_authorised_via_users_server: alice };
  const signedByAlice = { signatures: { a: { 'ed25519:1': 'sig' } } };
  for (const v of ['7', '8']) {
    const room = new TestRoom(v).join(alice);
    room.put(room.state_('m.room.join_rules', { join_rule: 'restricted', allow: [] }, alice));
    const join = room.pdu({ ...room.member(bob, 'join', bob, via), ...signedByAlice });
    if (v === '7') denied(t, room, join, 'restricted is no join rule');
    else allowed(t, room, join, 'join authorised by a joined user who can invite');
    t.same(
      authEventKeys(join, room.version).some((k) => k.type === 'm.room.member' && k.stateKey === alice),
      v === '8',
      `v${v}: the authorising member event is ${v === '8' ? '' : 'not '}selected`,
    );
  }
  const room = new TestRoom('8').join(alice, carol);
  room.put(
    room.state_('m.room.join_rules', { join_rule: 'restricted', allow: [] }, alice),
    room.state_('m.room.power_levels', { users: { [alice]: 100 }, invite: 50 }, alice),
  );
  const joinVia = (who: string) => room.pdu({ ...room.member(bob, 'join', bob, { join_authorised_via_users_server: who }), ...signedByAlice });
  allowed(t, room, joinVia(alice), 'authoriser at the invite level', { isSignedBy: () => true });
  denied(t, room, joinVia(carol), 'authoriser below the invite level', { isSignedBy: () => true });
  denied(t, room, joinVia('@dave:a'), 'authoriser not joined', { isSignedBy: () => true });
  denied(t, room, joinVia(alice), 'not signed by the authorising server', { isSignedBy: () => false });
  denied(t, room, room.member(bob, 'join', bob, via), 'without a hook, a missing signature from the authorising server');
  denied(t, room, room.member(bob, 'join'), 'no authoriser and no invite');
  t.same(
    room.check(joinVia(alice), { isSignedBy: (_e, server) => server === 'a' }).allowed,
    true,
    'the hook is asked about the authoriser server',
  );
});

t.test('knock_restricted from v10', async (t) => {
  for (const v of ['9', '10']) {
    const room = new TestRoom(v).join(alice);
    room.put(room.state_('m.room.join_rules', { join_rule: 'knock_restricted', allow: [] }, alice));
    const knock = room.member(bob, 'knock');
    const join = room.member(bob, 'join', bob, { join_authorised_via_users_server: alice });
    if (v === '9') {
      denied(t, room, knock, 'knock under unknown join rule');
      denied(t, room, join, 'authorised join under unknown join rule', { isSignedBy: () => true });
    } else {
      allowed(t, room, knock, 'knock under knock_restricted');
      allowed(t, room, join, 'authorised join under knock_restricted', { isSignedBy: () => true });
    }
  }
});

t.test('string power levels before v10, integers only from v10', async (t) => {
  for (const v of ['9', '10']) {
    const room = new TestRoom(v).join(alice, bob);
    const stringy = room.state_('m.room.power_levels', { users: { [alice]: '100', [bob]: ' +050 ' }, ban: '75' }, alice);
    if (v === '9') allowed(t, room, stringy, 'string levels');
    else denied(t, room, stringy, 'string levels');
  }
  // v9 really uses the string values.
  const room = new TestRoom('9').join(alice, bob, carol);
  room.put(room.state_('m.room.power_levels', { users: { [alice]: '100', [bob]: ' +050 ' }, ban: '75', state_default: '40' }, alice));
  denied(t, room, room.member(carol, 'ban', bob), 'bob (50) is below ban "75"');
  allowed(t, room, room.state_('m.room.topic', { topic: 'x' }, bob), 'bob (50) is above state_default "40"');
});

t.test('v9 checks only users; v10 checks every level', async (t) => {
  const room9 = new TestRoom('9').join(alice);
  allowed(t, room9, room9.state_('m.room.power_levels', { users: { [alice]: 100 }, events: { 'm.room.name': '50' } }, alice), 'string in events');
  const room10 = new TestRoom('10').join(alice);
  denied(t, room10, room10.state_('m.room.power_levels', { users: { [alice]: 100 }, events: { 'm.room.name': '50' } }, alice), 'string in events');
  denied(t, room10, room10.state_('m.room.power_levels', { users: { [alice]: 100 }, kick: 50.5 }, alice), 'float kick');
  denied(t, room10, room10.state_('m.room.power_levels', { users: { [alice]: 100 }, notifications: 'x' }, alice), 'notifications not an object');
  denied(t, room10, room10.state_('m.room.power_levels', { users: { 'not-a-user': 1 } }, alice), 'invalid user id key');
  allowed(t, room10, room10.state_('m.room.power_levels', { users: { [alice]: 100 }, notifications: { room: 20 } }, alice), 'all integers');
});

t.test('floats are truncated up to v5 only', async (t) => {
  for (const v of ['5', '6']) {
    const room = new TestRoom(v).join(alice, bob, carol);
    const floaty = room.state_('m.room.power_levels', { users: { [alice]: 100, [bob]: 50.9 }, kick: 50 }, alice);
    if (v === '5') {
      allowed(t, room, floaty, 'float user level');
      room.put(floaty);
      allowed(t, room, room.member(carol, 'leave', bob), 'bob at 50.9 counts as 50 for kick 50');
    } else {
      denied(t, room, floaty, 'float user level');
    }
  }
});

t.test('the m.room.aliases rule exists in v1–v5 only', async (t) => {
  for (const v of ['1', '5', '6']) {
    const room = new TestRoom(v).join(alice, bob);
    const aliases = room.state_('m.room.aliases', { aliases: ['#x:b'] }, bob, 'b');
    // bob is at 0, below state_default 50: only the special rule lets him.
    if (v === '6') denied(t, room, aliases, "aliases for the sender's server, below state_default");
    else allowed(t, room, aliases, "aliases for the sender's server, below state_default");
  }
  const room = new TestRoom('5').join(alice, bob);
  denied(t, room, room.state_('m.room.aliases', { aliases: [] }, bob, 'a'), "aliases for another server");
  denied(t, room, room.pdu({ type: 'm.room.aliases', sender: bob, content: { aliases: [] } }), 'aliases without a state_key');
  // The rule comes before the membership check: a server's aliases need no member.
  allowed(t, room, room.state_('m.room.aliases', { aliases: [] }, '@zed:z', 'z'), 'aliases from a non-member');
});

t.test('notifications levels are checked from v6', async (t) => {
  for (const v of ['5', '6']) {
    const room = new TestRoom(v).join(alice, bob);
    room.put(room.state_('m.room.power_levels', { users: { [alice]: 100, [bob]: 50 }, notifications: { room: 50 } }, alice));
    const raise = room.state_('m.room.power_levels', { users: { [alice]: 100, [bob]: 50 }, notifications: { room: 100 } }, bob);
    if (v === '5') allowed(t, room, raise, 'moderator sets notifications.room above own level');
    else denied(t, room, raise, 'moderator sets notifications.room above own level');
    allowed(t, room, room.state_('m.room.power_levels', { users: { [alice]: 100, [bob]: 50 }, notifications: { room: 20 } }, bob), 'moderator lowers notifications.room');
  }
});

t.test('v11 takes the creator from the create sender', async (t) => {
  const v10 = new TestRoom('10', { createContent: {} });
  denied(t, v10, v10.create, 'create without content.creator');
  const v11 = new TestRoom('11', { createContent: {} });
  allowed(t, v11, v11.create, 'create without content.creator');

  for (const v of ['10', '11']) {
    const room = new TestRoom(v, { createContent: { creator: '@mallory:a' } });
    const firstJoin = room.pdu({ ...room.member(alice, 'join'), prev_events: [room.create.event_id!] });
    if (v === '10') denied(t, room, firstJoin, 'first join by the sender when content.creator names someone else');
    else allowed(t, room, firstJoin, 'first join by the create sender');
    const malloryJoin = room.pdu({ ...room.member('@mallory:a', 'join'), prev_events: [room.create.event_id!] });
    if (v === '10') allowed(t, room, malloryJoin, 'first join by content.creator');
    else denied(t, room, malloryJoin, 'first join by content.creator');
  }
  // Without power levels the creator holds 100, others 0.
  const room = new TestRoom('11').join(alice, bob);
  allowed(t, room, room.state_('m.room.name', { name: 'n' }, alice), 'creator sends state before power levels exist');
  denied(t, room, room.state_('m.room.name', { name: 'n' }, bob), 'non-creator sends state before power levels exist');
  denied(t, room, room.pdu({ ...room.member(alice, 'join', bob), prev_events: [room.create.event_id!] }), 'first join sent on the creator’s behalf');
});

t.test('v12 create event, room id and creators', async (t) => {
  const room = new TestRoom('12', { createContent: { additional_creators: [carol] } });
  allowed(t, room, room.create, 'create without room_id');
  denied(t, room, { ...room.create, room_id: '!x:a' }, 'create with a room_id');
  denied(t, room, { ...room.create, content: { additional_creators: ['nope'] } }, 'additional_creators with an invalid user id');
  denied(t, room, { ...room.create, content: { additional_creators: '@x:y' } }, 'additional_creators not a list');

  const firstJoin = room.pdu({ ...room.member(alice, 'join'), prev_events: [room.create.event_id!] });
  allowed(t, room, firstJoin, 'first join of the create sender');
  room.join(alice, bob, carol);
  denied(t, room, { ...room.state_('m.room.topic', { topic: 't' }, alice), room_id: '!other' }, 'event whose room id is not the create event id');
  allowed(t, room, room.state_('m.room.topic', { topic: 't' }, alice), 'event in the room named by the create event');

  denied(t, room, room.state_('m.room.power_levels', { users: { [alice]: 100 } }, alice), 'power levels listing the create sender');
  denied(t, room, room.state_('m.room.power_levels', { users: { [carol]: 100 } }, alice), 'power levels listing an additional creator');
  const levels = room.state_('m.room.power_levels', { users: { [bob]: 100 } }, alice);
  allowed(t, room, levels, 'power levels without creators');
  room.put(levels);

  // Creators outrank everyone, even a 100 that v11 would treat as an equal.
  allowed(t, room, room.member(bob, 'ban', carol), 'additional creator bans a 100');
  denied(t, room, room.member(carol, 'leave', bob), 'a 100 kicks an additional creator');
  denied(t, room, room.member(alice, 'ban', bob), 'a 100 bans the create sender');
  denied(t, room, room.state_('m.room.power_levels', { users: { [bob]: 100, [carol]: 0 } }, bob), 'a 100 demotes a creator');
  t.same(authEventKeys(room.member(bob, 'leave'), room.version).map((k) => k.type), ['m.room.power_levels', 'm.room.member'], 'the create event is not selected');

  // The same room in v11: the creator listed nowhere in users is at users_default.
  const v11 = new TestRoom('11').join(alice, bob);
  v11.put(v11.state_('m.room.power_levels', { users: { [bob]: 100 } }, alice));
  denied(t, v11, v11.member(bob, 'ban', alice), 'v11: the creator without a users entry bans a 100');
  allowed(t, v11, v11.state_('m.room.power_levels', { users: { [alice]: 100 } }, bob), 'v11: power levels may list the creator');
});

t.test('v12 rejects a create event whose id does not match the room', async (t) => {
  const room = new TestRoom('12').join(alice);
  const other = new TestRoom('12');
  // The state's create event belongs to another room.
  room.put(other.create);
  denied(t, room, room.state_('m.room.topic', { topic: 't' }, alice), 'room id of a different create event');
  room.put(room.create);
  allowed(t, room, room.state_('m.room.topic', { topic: 't' }, alice), 'room id of the create event in the state');
  const unknownId = { ...room.create };
  delete unknownId.event_id;
  room.put(unknownId);
  denied(t, room, room.state_('m.room.topic', { topic: 't' }, alice), 'create event id unknown');
  allowed(t, room, room.state_('m.room.topic', { topic: 't' }, alice), 'create event id from the eventIdOf hook', {
    eventIdOf: (e) => (e === unknownId ? room.create.event_id : undefined),
  });
});

t.test('redaction auth rule only in v1/v2', async (t) => {
  for (const v of ['2', '3']) {
    const room = new TestRoom(v).join(alice, bob);
    const redaction = room.pdu({ type: 'm.room.redaction', sender: bob, redacts: '$other:z', event_id: '$r1:b', content: {} });
    if (v === '2') denied(t, room, redaction, "redacting another server's event below the redact level");
    else allowed(t, room, redaction, 'redactions pass auth; redact level is applied later');
    allowed(t, room, room.pdu({ type: 'm.room.redaction', sender: bob, redacts: '$mine:b', event_id: '$r2:b', content: {} }), 'redacting an event from the same server');
  }
});

t.test('m.federate: false keeps other servers out', async (t) => {
  const room = new TestRoom('10', { createContent: { creator: alice, 'm.federate': false } }).join(alice);
  room.put(room.state_('m.room.join_rules', { join_rule: 'public' }, alice));
  denied(t, room, room.member(bob, 'join'), 'join from another server');
  allowed(t, room, room.member('@dan:a', 'join'), 'join from the creating server');
});
