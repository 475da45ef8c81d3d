/** The configuration's validation, process layouts, paths and the signing key file. */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { generateSigningKey } from '../../src/core/ed25519.js';
import { COMPONENTS } from '../../src/platform/config/components.js';
import { initDataDir } from '../../src/platform/config/init.js';
import { processLayout } from '../../src/platform/config/layout.js';
import { dataPaths, processSocketPath } from '../../src/platform/config/paths.js';
import { ConfigError, validateConfig } from '../../src/platform/config/schema.js';
import { formatSigningKey, parseSigningKey } from '../../src/platform/config/signing-key.js';
import { tempDir } from '../helpers/server.js';

t.test('defaults and validation messages', async (t) => {
  const c = validateConfig({ server_name: 'example.org' });
  t.equal(c.client_port, 8008);
  t.equal(c.federation_port, 8448);
  t.equal(c.tls.mode, 'self-signed');
  t.equal(c.registration, 'closed', 'registration is closed unless asked for');
  t.equal(c.processes, 'split');
  t.equal(c.durability, 'sync', 'acknowledged writes are synced by default');
  const bad: [unknown, RegExp][] = [
    [null, /must hold a mapping/],
    [{}, /server_name must be a string/],
    [{ server_name: '' }, /server_name must not be empty/],
    [{ server_name: 'a', client_port: 70000 }, /client_port must be a port number/],
    [{ server_name: 'a', client_port: '8008' }, /client_port must be a port number/],
    [{ server_name: 'a', tls: { mode: 'maybe' } }, /tls\.mode must be one of self-signed, off, files/],
    [{ server_name: 'a', federation: { verify_tls: 'yes' } }, /federation\.verify_tls must be true or false/],
    [{ server_name: 'a', registration: 'free' }, /registration must be one of/],
    [{ server_name: 'a', durability: 'eventually' }, /durability must be one of sync, relaxed/],
    [{ server_name: 'a', appservices: 'x.yaml' }, /appservices must be a list/],
  ];
  for (const [raw, msg] of bad) t.throws(() => validateConfig(raw), { name: 'ConfigError', message: msg }, JSON.stringify(raw));
});

t.test('process layouts', async (t) => {
  const split = processLayout('split');
  t.same(split.flatMap((g) => g.components).sort(), [...COMPONENTS].sort(), 'split runs every component once');
  t.equal(split.length, COMPONENTS.length - 1, 'one process per component, the scheduled jobs beside the dashboard');
  t.ok(split.every((g) => g.name === g.components[0]));
  t.same(split.find((g) => g.name === 'setup')?.components, ['setup', 'maintenance']);
  t.ok(split.filter((g) => g.name !== 'setup').every((g) => g.components.length === 1));
  t.same(processLayout('monolith'), [{ name: 'neurite', components: [...COMPONENTS] }]);

  const web = ['gateway', 'clientapi', 'syncapi', 'setup'];
  const rest = COMPONENTS.filter((c) => !web.includes(c));
  const custom = validateConfig({ server_name: 'a', processes: { web, core: rest } });
  t.same(processLayout(custom.processes), [
    { name: 'web', components: web },
    { name: 'core', components: rest },
  ]);
  t.throws(() => validateConfig({ server_name: 'a', processes: { web } }), /leaves out .*roomserver/);
  t.throws(() => validateConfig({ server_name: 'a', processes: { web, core: [...rest, 'clientapi'] } }), /lists clientapi, which another process already runs/);
  t.throws(() => validateConfig({ server_name: 'a', processes: { web, core: [...rest, 'bogus'] } }), /unknown component "bogus"/);
  t.throws(() => validateConfig({ server_name: 'a', processes: { 'Bad Name': COMPONENTS } }), /not a valid process name/);
});

t.test('socket paths fit in sockaddr_un even for deep data directories', async (t) => {
  const short = dataPaths('/data');
  t.equal(short.runDir, '/data/run');
  const deep = dataPaths('/' + 'x'.repeat(150));
  t.ok(Buffer.byteLength(processSocketPath(deep, 'federationsender')) <= 107, deep.runDir);
  t.equal(dataPaths('/' + 'x'.repeat(150)).runDir, deep.runDir, 'the same data directory always gets the same run directory');
  t.not(dataPaths('/' + 'y'.repeat(150)).runDir, deep.runDir, 'and different ones different run directories');
});

t.test('signing key file round trip, in the format Synapse tools read', async (t) => {
  const key = generateSigningKey('ed25519:a_Test');
  const text = formatSigningKey(key);
  t.match(text, /^ed25519 a_Test [A-Za-z0-9+/]{43}\n$/);
  const back = parseSigningKey(text);
  t.equal(back.keyId, key.keyId);
  t.same(back.publicKey, key.publicKey);
  t.throws(() => parseSigningKey('rsa a_Test AAAA'), /expected "ed25519/);
  t.throws(() => parseSigningKey('ed25519 a_Test AAAA'), /not 32 bytes/);
});

t.test('a failed init leaves nothing behind', async (t) => {
  const parent = tempDir();
  const dir = join(parent, 'data');
  t.throws(() => initDataDir({ dataDir: dir, serverName: 'example.org', tls: 'files', tlsCert: join(parent, 'missing.crt'), tlsKey: join(parent, 'missing.key') }), ConfigError);
  t.notOk(existsSync(dir));
  t.throws(() => initDataDir({ dataDir: dir, serverName: 'example.org', tlsCert: join(parent, 'x.crt') }), /go with --tls files/);
  t.notOk(existsSync(dir));
  const config = initDataDir({ dataDir: dir, serverName: '[::1]:8448', bind: '::1' });
  t.equal(config.server_name, '[::1]:8448');
  t.same(readdirSync(dir).sort(), ['keys', 'neurite.yaml']);
});
