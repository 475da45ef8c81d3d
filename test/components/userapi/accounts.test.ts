/**
 * The UserAPI's accounts and sessions through its internal API, over its
 * Unix socket: user id rules, passwords, tokens (stored hashed), devices,
 * refresh-token rotation, soft logout, password change, deactivation, and
 * everything surviving a restart.
 */
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { Level } from 'level';
import { userApi, type LoginResult } from '../../../src/components/userapi/api.js';
import { startComponents } from '../../helpers/components.js';

const SERVER = 'test.neurite.local';
let h = await startComponents(['userapi'], { serverName: SERVER });
t.teardown(() => h.stop());
let ua = h.apis.get(userApi);

async function rejectsWith(t: Test, p: Promise<unknown>, status: number, errcode: string, what: string) {
  await t.rejects(p, { name: 'MatrixError', status, errcode }, what);
}

async function owner(token: string) {
  return ua.queryAccessToken({ token });
}

t.test('user ids of new accounts: lower-cased, strict grammar, digits-only names kept for generated ids', async (t) => {
  const a = await ua.createAccount({ username: 'Alice', password: 'secret-a' });
  t.equal(a.user_id, `@alice:${SERVER}`, 'lower-cased');
  t.notOk(a.login, 'no login unless asked');
  await rejectsWith(t, ua.createAccount({ username: 'ALICE', password: 'x' }), 400, 'M_USER_IN_USE', 'the same name in another case is taken');
  await rejectsWith(t, ua.checkUsernameAvailable({ username: 'alice' }), 400, 'M_USER_IN_USE', 'availability says taken');
  for (const bad of ['', 'has space', 'colon:x', 'émile', 'a#b', '12345', 'x'.repeat(250)]) {
    await rejectsWith(t, ua.createAccount({ username: bad, password: 'x' }), 400, 'M_INVALID_USERNAME', `refuses ${JSON.stringify(bad.slice(0, 20))}`);
    await rejectsWith(t, ua.checkUsernameAvailable({ username: bad }), 400, 'M_INVALID_USERNAME', `availability refuses ${JSON.stringify(bad.slice(0, 20))}`);
  }
  await ua.checkUsernameAvailable({ username: 'a.b_c=d/e+f-g' });
  t.equal((await ua.createAccount({ username: 'a.b_c=d/e+f-g', password: 'x' })).user_id, `@a.b_c=d/e+f-g:${SERVER}`, 'every strict character');
  const g1 = await ua.createAccount({ password: 'x' });
  const g2 = await ua.createAccount({ guest: true, login: {} });
  t.match(g1.user_id, new RegExp(`^@\\d+:${SERVER.replace(/\./g, '\\.')}$`), 'a generated localpart is numeric');
  t.not(g1.user_id, g2.user_id, 'generated ids differ');
  const guestOwner = await owner(g2.login!.access_token);
  t.same(guestOwner.owner && { guest: guestOwner.owner.is_guest, admin: guestOwner.owner.is_admin }, { guest: true, admin: false });
  t.same(await ua.queryProfile({ user_id: `@alice:${SERVER}` }), { displayname: 'alice' }, 'the display name starts as the localpart');
  t.equal(await ua.queryProfile({ user_id: `@nobody:${SERVER}` }), null);
  t.equal(await ua.queryProfile({ user_id: '@alice:elsewhere.example' }), null, 'not a user of this server');
});

