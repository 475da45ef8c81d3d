/**
 * Users and admins on the built server (split: a change made on the dashboard, in the setup process, reaches the ClientAPI's token answers before it is answered): Synapse's user admin
 * endpoints (GET /v2/users, GET and PUT /v2/users/{userId}) and the
 * dashboard's users page and "make admin" / "remove admin" on the setup
 * port. Every refusal with its exact status and errcode, and a check that
 * it changed nothing; the last administrator is never removed. The setup
 * port sends no CORS headers, where the client port does.
 */
import t, { type Test } from 'tap';
import { cli, initServer, removeDataDir, startServer } from '../helpers/server.js';
import { SetupClient } from '../helpers/setup.js';

const { dataDir, ports, serverName } = await initServer({ mode: 'split', tls: 'off', extra: ['--registration', 'open', '--guest-access', 'on'] });
t.equal(cli(['user', 'add', 'root', '--password', 'root-password', '--admin', '--data-dir', dataDir]).status, 0, 'an admin made while the server is stopped');
const server = await startServer(dataDir, { clientPort: ports.client });
t.teardown(async () => {
  await server.stop();
  removeDataDir(dataDir);
});

const BASE = `http://127.0.0.1:${ports.client}`;
const SETUP = `http://127.0.0.1:${ports.setup}`;
const A = '/_synapse/admin/v2';
const me = (local: string) => `@${local}:${serverName}`;
const enc = encodeURIComponent;

interface Answer {
  status: number;
  body: any;
}

async function call(method: string, path: string, opts: { body?: unknown; token?: string } = {}): Promise<Answer> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  const r = await fetch(BASE + path, { method, headers, ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}) });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : undefined };
}

function refused(t: Test, a: Answer, status: number, errcode: string, what: string) {
  t.same([a.status, a.body?.errcode], [status, errcode], `${what}: ${status} ${errcode}${a.body?.error ? ` (${a.body.error})` : ''}`);
}

async function register(username: string) {
  const first = await call('POST', '/_matrix/client/v3/register', { body: { username, password: `${username}-password` } });
  const done = await call('POST', '/_matrix/client/v3/register', { body: { username, password: `${username}-password`, auth: { type: 'm.login.dummy', session: first.body.session } } });
  return done.body as { user_id: string; access_token: string; device_id: string };
}

async function login(user: string, password: string) {
  return (await call('POST', '/_matrix/client/v3/login', { body: { type: 'm.login.password', identifier: { type: 'm.id.user', user }, password } })).body as { access_token: string };
}

const root = await login('root', 'root-password');
const alice = await register('alice');
const bob = await register('bob');
await register('zed');
const guest = (await call('POST', '/_matrix/client/v3/register?kind=guest', { body: {} })).body;
await call('PUT', `/_matrix/client/v3/profile/${enc(me('bob'))}/displayname`, { token: bob.access_token, body: { displayname: 'Robert' } });
const admin = { token: root.access_token };
const adminsNow = async () => (await call('GET', `${A}/users?admins=true`, admin)).body.users.map((u: any) => u.name);

t.test('Synapse: GET /v2/users lists, pages and filters; admins only', async (t) => {
  refused(t, await call('GET', `${A}/users`), 401, 'M_MISSING_TOKEN', 'no token');
  refused(t, await call('GET', `${A}/users`, { token: alice.access_token }), 403, 'M_FORBIDDEN', 'not an admin');
  const all = await call('GET', `${A}/users`, admin);
  t.equal(all.status, 200);
  t.same(all.body.users.map((u: any) => u.name), [guest.user_id, me('alice'), me('bob'), me('root'), me('zed')], 'every local user by id');
  t.equal(all.body.total, 5);
  t.notOk('next_token' in all.body, 'one page');
  const rootEntry = all.body.users.find((u: any) => u.name === me('root'));
  t.match(rootEntry, { name: me('root'), admin: true, is_guest: false, deactivated: false, displayname: 'root', avatar_url: null, user_type: null, shadow_banned: false, locked: false });
  t.ok(rootEntry.creation_ts > 1_600_000_000_000 && rootEntry.creation_ts <= Date.now(), 'creation_ts in milliseconds, as Synapse lists it');
  t.match(all.body.users.find((u: any) => u.name === guest.user_id), { is_guest: true, admin: false });

  const page = (await call('GET', `${A}/users?from=0&limit=2`, admin)).body;
  t.same([page.users.length, page.total, page.next_token], [2, 5, '2'], 'limit 2: a next_token');
  const last = (await call('GET', `${A}/users?from=${page.next_token}&limit=4`, admin)).body;
  t.same(last.users.map((u: any) => u.name), [me('bob'), me('root'), me('zed')], 'from next_token');
  t.notOk('next_token' in last, 'no next_token on the last page');
  t.same((await call('GET', `${A}/users?name=rob`, admin)).body.users.map((u: any) => u.name), [me('bob')], 'name: a display name prefix');
  t.same((await call('GET', `${A}/users?user_id=${enc('@ali')}`, admin)).body.users.map((u: any) => u.name), [me('alice')], 'user_id: an id prefix');
  t.equal((await call('GET', `${A}/users?guests=false`, admin)).body.total, 4, 'guests=false');
  for (const q of ['limit=abc', 'limit=0', 'from=-1', 'guests=maybe', 'deactivated=1', 'admins=yes']) {
    refused(t, await call('GET', `${A}/users?${q}`, admin), 400, 'M_INVALID_PARAM', q);
  }
});

