/**
 * The setup wizard's API on the built server, as a browser's forms (or a
 * script asking for JSON) use it: the setup code and its guess limit, every
 * step's validation with its explanation in words, resuming after a reload
 * and after a power cut, applying (split: every process comes up), and the
 * refusal of every call once setup is complete.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import t from 'tap';
import { freePort, startServer, tempDir, versionsAnswer, waitFor } from '../helpers/server.js';
import { SetupClient } from '../helpers/setup.js';

async function setupServer() {
  const dataDir = join(tempDir(), 'data');
  const setupPort = await freePort();
  const start = () => startServer(dataDir, { args: ['--setup-port', String(setupPort), '--bind', '127.0.0.1'] });
  const server = await start();
  const base = `http://127.0.0.1:${setupPort}`;
  await waitFor('the setup port', async () => ((await fetch(`${base}/_neurite/setup/status`)).ok ? true : undefined));
  return { dataDir, setupPort, base, server, start, code: () => readFileSync(join(dataDir, 'setup-code.txt'), 'utf8').trim() };
}

t.test('the setup code: wrong codes refused, then locked out, also after a restart', async (t) => {
  const s = await setupServer();
  let server = s.server;
  t.teardown(() => server.kill());
  t.match(s.code(), /^[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}$/, 'twelve easy characters, no look-alikes');
  t.match(server.output(), new RegExp(`setup code: ${s.code()}`), 'printed on the console');
  const c = new SetupClient(s.base);
  const noSession = await c.post('/setup/server', { server_name: 'example.org' }, { csrf: null });
  t.equal(noSession.status, 401, 'no step before the code');
  t.equal((await c.get('/setup/system', { json: false })).headers.get('location'), '/setup/code', 'pages send you to the code first');
  for (let i = 1; i <= 5; i++) {
    const r = await c.post('/setup/code', { code: 'AAAA-BBBB-CCCC' }, { csrf: null });
    t.equal(r.status, 403, `wrong code ${i} refused`);
    t.match(r.json.errors.code, /not the setup code/);
  }
  const sixth = await c.post('/setup/code', { code: 'AAAA-BBBB-CCCC' }, { csrf: null });
  t.equal(sixth.status, 403, 'the sixth wrong code too');
  t.ok(sixth.json.retry_after_ms >= 29_000, 'and it starts a lock-out');
  const locked = await c.post('/setup/code', { code: s.code() }, { csrf: null });
  t.equal(locked.status, 429, 'while locked even the right code is refused');
  t.match(locked.json.error, /Too many wrong codes\. Try again in \d+ seconds/);
  t.ok(Number(locked.headers.get('retry-after')) > 0, 'Retry-After');
  t.equal(c.cookie, '', 'no session was given');

  await server.stop();
  server = await s.start();
  await waitFor('the setup port again', async () => ((await fetch(`${s.base}/_neurite/setup/status`)).ok ? true : undefined));
  const afterRestart = await c.post('/setup/code', { code: s.code() }, { csrf: null });
  t.equal(afterRestart.status, 429, 'the lock survives a restart');
  const cross = await new SetupClient(s.base).post('/setup/code', { code: s.code() }, { csrf: null, headers: { origin: 'http://evil.example' } });
  t.equal(cross.status, 403, 'a claim from another site is refused');
  t.notMatch(server.output(), new RegExp(s.code().replace(/-/g, '.?') + '.*"level"'), 'the code is in no log line');
});

t.test('every step validates on the server, explains in words, and the wizard resumes', async (t) => {
  const s = await setupServer();
  let server = s.server;
  t.teardown(() => server.kill());
  const c = new SetupClient(s.base);
  const claimed = await c.post('/setup/code', { code: ` ${s.code().toLowerCase().replace(/-/g, ' ')} ` }, { csrf: null });
  t.equal(claimed.status, 200, 'case, spaces and dashes do not matter');
  t.equal(claimed.json.next, '/setup/system');
  t.match(c.cookie, /^neurite_session=/);
  t.equal((await c.get('/setup/review', { json: false })).headers.get('location'), '/setup/system', 'a later step is not reachable yet');

  // CSRF and origin.
  t.equal((await c.post('/setup/system', { mode: 'split' }, { csrf: null })).status, 403, 'a change without the CSRF token is refused');
  t.equal((await c.post('/setup/system', { mode: 'split' }, { csrf: 'forged' })).status, 403, 'and with a wrong one');
  t.equal((await c.post('/setup/system', { mode: 'split' }, { headers: { origin: 'http://evil.example' } })).status, 403, 'and from another origin');

  const errs = async (path: string, form: Record<string, string>) => {
    const r = await c.post(path, form);
    t.equal(r.status, 400, `${path} ${JSON.stringify(form)} refused`);
    return r.json.errors as Record<string, string>;
  };
  t.match(await errs('/setup/system', { mode: 'cluster' }), { mode: /split .* or monolith/ });
  t.equal((await c.post('/setup/system', { mode: 'split' })).json.next, '/setup/server');

  t.match(await errs('/setup/server', { server_name: '' }), { server_name: /Enter a server name/ });
  t.match(await errs('/setup/server', { server_name: 'https://example.org/' }), { server_name: /without http:\/\/ or a path/ });
  t.match(await errs('/setup/server', { server_name: 'exa mple.org' }), { server_name: /not a valid server name/ });
  t.match(await errs('/setup/server', { server_name: '@alice:example.org' }), { server_name: /not a user id/ });
  t.match(await errs('/setup/server', { server_name: 'example.org:99999' }), { server_name: /not a valid server name/ });
  const badPage = await c.post('/setup/server', { server_name: 'https://x/' }, { json: false });
  t.match(badPage.text, /role="alert"[\s\S]*without http:\/\/ or a path/, 'the page shows the error in a summary');
  t.match(badPage.text, /aria-invalid="true"/, 'and marks the field');
  t.equal((await c.post('/setup/server', { server_name: 'Example.ORG' })).json.next, '/setup/tls');

  const [client, federation] = [await freePort(), await freePort()];
  t.match(await errs('/setup/tls', { tls: 'acme', client_port: String(client), federation_port: String(federation) }), { tls: /self-signed certificate or certificate files/ });
  t.match(await errs('/setup/tls', { tls: 'self-signed', client_port: 'eighty', federation_port: '70000' }), { client_port: /number from 1 to 65535/, federation_port: /number from 1 to 65535/ });
  t.match(await errs('/setup/tls', { tls: 'self-signed', client_port: String(s.setupPort), federation_port: String(federation) }), { client_port: /setup page's own port/ });
  t.match(await errs('/setup/tls', { tls: 'self-signed', client_port: String(client), federation_port: String(client) }), { federation_port: /must differ from the client port/ });
  t.match(await errs('/setup/tls', { tls: 'files', client_port: String(client), federation_port: String(federation) }), { tls_cert: /Enter the path of the certificate/, tls_key: /Enter the path of the private key/ });
  t.match(await errs('/setup/tls', { tls: 'files', tls_cert: 'cert.pem', tls_key: '/nonexistent/key.pem', client_port: String(client), federation_port: String(federation) }), {
    tls_cert: /must start with \//,
    tls_key: /does not exist or cannot be read/,
  });
  const busy = createServer();
  await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()));
  const busyPort = (busy.address() as { port: number }).port;
  t.match(await errs('/setup/tls', { tls: 'self-signed', client_port: String(busyPort), federation_port: String(federation) }), { client_port: /already used by another program/ });
  busy.close();
  t.equal((await c.post('/setup/tls', { tls: 'self-signed', client_port: String(client), federation_port: String(federation) })).json.next, '/setup/accounts');

  const good = { admin_username: 'admin', admin_password: 'a long enough secret', admin_password2: 'a long enough secret', registration: 'token', token_uses: '5', token_days: '30', federation: 'on' };
  t.match(await errs('/setup/accounts', { ...good, admin_username: '' }), { admin_username: /Choose a user name/ });
  t.match(await errs('/setup/accounts', { ...good, admin_username: 'al ice' }), { admin_username: /lower-case letters, digits/ });
  t.match(await errs('/setup/accounts', { ...good, admin_username: '12345' }), { admin_username: /digits only is reserved/ });
  t.match(await errs('/setup/accounts', { ...good, admin_password: 'short', admin_password2: 'short' }), { admin_password: /at least 10 characters/ });
  t.match(await errs('/setup/accounts', { ...good, admin_password2: 'something else entirely' }), { admin_password2: /not the same/ });
  t.match(await errs('/setup/accounts', { ...good, admin_password: 'admin is my password', admin_password2: 'admin is my password' }), { admin_password: /must not contain the user name/ });
  t.match(await errs('/setup/accounts', { ...good, registration: 'anyone' }), { registration: /Choose who may create accounts/ });
  t.match(await errs('/setup/accounts', { ...good, registration: 'open' }), { open_ack: /Tick the box to confirm/ });
  t.match(await errs('/setup/accounts', { ...good, token_uses: '0', token_days: '400' }), { token_uses: /from 1 to 1000/, token_days: /from 1 to 365/ });
  t.match(await errs('/setup/accounts', { ...good, federation: 'maybe' }), { federation: /talks to other Matrix servers/ });
  const accountsPage = await c.post('/setup/accounts', { ...good, admin_password2: 'nope nope nope' }, { json: false });
  t.notMatch(accountsPage.text, /a long enough secret/, 'a refused page never echoes the password');
  t.equal((await c.post('/setup/accounts', good)).json.next, '/setup/review');

  // A reload (the same cookie in a new tab) resumes at the review.
  const reload = new SetupClient(s.base);
  reload.cookie = c.cookie;
  t.equal((await reload.get('/setup/', { json: false })).headers.get('location'), '/setup/review', 'a reload resumes where it stood');
  const review = await reload.get('/setup/review', { json: false });
  t.match(review.text, /example\.org/, 'with what was entered');
  t.notMatch(readFileSync(join(s.dataDir, 'setup', 'state.json'), 'utf8'), /a long enough secret/, 'the password is never on disk');

  // A power cut: the server is killed; the code is needed again, the draft is kept, the password asked again.
  server.kill();
  await new Promise((r) => setTimeout(r, 500));
  server = await s.start();
  await waitFor('the setup port again', async () => ((await fetch(`${s.base}/_neurite/setup/status`)).ok ? true : undefined));
  const again = new SetupClient(s.base);
  const back = await again.post('/setup/code', { code: s.code() }, { csrf: null });
  t.equal(back.json.next, '/setup/accounts', 'after a power cut the wizard resumes at the step that needs the password again');
  const accounts = await again.get('/setup/accounts', { json: false });
  t.match(accounts.text, /value="admin"/, 'the user name is still there');
  const early = await again.post('/setup/apply');
  t.equal(early.status, 400, 'apply without the password is refused');
  t.match(early.json.error, /password again/);
  t.equal((await again.post('/setup/accounts', { ...good, admin_username: 'admin' })).json.next, '/setup/review');

  // Apply: split mode, every process up, the admin made, the code forgotten.
  const applied = await again.post('/setup/apply');
  t.equal(applied.json.next, '/setup/progress');
  const done = await waitFor(
    'setup to finish',
    async () => {
      const p = await again.get('/setup/progress.json').catch(() => undefined);
      return p?.json?.next ? p.json : undefined;
    },
    60_000,
  );
  t.equal(done.next, '/setup/done');
  t.ok(await versionsAnswer(client), 'the client API answers on the chosen port');
  const donePage = await again.get('/setup/done', { json: false });
  t.match(donePage.text, /@admin:example\.org/, 'the done page names the admin');
  const token = /data-copy>([^<]+)</.exec(donePage.text)?.[1];
  t.ok(token, 'and shows the first registration token');
  const qr = await again.get('/setup/qr.svg', { json: false });
  t.match(qr.text, /^<svg[\s\S]*<path d="M/, 'a QR code of the homeserver address');
  t.notOk(existsSync(join(s.dataDir, 'setup-code.txt')), 'the setup code is forgotten');
  t.notOk(existsSync(join(s.dataDir, 'setup', 'pending.json')), 'nothing of the password is left');
  const login = await fetch(`http://127.0.0.1:${client}/_matrix/client/v3/login`, {
    method: 'POST',
    body: JSON.stringify({ type: 'm.login.password', identifier: { type: 'm.id.user', user: 'admin' }, password: 'a long enough secret' }),
  });
  t.equal(login.status, 200, 'the admin logs in over the client API');
  const valid = await fetch(`http://127.0.0.1:${client}/_matrix/client/v1/register/m.login.registration_token/validity?token=${token}`);
  t.same(await valid.json(), { valid: true }, 'the first token is valid');

  const st = await fetch(`${s.base}/_neurite/setup/status`).then((r) => r.json() as Promise<any>);
  t.equal(st.configured, true);
  t.equal(st.setup, 'complete');
  // Split: the dashboard's answers come from another process through the gateway's proxy, which adds CORS on the Matrix ports only.
  const dashboard = await fetch(`${s.base}/login`, { headers: { origin: 'http://evil.example' } });
  t.equal(dashboard.headers.get('access-control-allow-origin'), null, 'the dashboard sends no CORS headers');
  const preflight = await fetch(`${s.base}/login`, { method: 'OPTIONS', headers: { origin: 'http://evil.example', 'access-control-request-method': 'POST' } });
  t.equal(preflight.headers.get('access-control-allow-origin'), null, 'nor answers a pre-flight with them');
  t.equal((await fetch(`http://127.0.0.1:${client}/_matrix/client/versions`)).headers.get('access-control-allow-origin'), '*', 'the client port does');

  // Every wizard call is refused now, with or without the old session.
  for (const c2 of [again, new SetupClient(s.base)]) {
    for (const [path, form] of [
      ['/setup/code', { code: 'AAAA-BBBB-CCCC' }],
      ['/setup/system', { mode: 'split' }],
      ['/setup/server', { server_name: 'other.org' }],
      ['/setup/tls', { tls: 'self-signed', client_port: '1', federation_port: '2' }],
      ['/setup/accounts', good],
      ['/setup/apply', {}],
      ['/setup/retry', {}],
      ['/setup/discard', {}],
    ] as const) {
      const r = await c2.post(path, form);
      t.equal(r.status, 409, `${path} refused after completion`);
    }
    t.equal((await c2.get('/setup/code')).status, 409, 'the code page too');
  }
  t.equal((await new SetupClient(s.base).get('/', { json: false })).headers.get('location'), '/login', 'the setup port is the dashboard now');
});
