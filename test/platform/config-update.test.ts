/**
 * The dashboard's switches rewrite neurite.yaml in place: the changed
 * settings, everything else and its comments kept, validated first, written
 * atomically (no temporary file left behind).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { initDataDir } from '../../src/platform/config/init.js';
import { loadConfig } from '../../src/platform/config/load.js';
import { updateConfig } from '../../src/platform/config/update.js';
import { tempDir } from '../helpers/server.js';

t.test('registration and federation change; the rest and the comments stay', async (t) => {
  const dataDir = join(tempDir(), 'data');
  initDataDir({ dataDir, serverName: 'home.example', tls: 'off', bind: '127.0.0.1', mode: 'monolith' });
  const file = join(dataDir, 'neurite.yaml');
  const before = readFileSync(file, 'utf8');
  const comments = before.split('\n').filter((l) => l.trimStart().startsWith('#'));
  const c = updateConfig(dataDir, { registration: 'open', federation_enabled: false });
  t.equal(c.registration, 'open');
  t.equal(c.federation.enabled, false);
  const after = loadConfig(dataDir)!;
  t.equal(after.server_name, 'home.example', 'other settings kept');
  t.equal(after.registration, 'open', 'on disk');
  t.equal(after.federation.enabled, false);
  const text = readFileSync(file, 'utf8');
  t.ok(comments.length > 0 && comments.every((l) => text.includes(l)), 'every comment kept');
  t.same(readdirSync(dataDir).filter((f) => f.includes('.tmp')), [], 'no temporary file left');
  t.throws(() => updateConfig(dataDir, { registration: 'sometimes' as never }), 'an invalid value is refused');
  t.equal(readFileSync(file, 'utf8'), text, 'and the file is unchanged');
});
