/**
 * Push rule evaluation against the spec's default rules and its examples:
 * every condition kind, intentional mentions, the order of kinds, and
 * rule edits made with the UserAPI's own ruleset functions (so the rules
 * evaluated are the ones `queryPushRules` returns).
 */
import t from 'tap';
import { roomPowers } from '../../../src/core/auth/power-levels.js';
import type { PDU } from '../../../src/core/events/pdu.js';
import { evaluatePushRules, type PushContext, type PushEvent, type PushRuleset } from '../../../src/core/push/index.js';
import { globMatches, globMatchesWords } from '../../../src/core/push/glob.js';
import { splitPath, valueAt } from '../../../src/core/push/path.js';
import { conditionHolds } from '../../../src/core/push/conditions.js';
import { roomVersion } from '../../../src/core/room-versions.js';
import * as userRules from '../../../src/components/userapi/push-rules/ruleset.js';
import { specDefaultRules } from './spec-defaults.js';

const ME = '@me:example.org';
const ALICE = '@alice:example.org';
const ROOM = '!room:example.org';
const v10 = roomVersion('10')!;
const create: PDU = { type: 'm.room.create', sender: ALICE, state_key: '', content: { creator: ALICE, room_version: '10' }, origin_server_ts: 0, depth: 1, prev_events: [], auth_events: [], hashes: { sha256: '' }, signatures: {} };
const powerLevels = (content: Record<string, unknown>): PDU => ({ ...create, type: 'm.room.power_levels', content: content as never });
const powers = roomPowers(create, powerLevels({ users: { [ALICE]: 100, '@mod:example.org': 50 }, users_default: 0 }), v10);

const ctx = (over: Partial<PushContext> = {}): PushContext => ({ user_id: ME, room_id: ROOM, member_count: 5, display_name: 'Me Myself', powers, ...over });
const msg = (body: string, extra: Record<string, unknown> = {}, sender = ALICE): PushEvent => ({ type: 'm.room.message', sender, room_id: ROOM, content: { msgtype: 'm.text', body, ...extra } });
const ev = (type: string, content: Record<string, unknown>, more: Partial<PushEvent> = {}): PushEvent => ({ type, sender: ALICE, room_id: ROOM, content, ...more });
const defaults = specDefaultRules(ME);
const run = (event: PushEvent, c = ctx(), rules: PushRuleset = defaults) => evaluatePushRules(rules, event, c);
const summary = (event: PushEvent, c = ctx(), rules: PushRuleset = defaults) => {
  const r = run(event, c, rules);
  return `${r.rule ?? 'none'} notify=${r.notify} highlight=${r.highlight}${r.tweaks.sound !== undefined ? ` sound=${String(r.tweaks.sound)}` : ''}`;
};

t.test("the UserAPI's server-default rules are the spec's, in the spec's order", async (t) => {
  t.same(userRules.ruleset(ME, userRules.emptyPushRules()), defaults);
});

t.test('dot-separated property paths', async (t) => {
  t.same(splitPath('content.body'), ['content', 'body']);
  t.same(splitPath('content.m\\.relates_to.rel_type'), ['content', 'm.relates_to', 'rel_type']);
  t.same(splitPath('content.m\\\\foo'), ['content', 'm\\foo'], 'an escaped backslash');
  t.same(splitPath('content.a\\xb'), ['content', 'a\\xb'], 'other escapes stay as they are');
  t.equal(valueAt({ content: { 'm.relates_to': { rel_type: 'm.thread' } } }, 'content.m\\.relates_to.rel_type'), 'm.thread');
  t.equal(valueAt({ content: { m: { relates_to: 1 } } }, 'content.m\\.relates_to'), undefined, 'the escaped dot is not a step');
  t.equal(valueAt({ content: [1] }, 'content.0'), undefined, 'arrays are not stepped into');
  t.equal(valueAt({ content: {} }, 'content.constructor'), undefined, 'only own properties');
});

