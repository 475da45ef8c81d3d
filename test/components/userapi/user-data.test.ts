/**
 * A user's data in the UserAPI, over its socket: profile fields, account
 * data (and its log), filters, push rules, pushers, the user directory;
 * bad input refused with nothing changed.
 */
import t, { type Test } from 'tap';
import { userApi } from '../../../src/components/userapi/api.js';
import { accountDataChanges, userChanges, type AccountDataChange, type UserChange } from '../../../src/components/userapi/topics.js';
import { logReaderApi } from '../../../src/platform/log/reader-api.js';
import { startComponents } from '../../helpers/components.js';

const SERVER = 'test.neurite.local';
const h = await startComponents(['userapi'], { serverName: SERVER });
t.teardown(() => h.stop());
const ua = h.apis.get(userApi);
const log = h.apis.get(logReaderApi('userapi'));
const alice = `@alice:${SERVER}`;
const bob = `@bob:${SERVER}`;
const ROOM = '!abcdefgh:test.neurite.local';

await ua.createAccount({ username: 'alice', password: 'pw' });
await ua.createAccount({ username: 'bob', password: 'pw', displayname: 'Bob Builder' });
const aliceLogin = await ua.loginWithPassword({ user: 'alice', password: 'pw', login: {} });

async function rejectsWith(t: Test, p: Promise<unknown>, status: number, errcode: string, what: string) {
  await t.rejects(p, { name: 'MatrixError', status, errcode }, what);
}

async function records<R>(topic: string): Promise<R[]> {
  const { records } = await log.read({ topic, consumer: 'test', from: 1, limit: 1000, waitMs: 0, durable: 0 });
  return records.map((r) => r.record as R);
}

t.test('profile fields: displayname, avatar_url, m.tz, custom keys; limits; the change is logged', async (t) => {
  await ua.setProfileField({ user_id: alice, field: 'displayname', value: 'Alice A.' });
  await ua.setProfileField({ user_id: alice, field: 'avatar_url', value: 'mxc://test.neurite.local/abc_DEF-1' });
  await ua.setProfileField({ user_id: alice, field: 'm.tz', value: 'Europe/Paris' });
  await ua.setProfileField({ user_id: alice, field: 'org.example.pronouns', value: { en: 'she/her' } });
  t.same(await ua.queryProfile({ user_id: alice }), { displayname: 'Alice A.', avatar_url: 'mxc://test.neurite.local/abc_DEF-1' }, 'queryProfile: name and avatar only');
  t.same(await ua.queryProfileFields({ user_id: alice }), {
    displayname: 'Alice A.',
    avatar_url: 'mxc://test.neurite.local/abc_DEF-1',
    'm.tz': 'Europe/Paris',
    'org.example.pronouns': { en: 'she/her' },
  });

  const before = await ua.queryProfileFields({ user_id: alice });
  await rejectsWith(t, ua.setProfileField({ user_id: alice, field: 'avatar_url', value: 42 }), 400, 'M_BAD_JSON', 'an avatar that is not a string');
  await rejectsWith(t, ua.setProfileField({ user_id: alice, field: 'displayname', value: 42 }), 400, 'M_BAD_JSON', 'a display name that is not a string');
  await rejectsWith(t, ua.setProfileField({ user_id: alice, field: 'displayname', value: 'x'.repeat(300) }), 400, 'M_INVALID_PARAM', 'an overlong display name');
  await rejectsWith(t, ua.setProfileField({ user_id: alice, field: 'Bad Key', value: 1 }), 400, 'M_INVALID_PARAM', 'a key outside the grammar');
  await rejectsWith(t, ua.setProfileField({ user_id: alice, field: `org.${'x'.repeat(300)}`, value: 1 }), 400, 'M_KEY_TOO_LARGE', 'a key over 255 bytes');
  await rejectsWith(t, ua.setProfileField({ user_id: alice, field: 'org.example.big', value: 'x'.repeat(70 * 1024) }), 400, 'M_PROFILE_TOO_LARGE', 'a profile over 64 KiB');
  await rejectsWith(t, ua.setProfileField({ user_id: '@alice:elsewhere.example', field: 'displayname', value: 'x' }), 400, 'M_INVALID_PARAM', "another server's user");
  t.same(await ua.queryProfileFields({ user_id: alice }), before, 'refused changes changed nothing');

  await ua.setProfileField({ user_id: alice, field: 'org.example.pronouns' });
  await ua.setProfileField({ user_id: alice, field: 'avatar_url', value: '' });
  t.same(await ua.queryProfileFields({ user_id: alice }), { displayname: 'Alice A.', 'm.tz': 'Europe/Paris' }, 'deleted fields are gone');
  t.equal(await ua.queryProfileFields({ user_id: `@nobody:${SERVER}` }), null);

  const changes = (await records<UserChange>(userChanges.name)).filter((c) => c.user_id === alice);
  t.same(
    changes.map((c) => (c.kind === 'profile' ? [c.displayname, c.avatar_url] : c.kind)),
    [
      ['Alice A.', undefined],
      ['Alice A.', 'mxc://test.neurite.local/abc_DEF-1'],
      ['Alice A.', undefined],
    ],
    'one record per change of name or avatar, none for other fields',
  );

  // "MUST be an MXC URI" binds clients; a server keeps what it is given, as others do (Complement sets "LemurLover").
  await ua.setProfileField({ user_id: alice, field: 'avatar_url', value: 'LemurLover' });
  t.equal((await ua.queryProfile({ user_id: alice }))?.avatar_url, 'LemurLover', 'an avatar that is not mxc is kept as given');
});

