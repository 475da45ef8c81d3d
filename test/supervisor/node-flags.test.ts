import t, { type Test } from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getHeapSpaceStatistics } from 'node:v8';
import { processLayout } from '../../src/platform/config/layout.js';
import { applyRuntimeFlags, BUSY_COMPONENTS, childNodeFlags, childRuntimeFlags } from '../../src/supervisor/node-flags.js';

t.test('split: no V8 flag on the command line; busy components keep the optimising compilers, the others run on the interpreter', async (t) => {
  const layout = processLayout('split');
  for (const group of layout) {
    t.same(childNodeFlags(layout), ['--v8-pool-size=1'], `${group.name}: one V8 worker thread, and no V8 flag on the command line (Node's built-in code cache stays valid)`);
    const flags = childRuntimeFlags(group, layout);
    t.ok(flags.includes('--semi-space-growth-factor=1'), `${group.name}: the young generation grows no further`);
    t.ok(flags.includes('--bytecode-old-age=1'), `${group.name}: start-up bytecode is dropped once idle`);
    t.ok(flags.includes('--flush-baseline-code'), `${group.name}: and baseline code with it`);
    const busy = group.components.some((c) => BUSY_COMPONENTS.has(c));
    t.equal(flags.includes('--optimize-for-size'), !busy, `${group.name}: ${busy ? 'sized for speed' : 'sized for memory'}`);
    t.equal(flags.includes('--no-opt') && flags.includes('--no-maglev') && flags.includes('--no-sparkplug'), !busy, `${group.name}: ${busy ? 'compiled' : 'interpreted'}`);
    t.equal(flags.includes('--invocation-count-for-turbofan=200'), busy, `${group.name}: ${busy ? 'optimises its hot code early' : 'optimises nothing'}`);
    t.notOk(flags.includes('--jitless') || flags.includes('--lite-mode'), `${group.name}: WebAssembly (fetch) still works`);
  }
  t.same(
    layout.filter((g) => !childRuntimeFlags(g, layout).includes('--no-opt')).map((g) => g.name).sort(),
    ['clientapi', 'eduserver', 'gateway', 'roomserver', 'syncapi', 'userapi'],
  );
});

t.test('monolith: the one process caps its young generation from the start, drops idle bytecode, optimises its hot code early, and keeps V8 defaults otherwise', async (t) => {
  const layout = processLayout('monolith');
  t.same(childNodeFlags(layout), ['--max-semi-space-size=8']);
  t.same(childRuntimeFlags(layout[0]!, layout), ['--bytecode-old-age=1', '--flush-baseline-code', '--invocation-count-for-turbofan=200']);
});

t.test('a custom grouping: a group with one busy component is compiled', async (t) => {
  const layout = processLayout({ front: ['gateway', 'mediaapi'], back: ['federationsender', 'appservice'], rest: ['clientapi', 'syncapi', 'roomserver', 'userapi', 'eduserver', 'keyserver', 'serverkeyapi', 'federationapi', 'setup', 'maintenance'] });
  const byName = Object.fromEntries(layout.map((g) => [g.name, childRuntimeFlags(g, layout)]));
  t.notOk(byName.front!.includes('--no-opt'));
  t.ok(byName.back!.includes('--no-opt'));
  t.notOk(byName.rest!.includes('--no-opt'));
});

t.test('set at run time, the growth flag holds: the young generation stays small under allocation', async (t) => {
  const newSpace = () => getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')!.space_size;
  const before = newSpace();
  applyRuntimeFlags(['--semi-space-growth-factor=1']);
  // Enough short- and medium-lived garbage that V8 would grow the young generation (to 32 MB on its own).
  const keep: object[] = [];
  for (let i = 0; i < 1_500_000; i++) {
    keep.push({ i, s: `x${i}` });
    if (keep.length > 50_000) keep.splice(0, 25_000);
  }
  t.ok(newSpace() <= before, `new space ${(newSpace() / 2 ** 20).toFixed(1)} MB, was ${(before / 2 ** 20).toFixed(1)} MB`);
});

/**
 * Runs in a fresh process (this one's heap moves with tap's own work): loads
 * a function whose bytecode is about 2.8 MB, runs it once, lets V8 run full
 * GCs of its own (a forced gc() never flushes), and prints how far the heap
 * ends above where it was before the function compiled.
 */
const FLUSH_PROBE = `
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createRequire } from 'node:module';
import { applyRuntimeFlags } from ${JSON.stringify(new URL('../../src/supervisor/node-flags.ts', import.meta.url).href)};
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc');
const used = () => getHeapSpaceStatistics().filter((s) => s.space_name !== 'new_space').reduce((a, s) => a + s.space_used_size, 0);
const flags = process.argv.slice(2);
if (flags.length) applyRuntimeFlags(flags);
const { once } = createRequire(import.meta.url)(process.env.ONCE_FILE);
gc();
const before = used();
if (once(1) !== 4999950000) throw new Error('wrong result');
gc();
const compiled = used() - before;
for (let round = 0; round < 8; round++) {
  let keep = [];
  for (let i = 0; i < 300000; i++) keep.push({ i, s: 'x' + i });
  keep = undefined;
  await new Promise((r) => setImmediate(r));
}
gc();
const left = used() - before;
if (once(2) !== 9999900000) throw new Error('wrong result after the GCs');
console.log(JSON.stringify({ compiled, left }));
`;