t.test("glob matching: the spec's examples", async (t) => {
  t.ok(globMatches('lunc?*', 'Lunch plans'));
  t.ok(globMatches('lunc?*', 'LUNCH'), 'case-insensitive; * may match nothing');
  t.notOk(globMatches('lunc?*', ' lunch'), 'the whole value must match');
  t.notOk(globMatches('lunc?*', 'lunc'), '? is one character');
  t.ok(globMatches('a?c', 'a😀c'), '? is one character, not one UTF-16 unit');
  t.ok(globMatches('a*c', 'a\nb\nc'), '* crosses line breaks');
  t.ok(globMatches('a.c(', 'A.C('), 'other characters are literal');
  t.notOk(globMatches('a.c', 'abc'));
  t.ok(globMatchesWords('ex*ple', 'An example event.'));
  t.ok(globMatchesWords('ex*ple', 'exple'), 'at the start and end of the body');
  t.ok(globMatchesWords('ex*ple', 'An exciting triple-whammy'), 'across words; - separates words');
  t.notOk(globMatchesWords('ex*ple', 'examples'), 'must end at a word boundary');
  t.notOk(globMatchesWords('cake', 'pancake'), 'must start at a word boundary');
  t.ok(globMatchesWords('cake', 'I like CAKE!'));
  t.notOk(globMatchesWords('cake', 'cake_'), '_ is a word character');
});

t.test('conditions', async (t) => {
  const c = ctx();
  const topic = ev('m.room.topic', { topic: 'Lunch plans' }, { state_key: '' });
  t.ok(conditionHolds({ kind: 'event_match', key: 'content.topic', pattern: 'lunc?*' }, topic, c));
  t.notOk(conditionHolds({ kind: 'event_match', key: 'content.topic', pattern: '*' }, ev('m.room.topic', { topic: null }), c), 'not a string: no match even for *');
  t.notOk(conditionHolds({ kind: 'event_match', key: 'content.nothing', pattern: '*' }, topic, c), 'absent: no match even for *');
  t.notOk(conditionHolds({ kind: 'event_match', key: 'content.topic' }, topic, c), 'no pattern');
  t.ok(conditionHolds({ kind: 'event_match', key: 'state_key', pattern: '' }, topic, c), 'an empty state key');

  const createEv = ev('m.room.create', { creator: ALICE, 'm.federate': true, predecessor: { event_id: '$x', room_id: '!old:example.org' }, room_version: '1' }, { state_key: '' });
  const is = (key: string, value: unknown, e = createEv) => conditionHolds({ kind: 'event_property_is', key, value }, e, c);
  t.ok(is('content.m\\.federate', true), 'm.federate true');
  t.notOk(is('content.m\\.federate', 'true'), 'no casting from a string');
  t.notOk(is('content.m\\.federate', 1), 'no casting from a number');
  t.ok(is('content.n', 3, ev('x', { n: 3 })));
  t.ok(is('content.n', null, ev('x', { n: null })), 'null is a value');
  t.notOk(is('content.n', null, ev('x', {})), 'absent is not null');
  t.notOk(is('content.n', { a: 1 }, ev('x', { n: { a: 1 } })), 'compound values never match');
  t.notOk(is('content.n', 1.5, ev('x', { n: 1.5 })), 'only integers');

  const aliases = ev('m.room.canonical_alias', { alias: '#somewhere:localhost', alt_aliases: ['#somewhere:example.org', '#myroom:example.com'] }, { state_key: '' });
  const contains = (value: unknown, e = aliases) => conditionHolds({ kind: 'event_property_contains', key: 'content.alt_aliases', value }, e, c);
  t.ok(contains('#myroom:example.com'));
  t.notOk(contains(':example.com'), 'partial values do not match');
  t.notOk(contains('#somewhere:localhost', ev('m.room.canonical_alias', { alt_aliases: '#somewhere:localhost' })), 'not an array');
  t.ok(contains(2, ev('x', { alt_aliases: [{ a: 2 }, 2] })), 'compound elements are skipped');

  const count = (is: unknown, n: number) => conditionHolds({ kind: 'room_member_count', is }, msg('hi'), ctx({ member_count: n }));
  t.ok(count('2', 2));
  t.ok(count('==2', 2));
  t.notOk(count('2', 3));
  t.ok(count('<3', 2));
  t.notOk(count('<2', 2));
  t.ok(count('>1', 2));
  t.ok(count('>=2', 2));
  t.ok(count('<=2', 2));
  t.notOk(count('<=1', 2));
  t.notOk(count('=2', 2), 'an unknown prefix');
  t.notOk(count(2, 2), 'not a string');

  const may = (sender: string, key = 'room', p = powers) => conditionHolds({ kind: 'sender_notification_permission', key }, msg('x', {}, sender), ctx({ powers: p }));
  t.ok(may(ALICE), 'power 100 ≥ the default 50');
  t.ok(may('@mod:example.org'), 'power 50 ≥ 50');
  t.notOk(may('@user:example.org'), 'power 0 < 50');
  const strict = roomPowers(create, powerLevels({ users: { '@mod:example.org': 50 }, notifications: { room: 60 } }), v10);
  t.notOk(may('@mod:example.org', 'room', strict), 'the room raised the level to 60');
  t.notOk(conditionHolds({ kind: 'sender_notification_permission', key: 'room' }, msg('x'), ctx({ powers: undefined })), 'no power levels known: never');

  const name = (body: string, display = 'Me Myself') => conditionHolds({ kind: 'contains_display_name' }, msg(body), ctx({ display_name: display }));
  t.ok(name('hello me myself!'), 'case-insensitive, between word boundaries');
  t.notOk(name('hello Me Myselfish'), 'not inside a word');
  t.ok(name('ping [me]*?', '[me]*?'), 'the name is literal text, not a glob');
  t.notOk(name('ping memememe', 'me*'));
  t.notOk(name('hello', ''), 'no display name');

  t.notOk(conditionHolds({ kind: 'org.example.unknown' }, msg('x'), c), 'an unknown kind never matches');
  t.notOk(conditionHolds('event_match', msg('x'), c), 'not an object');
});

