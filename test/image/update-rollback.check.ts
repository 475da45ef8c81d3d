/**
 * An update and a rollback for real: the factory version and two installed
 * versions in slots on disk, run by the device's own launcher and service
 * loop (buildroot-config/package/neurite/{run,launch}). A good version is
 * switched to and committed after its health window; a version whose
 * processes keep crashing is rolled back by its own supervisor; a version
 * that cannot even start is given up by the launcher after three starts.
 * Each time the server comes back on the committed version with its data.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import t from 'tap';
import { fetchUpdateStatus, updateStatus, type UpdateStatus } from '../../src/supervisor/update/apply.js';
import { stageApp } from '../../scripts/release/stage-app.js';
import { ROOT } from '../../scripts/release/app-files.js';
import { cli, initServer, requireBuild, tempDir, waitFor } from '../helpers/server.js';
import { ARCH, bundle, makeKey, startLauncher, TEST_BOARD, variantRoot } from './helpers.js';

requireBuild();
const work = tempDir('nt-rollback-');
const key = makeKey(join(work, 'keys'), 'release');
const factory = join(work, 'factory');
stageApp(factory, ARCH, '0.1.0');

const good = bundle(join(work, 'good-0.2.0.bundle'), '0.2.0', key);
// Starts, then every process exits after three seconds (and again after each restart).
const crashing = bundle(join(work, 'crashing-0.3.0.bundle'), '0.3.0', key, {
  root: variantRoot("if (process.argv[2] === '__child') setTimeout(() => process.exit(70), 3000);"),
});
// Cannot even load: the supervisor never runs, so only the launcher can judge it.
const broken = bundle(join(work, 'broken-0.4.0.bundle'), '0.4.0', key, { root: variantRoot("throw new Error('this build is broken');") });

const WINDOW_MS = 4000;
const env = {
  NEURITE_RELEASE_PUBKEY: key.public,
  NEURITE_BOARD: TEST_BOARD,
  NEURITE_HEALTH_WINDOW_MS: String(WINDOW_MS),
  NEURITE_LOG_LEVEL: 'warn',
};

t.test('switch, commit, roll back twice, data kept', async (t) => {
  const { dataDir, ports } = await initServer({ mode: 'monolith', tls: 'off' });
  const added = cli(['user', 'add', 'alice', '--password', 'correct horse battery', '--data-dir', dataDir]);
  t.equal(added.status, 0, added.stderr);

  const launcher = startLauncher(t, { dataDir, factory, runDir: join(work, 'run'), env });

  const answers = async () => {
    const r = await fetch(`http://127.0.0.1:${ports.client}/_matrix/client/versions`);
    return r.ok ? true : undefined;
  };
  const login = async () => {
    const r = await fetch(`http://127.0.0.1:${ports.client}/_matrix/client/v3/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'm.login.password', identifier: { type: 'm.id.user', user: 'alice' }, password: 'correct horse battery' }),
    });
    return r.status;
  };
  const running = async (slot: string, version: string): Promise<UpdateStatus | undefined> => {
    const s = await fetchUpdateStatus(dataDir);
    return s && s.running.slot === slot && s.running.version === version && !s.trial ? s : undefined;
  };
  const apply = (file: string) => {
    const proc = spawn(process.execPath, [join(ROOT, 'dist/neurite.js'), 'update', 'apply', file, '--data-dir', dataDir], { env: { ...process.env, ...env } });
    let out = '';
    proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
    return new Promise<{ status: number | null; out: string }>((r) => proc.on('close', (status) => r({ status, out })));
  };

  await waitFor('the factory version to answer', answers, 60_000);
  t.ok(await running('factory', '0.1.0'), 'the factory version runs');
  t.equal(await login(), 200, 'alice can log in');

  const t0 = Date.now();
  const a = await apply(good);
  t.equal(a.status, 0, a.out);
  t.match(a.out, /version 0\.2\.0 installed in slot a; Neurite is restarting into it/);
  await waitFor('0.2.0 to be committed', () => running('a', '0.2.0'), 60_000);
  t.comment(`switch + ${WINDOW_MS} ms health window + commit: ${Date.now() - t0} ms`);
  let s = updateStatus(dataDir);
  t.equal(s.committed.slot, 'a');
  t.equal(s.last?.result, 'installed');
  t.equal(s.last?.version, '0.2.0');
  t.equal(await login(), 200, 'alice can log in on 0.2.0');

  const b = await apply(crashing);
  t.equal(b.status, 0, b.out);
  t.match(b.out, /version 0\.3\.0 installed in slot b/);
  await waitFor('0.3.0 to be rolled back', async () => (updateStatus(dataDir).last?.version === '0.3.0' ? true : undefined), 90_000);
  await waitFor('0.2.0 to run again', () => running('a', '0.2.0'), 60_000);
  s = updateStatus(dataDir);
  t.equal(s.last?.result, 'rolled-back');
  // On a busy machine the first crash can come before the start is complete: both are the version's failure.
  t.match(s.last?.reason, /version 0\.3\.0 was rolled back to 0\.2\.0: (process neurite (is \S+ \(exit code 70\)|restarted) during the health window|it did not start \(process neurite exited during start \(code 70\)\))/);
  t.equal(s.committed.slot, 'a', 'the committed version did not change');
  t.equal(s.slots.b, '0.3.0', 'the failed version stays in its slot, unused');
  await waitFor('/versions', answers, 30_000);
  t.equal(await login(), 200, 'alice can still log in: the data is untouched');

  const c = await apply(broken);
  t.equal(c.status, 0, c.out);
  await waitFor('0.4.0 to be given up by the launcher', async () => (updateStatus(dataDir).last?.version === '0.4.0' ? true : undefined), 120_000);
  await waitFor('0.2.0 to run again', () => running('a', '0.2.0'), 60_000);
  s = updateStatus(dataDir);
  t.equal(s.last?.result, 'rolled-back');
  t.match(s.last?.reason, /did not start healthy in 3 attempts/);
  t.match(launcher.output(), /this build is broken/, 'the broken build did run (and fail)');
  await waitFor('/versions', answers, 30_000);
  t.equal(await login(), 200, 'alice can still log in');
});
