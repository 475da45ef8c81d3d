/**
 * The homeserver's processes as an unprivileged user (NEURITE_USER, as the
 * image sets it): the supervisor stays root, every child runs as the user
 * and serves; the data directory is handed over to the user except app/
 * (root's: the versions root starts), files root made meanwhile are handed
 * over at the next start, links are never followed (nor is the setup code,
 * which root writes, read or written through one), and what cannot work is
 * refused at start with a one-line reason.
 *
 * Dropping privileges needs root: the test is skipped otherwise (CI runs as root).
 */
import { chmodSync, existsSync, linkSync, lstatSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import t from 'tap';
import { CODE_FILE, ensureCode } from '../../src/components/setup/code.js';
import { dataPaths } from '../../src/platform/config/paths.js';
import { handOverDataDir, lookUpUser, runAsFromEnv } from '../../src/supervisor/privileges.js';
import { cli, freePort, initServer, startServer, tempDir, waitFor } from '../helpers/server.js';
import { SetupClient } from '../helpers/setup.js';

const isRoot = process.getuid?.() === 0;
const C = '/_matrix/client/v3';

/** The user the test drops to: Debian's nobody. */
const nobody = isRoot ? lookUpUser('nobody') : undefined;

const uidOf = (pid: number) => Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);

/**
 * Every path under dir (not following links) whose owner is not `uid`, app/ aside.
 * The server is running while it walks: a file LevelDB replaces between the
 * listing and the look (an old MANIFEST, a compacted table) is passed over.
 */
function notOwnedBy(dir: string, uid: number): string[] {
  const out: string[] = [];
  const walk = (p: string) => {
    const s = lstatSync(p, { throwIfNoEntry: false });
    if (!s) return;
    if (s.uid !== uid) out.push(p);
    if (!s.isDirectory()) return;
    let entries: string[];
    try { entries = readdirSync(p); } catch (e) { if ((e as NodeJS.ErrnoException).code === 'ENOENT') return; throw e; }
    for (const e of entries) if (!(p === dir && e === 'app')) walk(join(p, e));
  };
  walk(dir);
  return out;
}

t.test('the user is looked up in the passwd file; root and strangers are refused', async (t) => {
  const passwd = join(tempDir(), 'passwd');
  writeFileSync(passwd, 'root:x:0:0:root:/root:/bin/sh\nneurite:x:200:201:Neurite:/data:/bin/false\nodd:x:abc:1::/:/bin/false\n');
  t.same(lookUpUser('neurite', passwd), { name: 'neurite', uid: 200, gid: 201 });
  t.throws(() => lookUpUser('root', passwd), /is root \(uid 0\)/);
  t.throws(() => lookUpUser('mallory', passwd), /no such user/);
  t.throws(() => lookUpUser('odd', passwd), /no numeric uid/);
  t.equal(runAsFromEnv({}, true), undefined, 'unset: nothing changes');
  t.equal(runAsFromEnv({ NEURITE_USER: 'nobody' }, false), undefined, 'not root: nothing to drop');
});

t.test('the setup code is never read or written through a link planted in its place', async (t) => {
  const top = tempDir();
  const dataDir = join(top, 'data');
  mkdirSync(dataDir);
  const precious = join(top, 'precious');
  writeFileSync(precious, 'ABCD-EFGH-JKMN\nnot to be touched\n');
  symlinkSync(precious, join(dataDir, CODE_FILE));
  const viaLink = ensureCode(dataDir);
  t.not(viaLink, 'ABCD-EFGH-JKMN', 'a code behind a symbolic link is not taken');
  t.equal(readFileSync(precious, 'utf8'), 'ABCD-EFGH-JKMN\nnot to be touched\n', 'nor is the file it points to written');
  t.ok(lstatSync(join(dataDir, CODE_FILE)).isFile(), 'the code is a plain file now');
  t.equal(ensureCode(dataDir), viaLink, 'and is the code from then on');

  rmSync(join(dataDir, CODE_FILE));
  linkSync(precious, join(dataDir, CODE_FILE));
  const viaHardLink = ensureCode(dataDir);
  t.not(viaHardLink, 'ABCD-EFGH-JKMN', 'a code with a second name is not taken');
  t.equal(readFileSync(precious, 'utf8'), 'ABCD-EFGH-JKMN\nnot to be touched\n', 'nor written through');
});

