/**
 * RAUC, as Debian packages it: a verity bundle made from image/rauc's
 * manifest template and signed by a throwaway CA verifies with `rauc info`,
 * is refused under another CA, and a tampered payload fails `rauc extract`;
 * image/rauc/system.conf.in, filled in as post-build.sh does, loads with
 * `rauc --conf`, and a broken one does not.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import t from 'tap';
import { ROOT } from '../../scripts/release/app-files.js';
import { tempDir } from '../helpers/server.js';

const work = tempDir('nt-rauc-');
const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const rauc = (args: string[]) => spawnSync('rauc', args, { encoding: 'utf8' });

function ca(name: string): { ca: string; cert: string; key: string } {
  const d = join(work, name);
  mkdirSync(d);
  sh('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', `/CN=throwaway ${name} CA`, '-keyout', join(d, 'ca.key'), '-out', join(d, 'ca.pem'),
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign']);
  sh('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=throwaway ${name} signer`, '-keyout', join(d, 'sign.key'), '-out', join(d, 'sign.csr')]);
  writeFileSync(join(d, 'ext.cnf'), 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n');
  sh('openssl', ['x509', '-req', '-in', join(d, 'sign.csr'), '-CA', join(d, 'ca.pem'), '-CAkey', join(d, 'ca.key'), '-CAcreateserial', '-days', '1', '-extfile', join(d, 'ext.cnf'), '-out', join(d, 'sign.pem')]);
  return { ca: join(d, 'ca.pem'), cert: join(d, 'sign.pem'), key: join(d, 'sign.key') };
}

const mine = ca('mine');
const other = ca('other');
const content = join(work, 'content');
mkdirSync(join(content, 'etc', 'neurite'), { recursive: true });
writeFileSync(join(content, 'etc', 'neurite', 'os-version'), '1.2.3\n');
writeFileSync(join(content, 'etc', 'noise'), randomBytes(256 * 1024)); // a verity payload must exceed one block
const dir = join(work, 'bundle');
mkdirSync(dir);
sh('mke2fs', ['-q', '-t', 'ext4', '-d', content, join(dir, 'rootfs.ext4'), '8M']);
writeFileSync(join(dir, 'manifest.raucm'), readFileSync(join(ROOT, 'image/rauc/manifest.raucm.in'), 'utf8').replace(/@BOARD@/g, 'rpi4').replace(/@VERSION@/g, '1.2.3'));
const bundle = join(work, 'neurite-rpi4-1.2.3.raucb');
const made = rauc(['bundle', `--cert=${mine.cert}`, `--key=${mine.key}`, dir, bundle]);

t.test('a bundle signed by the throwaway CA verifies with rauc info', async (t) => {
  t.equal(made.status, 0, made.stderr);
  const info = rauc(['info', `--keyring=${mine.ca}`, '--output-format=json', bundle]);
  t.equal(info.status, 0, info.stderr);
  const j = JSON.parse(info.stdout) as { compatible: string; version: string };
  t.equal(j.compatible, 'neurite-rpi4');
  t.equal(j.version, '1.2.3');
  t.match(rauc(['info', `--keyring=${mine.ca}`, bundle]).stdout, /Bundle Format:\s+verity/);
});

t.test('another CA does not verify it', async (t) => {
  const r = rauc(['info', `--keyring=${other.ca}`, bundle]);
  t.not(r.status, 0);
  t.match(r.stderr, /signature|certificate|verif/i);
});

t.test('a tampered payload fails rauc extract', async (t) => {
  const bad = join(work, 'tampered.raucb');
  const bytes = readFileSync(bundle);
  const at = Math.floor(bytes.length / 3);
  bytes[at] = bytes[at]! ^ 0xff;
  writeFileSync(bad, bytes);
  const r = rauc(['extract', `--keyring=${mine.ca}`, bad, join(work, 'out-bad')]);
  t.not(r.status, 0, 'refused');
  t.match(r.stderr, /corrupt|verif|fail/i);
  const ok = rauc(['extract', `--keyring=${mine.ca}`, bundle, join(work, 'out-good')]);
  t.equal(ok.status, 0, `the untampered bundle extracts: ${ok.stderr}`);
  t.same(readFileSync(join(work, 'out-good', 'rootfs.ext4')), readFileSync(join(dir, 'rootfs.ext4')));
});

t.test('system.conf loads with rauc --conf; a broken one is refused', async (t) => {
  const conf = join(work, 'system.conf');
  writeFileSync(conf, readFileSync(join(ROOT, 'image/rauc/system.conf.in'), 'utf8').replace(/@BOARD@/g, 'rpi4').replace(/@DISK@/g, '/dev/mmcblk0p'));
  const good = rauc([`--conf=${conf}`, `--keyring=${mine.ca}`, 'info', bundle]);
  t.equal(good.status, 0, good.stderr);
  const broken = join(work, 'broken.conf');
  writeFileSync(broken, readFileSync(conf, 'utf8').replace('bootloader=uboot', 'bootloader=uboot\nbootname-typo=A'));
  const bad = rauc([`--conf=${broken}`, `--keyring=${mine.ca}`, 'info', bundle]);
  t.not(bad.status, 0);
  t.match(bad.stderr, /Failed to load system config/);
});
