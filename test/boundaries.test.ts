/**
 * The dependency rules of DESIGN.md, checked on the source tree:
 * - a component imports core/, platform/, and other components' api.ts and
 *   topics.ts, never their internals;
 * - core/ is pure: no I/O modules, nothing from platform/ or components/;
 * - platform/ does not import components;
 * - components use the supervisor's update code through its index only.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import t from 'tap';

const SRC = resolve(import.meta.dirname, '../src');

const IO_MODULES = new Set([
  'fs', 'fs/promises', 'net', 'http', 'https', 'http2', 'child_process', 'worker_threads', 'dgram', 'dns', 'dns/promises',
  'tls', 'cluster', 'readline', 'os', 'process', 'inspector', 'v8', 'vm', 'level', 'classic-level',
].flatMap((m) => [m, `node:${m}`]));

export interface SourceFile {
  /** Path relative to src/, with forward slashes. */
  path: string;
  text: string;
}

function sourceFiles(dir: string): SourceFile[] {
  const out: SourceFile[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (p.endsWith('.ts')) out.push({ path: relative(dir, p).split(sep).join('/'), text: readFileSync(p, 'utf8') });
    }
  };
  walk(dir);
  return out;
}

/** Module specifiers of static imports, re-exports and dynamic imports. */
export function importsOf(text: string): string[] {
  const specs: string[] = [];
  const re = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\s*\(\s*['"]([^'"]+)['"]\s*\)|(?:^|\n)\s*import\s+['"]([^'"]+)['"]/g;
  for (const m of text.matchAll(re)) specs.push((m[1] ?? m[2] ?? m[3])!);
  return specs;
}

/** Every rule broken by these files, as readable lines. */
export function violations(files: SourceFile[]): string[] {
  const out: string[] = [];
  for (const f of files) {
    const [top, component] = f.path.split('/');
    for (const spec of importsOf(f.text)) {
      const target = spec.startsWith('.') ? relative('.', join(dirname(f.path), spec)).split(sep).join('/') : undefined;
      if (top === 'core') {
        if (target === undefined && IO_MODULES.has(spec)) out.push(`${f.path}: core imports the I/O module ${spec}`);
        if (target !== undefined && !target.startsWith('core/')) out.push(`${f.path}: core imports ${target}`);
      }
      if (top === 'platform' && target?.startsWith('components/')) out.push(`${f.path}: platform imports ${target}`);
      if (top === 'components' && component !== 'registry.ts' && target?.startsWith('components/')) {
        const [, other, ...rest] = target.split('/');
        const file = rest.join('/');
        if (other !== component && !/^(api|topics)\.(js|ts)$/.test(file)) {
          out.push(`${f.path}: imports ${target}, an internal of ${other} (only its api.ts and topics.ts are public)`);
        }
      }
      // The dashboard and the update job use the supervisor's update code through its index only.
      if (top === 'components' && target?.startsWith('supervisor/') && !/^supervisor\/update\/index\.(js|ts)$/.test(target)) {
        out.push(`${f.path}: imports ${target}, an internal of the supervisor (components use supervisor/update/index.ts)`);
      }
    }
  }
  return out;
}

t.test('the checker itself catches each kind of violation', async (t) => {
  const bad: SourceFile[] = [
    { path: 'core/x.ts', text: "import { readFileSync } from 'node:fs';" },
    { path: 'core/y.ts', text: "import { a } from '../platform/storage/index.js';" },
    { path: 'platform/z.ts', text: "const m = await import('../components/clientapi/index.js');" },
    { path: 'components/clientapi/routes/r.ts', text: "import type { S } from '../../roomserver/storage.js';" },
    { path: 'components/syncapi/index.ts', text: "export { x } from '../userapi/internal/thing.js';" },
    { path: 'components/setup/routes/u.ts', text: "import { MAX } from '../../../supervisor/update/apply.js';" },
  ];
  t.equal(violations(bad).length, 6, violations(bad).join('\n'));
  const good: SourceFile[] = [
    { path: 'core/x.ts', text: "import { createHash } from 'node:crypto';\nimport { a } from './base64.js';" },
    { path: 'components/clientapi/index.ts', text: "import { roomserverApi } from '../roomserver/api.js';\nimport type { T } from '../roomserver/topics.js';\nimport { s } from './storage.js';" },
    { path: 'components/registry.ts', text: "const l = () => import('./gateway/index.js');" },
    { path: 'components/setup/routes/u.ts', text: "import { applyUpdate } from '../../../supervisor/update/index.js';" },
  ];
  t.same(violations(good), []);
});

t.test('the source tree keeps the rules', async (t) => {
  const files = sourceFiles(SRC);
  t.ok(files.some((f) => f.path.startsWith('components/')), 'found the components');
  t.ok(files.some((f) => f.path.startsWith('core/')), 'found the core');
  t.same(violations(files), [], 'no component reaches into another, core stays pure, platform stays below components');
});