t.test('the default rules on real-shaped events', async (t) => {
  const cases: [string, PushEvent, PushContext | undefined, string][] = [
    ['a message in a group room', msg('hello all'), undefined, 'underride/.m.rule.message notify=true highlight=false'],
    ['a message in a one-to-one room', msg('hello you'), ctx({ member_count: 2 }), 'underride/.m.rule.room_one_to_one notify=true highlight=false sound=default'],
    ['a notice', msg('bot says', { msgtype: 'm.notice' }), undefined, 'override/.m.rule.suppress_notices notify=false highlight=false'],
    ['a user mention', msg('hi', { 'm.mentions': { user_ids: [ME] } }), undefined, 'override/.m.rule.is_user_mention notify=true highlight=true sound=default'],
    ['a mention of someone else', msg('hi', { 'm.mentions': { user_ids: ['@other:example.org'] } }), undefined, 'underride/.m.rule.message notify=true highlight=false'],
    ['my display name in the body without m.mentions (no legacy rule since v1.17)', msg('Me Myself, look'), undefined, 'underride/.m.rule.message notify=true highlight=false'],
    ['a room mention by a moderator', msg('@room', { 'm.mentions': { room: true } }, '@mod:example.org'), undefined, 'override/.m.rule.is_room_mention notify=true highlight=true'],
    ['a room mention by someone without the power', msg('@room', { 'm.mentions': { room: true } }, '@user:example.org'), undefined, 'underride/.m.rule.message notify=true highlight=false'],
    ['m.mentions.room as a string', msg('@room', { 'm.mentions': { room: 'true' } }), undefined, 'underride/.m.rule.message notify=true highlight=false'],
    ['an edit', msg('* fixed', { 'm.new_content': { body: 'fixed' }, 'm.relates_to': { rel_type: 'm.replace', event_id: '$e' }, 'm.mentions': { user_ids: [ME] } }), undefined, 'override/.m.rule.is_user_mention notify=true highlight=true sound=default'],
    ['an edit without mentions', msg('* fixed', { 'm.relates_to': { rel_type: 'm.replace', event_id: '$e' } }), undefined, 'override/.m.rule.suppress_edits notify=false highlight=false'],
    ['a reaction', ev('m.reaction', { 'm.relates_to': { rel_type: 'm.annotation', event_id: '$e', key: '👍' } }), undefined, 'override/.m.rule.reaction notify=false highlight=false'],
    ['an invite for me', ev('m.room.member', { membership: 'invite' }, { state_key: ME }), undefined, 'override/.m.rule.invite_for_me notify=true highlight=false sound=default'],
    ['an invite for someone else', ev('m.room.member', { membership: 'invite' }, { state_key: '@other:example.org' }), undefined, 'override/.m.rule.member_event notify=false highlight=false'],
    ['a join', ev('m.room.member', { membership: 'join' }, { state_key: ALICE }), undefined, 'override/.m.rule.member_event notify=false highlight=false'],
    ['a tombstone', ev('m.room.tombstone', { body: 'moved', replacement_room: '!new:example.org' }, { state_key: '' }), undefined, 'override/.m.rule.tombstone notify=true highlight=true'],
    ['a tombstone that is not a state event', ev('m.room.tombstone', { body: 'moved' }), undefined, 'none notify=false highlight=false'],
    ['a server ACL', ev('m.room.server_acl', { allow: ['*'] }, { state_key: '' }), undefined, 'override/.m.rule.room.server_acl notify=false highlight=false'],
    ['a call invite', ev('m.call.invite', { call_id: '1', version: '1' }), undefined, 'underride/.m.rule.call notify=true highlight=false sound=ring'],
    ['encrypted, one to one', ev('m.room.encrypted', { algorithm: 'm.megolm.v1.aes-sha2', ciphertext: 'x' }), ctx({ member_count: 2 }), 'underride/.m.rule.encrypted_room_one_to_one notify=true highlight=false sound=default'],
    ['encrypted, in a group', ev('m.room.encrypted', { algorithm: 'm.megolm.v1.aes-sha2', ciphertext: 'x' }), undefined, 'underride/.m.rule.encrypted notify=true highlight=false'],
    ['a topic change', ev('m.room.topic', { topic: 'x' }, { state_key: '' }), undefined, 'none notify=false highlight=false'],
    ['my own message mentioning me', msg('note to self', { 'm.mentions': { user_ids: [ME] } }, ME), undefined, 'none notify=false highlight=false'],
  ];
  for (const [what, event, c, expected] of cases) t.equal(summary(event, c), expected, what);
  const r = run(msg('hi', { 'm.mentions': { user_ids: [ME] } }));
  t.same(r.actions, ['notify', { set_tweak: 'sound', value: 'default' }, { set_tweak: 'highlight' }], 'the actions as the rule gives them');
  t.same(r.tweaks, { sound: 'default', highlight: true }, 'a highlight tweak without a value is true');
});