/** FLUSH_PROBE in a fresh process per call, under the given run-time flags. */
function flushProbe(t: Test): (flags: string[]) => { compiled: number; left: number } {
  const dir = mkdtempSync(join(tmpdir(), 'nt-flush-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const onceFile = join(dir, 'once.cjs');
  writeFileSync(onceFile, `exports.once = function once(y) { let x = 0;\n${Array.from({ length: 100_000 }, (_, i) => `x += ${i} * y;`).join('\n')}\nreturn x; };\n`);
  const probeFile = join(dir, 'probe.mjs');
  writeFileSync(probeFile, FLUSH_PROBE);
  return (flags) => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', probeFile, ...flags], { env: { ...process.env, ONCE_FILE: onceFile }, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(r.stderr);
    return JSON.parse(r.stdout) as { compiled: number; left: number };
  };
}

const kb = (n: number) => `${(n / 1024).toFixed(0)} KB`;

t.test('set at run time, the flush flag holds: bytecode of code that ran once is gone after a few full GCs', async (t) => {
  const probe = flushProbe(t);
  const flushed = probe(['--bytecode-old-age=1']);
  const kept = probe([]);
  t.ok(flushed.compiled > 1_000_000, `the function compiled to ${kb(flushed.compiled)}`);
  t.ok(kept.left > 1_000_000, `with V8's default (six GCs) most of it stays: ${kb(kept.left)}`);
  t.ok(flushed.left < 0, `with the flag set at run time it goes, and start-up bytecode with it: ${kb(flushed.left)}`);
});

t.test('set at run time, the baseline flush flag holds: code Sparkplug compiled goes too', async (t) => {
  const probe = flushProbe(t);
  // --always-sparkplug: the function gets baseline code at once, as the message path does after a few hundred messages.
  const kept = probe(['--always-sparkplug', '--bytecode-old-age=1']);
  const flushed = probe(['--always-sparkplug', '--bytecode-old-age=1', '--flush-baseline-code']);
  t.ok(kept.compiled > 1_000_000, `the function compiled to ${kb(kept.compiled)}`);
  t.ok(kept.left > 1_000_000, `with baseline code, the bytecode flush alone leaves it: ${kb(kept.left)}`);
  t.ok(flushed.left < kept.left - 1_000_000, `with baseline code flushed too, it goes: ${kb(flushed.left)}`);
});

/**
 * Runs in a fresh process: calls a small function 1 000 times (fewer than
 * V8's default of 3 000 before TurboFan), the event loop turning between
 * calls as between messages, and prints whether TurboFan compiled it
 * (V8's optimisation status, bit 6).
 */
const TIER_UP_PROBE = `
import { setFlagsFromString } from 'node:v8';
import { applyRuntimeFlags } from ${JSON.stringify(new URL('../../src/supervisor/node-flags.ts', import.meta.url).href)};
setFlagsFromString('--allow-natives-syntax');
const flags = process.argv.slice(2);
if (flags.length) applyRuntimeFlags(flags);
const status = new Function('f', 'return %GetOptimizationStatus(f)');
const TURBOFANNED = 1 << 6;
const handle = new Function('m', 'return m.body.length + m.depth * 2');
let sum = 0;
for (let i = 0; i < 1000; i++) {
  sum += handle({ body: 'message ' + i, depth: i });
  if (i % 50 === 0) await new Promise((r) => setImmediate(r));
}
// TurboFan compiles on a helper thread: its code is in place a moment later.
for (let k = 0; k < 200 && !(status(handle) & TURBOFANNED); k++) {
  sum += handle({ body: 'later', depth: k });
  await new Promise((r) => setTimeout(r, 10));
}
console.log(JSON.stringify({ turbofanned: (status(handle) & TURBOFANNED) !== 0, sum }));
`;

t.test('set at run time, the tier-up flag holds: a function that ran 1 000 times is optimised by TurboFan, which V8 alone leaves until about 3 000', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'nt-tierup-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const probeFile = join(dir, 'probe.mjs');
  writeFileSync(probeFile, TIER_UP_PROBE);
  const probe = (flags: string[]) => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', probeFile, ...flags], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(r.stderr);
    return JSON.parse(r.stdout) as { turbofanned: boolean };
  };
  const monolith = processLayout('monolith');
  t.ok(probe(childRuntimeFlags(monolith[0]!, monolith)).turbofanned, "with the monolith's flags: optimised");
  const split = processLayout('split');
  t.ok(probe(childRuntimeFlags(split.find((g) => g.name === 'roomserver')!, split)).turbofanned, "with a busy split process's flags: optimised");
  t.notOk(probe([]).turbofanned, "with V8's defaults: not yet");
});