t.test('Synapse: GET and PUT /v2/users/{userId} make and unmake admins; refusals change nothing', async (t) => {
  refused(t, await call('GET', `${A}/users/${enc(me('alice'))}`, { token: alice.access_token }), 403, 'M_FORBIDDEN', 'GET: not an admin');
  refused(t, await call('PUT', `${A}/users/${enc(me('alice'))}`, { token: alice.access_token, body: { admin: true } }), 403, 'M_FORBIDDEN', 'PUT: not an admin');
  refused(t, await call('PUT', `${A}/users/${enc(me('alice'))}`, { body: { admin: true } }), 401, 'M_MISSING_TOKEN', 'PUT: no token');
  t.same(await adminsNow(), [me('root')], 'no refusal made anyone an admin');

  const one = await call('GET', `${A}/users/${enc(me('alice'))}`, admin);
  t.match(one, { status: 200, body: { name: me('alice'), admin: false, is_guest: false, deactivated: false, threepids: [], external_ids: [] } });
  t.ok(one.body.creation_ts > 1_600_000_000 && one.body.creation_ts < 10_000_000_000, 'creation_ts in seconds, as Synapse gives one account');
  refused(t, await call('GET', `${A}/users/${enc(me('nobody'))}`, admin), 404, 'M_NOT_FOUND', 'an unknown user');
  refused(t, await call('GET', `${A}/users/${enc('@alice:elsewhere.example')}`, admin), 400, 'M_INVALID_PARAM', 'a user of another server');

  const made = await call('PUT', `${A}/users/${enc(me('alice'))}`, { ...admin, body: { admin: true } });
  t.match(made, { status: 200, body: { name: me('alice'), admin: true } }, 'alice is an admin');
  t.equal((await call('GET', `${A}/users`, { token: alice.access_token })).status, 200, 'her existing token opens the admin API at once');

  const refusals: [string, unknown, number, string, string][] = [
    [me('nobody'), { admin: true }, 404, 'M_NOT_FOUND', 'an unknown user is not created'],
    [me('bob'), { admin: 'yes' }, 400, 'M_INVALID_PARAM', 'a flag that is not a boolean'],
    [me('bob'), { admin: true, displayname: 'Bobby' }, 400, 'M_INVALID_PARAM', 'a field this endpoint cannot change'],
    [me('bob'), { admin: true, password: 'new-password' }, 400, 'M_INVALID_PARAM', 'a password'],
    [me('bob'), { admin: true, deactivated: true }, 400, 'M_INVALID_PARAM', 'deactivation'],
    [guest.user_id, { admin: true }, 400, 'M_INVALID_PARAM', 'a guest'],
    ['@bob:elsewhere.example', { admin: true }, 400, 'M_INVALID_PARAM', 'a user of another server'],
  ];
  for (const [user, body, status, errcode, what] of refusals) refused(t, await call('PUT', `${A}/users/${enc(user)}`, { ...admin, body }), status, errcode, what);
  t.same(await adminsNow(), [me('alice'), me('root')], 'no refusal changed an admin flag');
  refused(t, await call('GET', `${A}/users/${enc(me('nobody'))}`, admin), 404, 'M_NOT_FOUND', 'and no account was created');
  t.equal((await call('GET', `${A}/users/${enc(me('bob'))}`, admin)).body.displayname, 'Robert', 'nor a display name changed');

  const unchanged = { admin: true, displayname: 'Robert', deactivated: false, threepids: [], external_ids: [], user_type: null, locked: false };
  t.match(await call('PUT', `${A}/users/${enc(me('bob'))}`, { ...admin, body: unchanged }), { status: 200, body: { admin: true } }, 'the whole record sent back unchanged but admin: accepted');
  t.match(await call('PUT', `${A}/users/${enc(me('bob'))}`, { ...admin, body: {} }), { status: 200, body: { admin: true } }, 'an empty body changes nothing');
  t.match(await call('PUT', `${A}/users/${enc(me('bob'))}`, { ...admin, body: { admin: false } }), { status: 200, body: { admin: false } });
  t.match(await call('PUT', `${A}/users/${enc(me('alice'))}`, { ...admin, body: { admin: false } }), { status: 200, body: { admin: false } });
  refused(t, await call('GET', `${A}/users`, { token: alice.access_token }), 403, 'M_FORBIDDEN', 'a removed admin is refused at once');

  const last = await call('PUT', `${A}/users/${enc(me('root'))}`, { ...admin, body: { admin: false } });
  refused(t, last, 403, 'M_FORBIDDEN', 'the last admin cannot remove themselves');
  t.match(last.body.error, /last administrator/, 'and is told why');
  t.same(await adminsNow(), [me('root')], 'root is still the admin');
});

