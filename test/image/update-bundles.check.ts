/**
 * Application bundles: a good one installs into the inactive slot; a
 * tampered file, a wrong key, a truncated download, a downgrade, another
 * board's bundle and a data format the build cannot migrate are each refused
 * with a one-line reason and nothing changed.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { installBundle } from '../../src/supervisor/update/install.js';
import { readPublicKey } from '../../src/supervisor/update/keys.js';
import { applyUpdate } from '../../src/supervisor/update/apply.js';
import { appPaths, committedSlot, slotManifest, UpdateRefused } from '../../src/supervisor/update/slots.js';
import { NEURITE, requireBuild, tempDir } from '../helpers/server.js';
import { bundle, makeKey, snapshot, TEST_BOARD } from './helpers.js';
import { ROOT } from '../../scripts/release/app-files.js';

requireBuild();
const work = tempDir('nt-bundles-');
const key = makeKey(join(work, 'keys'), 'release');
const stranger = makeKey(join(work, 'keys'), 'stranger');
const trusted = [readPublicKey(key.public)];
const good = bundle(join(work, 'good-9.0.0.bundle'), '9.0.0', key);
const verify = { trustedKeys: trusted, board: TEST_BOARD };

function freshDataDir(): string {
  const d = join(tempDir('nt-upd-'), 'data');
  mkdirSync(d, { recursive: true });
  writeFileSync(join(d, 'neurite.yaml'), '# stands for the data the update must not touch\n');
  return d;
}

/** Runs `neurite update apply` with this test's key and board. */
function cliApply(dataDir: string, file: string, extra: string[] = []): Promise<{ status: number | null; stdout: string; stderr: string }> {
  // Asynchronous: the HTTP test serves the download from this process.
  const proc = spawn(process.execPath, [NEURITE, 'update', 'apply', file, '--data-dir', dataDir, '--no-switch', ...extra], {
    env: { ...process.env, NEURITE_RELEASE_PUBKEY: key.public, NEURITE_BOARD: TEST_BOARD },
  });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => proc.on('close', (status) => resolve({ status, stdout, stderr })));
}

async function refused(t: Test, dataDir: string, file: string, pattern: RegExp, extra: string[] = []) {
  const before = snapshot(dataDir);
  const r = await cliApply(dataDir, file, extra);
  t.equal(r.status, 1, 'exits 1');
  const lines = r.stderr.trim().split('\n');
  t.equal(lines.length, 1, `one line: ${r.stderr.trim()}`);
  t.match(lines[0], /^neurite: update refused: /);
  t.match(lines[0], pattern);
  t.same(snapshot(dataDir), before, 'nothing changed in the data directory');
}

t.test('a good bundle installs into the inactive slot and becomes the trial', async (t) => {
  const d = freshDataDir();
  const r = await cliApply(d, good);
  t.equal(r.status, 0, r.stderr);
  t.match(r.stdout, /version 9\.0\.0 installed in slot a/);
  const p = appPaths(d);
  t.equal(slotManifest(p, 'a')?.version, '9.0.0');
  t.equal(readFileSync(p.trialFile, 'utf8').trim(), 'a');
  t.equal(committedSlot(p), 'factory', 'the committed version is unchanged until the trial passes');
  const m = slotManifest(p, 'a')!;
  for (const f of m.files.slice(0, 20)) t.ok(existsSync(join(p.slotsDir, 'a', f.path)), f.path);
  t.equal(readFileSync(join(d, 'neurite.yaml'), 'utf8'), '# stands for the data the update must not touch\n', 'data untouched');
});

t.test('a tampered file is refused', async (t) => {
  const bad = join(work, 'tampered.bundle');
  const bytes = readFileSync(good);
  bytes[bytes.length - 100] = bytes[bytes.length - 100]! ^ 0x01; // inside the last file of the payload
  writeFileSync(bad, bytes);
  await refused(t, freshDataDir(), bad, /does not match its hash in the signed manifest/);
});

t.test('a tampered manifest is refused by the signature', async (t) => {
  const bad = join(work, 'tampered-manifest.bundle');
  writeFileSync(bad, readFileSync(good).toString('latin1').replace('"version":"9.0.0"', '"version":"9.9.9"'), 'latin1');
  await refused(t, freshDataDir(), bad, /bad signature/);
});