t.test('password login: identifier forms, wrong password and unknown user look alike', async (t) => {
  await ua.createAccount({ username: 'bob', password: 'bob-pw', admin: true });
  const byLocal = await ua.loginWithPassword({ user: 'bob', password: 'bob-pw', login: { display_name: 'Phone' } });
  const byId = await ua.loginWithPassword({ user: `@BOB:${SERVER}`, password: 'bob-pw', login: {} });
  t.equal(byLocal.user_id, `@bob:${SERVER}`);
  t.equal(byId.user_id, `@bob:${SERVER}`, 'a full id in any case');
  t.not(byLocal.device_id, byId.device_id, 'each login is a new device');
  t.match(byLocal.device_id, /^[A-Z]{10}$/);
  t.notOk(byLocal.refresh_token, 'no refresh token unless the client supports them');
  t.notOk(byLocal.expires_in_ms, 'and then the token does not expire');
  const o = await owner(byLocal.access_token);
  t.same(o, { owner: { user_id: `@bob:${SERVER}`, device_id: byLocal.device_id, is_guest: false, is_admin: true } });

  const attempts: [string, string, string][] = [
    ['bob', 'nope', 'wrong password'],
    ['nobody', 'nope', 'unknown user'],
    ['@bob:elsewhere.example', 'bob-pw', 'another server'],
    ['bob', '', 'empty password'],
  ];
  for (const [user, password, what] of attempts) {
    await t.rejects(ua.loginWithPassword({ user, password, login: {} }), { status: 403, errcode: 'M_FORBIDDEN', message: 'Invalid username or password' }, `${what}: the same 403`);
  }
  t.same((await ua.queryDevices({ user_id: `@bob:${SERVER}` })).devices.length, 2, 'failed logins created no device');

  // The same work for an unknown user as for a wrong password: measured, not asserted.
  const time = async (user: string) => {
    const t0 = process.hrtime.bigint();
    await ua.checkPassword({ user, password: 'x' }).catch(() => {});
    return Number(process.hrtime.bigint() - t0) / 1e6;
  };
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const known: number[] = [];
  const unknownTimes: number[] = [];
  for (let i = 0; i < 7; i++) {
    known.push(await time('bob'));
    unknownTimes.push(await time(`ghost${i}`));
  }
  t.comment(`check of a wrong password: median ${median(known).toFixed(1)} ms; of an unknown user: ${median(unknownTimes).toFixed(1)} ms`);
});

t.test('device reuse: a login naming its device replaces the token of that device', async (t) => {
  const first = await ua.loginWithPassword({ user: 'bob', password: 'bob-pw', login: { device_id: 'MYPHONE', display_name: 'Phone' } });
  const second = await ua.loginWithPassword({ user: 'bob', password: 'bob-pw', login: { device_id: 'MYPHONE', display_name: 'Ignored' } });
  t.equal(second.device_id, 'MYPHONE');
  t.same(await owner(first.access_token), { owner: null, soft_logout: false }, 'the old token is gone');
  t.equal((await owner(second.access_token)).owner?.device_id, 'MYPHONE');
  const device = await ua.queryDevice({ user_id: `@bob:${SERVER}`, device_id: 'MYPHONE' });
  t.equal(device?.display_name, 'Phone', 'the display name of a known device is kept');
  await rejectsWith(t, ua.loginWithPassword({ user: 'bob', password: 'bob-pw', login: { device_id: 'x'.repeat(300) } }), 400, 'M_INVALID_PARAM', 'an overlong device id');
});

t.test('last seen: set at login, then written at most once a minute', async (t) => {
  const login = await ua.loginWithPassword({ user: 'bob', password: 'bob-pw', login: { ip: '10.0.0.1' } });
  const seen = async () => ua.queryDevice({ user_id: login.user_id, device_id: login.device_id });
  const atLogin = await seen();
  t.equal(atLogin?.last_seen_ip, '10.0.0.1');
  await ua.queryAccessToken({ token: login.access_token, ip: '10.0.0.2' });
  await new Promise((r) => setTimeout(r, 5));
  await ua.queryAccessToken({ token: login.access_token, ip: '10.0.0.3' });
  const after = await seen();
  t.equal(after?.last_seen_ts, atLogin?.last_seen_ts, 'requests within the minute write nothing');
  t.equal(after?.last_seen_ip, '10.0.0.1');
});