t.test('rule edits, made as the UserAPI makes them', async (t) => {
  const edit = (...changes: ((s: userRules.StoredPushRules) => userRules.StoredPushRules)[]) =>
    userRules.ruleset(ME, changes.reduce((s, f) => f(s), userRules.emptyPushRules()));
  const put = (kind: 'override' | 'content' | 'room' | 'sender' | 'underride', id: string, body: userRules.RuleBody, place = {}) => (s: userRules.StoredPushRules) => userRules.putRule(s, kind, id, body, place);
  const enable = (kind: 'override' | 'underride', id: string, on: boolean) => (s: userRules.StoredPushRules) => userRules.setEnabled(ME, s, kind, id, on);
  const actions = (kind: 'override' | 'underride', id: string, a: unknown) => (s: userRules.StoredPushRules) => userRules.setActions(ME, s, kind, id, a);
  const mention = msg('hi', { 'm.mentions': { user_ids: [ME] } });

  const master = edit(enable('override', '.m.rule.master', true));
  t.equal(summary(mention, undefined, master), 'override/.m.rule.master notify=false highlight=false', 'the master rule silences everything');
  t.equal(summary(ev('m.room.member', { membership: 'invite' }, { state_key: ME }), undefined, master), 'override/.m.rule.master notify=false highlight=false');

  const mutedRoom = edit(put('room', ROOM, { actions: [] }));
  t.equal(summary(msg('hi'), undefined, mutedRoom), `room/${ROOM} notify=false highlight=false`, 'a muted room');
  t.equal(summary({ ...msg('hi'), room_id: '!other:example.org' }, ctx({ room_id: '!other:example.org' }), mutedRoom), 'underride/.m.rule.message notify=true highlight=false', 'other rooms are not');
  t.equal(summary(mention, undefined, mutedRoom), 'override/.m.rule.is_user_mention notify=true highlight=true sound=default', 'overrides still win over a room rule');

  const spam = edit(put('sender', '@spam:example.org', { actions: ['dont_notify'] }));
  t.equal(summary(msg('buy', {}, '@spam:example.org'), undefined, spam), 'sender/@spam:example.org notify=false highlight=false', 'a historical dont_notify means nothing: no notification');

  const cake = edit(put('content', 'cake', { pattern: 'cake', actions: ['notify', { set_tweak: 'sound', value: 'cakealarm.wav' }] }), put('content', 'lie', { pattern: 'cake*lie', actions: ['notify'] }, { before: 'cake' }));
  t.equal(summary(msg('It is time for CAKE!'), undefined, cake), 'content/cake notify=true highlight=false sound=cakealarm.wav', 'a content rule');
  t.equal(summary(msg('the cake is a lie'), undefined, cake), 'content/lie notify=true highlight=false', 'the rule placed before wins');
  t.equal(summary(msg('pancakes'), undefined, cake), 'underride/.m.rule.message notify=true highlight=false', 'word boundaries');
  t.equal(summary(msg('cake', { msgtype: 'm.notice' }), undefined, cake), 'override/.m.rule.suppress_notices notify=false highlight=false', 'overrides come before content rules');

  const quiet = edit(put('override', 'no-messages', { conditions: [{ kind: 'event_match', key: 'type', pattern: 'm.room.message' }], actions: [] }));
  t.equal(summary(mention, undefined, quiet), 'override/no-messages notify=false highlight=false', "the user's overrides rank above the default overrides");

  const beer = edit(put('override', 'beer', { conditions: [{ kind: 'event_match', key: 'content.body', pattern: 'beer' }, { kind: 'room_member_count', is: '<=10' }], actions: ['notify', { set_tweak: 'sound', value: 'beeroclock.wav' }] }));
  t.equal(summary(msg('Beer?'), undefined, beer), 'override/beer notify=true highlight=false sound=beeroclock.wav', "the spec's beer example");
  t.equal(summary(msg('Beer?'), ctx({ member_count: 11 }), beer), 'underride/.m.rule.message notify=true highlight=false', '…not in a big room');

  const name = edit(put('override', 'my-name', { conditions: [{ kind: 'contains_display_name' }], actions: ['notify', { set_tweak: 'highlight' }] }));
  t.equal(summary(msg('Hey me myself'), undefined, name), 'override/my-name notify=true highlight=true', 'contains_display_name in a user rule');

  const unknown = edit(put('override', 'future', { conditions: [{ kind: 'org.example.future' }], actions: ['notify', { set_tweak: 'highlight' }] }));
  t.equal(summary(msg('x'), undefined, unknown), 'underride/.m.rule.message notify=true highlight=false', 'a rule with an unknown condition never matches');

  const noMessages = edit(enable('underride', '.m.rule.message', false));
  t.equal(summary(msg('x'), undefined, noMessages), 'none notify=false highlight=false', 'a disabled default rule never matches');
  t.equal(summary(msg('x'), ctx({ member_count: 2 }), noMessages), 'underride/.m.rule.room_one_to_one notify=true highlight=false sound=default', 'others still do');

  const loud = edit(actions('underride', '.m.rule.message', ['notify', { set_tweak: 'highlight', value: true }]));
  t.equal(summary(msg('x'), undefined, loud), 'underride/.m.rule.message notify=true highlight=true', 'changed actions of a default rule');
  const unhighlight = edit(actions('override', '.m.rule.is_user_mention', ['notify', { set_tweak: 'highlight', value: false }]));
  t.equal(summary(mention, undefined, unhighlight), 'override/.m.rule.is_user_mention notify=true highlight=false', 'highlight: false');
  const highlightOnly = edit(actions('override', '.m.rule.is_user_mention', [{ set_tweak: 'highlight' }]));
  t.equal(summary(mention, undefined, highlightOnly), 'override/.m.rule.is_user_mention notify=false highlight=false', 'no notify: no highlight counted either');
});