t.test('dashboard: the users list with its flags, make and remove admin with CSRF, the last admin kept', async (t) => {
  const d = new SetupClient(SETUP);
  const signIn = await d.post('/login', { user: 'root', password: 'root-password' }, { csrf: null });
  t.equal(signIn.status, 200, 'root signs in to the dashboard');
  const list = async () => (await d.get('/dashboard/users?q=')).json;
  const flags = async () => Object.fromEntries((await list()).users.map((u: any) => [u.user_id, `${u.admin ? 'admin' : ''}${u.guest ? 'guest' : ''}${u.deactivated ? 'deactivated' : ''}`]));
  const gone = await register('gone');
  const ask = await call('POST', '/_matrix/client/v3/account/deactivate', { token: gone.access_token, body: {} });
  const auth = { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'gone' }, password: 'gone-password', session: ask.body.session };
  t.equal((await call('POST', '/_matrix/client/v3/account/deactivate', { token: gone.access_token, body: { auth } })).status, 200, 'an account deactivated');
  t.same(await flags(), { [guest.user_id]: 'guest', [me('alice')]: '', [me('bob')]: '', [me('gone')]: 'deactivated', [me('root')]: 'admin', [me('zed')]: '' }, 'every user with the flags, deactivated ones too');
  t.match((await d.get('/dashboard/users?q=rob')).json, { users: [{ user_id: me('bob'), displayname: 'Robert' }], total: 1 }, 'search by display name');

  const before = await flags();
  const noCsrf = await d.post('/dashboard/users/admin', { user_id: me('bob'), admin: 'yes' }, { csrf: null });
  t.equal(noCsrf.status, 403, 'without the CSRF token: refused');
  const wrongCsrf = await d.post('/dashboard/users/admin', { user_id: me('bob'), admin: 'yes' }, { csrf: 'not-the-token' });
  t.equal(wrongCsrf.status, 403, 'with another CSRF token: refused');
  const foreign = await d.post('/dashboard/users/admin', { user_id: me('bob'), admin: 'yes' }, { headers: { origin: 'http://evil.example' } });
  t.equal(foreign.status, 403, 'from another site: refused');
  t.match(foreign.json.error, /another site/);
  const outsider = new SetupClient(SETUP);
  t.equal((await outsider.post('/dashboard/users/admin', { user_id: me('bob'), admin: 'yes' })).status, 401, 'without a session: refused');
  const vague = await d.post('/dashboard/users/admin', { user_id: me('bob'), admin: 'maybe' });
  t.match(vague, { status: 400, json: { error: /Choose whether/ } }, 'an unclear choice is explained');
  const ofGuest = await d.post('/dashboard/users/admin', { user_id: guest.user_id, admin: 'yes' });
  t.match(ofGuest, { status: 400, json: { error: /guest account/ } }, 'a guest cannot be made an admin, in words');
  t.same(await flags(), before, 'no refusal changed anything');

  t.same((await d.post('/dashboard/users/admin', { user_id: me('bob'), admin: 'yes' })).json, { next: '/dashboard/users?ok=admin' }, 'make admin');
  t.equal((await flags())[me('bob')], 'admin', 'bob is listed as an admin');
  const pageHtml = (await d.get('/dashboard/users', { json: false })).text;
  const bobRow = new RegExp(`<tr data-user="${me('bob').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}">[\\s\\S]*?</tr>`).exec(pageHtml)?.[0] ?? '';
  t.match(bobRow, /<span class="badge ok">admin<\/span>/, 'the page shows the flag');
  t.match(bobRow, /Remove admin/, 'and offers to remove it');

  t.same((await d.post('/dashboard/users/admin', { user_id: me('bob'), admin: 'no' })).json, { next: '/dashboard/users?ok=unadmin' }, 'remove admin');
  const last = await d.post('/dashboard/users/admin', { user_id: me('root'), admin: 'no' });
  t.match(last, { status: 400, json: { error: /last administrator/ } }, 'the last admin is kept, in words');
  t.equal((await flags())[me('root')], 'admin', 'root is still an admin');

  // Stepping down while another admin remains ends one's own dashboard session and its device.
  await d.post('/dashboard/users/admin', { user_id: me('alice'), admin: 'yes' });
  t.same((await d.post('/dashboard/users/admin', { user_id: me('root'), admin: 'no' })).json, { next: '/dashboard/users?ok=unadmin' }, 'root steps down');
  const out = await d.get('/dashboard/users');
  t.same([out.status, out.headers.get('location')], [303, '/login'], 'and is sent to the sign-in page at once');
  const devices = (await call('GET', '/_matrix/client/v3/devices', admin)).body.devices.map((x: any) => x.display_name);
  t.notOk(devices.includes('Neurite dashboard'), 'the dashboard device is gone with the session');
  refused(t, await call('GET', `${A}/users`, admin), 403, 'M_FORBIDDEN', 'root, no longer an admin, is refused by the admin API');
  const aliceLogin = await login('alice', 'alice-password');
  t.same((await call('GET', `${A}/users?admins=true`, { token: aliceLogin.access_token })).body.users.map((u: any) => u.name), [me('alice')], 'alice is the admin now');
});

