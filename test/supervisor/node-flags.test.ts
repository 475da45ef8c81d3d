import t from 'tap';
import { getHeapSpaceStatistics } from 'node:v8';
import { processLayout } from '../../src/platform/config/layout.js';
import { applyRuntimeFlags, BUSY_COMPONENTS, childNodeFlags, childRuntimeFlags } from '../../src/supervisor/node-flags.js';

t.test('split: nothing on the command line; busy components keep the optimising compilers, the others run on the interpreter', async (t) => {
  const layout = processLayout('split');
  for (const group of layout) {
    t.same(childNodeFlags(layout), [], `${group.name}: no V8 flag on the command line (Node's built-in code cache stays valid)`);
    const flags = childRuntimeFlags(group, layout);
    t.ok(flags.includes('--semi-space-growth-factor=1'), `${group.name}: the young generation grows no further`);
    const busy = group.components.some((c) => BUSY_COMPONENTS.has(c));
    t.equal(flags.includes('--optimize-for-size'), !busy, `${group.name}: ${busy ? 'sized for speed' : 'sized for memory'}`);
    t.equal(flags.includes('--no-opt') && flags.includes('--no-maglev') && flags.includes('--no-sparkplug'), !busy, `${group.name}: ${busy ? 'compiled' : 'interpreted'}`);
    t.notOk(flags.includes('--jitless') || flags.includes('--lite-mode'), `${group.name}: WebAssembly (fetch) still works`);
  }
  t.same(
    layout.filter((g) => !childRuntimeFlags(g, layout).includes('--no-opt')).map((g) => g.name).sort(),
    ['clientapi', 'eduserver', 'gateway', 'roomserver', 'syncapi', 'userapi'],
  );
});

t.test('monolith: the one process caps its young generation from the start and keeps V8 defaults otherwise', async (t) => {
  const layout = processLayout('monolith');
  t.same(childNodeFlags(layout), ['--max-semi-space-size=1']);
  t.same(childRuntimeFlags(layout[0]!, layout), []);
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