t.test('the hand-over: app/ stays root\'s, links are not followed, an unreachable data directory is refused', { skip: !isRoot && 'needs root' }, async (t) => {
  const top = tempDir();
  chmodSync(top, 0o755);
  const dataDir = join(top, 'data');
  mkdirSync(join(dataDir, 'db', 'x'), { recursive: true });
  writeFileSync(join(dataDir, 'db', 'x', 'file'), 'data');
  const outside = join(top, 'outside');
  writeFileSync(outside, 'root only');
  symlinkSync(outside, join(dataDir, 'db', 'link'));
  const rootFile = join(top, 'root-file');
  writeFileSync(rootFile, 'root only');
  linkSync(rootFile, join(dataDir, 'db', 'hard-link'));
  const kept = handOverDataDir(dataPaths(dataDir), nobody!);
  t.same(notOwnedBy(dataDir, nobody!.uid), [join(dataDir, 'db', 'hard-link')], 'everything but app/ and the hard link is the user\'s');
  t.same(kept, [join(dataDir, 'db', 'hard-link')], 'the hard link is reported');
  t.equal(statSync(rootFile).uid, 0, 'a file with a second name inside is not handed over');
  t.equal(statSync(join(dataDir, 'app')).uid, 0, 'app/ is root\'s');
  t.equal(statSync(outside).uid, 0, 'a link inside hands over only itself, not what it points to');

  chmodSync(join(dataDir, 'app'), 0o755);
  const stray = join(top, 'stray');
  mkdirSync(join(stray, 'data', 'app'), { recursive: true });
  chmodSync(stray, 0o755);
  const { chownSync } = await import('node:fs');
  chownSync(join(stray, 'data', 'app'), nobody!.uid, nobody!.gid);
  t.throws(() => handOverDataDir(dataPaths(join(stray, 'data')), nobody!), /must be a folder owned by root/, 'an app/ the user could have planted is refused');

  const closed = join(tempDir(), 'data');
  chmodSync(dirname(closed), 0o700);
  t.throws(() => handOverDataDir(dataPaths(closed), nobody!), /cannot reach the data directory: .* is not searchable/);
});

t.test('a server whose processes run unprivileged serves, restarts and keeps its data', { skip: !isRoot && 'needs root', timeout: 240_000 }, async (t) => {
  const { dataDir, ports } = await initServer({ mode: 'split', tls: 'off', extra: ['--registration', 'open'] });
  chmodSync(dirname(dataDir), 0o755);
  const start = async () => {
    process.env.NEURITE_USER = 'nobody';
    try {
      return await startServer(dataDir, { clientPort: ports.client });
    } finally {
      delete process.env.NEURITE_USER;
    }
  };
  let server = await start();
  t.teardown(() => server.kill());
  const base = `http://127.0.0.1:${ports.client}`;
  const call = async (method: string, path: string, body?: unknown, token?: string) => {
    const r = await fetch(base + path, { method, headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: r.status, body: (await r.json()) as any };
  };

  const st = JSON.parse(cli(['status', '--data-dir', dataDir, '--json']).stdout);
  t.equal(uidOf(st.supervisor.pid), 0, 'the supervisor stays root');
  t.equal(st.processes.length, 13, 'every component in its own process (the scheduled jobs beside the dashboard)');
  for (const p of st.processes) t.equal(uidOf(p.pid), nobody!.uid, `${p.name} runs as nobody`);
  t.equal(st.run_as, 'nobody', 'status says which user');
  t.match(cli(['status', '--data-dir', dataDir]).stdout, /supervisor pid \d+.*; processes run as nobody\n/, 'in words too');

  const first = await call('POST', `${C}/register`, { username: 'alice', password: 'alice-password-1' });
  const alice = (await call('POST', `${C}/register`, { username: 'alice', password: 'alice-password-1', auth: { type: 'm.login.dummy', session: first.body.session } })).body;
  t.ok(alice.access_token, 'registration writes the user database');
  const room = (await call('POST', `${C}/createRoom`, { name: 'unprivileged' }, alice.access_token)).body.room_id;
  const sent = await call('PUT', `${C}/rooms/${encodeURIComponent(room)}/send/m.room.message/t1`, { msgtype: 'm.text', body: 'as nobody' }, alice.access_token);
  t.equal(sent.status, 200, 'a message is stored');
  const media = await fetch(`${base}/_matrix/media/v3/upload?filename=a.txt`, { method: 'POST', headers: { authorization: `Bearer ${alice.access_token}`, 'content-type': 'text/plain' }, body: 'media as nobody' });
  t.equal(media.status, 200, 'media is written');
  t.equal(cli(['user', 'add', 'bob', '--password', 'bob-password-1', '--data-dir', dataDir]).status, 0, 'user add through the control socket');
  t.same(notOwnedBy(dataDir, nobody!.uid), [], 'everything the processes wrote is the user\'s');
  t.equal(statSync(join(dataDir, 'app')).uid, 0, 'app/ is root\'s');

  // Stopped: root's CLI writes the user database; the next start hands its new files over.
  t.equal((await server.stop()).code, 0);
  t.equal(cli(['user', 'add', 'carol', '--password', 'carol-password-1', '--data-dir', dataDir]).status, 0, 'user add with the server stopped');
  t.not(notOwnedBy(dataDir, nobody!.uid).length, 0, 'root made files meanwhile');
  server = await start();
  t.same(notOwnedBy(dataDir, nobody!.uid), [], 'handed over at start');
  const carol = await call('POST', `${C}/login`, { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'carol' }, password: 'carol-password-1' });
  t.equal(carol.status, 200, 'the user root added logs in');
  const messages = await call('GET', `${C}/rooms/${encodeURIComponent(room)}/messages?dir=b&limit=5`, undefined, alice.access_token);
  t.ok(messages.body.chunk.some((e: any) => e.content?.body === 'as nobody'), 'the message is still there');
  t.equal((await server.stop()).code, 0, 'and stops cleanly');
});