t.test('refresh tokens: rotation, a repeated refresh, expiry as soft logout', async (t) => {
  await ua.createAccount({ username: 'carol', password: 'carol-pw' });
  const login = await ua.loginWithPassword({ user: 'carol', password: 'carol-pw', login: { refresh_token: true } });
  t.ok(login.refresh_token, 'a refresh token');
  t.ok(login.expires_in_ms! > 0, 'and the access token expires');
  t.ok((await owner(login.access_token)).owner);

  const r1 = await ua.refreshToken({ refresh_token: login.refresh_token! });
  t.same(await owner(login.access_token), { owner: null, soft_logout: false }, 'the old access token stops at once');
  // The client may have lost the answer: the used refresh token works until the new pair is used.
  const r1again = await ua.refreshToken({ refresh_token: login.refresh_token! });
  t.same(await owner(r1.access_token), { owner: null, soft_logout: false }, 'the unused pair is replaced');
  t.ok((await owner(r1again.access_token)).owner, 'the repeat works');
  await rejectsWith(t, ua.refreshToken({ refresh_token: r1.refresh_token }), 401, 'M_UNKNOWN_TOKEN', 'the replaced refresh token is dead');
  await rejectsWith(t, ua.refreshToken({ refresh_token: login.refresh_token! }), 401, 'M_UNKNOWN_TOKEN', 'the first refresh token is spent once the new access token was used');

  const short = await ua.refreshToken({ refresh_token: r1again.refresh_token, lifetime_ms: 1 });
  await new Promise((r) => setTimeout(r, 10));
  t.same(await owner(short.access_token), { owner: null, soft_logout: true }, 'an expired access token is a soft logout');
  const renewed = await ua.refreshToken({ refresh_token: short.refresh_token });
  t.equal((await owner(renewed.access_token)).owner?.device_id, login.device_id, 'refreshing keeps the device');
  await rejectsWith(t, ua.refreshToken({ refresh_token: 'ntr_nonsense' }), 401, 'M_UNKNOWN_TOKEN', 'an unknown refresh token');
  await t.rejects(ua.refreshToken({ refresh_token: 'ntr_nonsense' }), { name: 'MatrixError', extra: { soft_logout: false } }, 'a hard logout');
});

t.test('logout, logout all, device deletion', async (t) => {
  await ua.createAccount({ username: 'dave', password: 'dave-pw' });
  const logins: LoginResult[] = [];
  for (let i = 0; i < 4; i++) logins.push(await ua.loginWithPassword({ user: 'dave', password: 'dave-pw', login: { refresh_token: i === 0 } }));
  const dave = logins[0]!.user_id;
  t.same(await ua.deleteDevices({ user_id: dave, device_ids: [logins[0]!.device_id, 'NOSUCHDEVICE'] }), { deleted: [logins[0]!.device_id] });
  t.same(await owner(logins[0]!.access_token), { owner: null, soft_logout: false });
  await rejectsWith(t, ua.refreshToken({ refresh_token: logins[0]!.refresh_token! }), 401, 'M_UNKNOWN_TOKEN', 'its refresh token went with it');
  await ua.updateDevice({ user_id: dave, device_id: logins[1]!.device_id, display_name: 'Laptop' });
  t.equal((await ua.queryDevice({ user_id: dave, device_id: logins[1]!.device_id }))?.display_name, 'Laptop');
  await rejectsWith(t, ua.updateDevice({ user_id: dave, device_id: 'NOSUCHDEVICE', display_name: 'x' }), 404, 'M_NOT_FOUND', 'renaming an unknown device');
  await rejectsWith(t, ua.updateDevice({ user_id: `@bob:${SERVER}`, device_id: logins[1]!.device_id, display_name: 'x' }), 404, 'M_NOT_FOUND', "another user's device is unknown");
  const { deleted } = await ua.deleteAllDevices({ user_id: dave, except_device_id: logins[3]!.device_id });
  t.same(deleted.sort(), [logins[1]!.device_id, logins[2]!.device_id].sort());
  t.ok((await owner(logins[3]!.access_token)).owner, 'the kept device still works');
  t.same((await ua.queryDevices({ user_id: dave })).devices.map((d) => d.device_id), [logins[3]!.device_id]);
});

t.test('password change', async (t) => {
  await ua.createAccount({ username: 'erin', password: 'old-pw' });
  const a = await ua.loginWithPassword({ user: 'erin', password: 'old-pw', login: {} });
  const b = await ua.loginWithPassword({ user: 'erin', password: 'old-pw', login: {} });
  await ua.setPassword({ user_id: a.user_id, new_password: 'new-pw', logout_devices: false });
  t.ok((await owner(b.access_token)).owner, 'other devices stay without logout_devices');
  await rejectsWith(t, ua.checkPassword({ user: 'erin', password: 'old-pw' }), 403, 'M_FORBIDDEN', 'the old password is gone');
  t.same(await ua.checkPassword({ user: 'erin', password: 'new-pw' }), { user_id: a.user_id });
  await ua.setPassword({ user_id: a.user_id, new_password: 'newer-pw', logout_devices: true, keep_device_id: a.device_id });
  t.ok((await owner(a.access_token)).owner, 'the requesting device stays');
  t.same(await owner(b.access_token), { owner: null, soft_logout: false }, 'the others are logged out');
  await rejectsWith(t, ua.setPassword({ user_id: a.user_id, new_password: 'x'.repeat(513), logout_devices: false }), 400, 'M_INVALID_PARAM', 'an overlong password');
  t.same(await ua.checkPassword({ user: 'erin', password: 'newer-pw' }), { user_id: a.user_id }, 'and it changed nothing');
});

