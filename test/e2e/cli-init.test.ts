/**
 * `neurite init` as a user runs it: what it writes, and how it refuses bad
 * input with a one-line error, a non-zero exit and nothing half-written.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { parse } from 'yaml';
import { parseSigningKey } from '../../src/platform/config/signing-key.js';
import { createSelfSignedCertificate } from '../../src/platform/tls/self-signed.js';
import { cli, requireBuild, tempDir } from '../helpers/server.js';

requireBuild();

const base = ['--server-name', 'example.org', '--bind', '127.0.0.1'];

function oneLineError(t: Test, r: ReturnType<typeof cli>, pattern: RegExp) {
  t.not(r.status, 0, 'exits non-zero');
  const lines = r.stderr.trim().split('\n');
  t.equal(lines.length, 1, `one line: ${r.stderr.trim()}`);
  t.match(lines[0], pattern);
}

function treeHash(dir: string): string {
  const h = createHash('sha256');
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = join(d, e.name);
      h.update(p);
      if (e.isDirectory()) walk(p);
      else h.update(readFileSync(p));
    }
  };
  walk(dir);
  return h.digest('hex');
}

t.test('init writes configuration, signing key and certificate', async (t) => {
  const dir = join(tempDir(), 'data');
  const r = cli(['init', '--data-dir', dir, ...base, '--client-port', '18008', '--registration', 'token', '--registration-shared-secret', 'a-long-enough-secret', '--mode', 'monolith', '--guest-access', 'on']);
  t.equal(r.status, 0, r.stderr);
  t.match(r.stdout, /Initialised/);
  const config = parse(readFileSync(join(dir, 'neurite.yaml'), 'utf8'));
  t.equal(config.server_name, 'example.org');
  t.equal(config.client_port, 18008);
  t.equal(config.federation_port, 8448, 'defaults fill what was not given');
  t.equal(config.registration, 'token');
  t.equal(config.processes, 'monolith');
  t.equal(config.guest_access, true);
  t.equal(config.tls.mode, 'self-signed');
  t.notMatch(readFileSync(join(dir, 'neurite.yaml'), 'utf8'), /a-long-enough-secret/, 'the secret is not in the config file');
  t.equal(readFileSync(join(dir, 'keys', 'registration_shared_secret'), 'utf8'), 'a-long-enough-secret');

  t.equal(statSync(join(dir, 'keys')).mode & 0o777, 0o700, 'keys/ is private');
  for (const f of ['signing.key', 'tls.key', 'registration_shared_secret']) {
    t.equal(statSync(join(dir, 'keys', f)).mode & 0o777, 0o600, `${f} is mode 0600`);
  }
  const key = parseSigningKey(readFileSync(join(dir, 'keys', 'signing.key'), 'utf8'));
  t.match(key.keyId, /^ed25519:a_[A-Za-z0-9_-]{4}$/);
  t.equal(key.publicKey.length, 32);

  const cert = new X509Certificate(readFileSync(join(dir, 'keys', 'tls.crt')));
  t.match(cert.subjectAltName, /DNS:example\.org/, 'the certificate names the server');
  t.ok(cert.verify(cert.publicKey), 'self-signed');
  t.same(readdirSync(dir).sort(), ['keys', 'neurite.yaml'], 'no staging directory left behind');
});

t.test('refuses an already initialised data directory and changes nothing', async (t) => {
  const dir = join(tempDir(), 'data');
  t.equal(cli(['init', '--data-dir', dir, ...base]).status, 0);
  const before = treeHash(dir);
  oneLineError(t, cli(['init', '--data-dir', dir, ...base]), /already initialised/);
  t.equal(treeHash(dir), before, 'files untouched');
});

t.test('usage errors name the problem and write nothing', async (t) => {
  const parent = tempDir();
  const dir = join(parent, 'data');
  const cases: [string[], RegExp][] = [
    [['init', '--data-dir', dir, ...base, '--bogus', 'x'], /unknown option --bogus/],
    [['init', '--data-dir', dir, '--bind', '127.0.0.1', '--server-name'], /--server-name needs a value/],
    [['init', '--data-dir', dir, '--server-name', '--bind', '127.0.0.1'], /--server-name needs a value/],
    [['init', '--data-dir', dir, '--bind', '127.0.0.1'], /missing --server-name/],
    [['init', ...base], /missing --data-dir/],
    [['init', '--data-dir', dir, '--server-name', 'not a name!'], /server name .* is not valid/],
    [['init', '--data-dir', dir, ...base, '--client-port', '99999'], /--client-port must be a port number/],
    [['init', '--data-dir', dir, ...base, '--registration', 'sometimes'], /--registration must be one of open, token, closed/],
    [['init', '--data-dir', dir, ...base, '--tls', 'files'], /--tls files needs --tls-cert FILE and --tls-key FILE/],
    [['init', '--data-dir', dir, ...base, '--registration-shared-secret', 'short'], /at least 16 characters/],
    [['init', '--data-dir', dir, ...base, '--appservice', join(parent, 'missing.yaml')], /--appservice .* cannot read the file/],
    [['init', '--data-dir', dir, ...base, 'stray'], /unexpected argument stray/],
    [['frobnicate'], /unknown command frobnicate/],
  ];
  for (const [args, pattern] of cases) {
    await t.test(args.slice(-2).join(' '), async (t) => {
      oneLineError(t, cli(args), pattern);
      t.notOk(existsSync(dir), 'the data directory was not created');
    });
  }
});

t.test('a data directory that cannot be written', async (t) => {
  // Root may write anywhere on a normal file system; a file in the path and procfs are refused even to root.
  const parent = tempDir();
  writeFileSync(join(parent, 'file'), '');
  oneLineError(t, cli(['init', '--data-dir', join(parent, 'file', 'data'), ...base]), /not a directory|cannot create/);
  oneLineError(t, cli(['init', '--data-dir', '/proc/self', ...base]), /cannot write in \/proc\/self|not writable/);
});

t.test('--tls files checks that the key belongs to the certificate', async (t) => {
  const parent = tempDir();
  const a = createSelfSignedCertificate(['example.org']);
  const b = createSelfSignedCertificate(['example.org']);
  writeFileSync(join(parent, 'a.crt'), a.certPem);
  writeFileSync(join(parent, 'a.key'), a.keyPem);
  writeFileSync(join(parent, 'b.key'), b.keyPem);
  writeFileSync(join(parent, 'junk.crt'), 'not a certificate');
  const dir = join(parent, 'data');
  oneLineError(t, cli(['init', '--data-dir', dir, ...base, '--tls', 'files', '--tls-cert', join(parent, 'a.crt'), '--tls-key', join(parent, 'b.key')]), /does not belong to the certificate/);
  oneLineError(t, cli(['init', '--data-dir', dir, ...base, '--tls', 'files', '--tls-cert', join(parent, 'junk.crt'), '--tls-key', join(parent, 'a.key')]), /not a readable PEM certificate/);
  t.notOk(existsSync(dir));
  const ok = cli(['init', '--data-dir', dir, ...base, '--tls', 'files', '--tls-cert', join(parent, 'a.crt'), '--tls-key', join(parent, 'a.key')]);
  t.equal(ok.status, 0, ok.stderr);
  const config = parse(readFileSync(join(dir, 'neurite.yaml'), 'utf8'));
  t.equal(config.tls.cert, join(parent, 'a.crt'), 'certificate files are referenced, not copied (renewals replace them in place)');
  t.notOk(existsSync(join(dir, 'keys', 'tls.crt')));
});

t.test('an existing empty directory is initialised in place', async (t) => {
  const dir = tempDir();
  mkdirSync(join(dir, 'data'));
  t.equal(cli(['init', '--data-dir', join(dir, 'data'), ...base]).status, 0);
  t.ok(existsSync(join(dir, 'data', 'neurite.yaml')));
});