t.test('account data: global and per room, server-managed types, the log', async (t) => {
  await ua.setAccountData({ user_id: alice, type: 'm.direct', content: { [bob]: [ROOM] } });
  await ua.setAccountData({ user_id: alice, room_id: ROOM, type: 'm.tag', content: { tags: { u: {} } } });
  t.same(await ua.queryAccountData({ user_id: alice, type: 'm.direct' }), { content: { [bob]: [ROOM] } });
  t.same(await ua.queryAccountData({ user_id: alice, room_id: ROOM, type: 'm.tag' }), { content: { tags: { u: {} } } });
  t.equal(await ua.queryAccountData({ user_id: alice, type: 'm.tag' }), null, 'room data does not show globally');
  t.equal(await ua.queryAccountData({ user_id: bob, type: 'm.direct' }), null, "nor another user's");
  for (const type of ['m.push_rules', 'm.fully_read']) {
    await rejectsWith(t, ua.setAccountData({ user_id: alice, type, content: {} }), 405, 'M_BAD_JSON', `${type} is the server's`);
    await rejectsWith(t, ua.setAccountData({ user_id: alice, room_id: ROOM, type, content: {} }), 405, 'M_BAD_JSON', `${type} is the server's in rooms too`);
  }
  await rejectsWith(t, ua.setAccountData({ user_id: alice, room_id: 'not-a-room', type: 'x', content: {} }), 400, 'M_INVALID_PARAM', 'a bad room id');
  const rules = await ua.queryAccountData({ user_id: alice, type: 'm.push_rules' });
  t.ok(Array.isArray((rules?.content.global as { override?: unknown[] }).override), 'm.push_rules reads as the push rules');
  const all = await ua.queryAllAccountData({ user_id: alice });
  t.same(all.global.map((g) => g.type).sort(), ['m.direct', 'm.push_rules']);
  t.same(Object.keys(all.rooms), [ROOM]);
  const logged = (await records<AccountDataChange>(accountDataChanges.name)).filter((r) => r.user_id === alice && r.type !== 'm.push_rules');
  t.same(logged, [
    { user_id: alice, type: 'm.direct', content: { [bob]: [ROOM] } },
    { user_id: alice, room_id: ROOM, type: 'm.tag', content: { tags: { u: {} } } },
  ], 'every change is in the account_data log, refused ones are not');
});

t.test('filters: same filter, same id; per user', async (t) => {
  const f = { room: { timeline: { limit: 10, types: ['m.room.message'] } }, presence: { types: [] } };
  const { filter_id } = await ua.putFilter({ user_id: alice, filter: f });
  t.notOk(filter_id.startsWith('{'), 'an id never starts with "{"');
  t.same(await ua.putFilter({ user_id: alice, filter: { presence: { types: [] }, room: { timeline: { types: ['m.room.message'], limit: 10 } } } }), { filter_id }, 'key order does not matter');
  t.not((await ua.putFilter({ user_id: alice, filter: { room: {} } })).filter_id, filter_id);
  t.same(await ua.queryFilter({ user_id: alice, filter_id }), f);
  t.equal(await ua.queryFilter({ user_id: bob, filter_id }), null, "another user's filter is not found");
  t.equal(await ua.queryFilter({ user_id: alice, filter_id: 'nope' }), null);
});

