/**
 * The account endpoints of the built server over HTTP (split, so that every revocation crosses from the UserAPI to the ClientAPI, which keeps token answers for a moment; open
 * registration, guests on, a shared secret): every success checked against
 * the spec's response schema, every refusal with its exact status and
 * errcode, and after each refusal a check that nothing changed.
 */
import t, { type Test } from 'tap';
import { registrationMac } from '../../src/components/clientapi/routes/account/admin-register.js';
import { specResponse } from '../helpers/spec-schemas.js';
import { cli, initServer, removeDataDir, startServer } from '../helpers/server.js';

const SECRET = 'a-shared-secret-for-tests';
const { dataDir, ports, serverName } = await initServer({
  mode: 'split',
  tls: 'off',
  extra: ['--registration', 'open', '--guest-access', 'on', '--registration-shared-secret', SECRET],
});
t.equal(cli(['user', 'add', 'root', '--password', 'root-pw', '--admin', '--data-dir', dataDir]).status, 0, 'an admin made while the server is stopped');
const server = await startServer(dataDir, { clientPort: ports.client });
t.teardown(async () => {
  await server.stop();
  removeDataDir(dataDir);
});

const BASE = `http://127.0.0.1:${ports.client}`;
const C = '/_matrix/client/v3';

interface Answer {
  status: number;
  body: any;
}

async function call(method: string, path: string, opts: { body?: unknown; raw?: string; token?: string } = {}): Promise<Answer> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  const r = await fetch(BASE + path, { method, headers, ...(opts.raw !== undefined ? { body: opts.raw } : opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}) });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : undefined };
}

/** A success whose body fits the spec's schema for the operation. */
async function ok(t: Test, a: Answer, operation: string, what: string, status = 200) {
  t.equal(a.status, status, `${what}: ${status}${a.status !== status ? ` (${JSON.stringify(a.body)})` : ''}`);
  const check = await specResponse('client-server', operation, String(status));
  t.equal(check(a.body), undefined, `${what}: the body fits the spec`);
  return a.body;
}

function refused(t: Test, a: Answer, status: number, errcode: string, what: string) {
  t.same([a.status, a.body?.errcode], [status, errcode], what);
}

const me = (local: string) => `@${local}:${serverName}`;

async function register(username: string, password = 'pw', extra: Record<string, unknown> = {}) {
  const first = await call('POST', `${C}/register`, { body: { username, password } });
  return call('POST', `${C}/register`, { body: { username, password, auth: { type: 'm.login.dummy', session: first.body.session }, ...extra } });
}

async function login(user: string, password = 'pw', extra: Record<string, unknown> = {}) {
  return call('POST', `${C}/login`, { body: { type: 'm.login.password', identifier: { type: 'm.id.user', user }, password, ...extra } });
}

async function available(username: string) {
  return (await call('GET', `${C}/register/available?username=${encodeURIComponent(username)}`)).status === 200;
}

const PW_AUTH = (user: string, password: string, session?: string) => ({ type: 'm.login.password', identifier: { type: 'm.id.user', user }, password, ...(session ? { session } : {}) });

t.test('registration with m.login.dummy', async (t) => {
  const first = await call('POST', `${C}/register`, { body: { username: 'alice', password: 'pw' } });
  await ok(t, first, 'POST /register', 'the first request asks for auth', 401);
  t.same(first.body.flows, [{ stages: ['m.login.dummy'] }]);
  t.equal(first.body.errcode, undefined, 'no error before any attempt');
  t.ok(await available('alice'), 'asking for auth created nothing');

  const done = await call('POST', `${C}/register`, {
    body: { username: 'Alice', password: 'pw', device_id: 'ALICEPHONE', initial_device_display_name: 'Alice phone', auth: { type: 'm.login.dummy', session: first.body.session } },
  });
  const body = await ok(t, done, 'POST /register', 'registered');
  t.equal(body.user_id, me('alice'), 'lower-cased');
  t.equal(body.device_id, 'ALICEPHONE');
  const devices = await call('GET', `${C}/devices`, { token: body.access_token });
  t.same(devices.body.devices.map((d: any) => [d.device_id, d.display_name]), [['ALICEPHONE', 'Alice phone']]);
  // The client lost the answer and sends the same request again: the same answer, not "name taken" (spec, UIA).
  const retry = await call('POST', `${C}/register`, {
    body: { username: 'Alice', password: 'pw', device_id: 'ALICEPHONE', initial_device_display_name: 'Alice phone', auth: { type: 'm.login.dummy', session: first.body.session } },
  });
  t.same(await ok(t, retry, 'POST /register', 'a retry of the completed registration'), body, 'the same user, device and token');

  const inhibited = await register('nologin', 'pw', { inhibit_login: true });
  const ib = await ok(t, inhibited, 'POST /register', 'inhibit_login');
  t.same(Object.keys(ib).sort(), ['home_server', 'user_id'], 'no token, no device');
  t.equal((await login('nologin')).status, 200, 'but the account can log in');

  const noAuthNeededBeforeChecks = await call('POST', `${C}/register`, { body: { username: 'alice', password: 'pw' } });
  refused(t, noAuthNeededBeforeChecks, 400, 'M_USER_IN_USE', 'a taken name is refused before auth');
  refused(t, await register('ALICE'), 400, 'M_USER_IN_USE', 'in any case');
  for (const bad of ['al ice', 'al:ice', '12345', 'ålice']) {
    refused(t, await call('POST', `${C}/register`, { body: { username: bad, password: 'pw' } }), 400, 'M_INVALID_USERNAME', `invalid username ${bad}`);
  }
  const noPassword = await call('POST', `${C}/register`, { body: { username: 'nopass' } });
  refused(t, await call('POST', `${C}/register`, { body: { username: 'nopass', auth: { type: 'm.login.dummy', session: noPassword.body.session } } }), 400, 'M_MISSING_PARAM', 'no password');
  t.ok(await available('nopass'), 'and nothing was created');
  refused(t, await call('POST', `${C}/register?kind=admin`, { body: {} }), 400, 'M_INVALID_PARAM', 'an unknown kind');
  refused(t, await call('POST', `${C}/register`, { body: { username: 5 } }), 400, 'M_BAD_JSON', 'a username that is not a string');
  refused(t, await call('POST', `${C}/register`, { raw: '{"username": ' }), 400, 'M_NOT_JSON', 'a body that is not JSON');
  refused(t, await call('POST', `${C}/register`, { body: { username: 'x1', password: 'pw', auth: { type: 'm.login.dummy', session: 'made-up' } } }), 400, 'M_UNKNOWN', 'an unknown session');
  const wrongStage = await call('POST', `${C}/register`, { body: { username: 'x2', password: 'pw', auth: { type: 'm.login.password', session: first.body.session } } });
  t.same([wrongStage.status, wrongStage.body.completed], [401, ['m.login.dummy']], 'a session that succeeded takes no other stage: 401 with its completed stages');
  const fresh = await call('POST', `${C}/register`, { body: { username: 'x3', password: 'pw' } });
  const stage = await call('POST', `${C}/register`, { body: { username: 'x3', password: 'pw', auth: { type: 'm.login.password', session: fresh.body.session } } });
  t.same([stage.status, stage.body.errcode, stage.body.session], [401, 'M_UNRECOGNIZED', fresh.body.session], 'a stage the flows do not offer: 401 with the flows');
  t.ok(await available('x3'), 'nothing created');

  await ok(t, await call('GET', `${C}/register/available?username=newname`), 'GET /register/available', 'a free name');
  refused(t, await call('GET', `${C}/register/available?username=alice`), 400, 'M_USER_IN_USE', 'a taken name');
  refused(t, await call('GET', `${C}/register/available?username=a%20b`), 400, 'M_INVALID_USERNAME', 'an invalid name');
  refused(t, await call('GET', `${C}/register/available`), 400, 'M_MISSING_PARAM', 'no name');
  await ok(t, await call('GET', '/_matrix/client/v1/register/m.login.registration_token/validity?token=abc'), 'GET /register/m.login.registration_token/validity', 'token validity');
  refused(t, await call('GET', '/_matrix/client/v1/register/m.login.registration_token/validity'), 400, 'M_MISSING_PARAM', 'validity without a token');
});

