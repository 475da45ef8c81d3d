/**
 * Registration modes and rate limits on the built server (monolith):
 * `token` (m.login.registration_token, uses counted), `closed` (403, and
 * guests refused while guest access is off), and the login and
 * registration limits with `--rate-limits on`.
 */
import t, { type Test } from 'tap';
import { specResponse } from '../helpers/spec-schemas.js';
import { cli, initServer, removeDataDir, startServer } from '../helpers/server.js';

const C = '/_matrix/client/v3';

async function serve(t: Test, extra: string[]) {
  const { dataDir, ports } = await initServer({ mode: 'monolith', tls: 'off', extra });
  t.equal(cli(['user', 'add', 'root', '--password', 'root-pw', '--admin', '--data-dir', dataDir]).status, 0);
  const server = await startServer(dataDir, { clientPort: ports.client });
  t.teardown(async () => {
    await server.stop();
    removeDataDir(dataDir);
  });
  return async (method: string, path: string, opts: { body?: unknown; token?: string } = {}) => {
    const r = await fetch(`http://127.0.0.1:${ports.client}${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}) },
      ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
    });
    return { status: r.status, body: (await r.json()) as any, retryAfter: r.headers.get('retry-after') };
  };
}

t.test('registration by token', async (t) => {
  const call = await serve(t, ['--registration', 'token']);
  const admin = (await call('POST', `${C}/login`, { body: { type: 'm.login.password', user: 'root', password: 'root-pw' } })).body;
  await call('POST', '/_synapse/admin/v1/registration_tokens/new', { token: admin.access_token, body: { token: 'once', uses_allowed: 1 } });

  const first = await call('POST', `${C}/register`, { body: { username: 'ann', password: 'pw' } });
  t.equal(first.status, 401);
  t.same(first.body.flows, [{ stages: ['m.login.registration_token'] }], 'the token flow only');
  const dummy = await call('POST', `${C}/register`, { body: { username: 'ann', password: 'pw', auth: { type: 'm.login.dummy', session: first.body.session } } });
  t.same([dummy.status, dummy.body.errcode], [401, 'M_UNRECOGNIZED'], 'the dummy stage is not offered');
  const wrong = await call('POST', `${C}/register`, { body: { username: 'ann', password: 'pw', auth: { type: 'm.login.registration_token', token: 'nope', session: first.body.session } } });
  t.same([wrong.status, wrong.body.errcode, wrong.body.session], [401, 'M_UNAUTHORIZED', first.body.session], 'an unknown token');
  t.equal((await specResponse('client-server', 'POST /register', '401'))(wrong.body), undefined, 'the failure fits the auth response schema');
  t.equal((await call('GET', `${C}/register/available?username=ann`)).status, 200, 'nothing created');

  const validity = '/_matrix/client/v1/register/m.login.registration_token/validity?token=';
  t.same((await call('GET', `${validity}once`)).body, { valid: true });
  t.same((await call('GET', `${validity}nope`)).body, { valid: false });
  const done = await call('POST', `${C}/register`, { body: { username: 'ann', password: 'pw', auth: { type: 'm.login.registration_token', token: 'once', session: first.body.session } } });
  t.equal(done.status, 200, 'registered with the token');
  t.same((await call('GET', `${validity}once`)).body, { valid: false }, 'its one use is spent');
  const token = (await call('GET', '/_synapse/admin/v1/registration_tokens/once', { token: admin.access_token })).body;
  t.match(token, { pending: 0, completed: 1 });

  const next = await call('POST', `${C}/register`, { body: { username: 'ben', password: 'pw' } });
  const spent = await call('POST', `${C}/register`, { body: { username: 'ben', password: 'pw', auth: { type: 'm.login.registration_token', token: 'once', session: next.body.session } } });
  t.same([spent.status, spent.body.errcode], [401, 'M_UNAUTHORIZED'], 'a spent token');
  t.equal((await call('GET', `${C}/register/available?username=ben`)).status, 200, 'nothing created');
});

t.test('closed registration, guests off', async (t) => {
  const call = await serve(t, ['--registration', 'closed', '--guest-access', 'off']);
  const r = await call('POST', `${C}/register`, { body: { username: 'x', password: 'pw' } });
  t.same([r.status, r.body.errcode], [403, 'M_FORBIDDEN'], 'closed');
  const g = await call('POST', `${C}/register?kind=guest`, { body: {} });
  t.same([g.status, g.body.errcode], [403, 'M_FORBIDDEN'], 'no guests');
  const a = await call('GET', `${C}/register/available?username=x`);
  t.same([a.status, a.body.errcode], [403, 'M_FORBIDDEN'], 'availability says closed');
  const v = await call('GET', '/_matrix/client/v1/register/m.login.registration_token/validity?token=x');
  t.same([v.status, v.body.errcode], [403, 'M_FORBIDDEN'], 'so does token validity');
  const sr = await call('GET', '/_synapse/admin/v1/register');
  t.same([sr.status, sr.body.errcode], [400, 'M_UNKNOWN'], 'shared-secret registration is off without a secret');
  t.equal((await call('POST', `${C}/login`, { body: { type: 'm.login.password', user: 'root', password: 'root-pw' } })).status, 200, 'accounts made by the admin still log in');
});

t.test('rate limits on login and registration', async (t) => {
  const call = await serve(t, ['--registration', 'open', '--rate-limits', 'on']);
  const attempts: { status: number; body: any; retryAfter: string | null }[] = [];
  for (let i = 0; i < 8; i++) attempts.push(await call('POST', `${C}/login`, { body: { type: 'm.login.password', user: 'root', password: 'wrong' } }));
  const limited = attempts.filter((a) => a.status === 429);
  t.ok(limited.length > 0, 'repeated logins from one address are limited');
  t.equal(attempts[0]!.status, 403, 'the first attempts are answered');
  t.equal(limited[0]!.body.errcode, 'M_LIMIT_EXCEEDED');
  t.ok(limited[0]!.body.retry_after_ms > 0, 'with retry_after_ms');
  t.ok(Number(limited[0]!.retryAfter) > 0, 'and a Retry-After header');
  t.equal((await specResponse('client-server', 'POST /login', '429'))(limited[0]!.body), undefined, 'the 429 fits the spec');

  const regs: number[] = [];
  for (let i = 0; i < 6; i++) {
    const first = await call('POST', `${C}/register`, { body: { username: `r${i}x`, password: 'pw' } });
    const r = await call('POST', `${C}/register`, { body: { username: `r${i}x`, password: 'pw', auth: { type: 'm.login.dummy', session: first.body.session } } });
    regs.push(r.status);
  }
  t.ok(regs.includes(200), 'registrations go through at first');
  t.ok(regs.includes(429), 'then they are limited');
});
