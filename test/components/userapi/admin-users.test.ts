/**
 * The UserAPI's administration of accounts through its internal API, over
 * its Unix socket: the paged list with its search and filters, one
 * account's summary, and the admin flag (the last active admin kept, guests
 * and deactivated accounts refused, nothing changed by a refusal, cached
 * token owners updated at once).
 */
import t, { type Test } from 'tap';
import { userApi } from '../../../src/components/userapi/api.js';
import { startComponents } from '../../helpers/components.js';

const SERVER = 'test.neurite.local';
let h = await startComponents(['userapi'], { serverName: SERVER });
t.teardown(() => h.stop());
let ua = h.apis.get(userApi);
const id = (local: string) => `@${local}:${SERVER}`;

async function rejectsWith(t: Test, p: Promise<unknown>, status: number, errcode: string, what: string) {
  await t.rejects(p, { name: 'MatrixError', status, errcode }, what);
}

const before = Date.now();
const root = await ua.createAccount({ username: 'root', password: 'root-pw', admin: true, login: {} });
await ua.createAccount({ username: 'alice', password: 'pw', displayname: 'Alice Liddell' });
await ua.createAccount({ username: 'bob', password: 'pw', displayname: 'Robert Smith' });
await ua.createAccount({ username: 'carol', password: 'pw' });
const guest = await ua.createAccount({ guest: true, login: {} });
await ua.createAccount({ username: 'gone', password: 'pw' });
await ua.deactivateAccount({ user_id: id('gone') });
const after = Date.now();

t.test('the list: every flag, display name and creation time, in user id order, a page at a time', async (t) => {
  const all = await ua.listUsers({ deactivated: true });
  t.same(
    all.users.map((u) => u.user_id),
    [guest.user_id, id('alice'), id('bob'), id('carol'), id('gone'), id('root')],
    'all of them, by localpart (a generated guest id is digits)',
  );
  t.equal(all.total, 6);
  t.notOk('next' in all, 'one page holds them');
  const byId = Object.fromEntries(all.users.map((u) => [u.user_id, u]));
  t.match(byId[id('root')], { admin: true, guest: false, deactivated: false, displayname: 'root' });
  t.match(byId[guest.user_id], { admin: false, guest: true, deactivated: false });
  t.match(byId[id('gone')], { admin: false, guest: false, deactivated: true });
  t.equal(byId[id('alice')]!.displayname, 'Alice Liddell');
  for (const u of all.users) t.ok(u.created_ts >= before && u.created_ts <= after, `${u.user_id}: created while the test made it`);

  t.same((await ua.listUsers({})).users.map((u) => u.user_id), [guest.user_id, id('alice'), id('bob'), id('carol'), id('root')], 'deactivated accounts are left out unless asked for');
  t.same((await ua.listUsers({ guests: false })).users.map((u) => u.user_id), [id('alice'), id('bob'), id('carol'), id('root')], 'guests can be left out');
  t.same((await ua.listUsers({ admins: true })).users.map((u) => u.user_id), [id('root')], 'only admins');
  t.equal((await ua.listUsers({ admins: false })).total, 4, 'only non-admins');

  const p1 = await ua.listUsers({ limit: 2, deactivated: true });
  t.same([p1.users.length, p1.total, p1.next], [2, 6, 2], 'a first page of two says where the next starts');
  const p3 = await ua.listUsers({ from: 4, limit: 2, deactivated: true });
  t.same(p3.users.map((u) => u.user_id), [id('gone'), id('root')]);
  t.notOk('next' in p3, 'the last page has no next');
  t.same((await ua.listUsers({ from: 50 })).users, [], 'past the end: empty');
  for (const [req, what] of [
    [{ limit: 0 }, 'a zero limit'],
    [{ limit: 1001 }, 'a limit over 1000'],
    [{ from: -1 }, 'a negative offset'],
    [{ from: 1.5 }, 'a fractional offset'],
  ] as const) {
    await rejectsWith(t, ua.listUsers(req), 400, 'M_INVALID_PARAM', what);
  }
});

t.test('search: a prefix of the localpart, the user id, or the display name or one of its words, any case', async (t) => {
  const found = async (search: string) => (await ua.listUsers({ search })).users.map((u) => u.user_id);
  t.same(await found('AL'), [id('alice')], 'localpart prefix, any case');
  t.same(await found(`@bob:${SERVER.slice(0, 4)}`), [id('bob')], 'a full user id prefix');
  t.same(await found('robert'), [id('bob')], 'display name prefix');
  t.same(await found('smi'), [id('bob')], 'prefix of a word of the display name');
  t.same(await found('lice'), [], 'not anywhere inside a name: a prefix');
  t.same(await found(''), (await ua.listUsers({})).users.map((u) => u.user_id), 'an empty search is no filter');
  const narrow = await ua.listUsers({ search: 'c', limit: 1 });
  t.same([narrow.total, narrow.users.length], [1, 1], 'the total counts matches only');
});

t.test('one account', async (t) => {
  t.match(await ua.queryUser({ user_id: id('alice') }), { user_id: id('alice'), admin: false, guest: false, deactivated: false, displayname: 'Alice Liddell' });
  t.equal(await ua.queryUser({ user_id: id('nobody') }), null, 'an unknown user is null');
  await rejectsWith(t, ua.queryUser({ user_id: '@alice:elsewhere.example' }), 400, 'M_INVALID_PARAM', 'a user of another server');
});