t.test('a registration retried with only auth registers what its first request named', async (t) => {
  const first = await call('POST', `${C}/register`, { body: { username: 'remembered', password: 'pw-remembered', device_id: 'XYZZY', initial_device_display_name: 'the first ask' } });
  t.equal(first.status, 401);
  const done = await call('POST', `${C}/register`, { body: { auth: { type: 'm.login.dummy', session: first.body.session } } });
  const body = await ok(t, done, 'POST /register', 'only auth');
  t.same([body.user_id, body.device_id], [me('remembered'), 'XYZZY'], 'the name and device of the first request');
  const devices = await call('GET', `${C}/devices`, { token: body.access_token });
  t.same(devices.body.devices.map((d: any) => d.display_name), ['the first ask']);
  t.equal((await login('remembered', 'pw-remembered')).status, 200, 'and its password');

  const quiet = await call('POST', `${C}/register`, { body: { username: 'rememberedquiet', password: 'pw', inhibit_login: true } });
  const inhibited = await ok(t, await call('POST', `${C}/register`, { body: { auth: { type: 'm.login.dummy', session: quiet.body.session } } }), 'POST /register', 'inhibit_login remembered');
  t.same(Object.keys(inhibited).sort(), ['home_server', 'user_id'], 'no token, no device');

  const own = await call('POST', `${C}/register`, { body: { username: 'rememberedfirst', password: 'pw' } });
  const mine = await ok(t, await call('POST', `${C}/register`, { body: { username: 'rememberedsecond', auth: { type: 'm.login.dummy', session: own.body.session } } }), 'POST /register', 'a field the retry names');
  t.equal(mine.user_id, me('rememberedsecond'), "the retry's own field wins");
  t.ok(await available('rememberedfirst'), 'the first name was not taken');
});

