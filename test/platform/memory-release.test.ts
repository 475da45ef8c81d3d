/**
 * The memory addon (src/platform/memory/release.c, as `make build` leaves it
 * in dist/native) and when a process calls it: a real Node process under the
 * supervisor's malloc settings frees most of what it allocated while one
 * block in 64 stays, so glibc cannot shrink its heap from the top; the
 * addon gives the free pages back, after the process's quiet hooks
 * (platform/memory/quiet.ts) and a garbage collection.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { IdleRelease, QUIET_CPU_SHARE, releaseMemory, startIdleRelease, WORK_BETWEEN_RELEASES_MICROS } from '../../src/platform/memory/idle-release.js';
import { bundledAddonPath, loadMemoryAddon } from '../../src/platform/memory/native.js';
import { onQuiet, runQuietHooks } from '../../src/platform/memory/quiet.js';
import { CHILD_MALLOC_ENV } from '../../src/supervisor/node-flags.js';
import { NEURITE, requireBuild, tempDir } from '../helpers/server.js';

requireBuild();
const ADDON = bundledAddonPath(NEURITE);
const MB = 1024 * 1024;
/** Where the tests' scripts and databases go; tempDir removes it when the tests end. */
const SCRATCH = tempDir('nt-memory-');

function scratchFile(name: string, text: string): string {
  const path = join(SCRATCH, name);
  writeFileSync(path, text);
  return path;
}

t.test('the addon hands the free middle of the heap back to the system', async (t) => {
  // 4 KiB buffers come from malloc (Node's array buffer allocator) on the main thread: glibc's main heap, [heap] in smaps.
  const script = scratchFile(
    'fragment.cjs',
    `
const fs = require('node:fs');
const heapRss = () => {
  let inHeap = false, kb = 0;
  for (const line of fs.readFileSync('/proc/self/smaps', 'utf8').split('\\n')) {
    if (/^[0-9a-f]+-/.test(line)) inHeap = line.endsWith('[heap]');
    else if (inHeap && line.startsWith('Rss:')) kb += Number(line.split(/\\s+/)[1]);
  }
  return kb * 1024;
};
const m = { exports: {} };
process.dlopen(m, process.argv[2]);
const keep = [];
let drop = [];
for (let i = 0; i < 20000; i++) {
  const b = Buffer.allocUnsafeSlow(4096);
  b.fill(i & 255);
  (i % 64 === 0 ? keep : drop).push(b);
}
drop = null;
globalThis.gc();
setTimeout(() => {
  globalThis.gc();
  const before = heapRss(), free = m.exports.freeBytes();
  const released = m.exports.release();
  const after = heapRss();
  process.stdout.write(JSON.stringify({ before, free, released, after, kept: keep.length }));
}, 300);
`,
  );
  const run = spawnSync(process.execPath, ['--expose-gc', script, ADDON], { encoding: 'utf8', env: { ...process.env, ...CHILD_MALLOC_ENV } });
  t.equal(run.status, 0, run.stderr);
  const r = JSON.parse(run.stdout) as { before: number; free: number; released: boolean; after: number; kept: number };
  t.comment(`heap resident ${(r.before / MB).toFixed(1)} → ${(r.after / MB).toFixed(1)} MB; ${(r.free / MB).toFixed(1)} MB free before`);
  t.ok(r.free >= 40 * MB, `glibc holds the freed buffers (${(r.free / MB).toFixed(1)} MB free)`);
  t.ok(r.before >= 50 * MB, 'and they are still resident: the kept blocks pin the heap');
  t.equal(r.released, true, 'release() says memory went back');
  t.ok(r.before - r.after >= 40 * MB, `and at least 40 of the ~77 MB freed left the process (${((r.before - r.after) / MB).toFixed(1)} MB)`);
});

t.test('loading: the bundled addon, or a reason', async (t) => {
  const ok = loadMemoryAddon(ADDON);
  t.ok('addon' in ok, 'the build has it beside the bundle');
  t.match(loadMemoryAddon(join(SCRATCH, 'none.node')), { error: /none\.node is missing/ });
  t.match(loadMemoryAddon(scratchFile('garbage.node', 'not a shared object')), { error: /garbage\.node/ }, 'a file that is not a library: the loader says why instead of throwing');
});

