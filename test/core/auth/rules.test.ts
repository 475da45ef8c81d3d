// Auth events selection, the auth_events list rules, third-party invites
// with real signatures, and rules common to all versions.
import t from 'tap';
import { authEventKeys, checkAuthEventsList, checkAuthWithAuthEvents, selectAuthEvents } from '../../../src/core/auth/index.js';
import { encodeBase64Url } from '../../../src/core/base64.js';
import { generateSigningKey } from '../../../src/core/ed25519.js';
import { signJson } from '../../../src/core/signing.js';
import { TestRoom } from './room.js';

const alice = '@alice:a';
const bob = '@bob:b';
const keys = (room: TestRoom, e: Parameters<typeof authEventKeys>[0]) =>
  authEventKeys(e, room.version).map((k) => `${k.type}|${k.stateKey}`);

t.test('auth events selection', async (t) => {
  const room = new TestRoom('10');
  t.same(keys(room, room.create), [], 'the create event cites nothing');
  t.same(keys(room, room.pdu({ type: 'm.room.message', sender: bob })), ['m.room.create|', 'm.room.power_levels|', `m.room.member|${bob}`]);
  t.same(keys(room, room.member(bob, 'join')), ['m.room.create|', 'm.room.power_levels|', `m.room.member|${bob}`, 'm.room.join_rules|'], 'own join: one member key');
  t.same(keys(room, room.member(bob, 'ban', alice)), ['m.room.create|', 'm.room.power_levels|', `m.room.member|${alice}`, `m.room.member|${bob}`], 'ban: no join rules');
  t.same(
    keys(room, room.member(bob, 'invite', alice, { third_party_invite: { signed: { token: 'tok', mxid: bob } } })),
    ['m.room.create|', 'm.room.power_levels|', `m.room.member|${alice}`, `m.room.member|${bob}`, 'm.room.join_rules|', 'm.room.third_party_invite|tok'],
  );
  t.same(
    keys(room, room.member(bob, 'join', bob, { join_authorised_via_users_server: alice })),
    ['m.room.create|', 'm.room.power_levels|', `m.room.member|${bob}`, 'm.room.join_rules|', `m.room.member|${alice}`],
  );
  room.join(alice);
  t.same(selectAuthEvents(room.pdu({ type: 'm.room.message', sender: alice }), room, room.version).map((e) => e.type), ['m.room.create', 'm.room.member'], 'only present events are selected');
});

t.test('the auth_events list', async (t) => {
  const room = new TestRoom('10').join(alice);
  const jr = room.state_('m.room.join_rules', { join_rule: 'public' }, alice);
  const aliceJoin = room.get('m.room.member', alice)!;
  const message = room.pdu({ type: 'm.room.message', sender: alice });
  t.ok(checkAuthEventsList(message, [room.create, aliceJoin], room.version).allowed, 'the selected events');
  t.notOk(checkAuthEventsList(message, [room.create, aliceJoin, room.create], room.version).allowed, 'a duplicate');
  t.notOk(checkAuthEventsList(message, [room.create, aliceJoin, jr], room.version).allowed, 'join rules for a message');
  t.notOk(checkAuthEventsList(message, [room.create, aliceJoin], room.version, (e) => e === aliceJoin).allowed, 'a rejected entry');
  t.ok(checkAuthWithAuthEvents(message, [room.create, aliceJoin], room.version).allowed, 'allowed by its auth events');
  t.notOk(checkAuthWithAuthEvents(message, [aliceJoin], room.version).allowed, 'no create event among them');
  const foreign = { ...aliceJoin, room_id: '!elsewhere:a' };
  t.notOk(checkAuthWithAuthEvents(message, [room.create, foreign], room.version).allowed, 'an auth event from another room');

  const v12 = new TestRoom('12').join(alice);
  const m12 = v12.pdu({ type: 'm.room.message', sender: alice });
  const join12 = v12.get('m.room.member', alice)!;
  t.notOk(checkAuthWithAuthEvents(m12, [v12.create, join12], v12.version).allowed, 'v12: citing the create event');
  t.ok(checkAuthWithAuthEvents(m12, [join12], v12.version, {}, { create: v12.create }).allowed, 'v12: create event supplied beside the auth events');
  t.notOk(checkAuthWithAuthEvents(m12, [join12], v12.version).allowed, 'v12: no create event known');
});