t.test('guests', async (t) => {
  const g = await ok(t, await call('POST', `${C}/register?kind=guest`, { body: { username: 'ignored', device_id: 'IGNORED', initial_device_display_name: 'Guest device' } }), 'POST /register', 'a guest');
  t.match(g.user_id, /^@\d+:/, 'a generated id');
  t.not(g.device_id, 'IGNORED', 'the server picks the device');
  const who = await ok(t, await call('GET', `${C}/account/whoami`, { token: g.access_token }), 'GET /account/whoami', 'whoami');
  t.equal(who.is_guest, true);
  const r0 = await call('GET', '/_matrix/client/r0/account/whoami', { token: g.access_token });
  t.same([r0.status, r0.body.user_id], [200, g.user_id], 'the pre-v1.1 r0 path answers as v3');
  const r0Sync = await call('GET', '/_matrix/client/r0/sync?timeout=0', { token: g.access_token });
  t.ok(r0Sync.status === 200 && typeof r0Sync.body.next_batch === 'string', 'r0 of a SyncAPI route too (the gateway serves r0 as v3 for every component)');
  t.equal((await call('GET', `${C}/devices/${g.device_id}`, { token: g.access_token })).body.display_name, 'Guest device');
  refused(t, await call('PUT', `${C}/user/${encodeURIComponent(g.user_id)}/account_data/x.y`, { token: g.access_token, body: {} }), 403, 'M_GUEST_ACCESS_FORBIDDEN', 'no account data for guests');
  refused(t, await call('PUT', `${C}/profile/${encodeURIComponent(g.user_id)}/avatar_url`, { token: g.access_token, body: { avatar_url: 'mxc://a/b' } }), 403, 'M_GUEST_ACCESS_FORBIDDEN', 'nor avatars');
  t.equal((await call('PUT', `${C}/profile/${encodeURIComponent(g.user_id)}/displayname`, { token: g.access_token, body: { displayname: 'Visitor' } })).status, 200, 'a display name is allowed');
  refused(t, await call('GET', `${C}/pushrules/`, { token: g.access_token }), 403, 'M_GUEST_ACCESS_FORBIDDEN', 'nor push rules');
  refused(t, await call('GET', `${C}/events`, { token: g.access_token }), 403, 'M_GUEST_ACCESS_FORBIDDEN', 'nor the event stream of all its rooms (only of one, to preview it)');

  // Upgrading the guest to a full account, keeping its user id.
  const localpart = g.user_id.slice(1, g.user_id.indexOf(':'));
  const upgrade = (extra: Record<string, unknown>) => call('POST', `${C}/register`, { body: { guest_access_token: g.access_token, username: localpart, password: 'guest-pw', ...extra } });
  refused(t, await upgrade({ username: 'someoneelse' }), 400, 'M_INVALID_USERNAME', 'an upgrade must keep the localpart');
  const alice = (await login('alice')).body;
  refused(t, await call('POST', `${C}/register`, { body: { guest_access_token: alice.access_token, username: 'alice', password: 'x' } }), 403, 'M_FORBIDDEN', 'only a guest token upgrades');
  t.equal((await call('GET', `${C}/account/whoami`, { token: g.access_token })).body.is_guest, true, 'still a guest');
  const ask = await upgrade({});
  t.equal(ask.status, 401, 'an upgrade goes through auth like any registration');
  const up = await ok(t, await upgrade({ auth: { type: 'm.login.dummy', session: ask.body.session } }), 'POST /register', 'upgraded');
  t.equal(up.user_id, g.user_id, 'the same user id');
  t.equal((await call('GET', `${C}/account/whoami`, { token: g.access_token })).body.is_guest, false, 'the guest token now belongs to a full account');
  t.equal((await login(localpart, 'guest-pw')).status, 200, 'which logs in with its password');
  refused(t, await upgrade({}), 403, 'M_FORBIDDEN', 'and is no guest any more');
});

t.test('login, whoami, refresh, logout', async (t) => {
  await register('bob', 'bob-pw');
  await ok(t, await call('GET', `${C}/login`), 'GET /login', 'login flows');
  t.same((await call('GET', `${C}/login`)).body.flows, [{ type: 'm.login.password' }]);
  const a = await ok(t, await login('bob', 'bob-pw'), 'POST /login', 'by localpart');
  await ok(t, await login(me('BOB'), 'bob-pw'), 'POST /login', 'by full id');
  await ok(t, await call('POST', `${C}/login`, { body: { type: 'm.login.password', user: 'bob', password: 'bob-pw' } }), 'POST /login', 'the legacy user field');
  const who = await ok(t, await call('GET', `${C}/account/whoami`, { token: a.access_token }), 'GET /account/whoami', 'whoami');
  t.same(who, { user_id: me('bob'), device_id: a.device_id, is_guest: false });
  t.equal((await call('GET', `${C}/account/whoami?access_token=${encodeURIComponent(a.access_token)}`)).status, 200, 'the token as a query parameter');

  const devicesBefore = (await call('GET', `${C}/devices`, { token: a.access_token })).body.devices.length;
  refused(t, await login('bob', 'wrong'), 403, 'M_FORBIDDEN', 'a wrong password');
  refused(t, await login('nobody', 'wrong'), 403, 'M_FORBIDDEN', 'an unknown user');
  refused(t, await login('@bob:other.example', 'bob-pw'), 403, 'M_FORBIDDEN', 'a user of another server');
  refused(t, await call('POST', `${C}/login`, { body: { type: 'm.login.password', identifier: { type: 'm.id.thirdparty', medium: 'email', address: 'bob@example.org' }, password: 'bob-pw' } }), 403, 'M_FORBIDDEN', 'an unknown third-party id');
  refused(t, await call('POST', `${C}/login`, { body: { type: 'm.login.token', token: 'abc' } }), 400, 'M_UNKNOWN', 'a login type not offered');
  refused(t, await call('POST', `${C}/login`, { body: { type: 'm.login.password', password: 'bob-pw' } }), 400, 'M_MISSING_PARAM', 'no identifier');
  refused(t, await call('POST', `${C}/login`, { body: { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'bob' } } }), 400, 'M_MISSING_PARAM', 'no password');
  refused(t, await call('POST', `${C}/login`, { body: { identifier: { type: 'm.id.user', user: 'bob' }, password: 'bob-pw' } }), 400, 'M_BAD_JSON', 'no type');
  t.equal((await call('GET', `${C}/devices`, { token: a.access_token })).body.devices.length, devicesBefore, 'failed logins made no device');

  refused(t, await call('GET', `${C}/account/whoami`), 401, 'M_MISSING_TOKEN', 'whoami without a token');
  const unknown = await call('GET', `${C}/account/whoami`, { token: 'nta_unknown' });
  t.same([unknown.status, unknown.body.errcode, unknown.body.soft_logout], [401, 'M_UNKNOWN_TOKEN', false], 'an unknown token: hard logout');

  const reuse = await ok(t, await login('bob', 'bob-pw', { device_id: a.device_id }), 'POST /login', 'logging in again on the same device');
  t.equal(reuse.device_id, a.device_id);
  refused(t, await call('GET', `${C}/account/whoami`, { token: a.access_token }), 401, 'M_UNKNOWN_TOKEN', 'the device’s old token is gone');

  const r = await ok(t, await login('bob', 'bob-pw', { refresh_token: true }), 'POST /login', 'with refresh_token');
  t.ok(r.refresh_token && r.expires_in_ms > 0, 'a refresh token and a lifetime');
  const refreshed = await ok(t, await call('POST', `${C}/refresh`, { body: { refresh_token: r.refresh_token } }), 'POST /refresh', 'refresh');
  t.equal((await call('GET', `${C}/account/whoami`, { token: refreshed.access_token })).body.device_id, r.device_id, 'the new token is the same device');
  const spent = await call('POST', `${C}/refresh`, { body: { refresh_token: r.refresh_token } });
  t.same([spent.status, spent.body.errcode, spent.body.soft_logout], [401, 'M_UNKNOWN_TOKEN', false], 'a spent refresh token');
  refused(t, await call('POST', `${C}/refresh`, { body: {} }), 400, 'M_BAD_JSON', 'no refresh token');

  // The SyncAPI and the MediaAPI (other processes in split) have just seen the token too: they must forget it as well.
  const elsewhere: [string, string][] = [
    [`${C}/sync?timeout=0`, 'the SyncAPI'],
    ['/_matrix/client/v1/media/config', 'the MediaAPI'],
  ];
  for (const [path, who] of elsewhere) t.equal((await call('GET', path, { token: refreshed.access_token })).status, 200, `${who} takes the token`);
  await ok(t, await call('POST', `${C}/logout`, { token: refreshed.access_token }), 'POST /logout', 'logout');
  refused(t, await call('GET', `${C}/account/whoami`, { token: refreshed.access_token }), 401, 'M_UNKNOWN_TOKEN', 'the token is gone');
  for (const [path, who] of elsewhere) refused(t, await call('GET', path, { token: refreshed.access_token }), 401, 'M_UNKNOWN_TOKEN', `${who} refuses it at once`);
  const others = [await login('bob', 'bob-pw'), await login('bob', 'bob-pw')].map((x) => x.body.access_token as string);
  await ok(t, await call('POST', `${C}/logout/all`, { token: others[0] }), 'POST /logout/all', 'logout all');
  for (const tok of [...others, reuse.access_token]) refused(t, await call('GET', `${C}/account/whoami`, { token: tok }), 401, 'M_UNKNOWN_TOKEN', 'every token is gone');
  refused(t, await call('POST', `${C}/logout`), 401, 'M_MISSING_TOKEN', 'logout without a token');
});

