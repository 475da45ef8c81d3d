/**
 * Reporting content on the built server (monolith): a user reports an
 * event, a room and a user; what the spec refuses is refused and keeps
 * nothing; an admin sees the reports in the dashboard (all kinds) and in
 * Synapse's event report API (events), and dismisses them in both.
 */
import t, { type Test } from 'tap';
import { cli, initServer, removeDataDir, startServer } from '../helpers/server.js';
import { SetupClient } from '../helpers/setup.js';

const { dataDir, ports, serverName } = await initServer({ mode: 'monolith', tls: 'off', extra: ['--registration', 'open'] });
t.equal(cli(['user', 'add', 'root', '--password', 'root-password', '--admin', '--data-dir', dataDir]).status, 0);
const server = await startServer(dataDir, { clientPort: ports.client });
t.teardown(async () => {
  await server.stop();
  removeDataDir(dataDir);
});
const BASE = `http://127.0.0.1:${ports.client}`;
const C = '/_matrix/client/v3';
const enc = encodeURIComponent;

async function call(method: string, path: string, token?: string, body?: unknown): Promise<{ status: number; body: any }> {
  const r = await fetch(BASE + path, { method, headers: { ...(token ? { authorization: `Bearer ${token}` } : {}) }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : undefined };
}
async function register(username: string) {
  const body = { username, password: `${username}-password` };
  const first = await call('POST', `${C}/register`, undefined, body);
  return (await call('POST', `${C}/register`, undefined, { ...body, auth: { type: 'm.login.dummy', session: first.body.session } })).body as { user_id: string; access_token: string };
}
const refused = (t: Test, a: { status: number; body: any }, status: number, errcode: string, what: string) =>
  t.same([a.status, a.body?.errcode], [status, errcode], `${what}: ${status} ${errcode}`);

const alice = await register('alice');
const bob = await register('bob');
const carol = await register('carol');
const root = (await call('POST', `${C}/login`, undefined, { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'root' }, password: 'root-password' })).body;
const room = (await call('POST', `${C}/createRoom`, alice.access_token, { preset: 'public_chat' })).body.room_id as string;
await call('POST', `${C}/rooms/${enc(room)}/join`, bob.access_token, {});
const rude = (await call('PUT', `${C}/rooms/${enc(room)}/send/m.room.message/r1`, alice.access_token, { msgtype: 'm.text', body: 'something rude' })).body.event_id as string;
const d = new SetupClient(`http://127.0.0.1:${ports.setup}`);
const dashboardReports = async () => (await d.get('/dashboard/reports')).json as { reports: any[]; total: number };

t.test('reports are kept; refusals keep nothing', async (t) => {
  t.equal((await d.post('/login', { user: 'root', password: 'root-password' }, { csrf: null })).status, 200, 'the admin signs in to the dashboard');
  refused(t, await call('POST', `${C}/rooms/${enc(room)}/report/${enc(rude)}`, carol.access_token, { reason: 'x' }), 404, 'M_NOT_FOUND', 'an event in a room the reporter is not in');
  refused(t, await call('POST', `${C}/rooms/${enc(room)}/report/${enc('$nothing-here')}`, bob.access_token, { reason: 'x' }), 404, 'M_NOT_FOUND', 'an event that does not exist');
  refused(t, await call('POST', `${C}/rooms/${enc(`!nowhere:${serverName}`)}/report`, bob.access_token, { reason: 'x' }), 404, 'M_NOT_FOUND', 'a room that does not exist');
  refused(t, await call('POST', `${C}/users/${enc(`@nobody:${serverName}`)}/report`, bob.access_token, { reason: 'x' }), 404, 'M_NOT_FOUND', 'a user that does not exist');
  refused(t, await call('POST', `${C}/users/not-a-user/report`, bob.access_token, { reason: 'x' }), 400, 'M_INVALID_PARAM', 'not a user id');
  refused(t, await call('POST', `${C}/rooms/${enc(room)}/report`, bob.access_token, {}), 400, 'M_BAD_JSON', 'a room report without a reason');
  refused(t, await call('POST', `${C}/users/${enc(alice.user_id)}/report`, bob.access_token, { reason: 'y'.repeat(2001) }), 400, 'M_INVALID_PARAM', 'a reason that is a book');
  refused(t, await call('POST', `${C}/rooms/${enc(room)}/report`, undefined, { reason: 'x' }), 401, 'M_MISSING_TOKEN', 'without a token');
  t.equal((await dashboardReports()).total, 0, 'nothing kept');

  t.same(await call('POST', `${C}/rooms/${enc(room)}/report/${enc(rude)}`, bob.access_token, { reason: 'rude' }), { status: 200, body: {} }, 'an event');
  t.same(await call('POST', `${C}/rooms/${enc(room)}/report`, bob.access_token, { reason: '' }), { status: 200, body: {} }, 'a room (the reason may be blank)');
  t.same(await call('POST', `${C}/users/${enc(alice.user_id)}/report`, carol.access_token, { reason: 'spam' }), { status: 200, body: {} }, 'a user, by someone sharing no room');
  const list = await dashboardReports();
  t.equal(list.total, 3);
  t.match(list.reports, [
    { kind: 'event', reporter: bob.user_id, room_id: room, event_id: rude, user_id: alice.user_id, reason: 'rude' },
    { kind: 'room', reporter: bob.user_id, room_id: room, reason: '' },
    { kind: 'user', reporter: carol.user_id, user_id: alice.user_id, reason: 'spam' },
  ], 'the dashboard lists every report, oldest first');
  const page = (await d.get('/dashboard/reports', { json: false })).text;
  t.ok(page.includes('>rude<') && page.includes('>spam<') && page.includes('no reason given'), 'and shows them with their reasons');
  t.equal((page.match(/action="\/dashboard\/reports\/dismiss"/g) ?? []).length, 3, 'each with its Dismiss button');
});

t.test("Synapse's event report API, and dismissing", async (t) => {
  refused(t, await call('GET', '/_synapse/admin/v1/event_reports', bob.access_token), 403, 'M_FORBIDDEN', 'not an admin');
  const synapse = await call('GET', '/_synapse/admin/v1/event_reports', root.access_token);
  t.equal(synapse.status, 200);
  t.match(synapse.body, { total: 1, event_reports: [{ event_id: rude, room_id: room, user_id: bob.user_id, sender: alice.user_id, reason: 'rude' }] }, 'event reports only, reporter as user_id');
  const id = synapse.body.event_reports[0].id as string;
  t.match((await call('GET', `/_synapse/admin/v1/event_reports/${enc(id)}`, root.access_token)).body, { id, event_id: rude });
  t.same(await call('DELETE', `/_synapse/admin/v1/event_reports/${enc(id)}`, root.access_token), { status: 200, body: {} }, 'deleted through the admin API');
  refused(t, await call('DELETE', `/_synapse/admin/v1/event_reports/${enc(id)}`, root.access_token), 404, 'M_NOT_FOUND', 'once');

  const rest = await dashboardReports();
  t.equal(rest.total, 2);
  t.equal((await d.post('/dashboard/reports/dismiss', { id: rest.reports[0].id }, { csrf: null })).status, 403, 'the dashboard wants its CSRF token');
  t.same((await d.post('/dashboard/reports/dismiss', { id: rest.reports[0].id })).json, { next: '/dashboard/reports?ok=dismissed' }, 'dismissed in the dashboard');
  t.same((await dashboardReports()).reports.map((r) => r.kind), ['user'], 'one left');
  t.equal((await d.post('/dashboard/reports/dismiss', { id: 'no-such-report' })).status, 400, 'an unknown report');
});