t.test('the setup port sends no CORS headers; the client port does', async (t) => {
  for (const path of ['/login', '/dashboard/users', '/_neurite/setup/status', '/assets/nothing-here']) {
    const r = await fetch(SETUP + path, { headers: { origin: 'http://evil.example' }, redirect: 'manual' });
    t.equal(r.headers.get('access-control-allow-origin'), null, `GET ${path}: none`);
  }
  const preflight = await fetch(`${SETUP}/dashboard/users/admin`, { method: 'OPTIONS', headers: { origin: 'http://evil.example', 'access-control-request-method': 'POST' } });
  t.equal(preflight.headers.get('access-control-allow-origin'), null, 'a pre-flight on the setup port gets none');
  t.notOk(preflight.headers.get('access-control-allow-methods'), 'nor any other CORS header');
  const client = await fetch(`${BASE}/_matrix/client/versions`, { headers: { origin: 'http://elsewhere.example' } });
  t.equal(client.headers.get('access-control-allow-origin'), '*', 'the client port opens the Matrix API to web clients');
});

t.test('whois: devices with where and when they were last seen, for admins and the user themselves', async (t) => {
  // An admin by now (the tests above move the flag around), and a request from alice's device, so that it has been seen.
  const list = async (token: string) => (await call('GET', `${A}/users?admins=true`, { token })).body.users?.map((u: any) => u.name) as string[] | undefined;
  const admins = (await list(root.access_token)) ?? (await list(alice.access_token)) ?? [];
  const admin = { token: admins.includes(me('root')) ? root.access_token : alice.access_token };
  t.ok(admins.includes(me('root')) || admins.includes(me('alice')), 'root or alice is an admin');
  t.notOk(admins.includes(me('bob')), 'bob is not');
  await call('GET', '/_matrix/client/v3/account/whoami', { token: alice.access_token });
  for (const path of [`/_matrix/client/v3/admin/whois/${enc(alice.user_id)}`, `/_synapse/admin/v1/whois/${enc(alice.user_id)}`]) {
    const r = await call('GET', path, admin);
    t.equal(r.status, 200, `${path}: ${JSON.stringify(r.body)}`);
    t.equal(r.body.user_id, alice.user_id);
    const devices = (await call('GET', '/_matrix/client/v3/devices', { token: alice.access_token })).body.devices.map((d: any) => d.device_id).sort();
    t.same(Object.keys(r.body.devices).sort(), devices, 'every device of alice, as /devices lists them');
    const [conn] = r.body.devices[alice.device_id].sessions[0].connections;
    t.equal(conn.ip, '127.0.0.1', 'last seen from loopback');
    t.ok(typeof conn.last_seen === 'number' && conn.last_seen > Date.now() - 600_000, 'recently');
    t.equal(conn.user_agent, 'node', "with the user agent it sent (fetch's)");
  }
  const listed = (await call('GET', '/_matrix/client/v3/devices', { token: alice.access_token })).body.devices;
  t.ok(listed.every((d: any) => d.last_seen_user_agent === undefined && Object.keys(d).every((k) => ['device_id', 'display_name', 'last_seen_ip', 'last_seen_ts'].includes(k))), '/devices gives the spec fields only');
  t.equal((await call('GET', `/_matrix/client/v3/admin/whois/${enc(alice.user_id)}`, { token: alice.access_token })).status, 200, 'a user may look themselves up');
  refused(t, await call('GET', `/_matrix/client/v3/admin/whois/${enc(alice.user_id)}`, { token: bob.access_token }), 403, 'M_FORBIDDEN', 'another user');
  refused(t, await call('GET', `/_matrix/client/v3/admin/whois/${enc(me('nobody'))}`, admin), 404, 'M_NOT_FOUND', 'no such user');
  refused(t, await call('GET', `/_matrix/client/v3/admin/whois/not-a-user`, admin), 400, 'M_INVALID_PARAM', 'not a user id');
  refused(t, await call('GET', `/_matrix/client/v3/admin/whois/${enc(alice.user_id)}`), 401, 'M_MISSING_TOKEN', 'without a token');
});