t.test('devices, and deleting them with the password', async (t) => {
  await register('carol', 'carol-pw');
  const a = (await login('carol', 'carol-pw')).body;
  const b = (await login('carol', 'carol-pw', { initial_device_display_name: 'Tablet' })).body;
  const list = await ok(t, await call('GET', `${C}/devices`, { token: a.access_token }), 'GET /devices', 'list');
  t.equal(list.devices.length, 3);
  const one = await ok(t, await call('GET', `${C}/devices/${b.device_id}`, { token: a.access_token }), 'GET /devices/{deviceId}', 'one device');
  t.equal(one.display_name, 'Tablet');
  t.ok(one.last_seen_ts > 0 && one.last_seen_ip, 'last seen');
  await ok(t, await call('PUT', `${C}/devices/${b.device_id}`, { token: a.access_token, body: { display_name: 'Old tablet' } }), 'PUT /devices/{deviceId}', 'rename');
  t.equal((await call('GET', `${C}/devices/${b.device_id}`, { token: a.access_token })).body.display_name, 'Old tablet');
  refused(t, await call('GET', `${C}/devices/NOSUCH`, { token: a.access_token }), 404, 'M_NOT_FOUND', 'an unknown device');
  refused(t, await call('PUT', `${C}/devices/NOSUCH`, { token: a.access_token, body: { display_name: 'x' } }), 404, 'M_NOT_FOUND', 'renaming an unknown device');
  refused(t, await call('PUT', `${C}/devices/${b.device_id}`, { token: a.access_token, body: { display_name: 5 } }), 400, 'M_BAD_JSON', 'a name that is not a string');

  const ask = await call('DELETE', `${C}/devices/${b.device_id}`, { token: a.access_token });
  await ok(t, ask, 'DELETE /devices/{deviceId}', 'deletion asks for the password', 401);
  t.same(ask.body.flows, [{ stages: ['m.login.password'] }]);
  const wrong = await call('DELETE', `${C}/devices/${b.device_id}`, { token: a.access_token, body: { auth: PW_AUTH('carol', 'nope', ask.body.session) } });
  t.same([wrong.status, wrong.body.errcode, wrong.body.session], [401, 'M_FORBIDDEN', ask.body.session], 'a wrong password: 401 with the same session');
  await register('mallory', 'mallory-pw');
  const someoneElse = await call('DELETE', `${C}/devices/${b.device_id}`, { token: a.access_token, body: { auth: PW_AUTH('mallory', 'mallory-pw', ask.body.session) } });
  t.same([someoneElse.status, someoneElse.body.errcode], [403, 'M_FORBIDDEN'], "another account's password: 403, final");
  const elsewhere = await call('DELETE', `${C}/devices/${a.device_id}`, { token: a.access_token, body: { auth: PW_AUTH('carol', 'carol-pw', ask.body.session) } });
  refused(t, elsewhere, 403, 'M_FORBIDDEN', 'the session of one deletion cannot delete another device');
  t.equal((await call('GET', `${C}/account/whoami`, { token: b.access_token })).status, 200, 'nothing deleted so far');
  await ok(t, await call('DELETE', `${C}/devices/${b.device_id}`, { token: a.access_token, body: { auth: PW_AUTH('carol', 'carol-pw', ask.body.session) } }), 'DELETE /devices/{deviceId}', 'deleted');
  refused(t, await call('GET', `${C}/account/whoami`, { token: b.access_token }), 401, 'M_UNKNOWN_TOKEN', 'its token went with it');

  const c = (await login('carol', 'carol-pw')).body;
  const bulk = await call('POST', `${C}/delete_devices`, { token: a.access_token, body: { devices: [c.device_id, 'NOSUCH'] } });
  t.equal(bulk.status, 401, 'bulk deletion asks too');
  refused(t, await call('POST', `${C}/delete_devices`, { token: a.access_token, body: {} }), 400, 'M_BAD_JSON', 'no device list');
  await ok(t, await call('POST', `${C}/delete_devices`, { token: a.access_token, body: { devices: [c.device_id, 'NOSUCH'], auth: PW_AUTH(me('carol'), 'carol-pw', bulk.body.session) } }), 'POST /delete_devices', 'bulk deleted');
  refused(t, await call('GET', `${C}/account/whoami`, { token: c.access_token }), 401, 'M_UNKNOWN_TOKEN', 'gone');
});

