/**
 * The launcher's decisions and the data kept across a rollback, without a
 * server: NEURITE_NODE=echo makes the launcher print the command it would
 * run instead of running it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { ROOT } from '../../scripts/release/app-files.js';
import { appPaths, dataFormat, lastUpdate } from '../../src/supervisor/update/slots.js';
import { abandonTrial, beginTrial, commitTrial, protectDataForTrial, restoreDataAfterRollback } from '../../src/supervisor/update/trial.js';
import type { BundleManifest } from '../../src/supervisor/update/bundle.js';
import { tempDir } from '../helpers/server.js';

const LAUNCH = join(ROOT, 'buildroot-config/package/neurite/launch');

function setup() {
  const base = tempDir('nt-launch-');
  const data = join(base, 'data');
  const factory = join(base, 'factory');
  for (const root of [factory, join(data, 'app/slots/a'), join(data, 'app/slots/b')]) {
    mkdirSync(join(root, 'dist'), { recursive: true });
    writeFileSync(join(root, 'dist/neurite.js'), '');
  }
  writeFileSync(join(data, 'app/slots/b/manifest.json'), '{\n  "version": "2.0.0"\n}\n');
  mkdirSync(join(data, 'db/userapi'), { recursive: true });
  writeFileSync(join(data, 'db/userapi/CURRENT'), 'format 1 data\n');
  const launch = () => {
    const r = spawnSync('sh', [LAUNCH], { encoding: 'utf8', env: { ...process.env, NEURITE_DATA_DIR: data, NEURITE_FACTORY_ROOT: factory, NEURITE_NODE: 'echo', NEURITE_RUN_DIR: join(base, 'run') } });
    return { status: r.status, ran: r.stdout.trim(), said: r.stderr.trim() };
  };
  return { data, factory, launch };
}

const manifest = (version: string, data_format: number) => ({ version, data_format }) as BundleManifest;

t.test('factory, committed slot, trial with its start count', async (t) => {
  const { data, factory, launch } = setup();
  t.equal(launch().ran, `${factory}/dist/neurite.js start --data-dir ${data}`, 'nothing installed: the factory version');
  writeFileSync(join(data, 'app/committed'), 'a\n');
  t.match(launch().ran, /app\/slots\/a\/dist\/neurite\.js start/);
  beginTrial(data, { slot: 'b', manifest: manifest('2.0.0', 1) }, 5000);
  for (let i = 1; i <= 3; i++) {
    t.match(launch().ran, /app\/slots\/b\/dist\/neurite\.js start/, `trial start ${i}`);
    t.equal(readFileSync(join(data, 'app/trial-starts'), 'utf8').trim(), String(i));
  }
  const fourth = launch();
  t.match(fourth.ran, /app\/slots\/a\/dist\/neurite\.js start/, 'after three starts: back to the committed version');
  t.match(fourth.said, /version 2\.0\.0 in slot b did not prove healthy in 3 starts; returning to slot a/);
  t.notOk(existsSync(join(data, 'app/trial')), 'the trial is over');
  t.match(lastUpdate(appPaths(data)), { result: 'rolled-back', version: '2.0.0', slot: 'b' });
  t.equal(readFileSync(join(data, '../run/slot'), 'utf8').trim(), 'a', 'the launcher tells the neurite command which slot runs');
});

t.test('an empty slot falls back to the factory version', async (t) => {
  const { data, factory, launch } = setup();
  writeFileSync(join(data, 'app/committed'), 'a\n');
  writeFileSync(join(data, 'app/slots/a/dist/neurite.js'), '');
  spawnSync('rm', ['-rf', join(data, 'app/slots/a')]);
  const r = launch();
  t.equal(r.ran, `${factory}/dist/neurite.js start --data-dir ${data}`);
  t.match(r.said, /slot a holds no application; starting the factory version/);
});

t.test('a version with a newer data format: databases copied first, put back after a rollback', async (t) => {
  for (const who of ['supervisor', 'launcher'] as const) {
    const { data, launch } = setup();
    writeFileSync(join(data, 'app/committed'), 'a\n');
    const trial = beginTrial(data, { slot: 'b', manifest: manifest('2.0.0', 2) }, 5000);
    protectDataForTrial(data, trial);
    // What a migration would do.
    writeFileSync(join(data, 'db/userapi/CURRENT'), 'format 2 data\n');
    writeFileSync(join(data, 'data-format'), '2\n');
    if (who === 'supervisor') {
      abandonTrial(data, trial, 'unhealthy');
      restoreDataAfterRollback(appPaths(data));
    } else {
      writeFileSync(join(data, 'app/trial-starts'), '3\n');
      t.match(launch().said, /putting back the databases saved before the failed update/);
    }
    t.equal(readFileSync(join(data, 'db/userapi/CURRENT'), 'utf8'), 'format 1 data\n', `${who}: the old databases are back`);
    t.equal(dataFormat(appPaths(data)), 1, `${who}: and the old data format`);
    t.notOk(existsSync(join(data, 'app/rollback-data')), `${who}: the copy is gone`);
  }
});

t.test('a committed trial keeps the migrated data', async (t) => {
  const { data, launch } = setup();
  const trial = beginTrial(data, { slot: 'b', manifest: manifest('2.0.0', 2) }, 5000);
  protectDataForTrial(data, trial);
  writeFileSync(join(data, 'db/userapi/CURRENT'), 'format 2 data\n');
  commitTrial(data, trial);
  t.match(launch().ran, /slots\/b\/dist/);
  t.equal(readFileSync(join(data, 'db/userapi/CURRENT'), 'utf8'), 'format 2 data\n');
  t.notOk(existsSync(join(data, 'app/rollback-data')));
});
