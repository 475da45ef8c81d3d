/**
 * `make bench`: every benchmark, printed as one table with the DESIGN.md
 * budgets beside the figures. Figures only; nothing here passes or fails.
 */
import { arch, cpus, totalmem } from 'node:os';
import type { BenchResult } from './result.js';

const suites: [string, () => Promise<{ run(): Promise<BenchResult[]> }>][] = [
  ['core', () => import('./core-bench.js')],
  ['platform', () => import('./platform-bench.js')],
  ['roomserver', () => import('./roomserver-bench.js')],
  ['server', () => import('./server-bench.js')],
  ['sync', () => import('./sync-bench.js')],
  ['media', () => import('./media-bench.js')],
];

function verdict(r: BenchResult): string {
  if (!r.budget) return '';
  const ok = r.budget.op === '>=' ? r.value >= r.budget.value : r.value <= r.budget.value;
  return `${r.budget.op} ${r.budget.value} ${ok ? 'within budget' : 'OVER BUDGET'}`;
}

const only = process.argv.slice(2);
console.log(`Neurite benchmarks — Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? arch()}, ${Math.round(totalmem() / 2 ** 30)} GiB`);
for (const [name, load] of suites) {
  if (only.length > 0 && !only.includes(name)) continue;
  console.log(`\n## ${name}`);
  const results = await (await load()).run();
  const width = Math.max(...results.map((r) => r.name.length));
  for (const r of results) {
    const figure = `${r.value.toLocaleString('en-US')} ${r.unit}`;
    console.log(`${r.name.padEnd(width)}  ${figure.padStart(18)}  ${verdict(r)}${r.note ? `  (${r.note})` : ''}`);
  }
}