t.test('the setup wizard, unprivileged: from a blank data directory to a homeserver, the code forgotten everywhere', { skip: !isRoot && 'needs root', timeout: 240_000 }, async (t) => {
  const top = tempDir();
  chmodSync(top, 0o755);
  const dataDir = join(top, 'data');
  // Stands for the boot partition: only root may write there.
  const boot = join(top, 'boot');
  mkdirSync(boot, { mode: 0o700 });
  const bootCopy = join(boot, 'neurite-setup-code.txt');
  const setupPort = await freePort();
  process.env.NEURITE_USER = 'nobody';
  process.env.NEURITE_SETUP_CODE_FILES = bootCopy;
  let server;
  try {
    server = await startServer(dataDir, { args: ['--setup-port', String(setupPort), '--bind', '127.0.0.1'] });
  } finally {
    delete process.env.NEURITE_USER;
    delete process.env.NEURITE_SETUP_CODE_FILES;
  }
  t.teardown(() => server.kill());
  const base = `http://127.0.0.1:${setupPort}`;
  await waitFor('the setup port', async () => ((await fetch(`${base}/_neurite/setup/status`)).ok ? true : undefined));
  const code = readFileSync(join(dataDir, CODE_FILE), 'utf8').trim();
  t.equal(readFileSync(bootCopy, 'utf8').trim(), code, 'the code is on the "boot partition", written by the supervisor');
  const setupPid = JSON.parse(cli(['status', '--data-dir', dataDir, '--json']).stdout).processes[0].pid;
  t.equal(uidOf(setupPid), nobody!.uid, 'the setup process runs as nobody');

  const c = new SetupClient(base);
  t.equal((await c.post('/setup/code', { code }, { csrf: null })).json.next, '/setup/system', 'the setup process reads the code root wrote');
  t.equal((await c.post('/setup/system', { mode: 'monolith' })).json.next, '/setup/server');
  t.equal((await c.post('/setup/server', { server_name: 'example.org' })).json.next, '/setup/tls');
  const [client, federation] = [await freePort(), await freePort()];
  t.equal((await c.post('/setup/tls', { tls: 'self-signed', client_port: String(client), federation_port: String(federation) })).json.next, '/setup/accounts');
  const accounts = { admin_username: 'admin', admin_password: 'a long enough secret', admin_password2: 'a long enough secret', registration: 'token', token_uses: '5', token_days: '30', federation: 'on' };
  t.equal((await c.post('/setup/accounts', accounts)).json.next, '/setup/review');
  t.equal((await c.post('/setup/apply')).json.next, '/setup/progress');
  const done = await waitFor('setup to finish', async () => {
    const p = await c.get('/setup/progress.json').catch(() => undefined);
    return p?.json?.next ? p.json : undefined;
  }, 90_000);
  t.equal(done.next, '/setup/done', 'setup completes');

  const st = JSON.parse(cli(['status', '--data-dir', dataDir, '--json']).stdout);
  t.ok(st.configured, 'the homeserver runs');
  for (const p of st.processes) t.equal(uidOf(p.pid), nobody!.uid, `${p.name} runs as nobody`);
  const login = await fetch(`http://127.0.0.1:${client}/_matrix/client/v3/login`, {
    method: 'POST',
    body: JSON.stringify({ type: 'm.login.password', identifier: { type: 'm.id.user', user: 'admin' }, password: 'a long enough secret' }),
  });
  t.equal(login.status, 200, 'the admin the wizard made logs in');
  const d = new SetupClient(base);
  t.equal((await d.post('/login', { user: 'admin', password: 'a long enough secret' }, { csrf: null })).status, 200, 'the admin signs in to the dashboard');
  const overview = await d.get('/dashboard', { json: false });
  t.match(overview.text, /run as the unprivileged user <code data-run-as>nobody<\/code>/, 'which says the processes run unprivileged');
  t.notOk(existsSync(join(dataDir, CODE_FILE)), 'the code is gone from the data directory');
  t.notOk(existsSync(bootCopy), 'and from the "boot partition", which only the supervisor could remove');
  t.same(notOwnedBy(dataDir, nobody!.uid), [], 'the configuration and keys the wizard wrote are the user\'s');
  t.equal((await server.stop()).code, 0);
});

t.test('an unknown NEURITE_USER stops the start with one line', { skip: !isRoot && 'needs root' }, async (t) => {
  const { dataDir } = await initServer({ mode: 'monolith', tls: 'off' });
  const r = cli(['start', '--data-dir', dataDir], { NEURITE_USER: 'no-such-user-here' });
  t.not(r.status, 0);
  t.match(r.stderr, /^neurite: cannot start: NEURITE_USER=no-such-user-here: no such user in \/etc\/passwd\n$/m);
});