t.test('a release waits for a quiet interval after work', async (t) => {
  const INTERVAL = 10_000;
  const quietMax = QUIET_CPU_SHARE * INTERVAL * 1000;
  let releases = 0;
  const d = new IdleRelease(() => releases++, 0, INTERVAL);
  let cpu = 0;
  const interval = (used: number) => d.tick((cpu += used));
  t.equal(interval(quietMax), true, 'the first quiet interval after start releases what starting left');
  t.equal(interval(0), false, 'a quiet process without work since does not repeat it');
  t.equal(interval(quietMax + 1), false, 'a busy interval does not release');
  t.equal(interval(3 * quietMax), false, 'nor does a second one');
  t.equal(interval(0), true, 'the first quiet interval after them does');
  t.equal(interval(0), false, 'once');
  // Small work, each interval quiet, adds up to a release.
  const small = WORK_BETWEEN_RELEASES_MICROS / 4;
  t.same([interval(small), interval(small), interval(small), interval(small)], [false, false, false, true], 'work spread over quiet intervals adds up');
  t.equal(releases, 3);
});

t.test('startIdleRelease checks on a timer that does not hold the process', async (t) => {
  let cpu = 0;
  let releases = 0;
  const until = async (what: string, done: () => boolean) => {
    for (const end = Date.now() + 10_000; !done(); await new Promise((r) => setTimeout(r, 5))) if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
  };
  const stop = startIdleRelease({ release: () => (releases++, true) }, () => cpu, 20, async () => {});
  await until('the first release', () => releases === 1);
  t.pass('a quiet start releases');
  await new Promise((r) => setTimeout(r, 100));
  t.equal(releases, 1, 'and not again while nothing happens');
  cpu += 10 * WORK_BETWEEN_RELEASES_MICROS;
  await until('the second release', () => releases === 2);
  t.pass('work, then quiet: once more');
  stop();
  cpu += 10 * WORK_BETWEEN_RELEASES_MICROS;
  await new Promise((r) => setTimeout(r, 100));
  t.equal(releases, 2, 'stopped: no more');
});

t.test("LevelDB reads its tables with pread once switched, and reads them right", async (t) => {
  // 3 MB of records that do not compress, with random keys, then reads of all of them in another order.
  const script = scratchFile(
    'tables.mts',
    `
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Database } from ${JSON.stringify(join(import.meta.dirname, '../../src/platform/storage/database.ts'))};
import { loadMemoryAddon } from ${JSON.stringify(join(import.meta.dirname, '../../src/platform/memory/native.ts'))};
import { readTablesWithoutMmap } from ${JSON.stringify(join(import.meta.dirname, '../../src/platform/storage/table-reads.ts'))};
const [addonPath, dbPath, mode] = process.argv.slice(2);
let switched: unknown = 'not asked';
if (mode === 'pread') {
  const memory = loadMemoryAddon(addonPath);
  if (!('addon' in memory)) throw new Error(memory.error);
  switched = readTablesWithoutMmap(memory.addon);
}
const db = await Database.open(dbPath, { writeBufferSize: 64 * 1024 });
const keys: string[] = [];
for (let b = 0; b < 40; b++) {
  const ops = Array.from({ length: 200 }, (_, i) => ({ type: 'put' as const, key: \`k\${Math.random().toString(36).slice(2)}-\${b}-\${i}\`, value: { n: b * 200 + i, pad: randomBytes(200).toString('hex') } }));
  keys.push(...ops.map((o) => o.key));
  await db.write(ops);
}
let right = 0;
for (let i = 0; i < keys.length; i++) {
  const k = keys[(i * 7919) % keys.length]!;
  const v = await db.get<{ n: number }>(k);
  if (v && keys[v.n] === k) right++;
}
const mapped = readFileSync('/proc/self/maps', 'utf8').split('\\n').filter((l) => l.endsWith('.ldb')).length;
const tables = (await import('node:fs')).readdirSync(dbPath).filter((f) => f.endsWith('.ldb')).length;
await db.close();
process.stdout.write(JSON.stringify({ switched, right, total: keys.length, mapped, tables }));
`,
  );
  const run = (mode: string) => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', script, ADDON, join(SCRATCH, `db-${mode}`), mode], { encoding: 'utf8', cwd: join(import.meta.dirname, '../..') });
    t.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout) as { switched: unknown; right: number; total: number; mapped: number; tables: number };
  };
  const mmap = run('mmap');
  t.ok(mmap.tables >= 1, `the records are in tables (${mmap.tables})`);
  t.ok(mmap.mapped > 0, `by default LevelDB maps the tables it reads (${mmap.mapped})`);
  const pread = run('pread');
  t.same(pread.switched, { ok: true }, "classic-level's switch is found and set");
  t.ok(pread.tables >= 1, `the records are in tables (${pread.tables})`);
  t.equal(pread.mapped, 0, 'switched, no table is mapped');
  t.equal(pread.right, pread.total, `and every record reads back as written (${pread.right} of ${pread.total})`);
  t.equal(mmap.right, mmap.total, 'as it does with mmap');
});