t.test('a bundle signed by another key is refused', async (t) => {
  const other = bundle(join(work, 'stranger.bundle'), '9.0.0', stranger);
  await refused(t, freshDataDir(), other, /bad signature: the bundle is signed by key [0-9a-f]{16}, which this device does not trust/);
});

t.test('a truncated download is refused', async (t) => {
  const cut = join(work, 'truncated.bundle');
  writeFileSync(cut, readFileSync(good));
  truncateSync(cut, readFileSync(good).length - 4096);
  await refused(t, freshDataDir(), cut, /truncated: \d+ of \d+ bytes/);
  const head = join(work, 'header-only.bundle');
  writeFileSync(head, readFileSync(good).subarray(0, 100));
  await refused(t, freshDataDir(), head, /truncated/);
});

t.test('a truncated download over HTTP is refused', async (t) => {
  const bytes = readFileSync(good);
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-length': bytes.length });
    res.end(bytes.subarray(0, bytes.length >> 1));
    res.socket?.destroy();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => server.close());
  const port = (server.address() as { port: number }).port;
  await refused(t, freshDataDir(), `http://127.0.0.1:${port}/neurite.bundle`, /download .*(truncated|broke off)/);
});

t.test('a downgrade is refused unless forced', async (t) => {
  const older = bundle(join(work, 'old.bundle'), '0.0.1', key);
  const d = freshDataDir();
  await refused(t, d, older, /version 0\.0\.1 is not newer than the running \S+ \(use --force/);
  const r = await cliApply(d, older, ['--force']);
  t.equal(r.status, 0, `--force installs it: ${r.stderr}`);
});

t.test("another board's bundle is refused", async (t) => {
  const other = bundle(join(work, 'rpi.bundle'), '9.0.0', key, { boards: ['rpi4', 'rpi5'] });
  await refused(t, freshDataDir(), other, /the bundle is for rpi4, rpi5, not for this board \(test-board\)/);
});

t.test('a data format the new version cannot migrate is refused', async (t) => {
  const d = freshDataDir();
  writeFileSync(join(d, 'data-format'), '7\n');
  await refused(t, d, good, /reads data format 1, older than this device's 7/);
});

t.test('a file that is not a bundle is refused', async (t) => {
  const junk = join(work, 'junk.bin');
  writeFileSync(junk, 'hello, I am not a bundle\n');
  await refused(t, freshDataDir(), junk, /not an update bundle/);
  await refused(t, freshDataDir(), join(work, 'missing.bundle'), /cannot read .*ENOENT/);
});

t.test('the library refuses the same way (for the dashboard)', async (t) => {
  const d = freshDataDir();
  await t.rejects(installBundle(good, d, { ...verify, board: 'rpi3' }), UpdateRefused);
  await t.rejects(applyUpdate({ dataDir: d, source: good, trustedKeys: [readPublicKey(stranger.public)], board: TEST_BOARD, switchNow: false }), { name: 'UpdateRefused', message: /bad signature/ });
  const ok = await applyUpdate({ dataDir: d, source: good, ...verify, switchNow: false });
  t.equal(ok.version, '9.0.0');
  t.equal(ok.kind, 'application');
  await t.rejects(applyUpdate({ dataDir: d, source: good, ...verify, switchNow: false, force: true }), { message: /still on trial/ }, 'one trial at a time');
  // The dashboard's upload (received by the supervisor, control.ts): applied, and gone either way.
  const upload = join(work, 'upload.bundle');
  writeFileSync(upload, 'not a bundle');
  await t.rejects(applyUpdate({ dataDir: d, source: upload, ...verify, deleteSource: true }), { message: /not an update bundle/ });
  t.notOk(existsSync(upload), 'a refused upload is deleted');
});

t.test('the scheduled check: consent unless automatic, never a wrong bundle', async (t) => {
  const { runUpdateCheck, approvePendingUpdate, writeUpdateSettings, readUpdateSettings } = await import('../../src/supervisor/update/check.js');
  const { updateStatus } = await import('../../src/supervisor/update/apply.js');
  let doc: object = { version: '9.0.0', url: 'neurite-9.0.0.bundle', notes: 'a test release' };
  const bytes = readFileSync(good);
  const server = createServer((req, res) => {
    if (req.url === '/release.json') return res.end(JSON.stringify(doc));
    if (req.url === '/neurite-9.0.0.bundle') return res.end(bytes);
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => server.close());
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/release.json`;

  const d = freshDataDir();
  t.same(await runUpdateCheck({ dataDir: d, ...verify }), { outcome: 'disabled' }, 'no URL, no check');
  writeUpdateSettings(d, { url });
  t.equal(readUpdateSettings(d).automatic, false, 'automatic updates are off by default');
  const found = await runUpdateCheck({ dataDir: d, ...verify });
  t.equal(found.outcome, 'pending');
  let s = updateStatus(d);
  t.equal(s.pending?.version, '9.0.0', 'downloaded, verified, waiting for consent');
  t.equal(s.pending?.notes, 'a test release');
  t.same(s.slots, { a: null, b: null }, 'nothing installed without consent');
  t.equal(s.trial, null);
  const approved = await approvePendingUpdate(d, verify);
  t.match(approved.message, /version 9\.0\.0 installed in slot a; Neurite is not running/);
  s = updateStatus(d);
  t.equal(s.slots.a, '9.0.0');
  t.equal(s.pending, null);

  const auto = freshDataDir();
  writeUpdateSettings(auto, { url, automatic: true });
  const installed = await runUpdateCheck({ dataDir: auto, ...verify });
  t.equal(installed.outcome, 'installed', 'automatic updates install by themselves');
  t.equal(updateStatus(auto).slots.a, '9.0.0');

  const liar = freshDataDir();
  writeUpdateSettings(liar, { url });
  doc = { version: '9.1.0', url: 'neurite-9.0.0.bundle' };
  await t.rejects(runUpdateCheck({ dataDir: liar, ...verify }), { message: /the bundle holds version 9\.0\.0, the release document says 9\.1\.0/ });
  t.equal(updateStatus(liar).pending, null, 'a mismatching bundle is not kept');
  doc = { version: '0.0.1', url: 'x' };
  t.same(await runUpdateCheck({ dataDir: liar, ...verify }), { outcome: 'up-to-date', version: '0.1.0' });
  t.throws(() => writeUpdateSettings(liar, { url: 'ftp://example.org/x' }), { name: 'UpdateRefused' }, 'only http(s) update URLs');
});

t.test('a release refuses the development key unless told explicitly', async (t) => {
  const { makeAppBundle, DEVELOPMENT_PUBLIC_KEY } = await import('../../scripts/release/make-app-bundle.js');
  const devKey = DEVELOPMENT_PUBLIC_KEY.replace(/\.pub$/, '.key');
  const out = join(work, 'dev.bundle');
  t.throws(() => makeAppBundle({ version: '9.0.0', keyFile: devKey, out, arch: 'arm64' }), /is the DEVELOPMENT key; a release needs your own key/);
  t.notOk(existsSync(out), 'nothing written');
  const m = makeAppBundle({ version: '9.0.0', keyFile: devKey, out, arch: 'arm64', allowDevelopmentKey: true });
  t.same(m.boards, ['rpi3', 'rpi4', 'rpi5'], 'a board release names the Pi boards');
  t.ok(m.files.some((f) => f.path.endsWith('linux-arm64/classic-level.armv8.node')), 'with the arm64 native module');
  const addon = m.files.find((f) => f.path === 'dist/native/memory.node');
  const arm64Addon = join(ROOT, 'build', 'native', 'linux-arm64', 'memory.node');
  t.equal(addon?.sha256, createHash('sha256').update(readFileSync(arm64Addon)).digest('hex'), 'and the memory addon built for arm64');
  t.equal(readFileSync(arm64Addon).readUInt16LE(18), 0xb7, 'an ELF file for AArch64 (e_machine 183)');
  t.notOk(m.files.some((f) => f.path.includes('linux-x64') || f.path.endsWith('.map')), 'and nothing for other machines, no source maps');
  const r = spawnSync('bash', [join(ROOT, 'scripts/release.sh'), '0.0.0-does-not-match'], { encoding: 'utf8' });
  t.equal(r.status, 1);
  t.match(r.stderr, /release: package.json says \S+; set the version first/);
});