t.test('third-party invites verify signed against the invite public keys', async (t) => {
  const idServer = generateSigningKey('ed25519:0');
  const room = new TestRoom('10').join(alice);
  room.put(
    room.state_(
      'm.room.third_party_invite',
      { display_name: 'b...', key_validity_url: 'https://id/valid', public_key: 'bm90IGEga2V5', public_keys: [{ public_key: encodeBase64Url(idServer.publicKey) }] },
      alice,
      'tok',
    ),
  );
  const signed = signJson({ mxid: bob, token: 'tok' }, 'id.example', idServer);
  const invite = (s: object, sender = alice) => room.member(bob, 'invite', sender, { third_party_invite: { display_name: 'b...', signed: s as never } });
  t.ok(room.check(invite(signed)).allowed, 'signed by a URL-safe encoded key from public_keys');
  t.notOk(room.check(invite({ ...signed, extra: 1 })).allowed, 'signed object altered after signing');
  t.notOk(room.check(invite(signJson({ mxid: bob, token: 'tok' }, 'id.example', generateSigningKey('ed25519:0')))).allowed, 'signed by another key');
  t.notOk(room.check(invite({ mxid: bob, token: 'tok' })).allowed, 'no signatures');
  t.notOk(room.check(invite({ token: 'tok' })).allowed, 'no mxid');
  room.join('@carol:a');
  t.notOk(room.check(invite(signed, '@carol:a')).allowed, 'sender is not who sent the m.room.third_party_invite');
  room.put(room.member(bob, 'ban', alice));
  t.notOk(room.check(invite(signed)).allowed, 'target is banned');
});

t.test('rules common to all versions', async (t) => {
  for (const v of ['1', '3', '6', '10', '11', '12']) {
    const room = new TestRoom(v).join(alice, bob);
    room.put(room.state_('m.room.power_levels', { users: v === '12' ? { [bob]: 10 } : { [alice]: 100, [bob]: 10 }, invite: 20 }, alice));
    const check = (e: Parameters<TestRoom['check']>[0]) => room.check(e).allowed;
    t.notOk(check(room.pdu({ type: 'm.room.message', sender: '@zed:z' })), `v${v}: a non-member cannot send`);
    t.ok(check(room.pdu({ type: 'm.room.message', sender: bob })), `v${v}: a member sends at events_default`);
    t.notOk(check(room.state_('x.custom', {}, bob, alice)), `v${v}: a state key naming another user`);
    t.notOk(check(room.state_('m.room.third_party_invite', {}, bob, 'tok')), `v${v}: third-party invite below the invite level`);
    t.notOk(check(room.member('@zed:z', 'invite', bob)), `v${v}: invite below the invite level`);
    t.ok(check(room.member('@zed:z', 'invite', alice)), `v${v}: invite at the invite level`);
    t.notOk(check(room.member(alice, 'invite', bob)), `v${v}: invite a joined user`);
    t.notOk(check(room.member('@zed:z', 'leave')), `v${v}: leave without being in the room`);
    t.notOk(check(room.member(bob, 'wave')), `v${v}: unknown membership`);
    t.notOk(check(room.pdu({ type: 'm.room.member', sender: bob, state_key: bob, content: {} })), `v${v}: no membership`);
    t.notOk(check(room.member('@zed:z', 'ban', bob)), `v${v}: ban below the ban level`);
    t.ok(check(room.member('@zed:z', 'ban', alice)), `v${v}: ban at the ban level`);
    t.notOk(check(room.member(bob, 'join')), `v${v}: a join (even a re-join) with no join rules event`);
    room.put(room.state_('m.room.join_rules', { join_rule: 'public' }, alice));
    t.ok(check(room.member(bob, 'join')), `v${v}: a re-join in a public room`);
    t.notOk(check({ ...room.create, prev_events: ['$x'] }), `v${v}: create with prev_events`);
  }
});