t.test("a release collects V8's garbage first, and shrinks the heap as V8's memory reducer does", async (t) => {
  // Garbage that grows the young generation well past its start and fills old pages, then one collection.
  const script = scratchFile(
    'collect.mts',
    `
import { getHeapSpaceStatistics } from 'node:v8';
import { collectGarbage } from ${JSON.stringify(join(import.meta.dirname, '../../src/platform/memory/collect-garbage.ts'))};
const physical = (name?: string) => getHeapSpaceStatistics().filter((s) => !name || s.space_name === name).reduce((a, s) => a + s.physical_space_size, 0);
let junk: object[] | undefined = [];
for (let i = 0; i < 400_000; i++) junk.push({ i, s: 'x' + i });
junk = undefined;
const before = { heap: physical(), young: physical('new_space') };
await collectGarbage();
const after = { heap: physical(), young: physical('new_space') };
process.stdout.write(JSON.stringify({ before, after }));
`,
  );
  const r = spawnSync(process.execPath, ['--import', 'tsx', script], { encoding: 'utf8', cwd: join(import.meta.dirname, '../..'), timeout: 30_000 });
  t.equal(r.status, 0, `the session ends and the process exits (${r.stderr})`);
  const { before, after } = JSON.parse(r.stdout) as Record<'before' | 'after', { heap: number; young: number }>;
  t.comment(`V8 heap ${(before.heap / MB).toFixed(1)} → ${(after.heap / MB).toFixed(1)} MB, young generation ${(before.young / MB).toFixed(1)} → ${(after.young / MB).toFixed(1)} MB`);
  t.ok(before.heap > 20 * MB, 'the garbage is in the heap');
  t.ok(after.heap < before.heap / 2, 'the collection frees most of it');
  t.ok(after.young <= 1 * MB, "and gives back the young generation's spare pages");

  let order: string[] = [];
  const unhook = onQuiet(async () => {
    await new Promise((r) => setTimeout(r, 20));
    order.push('hooks');
  });
  t.teardown(unhook);
  await releaseMemory({ release: () => (order.push('glibc'), true) }, async () => void order.push('V8'));
  t.same(order, ['hooks', 'V8', 'glibc'], "a release lets the quiet hooks finish, then collects V8's garbage, then glibc's pages go back");
  order = [];
  await releaseMemory({ release: () => (order.push('glibc'), true) }, async () => {
    throw new Error('no inspector in this Node');
  });
  t.same(order, ['hooks', 'glibc'], 'without the inspector, glibc still releases');
});

t.test('quiet hooks: every registered one runs, a failing one does not stop the others, a removed one no longer runs', async (t) => {
  const ran: string[] = [];
  const removers = [
    onQuiet(() => void ran.push('sync')),
    onQuiet(async () => {
      throw new Error('this hook fails');
    }),
    onQuiet(() => {
      throw new Error('so does this one, before any await');
    }),
    onQuiet(async () => {
      await new Promise((r) => setTimeout(r, 30));
      ran.push('slow');
    }),
  ];
  await runQuietHooks();
  t.same(ran.sort(), ['slow', 'sync'], 'both working hooks ran, the slow one waited for');
  removers.forEach((remove) => remove());
  await runQuietHooks();
  t.same(ran.sort(), ['slow', 'sync'], 'removed, none runs again');
});