t.test('dashboard: lock and suspend an account, and lift both', async (t) => {
  const list = async (token: string) => (await call('GET', `${A}/users?admins=true`, { token })).body.users?.map((u: any) => u.name) as string[] | undefined;
  const admins = (await list(root.access_token)) ?? (await list(alice.access_token)) ?? [];
  const who = admins.includes(me('root')) ? { user: 'root', password: 'root-password' } : { user: 'alice', password: 'alice-password' };
  const d = new SetupClient(SETUP);
  t.equal((await d.post('/login', who, { csrf: null })).status, 200, `${who.user} signs in`);
  const flagsOf = async (id: string) => (await d.get('/dashboard/users?q=')).json.users.find((u: any) => u.user_id === id);
  t.equal((await d.post('/dashboard/users/moderate', { user_id: bob.user_id, lock: 'yes' }, { csrf: null })).status, 403, 'without the CSRF token: refused');
  t.match(await flagsOf(bob.user_id), { locked: false, suspended: false }, 'nothing changed');
  t.same((await d.post('/dashboard/users/moderate', { user_id: bob.user_id, lock: 'yes' })).json, { next: '/dashboard/users?ok=moderated' }, 'lock');
  t.match(await flagsOf(bob.user_id), { locked: true });
  refused(t, await call('GET', '/_matrix/client/v3/account/whoami', { token: bob.access_token }), 401, 'M_USER_LOCKED', "bob's apps are locked out");
  t.same((await d.post('/dashboard/users/moderate', { user_id: bob.user_id, suspend: 'yes', lock: 'no' })).json, { next: '/dashboard/users?ok=moderated' }, 'unlock and suspend');
  t.match(await flagsOf(bob.user_id), { locked: false, suspended: true });
  t.equal((await call('GET', '/_matrix/client/v3/account/whoami', { token: bob.access_token })).status, 200, 'bob reads again');
  refused(t, await call('PUT', `/_matrix/client/v3/profile/${enc(bob.user_id)}/displayname`, { token: bob.access_token, body: { displayname: 'Bobby' } }), 403, 'M_USER_SUSPENDED', 'but cannot change his profile');
  await d.post('/dashboard/users/moderate', { user_id: bob.user_id, suspend: 'no' });
  t.match(await flagsOf(bob.user_id), { locked: false, suspended: false }, 'both lifted');
  const self = await d.post('/dashboard/users/moderate', { user_id: me(who.user), lock: 'yes' });
  t.equal(self.status, 400, 'an admin cannot lock themselves');
  t.match(self.json, { error: /admin|own account/ });
});
