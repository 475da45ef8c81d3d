/**
 * The host's part in a quiet process (platform/memory/quiet.ts): every
 * database a component opens writes its full-enough memtable out, and the
 * component's own hooks run, until the component stops. A real host, a real
 * LevelDB; the component is a small one made here.
 */
import fs from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import t from 'tap';
import { initDataDir } from '../../src/platform/config/init.js';
import { loadConfig } from '../../src/platform/config/load.js';
import { dataPaths } from '../../src/platform/config/paths.js';
import { runQuietHooks } from '../../src/platform/memory/quiet.js';
import type { ComponentModule } from '../../src/platform/runtime/component.js';
import { runProcessGroup } from '../../src/platform/runtime/host.js';
import { encodeKey } from '../../src/platform/storage/keys.js';
import { tempDir } from '../helpers/server.js';

t.test("a quiet process writes its components' memtables out and runs their hooks, until they stop", async (t) => {
  const dataDir = join(tempDir(), 'data');
  initDataDir({ dataDir, serverName: 'quiet.neurite.local', tls: 'off', bind: '127.0.0.1', mode: 'monolith' });
  const paths = dataPaths(dataDir);
  let hookRuns = 0;
  let fill: (() => Promise<void>) | undefined;
  // Stands in for a component: its own database (1 MB buffer) and a hook of its own.
  const component: ComponentModule = {
    start: async (ctx) => {
      const db = await ctx.openDatabase({ writeBufferSize: 1024 * 1024 });
      fill = async () => {
        for (let i = 0; i < 2000; i++) await db.put(encodeKey('r', i), { i, pad: 'x'.repeat(200) });
      };
      ctx.onQuiet(() => void hookRuns++);
      return {};
    },
  };
  const group = { name: 'quiet', components: ['appservice' as const] };
  const running = await runProcessGroup({ group, layout: [group], configured: true, config: loadConfig(dataDir)!, paths, loader: async () => component, logger: pino({ level: 'silent' }) });
  const dbDir = join(dataDir, 'db', 'appservice');
  const tables = () => fs.readdirSync(dbDir).filter((f) => f.endsWith('.ldb')).length;
  try {
    await fill!();
    t.equal(tables(), 0, 'about 450 KB written: all in the memtable');
    await runQuietHooks();
    t.equal(hookRuns, 1, "the component's hook ran");
    t.equal(tables(), 1, 'and its database wrote the memtable out to a table');
  } finally {
    await running.stop();
  }
  await runQuietHooks();
  t.equal(hookRuns, 1, 'stopped, its hook no longer runs');
});
