/**
 * Accounts, devices and tokens survive a clean restart and a SIGKILL of the
 * whole server (supervisor and children at once): whatever a client was
 * told succeeded is there afterwards, and old tokens still work.
 * `neurite user add` works with the server running and stopped.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import t from 'tap';
import { cli, initServer, NEURITE, removeDataDir, versionsAnswer, waitFor } from '../helpers/server.js';

const { dataDir, ports, serverName } = await initServer({ mode: 'split', tls: 'off', extra: ['--registration', 'open'] });
t.teardown(() => removeDataDir(dataDir));
const BASE = `http://127.0.0.1:${ports.client}`;
const C = '/_matrix/client/v3';

/** `neurite start` in its own process group, so that the group can be killed whole. */
async function start(): Promise<ChildProcess> {
  const t0 = Date.now();
  const proc = spawn(process.execPath, [NEURITE, 'start', '--data-dir', dataDir], { detached: true, stdio: ['pipe', 'ignore', 'ignore'], env: { ...process.env, NEURITE_LOG_LEVEL: 'warn', NEURITE_STOP_ON_STDIN_CLOSE: '1' } });
  await waitFor('the client port', () => versionsAnswer(ports.client), 60_000);
  t.comment(`server answering after ${Date.now() - t0} ms`);
  return proc;
}

function exited(proc: ChildProcess): Promise<void> {
  return proc.exitCode !== null || proc.signalCode !== null ? Promise.resolve() : new Promise((r) => proc.once('exit', () => r()));
}

let server = await start();
t.teardown(async () => {
  try {
    process.kill(-server.pid!, 'SIGKILL');
  } catch {
    // already gone
  }
});

async function call(method: string, path: string, opts: { body?: unknown; token?: string } = {}) {
  const r = await fetch(BASE + path, {
    method,
    headers: { 'content-type': 'application/json', ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}) },
    ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
  });
  return { status: r.status, body: (await r.json()) as any };
}

async function register(username: string, password: string) {
  const first = await call('POST', `${C}/register`, { body: { username, password } });
  return (await call('POST', `${C}/register`, { body: { username, password, auth: { type: 'm.login.dummy', session: first.body.session } } })).body;
}

const login = async (user: string, password: string, extra: Record<string, unknown> = {}) =>
  call('POST', `${C}/login`, { body: { type: 'm.login.password', identifier: { type: 'm.id.user', user }, password, ...extra } });

const whoami = async (token: string) => (await call('GET', `${C}/account/whoami`, { token })).body.user_id as string | undefined;

const alice = await register('alice', 'alice-pw');
const second = (await login('alice', 'alice-pw', { refresh_token: true, initial_device_display_name: 'Second' })).body;

t.test('user add while the server runs goes through the supervisor', async (t) => {
  const r = cli(['user', 'add', 'bob', '--password', 'bob-pw', '--admin', '--data-dir', dataDir]);
  t.equal(r.status, 0, r.stderr);
  t.match(r.stdout, `Created @bob:${serverName} (admin)`);
  const again = cli(['user', 'add', 'BOB', '--password', 'x', '--data-dir', dataDir]);
  t.equal(again.status, 1);
  t.match(again.stderr, /already taken \(M_USER_IN_USE\)/);
  const bad = cli(['user', 'add', 'no way', '--password', 'x', '--data-dir', dataDir]);
  t.equal(bad.status, 1);
  t.match(bad.stderr, /M_INVALID_USERNAME/);
  t.equal((await login('bob', 'bob-pw')).status, 200, 'the new user logs in');
});

t.test('a clean restart keeps accounts, devices and tokens', async (t) => {
  await call('PUT', `${C}/profile/${encodeURIComponent(alice.user_id)}/displayname`, { token: alice.access_token, body: { displayname: 'Alice' } });
  process.kill(server.pid!, 'SIGTERM');
  await exited(server);
  server = await start();
  t.equal(await whoami(alice.access_token), alice.user_id, 'the registration token works');
  t.equal(await whoami(second.access_token), alice.user_id, 'so does the login token');
  t.same((await call('GET', `${C}/devices`, { token: alice.access_token })).body.devices.map((d: any) => d.display_name ?? null).sort(), [null, 'Second'].sort());
  t.same((await call('GET', `${C}/profile/${encodeURIComponent(alice.user_id)}`)).body, { displayname: 'Alice' });
  const refreshed = await call('POST', `${C}/refresh`, { body: { refresh_token: second.refresh_token } });
  t.equal(refreshed.status, 200, 'the refresh token works');
  second.access_token = refreshed.body.access_token;
  second.refresh_token = refreshed.body.refresh_token;
});

t.test('SIGKILL of the whole server loses nothing a client was told succeeded', async (t) => {
  // Acknowledged writes right before the kill.
  const carolReg = await register('carol', 'carol-pw');
  const put = await call('PUT', `${C}/user/${encodeURIComponent(alice.user_id)}/account_data/org.example.last`, { token: alice.access_token, body: { n: 42 } });
  t.equal(put.status, 200);
  const late = (await login('alice', 'alice-pw', { initial_device_display_name: 'Late' })).body;
  const pw = await call('POST', `${C}/account/password`, { token: late.access_token, body: { new_password: 'alice-pw2', logout_devices: false } });
  const pwDone = await call('POST', `${C}/account/password`, {
    token: late.access_token,
    body: { new_password: 'alice-pw2', logout_devices: false, auth: { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'alice' }, password: 'alice-pw', session: pw.body.session } },
  });
  t.equal(pwDone.status, 200);

  process.kill(-server.pid!, 'SIGKILL');
  await exited(server);
  server = await start();

  t.equal(await whoami(alice.access_token), alice.user_id, 'an old token works after the kill');
  t.equal(await whoami(late.access_token), alice.user_id, 'so does the last one');
  t.equal(await whoami(second.access_token), alice.user_id, 'and the refreshed one');
  t.equal(await whoami(carolReg.access_token), `@carol:${serverName}`, 'the last registration is there');
  t.same((await call('GET', `${C}/user/${encodeURIComponent(alice.user_id)}/account_data/org.example.last`, { token: alice.access_token })).body, { n: 42 });
  t.equal((await login('alice', 'alice-pw2')).status, 200, 'the changed password is the password');
  t.equal((await login('alice', 'alice-pw')).status, 403, 'the old one is not');
  t.ok((await call('GET', `${C}/devices`, { token: alice.access_token })).body.devices.some((d: any) => d.display_name === 'Late'), 'the last device is listed');
});

t.test('user add while the server is stopped opens the database itself', async (t) => {
  process.kill(server.pid!, 'SIGTERM');
  await exited(server);
  const r = cli(['user', 'add', 'dora', '--password', 'dora-pw', '--data-dir', dataDir]);
  t.equal(r.status, 0, r.stderr);
  t.match(r.stdout, `Created @dora:${serverName}`);
  t.equal(cli(['user', 'add', 'dora', '--password', 'x', '--data-dir', dataDir]).status, 1, 'a taken name offline too');
  t.equal(cli(['user', 'add', 'dora', '--data-dir', dataDir]).status, 2, 'no password: a usage error');
  t.equal(cli(['user', 'remove', 'dora', '--password', 'x', '--data-dir', dataDir]).status, 2, 'an unknown action: a usage error');
  server = await start();
  t.equal((await login('dora', 'dora-pw')).status, 200, 'the user made offline logs in');
  t.equal(await whoami(alice.access_token), alice.user_id);
  process.kill(server.pid!, 'SIGTERM');
  await exited(server);
});