t.test('password change and deactivation', async (t) => {
  await register('dave', 'dave-pw');
  const a = (await login('dave', 'dave-pw')).body;
  const b = (await login('dave', 'dave-pw')).body;
  refused(t, await call('POST', `${C}/account/password`, { body: { new_password: 'x' } }), 401, 'M_MISSING_TOKEN', 'a token is needed');
  refused(t, await call('POST', `${C}/account/password`, { token: a.access_token, body: {} }), 400, 'M_BAD_JSON', 'no new password');
  refused(t, await call('POST', `${C}/account/password`, { token: a.access_token, body: { new_password: '' } }), 400, 'M_WEAK_PASSWORD', 'an empty password');
  const ask = await call('POST', `${C}/account/password`, { token: a.access_token, body: { new_password: 'new-pw' } });
  await ok(t, ask, 'POST /account/password', 'asks for the password', 401);
  const wrong = await call('POST', `${C}/account/password`, { token: a.access_token, body: { new_password: 'new-pw', auth: PW_AUTH('dave', 'bad', ask.body.session) } });
  t.same([wrong.status, wrong.body.errcode], [401, 'M_FORBIDDEN'], 'a wrong password');
  t.equal((await login('dave', 'dave-pw')).status, 200, 'the password is unchanged');
  await ok(t, await call('POST', `${C}/account/password`, { token: a.access_token, body: { new_password: 'new-pw', auth: PW_AUTH('dave', 'dave-pw', ask.body.session) } }), 'POST /account/password', 'changed');
  refused(t, await login('dave', 'dave-pw'), 403, 'M_FORBIDDEN', 'the old password no longer works');
  t.equal((await call('GET', `${C}/account/whoami`, { token: a.access_token })).status, 200, 'the requesting device stays');
  refused(t, await call('GET', `${C}/account/whoami`, { token: b.access_token }), 401, 'M_UNKNOWN_TOKEN', 'other devices are logged out by default');

  const c = (await login('dave', 'new-pw')).body;
  const ask2 = await call('POST', `${C}/account/password`, { token: a.access_token, body: { new_password: 'newer-pw', logout_devices: false } });
  await call('POST', `${C}/account/password`, { token: a.access_token, body: { new_password: 'newer-pw', logout_devices: false, auth: PW_AUTH('dave', 'new-pw', ask2.body.session) } });
  t.equal((await call('GET', `${C}/account/whoami`, { token: c.access_token })).status, 200, 'logout_devices false keeps the others');

  await ok(t, await call('GET', `${C}/account/3pid`, { token: a.access_token }), 'GET /account/3pid', 'no third-party ids');
  t.same((await call('GET', `${C}/account/3pid`, { token: a.access_token })).body, { threepids: [] });

  const d = await call('POST', `${C}/account/deactivate`, { token: a.access_token, body: {} });
  t.equal(d.status, 401, 'deactivation asks for the password');
  const wrongD = await call('POST', `${C}/account/deactivate`, { token: a.access_token, body: { auth: PW_AUTH('dave', 'nope', d.body.session) } });
  t.same([wrongD.status, wrongD.body.errcode], [401, 'M_FORBIDDEN'], 'a wrong password');
  t.equal((await call('GET', `${C}/account/whoami`, { token: a.access_token })).status, 200, 'still active');
  const done = await ok(t, await call('POST', `${C}/account/deactivate`, { token: a.access_token, body: { auth: PW_AUTH('dave', 'newer-pw', d.body.session) } }), 'POST /account/deactivate', 'deactivated');
  t.same(done, { id_server_unbind_result: 'success' });
  refused(t, await call('GET', `${C}/account/whoami`, { token: c.access_token }), 401, 'M_UNKNOWN_TOKEN', 'every token is gone');
  refused(t, await login('dave', 'newer-pw'), 403, 'M_USER_DEACTIVATED', 'login says deactivated');
  refused(t, await register('dave'), 400, 'M_USER_IN_USE', 'the name is not given out again');
});

