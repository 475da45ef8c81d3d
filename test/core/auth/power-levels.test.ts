// Reading power levels, and the rule on who may change them.
import t from 'tap';
import {
  LEVEL_DEFAULTS,
  parseLevel,
  powerLevelsChangeProblem,
  roomPowers,
} from '../../../src/core/auth/index.js';
import { roomVersion } from '../../../src/core/room-versions.js';
import { TestRoom } from './room.js';

const v1 = roomVersion('1')!;
const v7 = roomVersion('7')!;
const v10 = roomVersion('10')!;
const v12 = roomVersion('12')!;

t.test('parseLevel per version', async (t) => {
  t.equal(parseLevel(50, v10), 50);
  t.equal(parseLevel('50', v10), undefined, 'v10: strings are not levels');
  t.equal(parseLevel(' 00100 ', v7), 100, 'leading zeros and whitespace');
  t.equal(parseLevel('+100', v7), 100);
  t.equal(parseLevel('-100', v7), -100);
  t.equal(parseLevel('1.5', v7), undefined, 'no decimal point in strings');
  t.equal(parseLevel('1e3', v7), undefined, 'no exponent in strings');
  t.equal(parseLevel('', v7), undefined);
  t.equal(parseLevel('99999999999999999999', v7), undefined, 'beyond 2^53');
  t.equal(parseLevel(51146.98, v1), 51146, 'v1: floats truncate');
  t.equal(parseLevel(-0.5, v1), 0, 'v1: truncation toward zero');
  t.equal(parseLevel(50.5, v7), undefined, 'v7: floats are not levels');
  t.equal(parseLevel(2 ** 60, v10), undefined, 'v10: outside canonical JSON range');
  t.equal(parseLevel(true, v1), undefined);
  t.equal(parseLevel(null, v1), undefined);
});

t.test('roomPowers defaults and creators', async (t) => {
  const room = new TestRoom('10');
  const none = roomPowers(room.create, undefined, room.version);
  t.equal(none.userLevel('@alice:a'), 100, 'creator holds 100 before power levels exist');
  t.equal(none.userLevel('@bob:b'), 0);
  t.same(
    { ban: none.level('ban'), kick: none.level('kick'), redact: none.level('redact'), invite: none.level('invite') },
    { ban: 50, kick: 50, redact: 50, invite: 0 },
    'spec defaults',
  );
  t.equal(none.eventLevel('m.room.name', true), 50, 'state_default');
  t.equal(none.eventLevel('m.room.message', false), 0, 'events_default');
  t.equal(none.notificationLevel('room'), 50);

  const pl = room.state_('m.room.power_levels', { users: { '@bob:b': 20 }, users_default: 5, events: { 'm.room.message': 10 }, state_default: 30 }, '@alice:a');
  const some = roomPowers(room.create, pl, room.version);
  t.equal(some.userLevel('@alice:a'), 5, 'once power levels exist the creator has no implicit level');
  t.equal(some.userLevel('@bob:b'), 20);
  t.equal(some.eventLevel('m.room.message', false), 10);
  t.equal(some.eventLevel('m.room.topic', true), 30);
  t.equal(some.eventLevel('m.room.message', true), 10, 'events applies to state and message events alike');
  t.equal(some.level('ban'), LEVEL_DEFAULTS.ban);

  const v12room = new TestRoom('12', { createContent: { additional_creators: ['@carol:c'] } });
  const v12powers = roomPowers(v12room.create, undefined, v12);
  t.equal(v12powers.userLevel('@alice:a'), Infinity, 'v12 creator');
  t.equal(v12powers.userLevel('@carol:c'), Infinity, 'v12 additional creator');
  t.equal(v12powers.userLevel('@bob:b'), 0);
  const v11room = new TestRoom('11', { createContent: { additional_creators: ['@carol:c'] } });
  t.equal(roomPowers(v11room.create, undefined, v11room.version).userLevel('@carol:c'), 0, 'additional_creators means nothing before v12');
});

t.test('who may change power levels', async (t) => {
  const before = { users: { '@admin:a': 100, '@mod:a': 50, '@user:a': 0 }, ban: 50, events: { 'm.room.name': 50, 'm.room.tombstone': 100 } };
  const change = (after: object, sender = '@mod:a', level = 50) => powerLevelsChangeProblem(before, after, sender, level, v10);
  t.equal(change(before), undefined, 'no change');
  t.equal(change({ ...before, users: { ...before.users, '@user:a': 50 } }), undefined, 'raise someone up to own level');
  t.type(change({ ...before, users: { ...before.users, '@user:a': 51 } }), 'string', 'raise someone above own level');
  t.type(change({ ...before, users: { ...before.users, '@admin:a': 40 } }), 'string', 'demote someone above');
  t.type(change({ ...before, users: { ...before.users, '@other:a': 50, '@mod2:a': 0 } }), 'undefined', 'add users up to own level');
  t.equal(change({ ...before, users: { '@admin:a': 100, '@user:a': 0 } }), undefined, 'remove own entry');
  t.equal(change({ ...before, users: { ...before.users, '@mod:a': 10 } }), undefined, 'demote self');
  t.type(change({ ...before, users: { '@admin:a': 100, '@mod:a': 50, '@user:a': 0, '@peer:a': 50 } }, '@mod:a', 50), 'undefined', 'add a peer at own level');
  const withPeer = { ...before, users: { ...before.users, '@peer:a': 50 } };
  t.type(powerLevelsChangeProblem(withPeer, before, '@mod:a', 50, v10), 'string', 'remove a peer at the same level');
  t.type(change({ ...before, ban: 60 }), 'string', 'raise ban above own level');
  t.type(change({ ...before, ban: 10 }), 'undefined', 'lower ban from own level');
  t.type(change({ ...before, kick: 60 }), 'string', 'add kick above own level');
  t.type(change({ users: before.users, ban: 50, events: { 'm.room.name': 50 } }), 'string', 'remove an events entry above own level');
  t.type(change({ ...before, events: { ...before.events, 'm.room.topic': 40 } }), 'undefined', 'add an events entry below own level');
  t.type(change({ ...before, events: { ...before.events, 'm.room.topic': 60 } }), 'string', 'add an events entry above own level');
  t.type(change({ ...before, users_default: 51 }), 'string', 'users_default above own level');
});

t.test('the power levels rule in context', async (t) => {
  const room = new TestRoom('10').join('@alice:a', '@bob:b');
  t.ok(room.check(room.state_('m.room.power_levels', { users: { '@alice:a': 100, '@bob:b': 100 } }, '@alice:a')).allowed, 'first power levels may give anyone anything');
  t.notOk(room.check(room.state_('m.room.power_levels', { users: { '@alice:a': 100 } }, '@bob:b')).allowed, 'bob (0) cannot send power levels');
  room.put(room.state_('m.room.power_levels', { users: { '@alice:a': 100, '@bob:b': 50 } }, '@alice:a'));
  t.notOk(room.check(room.state_('m.room.power_levels', { users: { '@alice:a': 0, '@bob:b': 50 } }, '@bob:b')).allowed, 'bob cannot demote alice');
  t.ok(room.check(room.state_('m.room.power_levels', { users: { '@alice:a': 0, '@bob:b': 50 } }, '@alice:a')).allowed, 'alice can demote herself');
});