t.test('push rules: defaults, user rules with before/after, enabled and actions, errors', async (t) => {
  const rs = await ua.queryPushRules({ user_id: bob });
  t.same(rs.override.map((r) => r.rule_id), [
    '.m.rule.master', '.m.rule.suppress_notices', '.m.rule.invite_for_me', '.m.rule.member_event', '.m.rule.is_user_mention',
    '.m.rule.is_room_mention', '.m.rule.tombstone', '.m.rule.reaction', '.m.rule.room.server_acl', '.m.rule.suppress_edits',
  ]);
  t.same(rs.underride.map((r) => r.rule_id), ['.m.rule.call', '.m.rule.encrypted_room_one_to_one', '.m.rule.room_one_to_one', '.m.rule.message', '.m.rule.encrypted']);
  t.same([rs.content, rs.room, rs.sender], [[], [], []]);
  t.equal(rs.override[0]!.enabled, false, 'master is off by default');
  t.same(rs.override.find((r) => r.rule_id === '.m.rule.invite_for_me')!.conditions![2], { kind: 'event_match', key: 'state_key', pattern: bob }, "the user's own id in the rules");

  const put = (rule_id: string, place: { before?: string; after?: string } = {}) =>
    ua.putPushRule({ user_id: bob, kind: 'override', rule_id, rule: { actions: ['notify'], conditions: [{ kind: 'event_match', key: 'content.body', pattern: rule_id }] }, ...place });
  await put('a');
  await put('b'); // new rules go first
  await put('c', { after: 'a' });
  await put('d', { before: 'b' });
  const ids = async () => (await ua.queryPushRules({ user_id: bob })).override.map((r) => r.rule_id).filter((id) => !id.startsWith('.'));
  t.same(await ids(), ['d', 'b', 'a', 'c']);
  t.equal((await ua.queryPushRules({ user_id: bob })).override[1]!.rule_id, 'd', 'user overrides come right after master');
  await ua.setPushRuleEnabled({ user_id: bob, kind: 'override', rule_id: 'a', enabled: false });
  await put('a');
  t.same(await ids(), ['d', 'b', 'a', 'c'], 'an update keeps its place');
  t.equal((await ua.queryPushRule({ user_id: bob, kind: 'override', rule_id: 'a' })).enabled, false, 'and whether it was enabled');
  await put('a', { before: 'd' });
  t.same(await ids(), ['a', 'd', 'b', 'c'], 'or moves when told');

  await ua.putPushRule({ user_id: bob, kind: 'content', rule_id: 'cake', rule: { pattern: 'cake*', actions: ['notify', { set_tweak: 'sound', value: 'cake.wav' }, 'dont_notify'] } });
  t.same(await ua.queryPushRule({ user_id: bob, kind: 'content', rule_id: 'cake' }), {
    rule_id: 'cake', enabled: true, default: false, pattern: 'cake*', actions: ['notify', { set_tweak: 'sound', value: 'cake.wav' }, 'dont_notify'],
  }, 'a content rule; a historical action is kept as given (evaluation ignores it)');
  await ua.putPushRule({ user_id: bob, kind: 'room', rule_id: ROOM, rule: { actions: [] } });
  await ua.putPushRule({ user_id: bob, kind: 'sender', rule_id: alice, rule: { actions: [] } });

  await ua.setPushRuleEnabled({ user_id: bob, kind: 'override', rule_id: '.m.rule.master', enabled: true });
  await ua.setPushRuleActions({ user_id: bob, kind: 'underride', rule_id: '.m.rule.message', actions: [] });
  const changed = await ua.queryPushRules({ user_id: bob });
  t.equal(changed.override[0]!.enabled, true, 'a default rule can be enabled');
  t.same(changed.underride.find((r) => r.rule_id === '.m.rule.message')!.actions, [], 'and given other actions');
  t.equal(changed.underride.find((r) => r.rule_id === '.m.rule.message')!.default, true, 'it stays a default rule');
  t.equal((await ua.queryPushRules({ user_id: alice })).override[0]!.enabled, false, "another user's rules are untouched");

  const snapshot = JSON.stringify(await ua.queryPushRules({ user_id: bob }));
  await rejectsWith(t, ua.putPushRule({ user_id: bob, kind: 'override', rule_id: '.mine', rule: { actions: [] } }), 400, 'M_INVALID_PARAM', 'a rule id starting with a dot');
  await rejectsWith(t, ua.putPushRule({ user_id: bob, kind: 'override', rule_id: 'a/b', rule: { actions: [] } }), 400, 'M_INVALID_PARAM', 'a rule id with a slash');
  await rejectsWith(t, ua.putPushRule({ user_id: bob, kind: 'content', rule_id: 'nopattern', rule: { actions: [] } }), 400, 'M_MISSING_PARAM', 'a content rule without a pattern');
  await rejectsWith(t, ua.putPushRule({ user_id: bob, kind: 'room', rule_id: 'not-a-room', rule: { actions: [] } }), 400, 'M_INVALID_PARAM', 'a room rule for no room');
  await rejectsWith(t, ua.putPushRule({ user_id: bob, kind: 'sender', rule_id: 'nobody', rule: { actions: [] } }), 400, 'M_INVALID_PARAM', 'a sender rule for no user');
  await rejectsWith(t, ua.putPushRule({ user_id: bob, kind: 'override', rule_id: 'e', rule: { actions: ['explode'] } }), 400, 'M_INVALID_PARAM', 'an unknown action');
  await rejectsWith(t, ua.putPushRule({ user_id: bob, kind: 'override', rule_id: 'e', rule: { actions: [] }, before: 'zzz' }), 400, 'M_UNKNOWN', 'before an unknown rule');
  await rejectsWith(t, ua.putPushRule({ user_id: bob, kind: 'override', rule_id: 'e', rule: { actions: [] }, after: '.m.rule.master' }), 400, 'M_UNKNOWN', 'after a server-default rule');
  await rejectsWith(t, ua.putPushRule({ user_id: bob, kind: 'nonsense' as never, rule_id: 'e', rule: { actions: [] } }), 400, 'M_INVALID_PARAM', 'an unknown kind');
  await rejectsWith(t, ua.queryPushRule({ user_id: bob, kind: 'override', rule_id: 'zzz' }), 404, 'M_NOT_FOUND', 'an unknown rule');
  await rejectsWith(t, ua.setPushRuleEnabled({ user_id: bob, kind: 'content', rule_id: 'zzz', enabled: true }), 404, 'M_NOT_FOUND', 'enabling an unknown rule');
  await rejectsWith(t, ua.setPushRuleActions({ user_id: bob, kind: 'override', rule_id: '.m.rule.call', actions: [] }), 404, 'M_NOT_FOUND', 'a default rule of another kind');
  await rejectsWith(t, ua.deletePushRule({ user_id: bob, kind: 'override', rule_id: 'zzz' }), 404, 'M_NOT_FOUND', 'deleting an unknown rule');
  await rejectsWith(t, ua.deletePushRule({ user_id: bob, kind: 'override', rule_id: '.m.rule.master' }), 400, 'M_INVALID_PARAM', 'deleting a default rule');
  t.equal(JSON.stringify(await ua.queryPushRules({ user_id: bob })), snapshot, 'refused changes changed nothing');

  await ua.deletePushRule({ user_id: bob, kind: 'override', rule_id: 'b' });
  t.same(await ids(), ['a', 'd', 'c']);
  const published = (await records<AccountDataChange>(accountDataChanges.name)).filter((r) => r.user_id === bob && r.type === 'm.push_rules').at(-1);
  t.same(published?.content, { global: await ua.queryPushRules({ user_id: bob }) }, 'every change publishes m.push_rules for sync');
});