t.test('profiles', async (t) => {
  const e = (await register('erin', 'pw')).body;
  const path = (u: string, key = '') => `${C}/profile/${encodeURIComponent(u)}${key ? `/${key}` : ''}`;
  await ok(t, await call('PUT', path(me('erin'), 'displayname'), { token: e.access_token, body: { displayname: 'Erin' } }), 'PUT /profile/{userId}/{keyName}', 'set a display name');
  await call('PUT', path(me('erin'), 'avatar_url'), { token: e.access_token, body: { avatar_url: `mxc://${serverName}/abc` } });
  await call('PUT', path(me('erin'), 'm.tz'), { token: e.access_token, body: { 'm.tz': 'Europe/Berlin' } });
  const p = await ok(t, await call('GET', path(me('erin'))), 'GET /profile/{userId}', 'the whole profile, without a token');
  t.same(p, { displayname: 'Erin', avatar_url: `mxc://${serverName}/abc`, 'm.tz': 'Europe/Berlin' });
  t.same((await ok(t, await call('GET', path(me('erin'), 'displayname')), 'GET /profile/{userId}/{keyName}', 'one field')), { displayname: 'Erin' });
  const before = (await call('GET', path(me('erin')))).body;
  refused(t, await call('PUT', path(me('alice'), 'displayname'), { token: e.access_token, body: { displayname: 'Hacked' } }), 403, 'M_FORBIDDEN', "another user's profile");
  refused(t, await call('PUT', path(me('erin'), 'displayname'), { body: { displayname: 'x' } }), 401, 'M_MISSING_TOKEN', 'no token');
  refused(t, await call('PUT', path(me('erin'), 'displayname'), { token: e.access_token, body: { avatar_url: 'mxc://a/b' } }), 400, 'M_MISSING_PARAM', 'the body lacks the key');
  refused(t, await call('PUT', path(me('erin'), 'avatar_url'), { token: e.access_token, body: { avatar_url: 42 } }), 400, 'M_BAD_JSON', 'an avatar that is not a string');
  refused(t, await call('PUT', path(me('erin'), 'Bad-Key'), { token: e.access_token, body: { 'Bad-Key': 1 } }), 400, 'M_INVALID_PARAM', 'a key outside the grammar');
  refused(t, await call('PUT', path(me('erin'), 'displayname'), { token: e.access_token, body: { displayname: 'a', extra: 1 } }), 400, 'M_BAD_JSON', 'more than the key');
  t.same((await call('GET', path(me('erin')))).body, before, 'refusals changed nothing');
  refused(t, await call('GET', path(me('nobody'))), 404, 'M_NOT_FOUND', 'an unknown user');
  refused(t, await call('GET', path('@someone:other.example')), 404, 'M_NOT_FOUND', 'a user of another server (no federation yet)');
  refused(t, await call('GET', path('not-a-user')), 400, 'M_INVALID_PARAM', 'not a user id');
  refused(t, await call('GET', path(me('erin'), 'org.example.none')), 404, 'M_NOT_FOUND', 'a field not set');
  await ok(t, await call('DELETE', path(me('erin'), 'm.tz'), { token: e.access_token }), 'DELETE /profile/{userId}/{keyName}', 'delete a field');
  t.same((await call('GET', path(me('erin')))).body, { displayname: 'Erin', avatar_url: `mxc://${serverName}/abc` });
});

t.test('account data and filters', async (t) => {
  const f = (await register('fay', 'pw')).body;
  const ad = (type: string, room?: string) => `${C}/user/${encodeURIComponent(me('fay'))}${room ? `/rooms/${encodeURIComponent(room)}` : ''}/account_data/${type}`;
  await ok(t, await call('PUT', ad('org.example.settings'), { token: f.access_token, body: { theme: 'dark' } }), 'PUT /user/{userId}/account_data/{type}', 'set');
  t.same(await ok(t, await call('GET', ad('org.example.settings'), { token: f.access_token }), 'GET /user/{userId}/account_data/{type}', 'get'), { theme: 'dark' });
  const room = `!room:${serverName}`;
  await ok(t, await call('PUT', ad('m.tag', room), { token: f.access_token, body: { tags: {} } }), 'PUT /user/{userId}/rooms/{roomId}/account_data/{type}', 'set in a room');
  t.same((await call('GET', ad('m.tag', room), { token: f.access_token })).body, { tags: {} });
  refused(t, await call('GET', ad('m.tag'), { token: f.access_token }), 404, 'M_NOT_FOUND', 'room data is not global');
  refused(t, await call('PUT', ad('m.push_rules'), { token: f.access_token, body: {} }), 405, 'M_BAD_JSON', 'm.push_rules is the server’s');
  refused(t, await call('PUT', ad('m.fully_read', room), { token: f.access_token, body: { event_id: '$x' } }), 405, 'M_BAD_JSON', 'm.fully_read is the server’s');
  refused(t, await call('PUT', ad('x.y', 'not-a-room'), { token: f.access_token, body: {} }), 400, 'M_INVALID_PARAM', 'a bad room id');
  refused(t, await call('PUT', ad('org.example.settings'), { token: f.access_token, body: [1, 2] }), 400, 'M_BAD_JSON', 'content that is not an object');
  refused(t, await call('PUT', ad('org.example.settings'), { token: f.access_token, raw: 'nope' }), 400, 'M_NOT_JSON', 'content that is not JSON');
  const alice = (await login('alice')).body;
  refused(t, await call('GET', ad('org.example.settings'), { token: alice.access_token }), 403, 'M_FORBIDDEN', "another user's data");
  refused(t, await call('PUT', ad('org.example.settings'), { token: alice.access_token, body: { theme: 'light' } }), 403, 'M_FORBIDDEN', "writing another user's data");
  t.same((await call('GET', ad('org.example.settings'), { token: f.access_token })).body, { theme: 'dark' }, 'unchanged');
  const rules = (await call('GET', ad('m.push_rules'), { token: f.access_token })).body;
  t.ok(rules.global?.override, 'm.push_rules reads as the rules');

  const filterPath = `${C}/user/${encodeURIComponent(me('fay'))}/filter`;
  const filter = { room: { timeline: { limit: 20 } }, event_fields: ['type', 'content'] };
  const made = await ok(t, await call('POST', filterPath, { token: f.access_token, body: filter }), 'POST /user/{userId}/filter', 'upload a filter');
  t.same(await ok(t, await call('GET', `${filterPath}/${made.filter_id}`, { token: f.access_token }), 'GET /user/{userId}/filter/{filterId}', 'download it'), filter);
  refused(t, await call('GET', `${filterPath}/nosuch`, { token: f.access_token }), 404, 'M_NOT_FOUND', 'an unknown filter');
  refused(t, await call('GET', `${filterPath}/${made.filter_id}`, { token: alice.access_token }), 403, 'M_FORBIDDEN', "another user's filter");
  refused(t, await call('POST', filterPath, { token: f.access_token, body: { room: { timeline: { limit: 'ten' } } } }), 400, 'M_BAD_JSON', 'a filter the spec refuses');
});