t.test('the admin flag: set and cleared, seen by the token check at once', async (t) => {
  const bob = await ua.loginWithPassword({ user: 'bob', password: 'pw', login: {} });
  t.equal((await ua.queryAccessToken({ token: bob.access_token })).owner?.is_admin, false, 'the token check caches bob as no admin');
  t.match(await ua.setUserAdmin({ user_id: id('bob'), admin: true }), { user_id: id('bob'), admin: true }, 'answers with the new summary');
  t.equal((await ua.queryAccessToken({ token: bob.access_token })).owner?.is_admin, true, 'his existing token is an admin token now');
  t.match(await ua.setUserAdmin({ user_id: id('bob'), admin: true }), { admin: true }, 'setting it twice changes nothing');
  await ua.setUserAdmin({ user_id: id('bob'), admin: false });
  t.equal((await ua.queryAccessToken({ token: bob.access_token })).owner?.is_admin, false, 'and no longer once cleared');
  t.match(await ua.setUserAdmin({ user_id: id('carol'), admin: false }), { admin: false }, 'clearing it on a non-admin is no change');
  await ua.setUserAdmin({ user_id: id('carol'), admin: true });
  h = await h.restart();
  ua = h.apis.get(userApi);
  t.equal((await ua.queryUser({ user_id: id('carol') }))?.admin, true, 'written to disk: a restart reads it back');
  await ua.setUserAdmin({ user_id: id('carol'), admin: false });
});

t.test('refusals change nothing: unknown users, other servers, guests, deactivated accounts, the last admin', async (t) => {
  const admins = async () => (await ua.listUsers({ admins: true, deactivated: true })).users.map((u) => u.user_id);
  const snapshot = JSON.stringify(await ua.listUsers({ deactivated: true }));
  await rejectsWith(t, ua.setUserAdmin({ user_id: id('nobody'), admin: true }), 404, 'M_NOT_FOUND', 'an unknown user');
  await rejectsWith(t, ua.setUserAdmin({ user_id: '@alice:elsewhere.example', admin: true }), 400, 'M_INVALID_PARAM', 'a user of another server');
  await rejectsWith(t, ua.setUserAdmin({ user_id: guest.user_id, admin: true }), 400, 'M_INVALID_PARAM', 'a guest');
  await rejectsWith(t, ua.setUserAdmin({ user_id: id('gone'), admin: true }), 400, 'M_INVALID_PARAM', 'a deactivated account');
  await rejectsWith(t, ua.setUserAdmin({ user_id: id('alice'), admin: 'yes' as unknown as boolean }), 400, 'M_INVALID_PARAM', 'a flag that is not a boolean');
  await t.rejects(ua.setUserAdmin({ user_id: id('root'), admin: false }), { status: 403, errcode: 'M_FORBIDDEN', message: /last administrator/ }, 'the last admin, in words');
  t.equal(JSON.stringify(await ua.listUsers({ deactivated: true })), snapshot, 'nothing changed');
  t.equal((await ua.queryAccessToken({ token: root.login!.access_token })).owner?.is_admin, true, 'root is still an admin');

  // A deactivated admin does not count: with dora deactivated, root is still the last.
  await ua.createAccount({ username: 'dora', password: 'pw', admin: true });
  await ua.deactivateAccount({ user_id: id('dora') });
  await rejectsWith(t, ua.setUserAdmin({ user_id: id('root'), admin: false }), 403, 'M_FORBIDDEN', 'a deactivated admin is no second admin');
  t.match(await ua.setUserAdmin({ user_id: id('dora'), admin: false }), { admin: false, deactivated: true }, 'a deactivated account can lose the flag');

  // Two admins removing each other at once: one of them stays.
  await ua.setUserAdmin({ user_id: id('alice'), admin: true });
  const both = await Promise.allSettled([ua.setUserAdmin({ user_id: id('alice'), admin: false }), ua.setUserAdmin({ user_id: id('root'), admin: false })]);
  t.equal(both.filter((r) => r.status === 'fulfilled').length, 1, 'one removal succeeds');
  t.match(both.find((r) => r.status === 'rejected'), { reason: { errcode: 'M_FORBIDDEN' } }, 'the other is refused as the last admin');
  t.equal((await admins()).length, 1, 'one admin remains');

  // Nor can the last admin be deactivated (the dashboard would have no one to sign in).
  const [last] = await admins();
  await t.rejects(ua.deactivateAccount({ user_id: last! }), { status: 403, errcode: 'M_FORBIDDEN', message: /last administrator/ }, 'the last admin cannot be deactivated');
  t.equal((await ua.queryUser({ user_id: last! }))?.deactivated, false, 'and is not');
  // Two admins deactivating themselves at once: one stays.
  const other = last === id('root') ? id('alice') : id('root');
  await ua.setUserAdmin({ user_id: other, admin: true });
  const gone = await Promise.allSettled([ua.deactivateAccount({ user_id: last! }), ua.deactivateAccount({ user_id: other })]);
  t.equal(gone.filter((r) => r.status === 'fulfilled').length, 1, 'one deactivation succeeds, the other is refused');
  t.equal((await ua.listUsers({ admins: true })).users.length, 1, 'one active admin remains');
});