t.test('pushers: set, list, update, append, delete; they go with their device', async (t) => {
  const pusher = {
    pushkey: 'key-1',
    kind: 'http',
    app_id: 'org.example.app.android',
    app_display_name: 'Example',
    device_display_name: 'Phone',
    lang: 'en',
    data: { url: 'https://push.example.org/_matrix/push/v1/notify', format: 'event_id_only' },
  };
  const t0 = Math.floor(Date.now() / 1000);
  await ua.setPusher({ user_id: alice, device_id: aliceLogin.device_id, pusher });
  const { pushkey_ts, ...shown } = (await ua.queryPushers({ user_id: alice })).pushers[0]!;
  t.same(shown, pusher);
  t.ok(pushkey_ts !== undefined && pushkey_ts >= t0 && pushkey_ts <= Math.ceil(Date.now() / 1000), 'with when it was set, in seconds');
  await ua.setPusher({ user_id: alice, device_id: aliceLogin.device_id, pusher: { ...pusher, lang: 'fr' } });
  t.same((await ua.queryPushers({ user_id: alice })).pushers.map((p) => p.lang), ['fr'], 'the same app and key is an update');

  await ua.setPusher({ user_id: bob, device_id: 'BOBDEVICE', pusher, append: true });
  t.equal((await ua.queryPushers({ user_id: alice })).pushers.length, 1, 'append keeps the other user\'s');
  await ua.setPusher({ user_id: bob, device_id: 'BOBDEVICE', pusher });
  t.equal((await ua.queryPushers({ user_id: alice })).pushers.length, 0, 'without append the key moves to the new user');

  const before = await ua.queryPushers({ user_id: bob });
  const bad = (change: Record<string, unknown>) => ua.setPusher({ user_id: bob, device_id: 'BOBDEVICE', pusher: { ...pusher, ...change } as never });
  await rejectsWith(t, bad({ data: { url: 'http://push.example.org/_matrix/push/v1/notify' } }), 400, 'M_INVALID_PARAM', 'a push gateway without https');
  await rejectsWith(t, bad({ data: { url: 'https://push.example.org/other' } }), 400, 'M_INVALID_PARAM', 'a push gateway path other than the spec\'s');
  await rejectsWith(t, bad({ data: {} }), 400, 'M_MISSING_PARAM', 'an http pusher without a url');
  await rejectsWith(t, bad({ lang: undefined }), 400, 'M_MISSING_PARAM', 'a missing field');
  await rejectsWith(t, bad({ kind: 'email', app_id: 'm.email' }), 400, 'M_INVALID_PARAM', 'an email pusher');
  await rejectsWith(t, bad({ kind: 'carrier-pigeon' }), 400, 'M_INVALID_PARAM', 'an unknown kind');
  await rejectsWith(t, bad({ pushkey: 'k'.repeat(513) }), 400, 'M_INVALID_PARAM', 'a pushkey over 512 bytes');
  await rejectsWith(t, bad({ app_id: 'a'.repeat(65) }), 400, 'M_INVALID_PARAM', 'an app id over 64 characters');
  t.same(await ua.queryPushers({ user_id: bob }), before, 'refused pushers changed nothing');

  await ua.setPusher({ user_id: bob, device_id: 'BOBDEVICE', pusher: { kind: null, app_id: pusher.app_id, pushkey: pusher.pushkey } });
  t.same(await ua.queryPushers({ user_id: bob }), { pushers: [] }, 'kind null deletes');

  await ua.setPusher({ user_id: alice, device_id: aliceLogin.device_id, pusher });
  await ua.deleteDevices({ user_id: alice, device_ids: [aliceLogin.device_id] });
  t.same(await ua.queryPushers({ user_id: alice }), { pushers: [] }, "a logged-out device's pusher is gone");
});

