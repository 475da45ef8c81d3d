import t from 'tap';
import { processLayout } from '../../src/platform/config/layout.js';
import { BUSY_COMPONENTS, childNodeFlags } from '../../src/supervisor/node-flags.js';

t.test('split: busy components keep the optimising compilers, the others run on the interpreter', async (t) => {
  const layout = processLayout('split');
  for (const group of layout) {
    const flags = childNodeFlags(group, layout);
    t.ok(flags.includes('--max-semi-space-size=1'), `${group.name}: small young generation`);
    const busy = group.components.some((c) => BUSY_COMPONENTS.has(c));
    t.equal(flags.includes('--optimize-for-size'), !busy, `${group.name}: ${busy ? 'sized for speed' : 'sized for memory'}`);
    t.equal(flags.includes('--no-opt') && flags.includes('--no-maglev') && flags.includes('--no-sparkplug'), !busy, `${group.name}: ${busy ? 'compiled' : 'interpreted'}`);
    t.notOk(flags.includes('--jitless') || flags.includes('--lite-mode'), `${group.name}: WebAssembly (fetch) still works`);
  }
  t.same(
    layout.filter((g) => !childNodeFlags(g, layout).includes('--no-opt')).map((g) => g.name).sort(),
    ['clientapi', 'eduserver', 'gateway', 'roomserver', 'syncapi', 'userapi'],
  );
});

t.test('monolith: the one process runs with V8 defaults but the young generation', async (t) => {
  const layout = processLayout('monolith');
  t.same(childNodeFlags(layout[0]!, layout), ['--max-semi-space-size=1']);
});

t.test('a custom grouping: a group with one busy component is compiled', async (t) => {
  const layout = processLayout({ front: ['gateway', 'mediaapi'], back: ['federationsender', 'appservice'], rest: ['clientapi', 'syncapi', 'roomserver', 'userapi', 'eduserver', 'keyserver', 'serverkeyapi', 'federationapi', 'setup', 'maintenance'] });
  const byName = Object.fromEntries(layout.map((g) => [g.name, childNodeFlags(g, layout)]));
  t.notOk(byName.front!.includes('--no-opt'));
  t.ok(byName.back!.includes('--no-opt'));
  t.notOk(byName.rest!.includes('--no-opt'));
});