t.test('push rules, pushers, the user directory', async (t) => {
  const g = (await register('gus', 'pw')).body;
  const tok = { token: g.access_token };
  await ok(t, await call('GET', `${C}/pushrules/`, tok), 'GET /pushrules/', 'all rulesets');
  await ok(t, await call('GET', `${C}/pushrules/global/`, tok), 'GET /pushrules/global/', 'the global ruleset');
  const rule = `${C}/pushrules/global/content/cake`;
  await ok(t, await call('PUT', rule, { ...tok, body: { pattern: 'cake', actions: ['notify'] } }), 'PUT /pushrules/global/{kind}/{ruleId}', 'add a rule');
  await call('PUT', `${C}/pushrules/global/content/pie?after=cake`, { ...tok, body: { pattern: 'pie', actions: [] } });
  t.same((await call('GET', `${C}/pushrules/global/`, tok)).body.content.map((r: any) => r.rule_id), ['cake', 'pie'], 'after');
  const ofKind = await call('GET', `${C}/pushrules/global/content/`, tok);
  t.same([ofKind.status, ofKind.body.map((r: any) => r.rule_id).filter((id: string) => !id.startsWith('.'))], [200, ['cake', 'pie']], 'the rules of one kind (r0, as Synapse answers)');
  refused(t, await call('GET', `${C}/pushrules/global/bogus/`, tok), 404, 'M_NOT_FOUND', 'the rules of an unknown kind');
  t.same(await ok(t, await call('GET', rule, tok), 'GET /pushrules/global/{kind}/{ruleId}', 'one rule'), { rule_id: 'cake', default: false, enabled: true, pattern: 'cake', actions: ['notify'] });
  await ok(t, await call('PUT', `${rule}/enabled`, { ...tok, body: { enabled: false } }), 'PUT /pushrules/global/{kind}/{ruleId}/enabled', 'disable');
  t.same(await ok(t, await call('GET', `${rule}/enabled`, tok), 'GET /pushrules/global/{kind}/{ruleId}/enabled', 'enabled?'), { enabled: false });
  await ok(t, await call('PUT', `${C}/pushrules/global/override/.m.rule.master/actions`, { ...tok, body: { actions: ['notify'] } }), 'PUT /pushrules/global/{kind}/{ruleId}/actions', 'actions of a default rule');
  t.same(await ok(t, await call('GET', `${C}/pushrules/global/override/.m.rule.master/actions`, tok), 'GET /pushrules/global/{kind}/{ruleId}/actions', 'actions?'), { actions: ['notify'] });
  const snapshot = (await call('GET', `${C}/pushrules/`, tok)).body;
  refused(t, await call('PUT', `${C}/pushrules/global/override/.mine`, { ...tok, body: { actions: [] } }), 400, 'M_INVALID_PARAM', 'a dot rule id');
  refused(t, await call('PUT', `${C}/pushrules/global/content/x?before=nosuch`, { ...tok, body: { pattern: 'x', actions: [] } }), 400, 'M_UNKNOWN', 'before an unknown rule');
  refused(t, await call('PUT', `${C}/pushrules/global/content/x`, { ...tok, body: { pattern: 'x' } }), 400, 'M_BAD_JSON', 'no actions');
  refused(t, await call('PUT', `${C}/pushrules/global/bogus/x`, { ...tok, body: { actions: [] } }), 400, 'M_INVALID_PARAM', 'an unknown kind');
  refused(t, await call('GET', `${C}/pushrules/global/postcontent/.org.example.rule`, tok), 404, 'M_NOT_FOUND', 'a rule of a kind not known here: none');
  refused(t, await call('PUT', `${C}/pushrules/global/postcontent/.org.example.rule/enabled`, { ...tok, body: { enabled: false } }), 404, 'M_NOT_FOUND', 'nor can it be switched');
  refused(t, await call('GET', `${C}/pushrules/global/override/nosuch`, tok), 404, 'M_NOT_FOUND', 'an unknown rule');
  refused(t, await call('DELETE', `${C}/pushrules/global/override/nosuch`, tok), 404, 'M_NOT_FOUND', 'deleting an unknown rule');
  refused(t, await call('PUT', `${C}/pushrules/global/override/nosuch/enabled`, { ...tok, body: { enabled: true } }), 404, 'M_NOT_FOUND', 'enabling an unknown rule');
  refused(t, await call('PUT', `${rule}/enabled`, { ...tok, body: {} }), 400, 'M_BAD_JSON', 'enabled missing');
  t.same((await call('GET', `${C}/pushrules/`, tok)).body, snapshot, 'refusals changed nothing');
  await ok(t, await call('DELETE', rule, tok), 'DELETE /pushrules/global/{kind}/{ruleId}', 'delete');
  refused(t, await call('GET', rule, tok), 404, 'M_NOT_FOUND', 'gone');

  const pusher = {
    kind: 'http', app_id: 'org.example.app', pushkey: 'pk1', app_display_name: 'App', device_display_name: 'Phone', lang: 'en',
    data: { url: 'https://push.example.org/_matrix/push/v1/notify' },
  };
  await ok(t, await call('POST', `${C}/pushers/set`, { ...tok, body: pusher }), 'POST /pushers/set', 'set a pusher');
  const listed = await ok(t, await call('GET', `${C}/pushers`, tok), 'GET /pushers', 'list pushers');
  t.same(listed.pushers, [pusher]);
  refused(t, await call('POST', `${C}/pushers/set`, { ...tok, body: { ...pusher, lang: undefined, pushkey: 'pk2' } }), 400, 'M_MISSING_PARAM', 'a missing field');
  refused(t, await call('POST', `${C}/pushers/set`, { ...tok, body: { kind: 'http', app_id: 'a' } }), 400, 'M_BAD_JSON', 'no pushkey');
  t.equal((await call('GET', `${C}/pushers`, tok)).body.pushers.length, 1, 'unchanged');
  await call('POST', `${C}/pushers/set`, { ...tok, body: { kind: null, app_id: pusher.app_id, pushkey: pusher.pushkey } });
  t.same((await call('GET', `${C}/pushers`, tok)).body, { pushers: [] }, 'deleted');

  const found = await ok(t, await call('POST', `${C}/user_directory/search`, { ...tok, body: { search_term: 'ERIN' } }), 'POST /user_directory/search', 'directory search');
  t.same(found.results.map((r: any) => r.user_id), [me('erin')]);
  refused(t, await call('POST', `${C}/user_directory/search`, { ...tok, body: {} }), 400, 'M_BAD_JSON', 'no search term');
  refused(t, await call('POST', `${C}/user_directory/search`, { ...tok, body: { search_term: 'a', limit: 0 } }), 400, 'M_INVALID_PARAM', 'a zero limit');
});