t.test('user directory: local users by id or display name, ranked, limited', async (t) => {
  await ua.createAccount({ username: 'robert', password: 'pw', displayname: 'Bobby Tables' });
  await ua.createAccount({ username: 'zed', password: 'pw', displayname: 'Zed' });
  await ua.createAccount({ username: 'gone', password: 'pw', displayname: 'Bob Gone' });
  await ua.deactivateAccount({ user_id: `@gone:${SERVER}` });
  await ua.createAccount({ guest: true });
  const search = (term: string, limit = 10) => ua.searchUserDirectory({ searcher: alice, search_term: term, limit });
  const r = await search('BOB');
  t.same(r.results.map((u) => u.user_id), [bob, `@robert:${SERVER}`], 'case-insensitive, by id and display name; the deactivated are left out');
  t.same(r.results[0], { user_id: bob, display_name: 'Bob Builder' });
  t.equal(r.limited, false);
  const limited = await search('o', 1);
  t.equal(limited.results.length, 1);
  t.equal(limited.limited, true);
  t.same((await search('zed')).results.map((u) => u.user_id), [`@zed:${SERVER}`], 'an exact match');
  t.same((await search('no-such-person')).results, []);
  // Equal rank, no profile: by user id in code-point order (no locale's collation, which puts '_' before '-').
  for (const username of ['tie_x', 'tie.x', 'tie-x']) await ua.createAccount({ username, password: 'pw' });
  t.same((await search('tie')).results.map((u) => u.user_id), ['tie-x', 'tie.x', 'tie_x'].map((l) => `@${l}:${SERVER}`), 'ties in code-point order');
});
