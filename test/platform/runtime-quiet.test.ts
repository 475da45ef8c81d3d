/**
 * The host's part in a quiet process (platform/memory/quiet.ts): every
 * database a component opens writes its full-enough memtable out, and the
 * component's own hooks run, until the component stops. A real host, a real
 * LevelDB; the component is a small one made here.
 */
import fs from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { runQuietHooks } from '../../src/platform/memory/quiet.js';
import type { ComponentModule } from '../../src/platform/runtime/component.js';
import { encodeKey } from '../../src/platform/storage/keys.js';
import { startComponents } from '../helpers/components.js';

t.test("a quiet process writes its components' memtables out and runs their hooks, until they stop", async (t) => {
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
  const harness = await startComponents(['appservice'], { loader: async () => component });
  const dbDir = join(harness.dataDir, 'db', 'appservice');
  const tables = () => fs.readdirSync(dbDir).filter((f) => f.endsWith('.ldb')).length;
  try {
    await fill!();
    t.equal(tables(), 0, 'about 450 KB written: all in the memtable');
    await runQuietHooks();
    t.equal(hookRuns, 1, "the component's hook ran");
    t.equal(tables(), 1, 'and its database wrote the memtable out to a table');
  } finally {
    await harness.stop();
  }
  await runQuietHooks();
  t.equal(hookRuns, 1, 'stopped, its hook no longer runs');
});