t.test('evaluated again and again (the SyncAPI does, per recipient): the same answers, and the shared ones cannot be changed', async (t) => {
  const mention = () => msg('hello', { 'm.mentions': { user_ids: [ME] } });
  const first = run(mention());
  const second = run(mention());
  t.same(second, first, 'the same outcome');
  t.ok(first.highlight, 'a mention highlights');
  t.ok(Object.isFrozen(first) && Object.isFrozen(first.actions) && Object.isFrozen(first.tweaks), 'shared between evaluations, so frozen');
  t.throws(() => (first.actions as unknown[]).push('notify'), 'a caller cannot change what the next evaluation returns');
  t.same(run(mention()).actions, second.actions);
  t.notOk(run(msg('hello')).highlight, 'and the next event gets its own rule');
  // Parsed once per value: the cached parse answers the same, for valid and invalid values.
  for (let i = 0; i < 3; i++) {
    t.notOk(conditionHolds({ kind: 'room_member_count', is: '=2' }, msg('hi'), ctx({ member_count: 2 })), `an unknown prefix, time ${i + 1}`);
    t.ok(conditionHolds({ kind: 'room_member_count', is: '<3' }, msg('hi'), ctx({ member_count: 2 })), `<3 with 2 members, time ${i + 1}`);
    t.notOk(conditionHolds({ kind: 'room_member_count', is: '<3' }, msg('hi'), ctx({ member_count: 3 })), `<3 with 3 members, time ${i + 1}`);
  }
  // A pattern compiled for whole-value matching is not reused for word matching, nor the other way round.
  t.ok(globMatches('cake', 'cake'));
  t.notOk(globMatchesWords('cake', 'cheesecake'), 'words: not inside a word');
  t.notOk(globMatches('cake', 'lie cake'), 'whole value: not a word of it');
  t.ok(globMatchesWords('cake', 'lie cake'));
});