t.test('admin: registration tokens (Synapse admin API) and shared-secret registration', async (t) => {
  const admin = (await login('root', 'root-pw')).body;
  const user = (await login('alice')).body;
  const A = '/_synapse/admin/v1';
  refused(t, await call('GET', `${A}/registration_tokens`), 401, 'M_MISSING_TOKEN', 'no token');
  refused(t, await call('GET', `${A}/registration_tokens`, { token: user.access_token }), 403, 'M_FORBIDDEN', 'not an admin');
  refused(t, await call('POST', `${A}/registration_tokens/new`, { token: user.access_token, body: {} }), 403, 'M_FORBIDDEN', 'not an admin may not create');
  t.same((await call('GET', `${A}/registration_tokens`, { token: admin.access_token })).body, { registration_tokens: [] }, 'nothing created by refusals');
  const made = await call('POST', `${A}/registration_tokens/new`, { token: admin.access_token, body: { token: 'abc', uses_allowed: 1 } });
  t.same(made.body, { token: 'abc', uses_allowed: 1, pending: 0, completed: 0, expiry_time: null });
  refused(t, await call('POST', `${A}/registration_tokens/new`, { token: admin.access_token, body: { token: 'abc' } }), 400, 'M_INVALID_PARAM', 'a duplicate');
  refused(t, await call('POST', `${A}/registration_tokens/new`, { token: admin.access_token, body: { uses_allowed: 'x' } }), 400, 'M_INVALID_PARAM', 'uses that are not a number');
  t.same((await call('PUT', `${A}/registration_tokens/abc`, { token: admin.access_token, body: { uses_allowed: 5 } })).body.uses_allowed, 5);
  t.same((await call('GET', `${A}/registration_tokens/abc`, { token: admin.access_token })).body.uses_allowed, 5);
  t.same((await call('GET', `${A}/registration_tokens?valid=true`, { token: admin.access_token })).body.registration_tokens.map((r: any) => r.token), ['abc']);
  t.same((await call('GET', `${A}/registration_tokens?valid=false`, { token: admin.access_token })).body.registration_tokens, []);
  refused(t, await call('GET', `${A}/registration_tokens?valid=maybe`, { token: admin.access_token }), 400, 'M_INVALID_PARAM', 'a bad valid filter');
  t.same((await call('DELETE', `${A}/registration_tokens/abc`, { token: admin.access_token })).body, {});
  refused(t, await call('GET', `${A}/registration_tokens/abc`, { token: admin.access_token }), 404, 'M_NOT_FOUND', 'deleted');
  refused(t, await call('DELETE', `${A}/registration_tokens/abc`, { token: admin.access_token }), 404, 'M_NOT_FOUND', 'deleting twice');

  const nonce = async () => (await call('GET', `${A}/register`)).body.nonce as string;
  const n1 = await nonce();
  const reg = await call('POST', `${A}/register`, { body: { nonce: n1, username: 'boss', password: 'boss-pw', admin: true, mac: registrationMac(SECRET, n1, 'boss', 'boss-pw', true) } });
  t.equal(reg.status, 200, 'registered with the shared secret');
  t.equal(reg.body.user_id, me('boss'));
  t.equal((await call('GET', `${A}/registration_tokens`, { token: reg.body.access_token })).status, 200, 'as an admin');
  refused(t, await call('POST', `${A}/register`, { body: { nonce: n1, username: 'boss2', password: 'pw', mac: registrationMac(SECRET, n1, 'boss2', 'pw', false) } }), 400, 'M_UNKNOWN', 'a nonce is used once');
  const n2 = await nonce();
  refused(t, await call('POST', `${A}/register`, { body: { nonce: n2, username: 'boss3', password: 'pw', admin: true, mac: registrationMac(SECRET, n2, 'boss3', 'pw', false) } }), 403, 'M_FORBIDDEN', 'a MAC for another admin flag');
  t.ok(await available('boss3'), 'no account made');
  refused(t, await call('POST', `${A}/register`, { body: { nonce: n2, username: 'boss3', password: 'pw', mac: registrationMac(SECRET, n2, 'boss3', 'pw', false) } }), 400, 'M_UNKNOWN', 'the nonce of a failed attempt is spent too');
  const n3 = await nonce();
  refused(t, await call('POST', `${A}/register`, { body: { nonce: n3, username: 'boss4', password: 'pw' } }), 400, 'M_BAD_JSON', 'no mac');
  refused(t, await call('POST', `${A}/register`, { body: { username: 'boss4', password: 'pw', mac: 'x' } }), 400, 'M_BAD_JSON', 'no nonce');
  const n4 = await nonce();
  refused(t, await call('POST', `${A}/register`, { body: { nonce: n4, username: 'boss', password: 'pw', mac: registrationMac(SECRET, n4, 'boss', 'pw', false) } }), 400, 'M_USER_IN_USE', 'a taken name');
});