t.test('deactivation: no login, no token, the id is never given out again', async (t) => {
  await ua.createAccount({ username: 'frank', password: 'frank-pw', displayname: 'Frank' });
  const login = await ua.loginWithPassword({ user: 'frank', password: 'frank-pw', login: {} });
  await ua.setAccountData({ user_id: login.user_id, type: 'org.example.x', content: { a: 1 } });
  await ua.deactivateAccount({ user_id: login.user_id });
  t.same(await owner(login.access_token), { owner: null, soft_logout: false });
  await rejectsWith(t, ua.loginWithPassword({ user: 'frank', password: 'frank-pw', login: {} }), 403, 'M_USER_DEACTIVATED', 'the right password says deactivated');
  await rejectsWith(t, ua.loginWithPassword({ user: 'frank', password: 'wrong', login: {} }), 403, 'M_FORBIDDEN', 'a wrong one says nothing more');
  await rejectsWith(t, ua.createAccount({ username: 'frank', password: 'x' }), 400, 'M_USER_IN_USE', 'the name stays taken');
  t.same((await ua.queryDevices({ user_id: login.user_id })).devices, []);
  t.same(await ua.queryProfile({ user_id: login.user_id }), { displayname: 'Frank' }, 'without erase the profile stays');
  t.same(await ua.queryAccountData({ user_id: login.user_id, type: 'org.example.x' }), { content: { a: 1 } });
  await ua.deactivateAccount({ user_id: login.user_id });

  await ua.createAccount({ username: 'gina', password: 'gina-pw', displayname: 'Gina' });
  const gina = `@gina:${SERVER}`;
  await ua.setAccountData({ user_id: gina, type: 'org.example.x', content: { a: 1 } });
  await ua.putFilter({ user_id: gina, filter: { room: {} } });
  await ua.deactivateAccount({ user_id: gina, erase: true });
  t.same(await ua.queryProfile({ user_id: gina }), {}, 'erase: the profile goes');
  t.equal(await ua.queryAccountData({ user_id: gina, type: 'org.example.x' }), null, 'erase: account data goes');
  t.match(await ua.queryUser({ user_id: gina }), { deactivated: true, erased: true }, 'erase is remembered (the SyncAPI redacts for later joiners)');
  t.match(await ua.queryUser({ user_id: login.user_id }), { deactivated: true, erased: false }, 'a plain deactivation is not an erasure');
});

t.test('tokens are stored hashed; accounts, devices and tokens survive a restart', async (t) => {
  await ua.createAccount({ username: 'hank', password: 'hank-pw' });
  const login = await ua.loginWithPassword({ user: 'hank', password: 'hank-pw', login: { refresh_token: true, display_name: 'Desk' } });
  await h.stop();

  const db = new Level<string, string>(join(h.dataDir, 'db', 'userapi'), { valueEncoding: 'utf8' });
  let leaked = 0;
  let rows = 0;
  for await (const [k, v] of db.iterator()) {
    rows++;
    if (k.includes(login.access_token) || v.includes(login.access_token) || k.includes(login.refresh_token!) || v.includes(login.refresh_token!)) leaked++;
    if (v.includes('hank-pw')) leaked++;
  }
  await db.close();
  t.ok(rows > 0);
  t.equal(leaked, 0, 'no token and no password appears in the database');

  h = await startComponents(['userapi'], { dataDir: h.dataDir, serverName: SERVER });
  ua = h.apis.get(userApi);
  t.equal((await owner(login.access_token)).owner?.user_id, `@hank:${SERVER}`, 'the access token works after the restart');
  t.equal((await ua.queryDevice({ user_id: login.user_id, device_id: login.device_id }))?.display_name, 'Desk');
  const r = await ua.refreshToken({ refresh_token: login.refresh_token! });
  t.ok((await owner(r.access_token)).owner, 'so does the refresh token');
  await rejectsWith(t, ua.createAccount({ username: 'hank', password: 'x' }), 400, 'M_USER_IN_USE', 'the account is there');
});
