/**
 * The files of the application as it runs on a board: the rollup output
 * (without source maps) and the native modules it keeps external, with the
 * prebuilt binary for the target architecture only. Shared by the release
 * bundle, the Buildroot package's staging and the emulated boot test, so all
 * three ship the same thing.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { buildNative } from '../build-native.js';

export interface AppFile {
  /** Path in the slot (dist/…, node_modules/…). */
  path: string;
  source: string;
  mode: 0o644 | 0o755;
}

export const ROOT = join(import.meta.dirname, '..', '..');

/** Packages that stay outside the bundle (rollup.config.js) and what they need at run time. */
function runtimePackages(root: string): string[] {
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dependencies?: Record<string, string>; optional?: boolean }> };
  const out = new Set<string>();
  const walk = (name: string) => {
    const pkg = lock.packages[`node_modules/${name}`];
    if (!pkg || out.has(name)) return;
    out.add(name);
    for (const d of Object.keys(pkg.dependencies ?? {})) walk(d);
  };
  walk('level');
  return [...out].sort();
}

function walkDir(dir: string, skip: (rel: string) => boolean, base = dir): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const p = join(dir, e.name);
    const rel = relative(base, p).split(sep).join('/');
    if (skip(rel)) continue;
    if (e.isDirectory()) out.push(...walkDir(p, skip, base));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

/** `arch`: the Node.js architecture of the target (arm64 for the boards, x64 for tests on this machine). */
export function appFiles(arch: string, root = ROOT): AppFile[] {
  const dist = join(root, 'dist');
  if (!existsSync(join(dist, 'neurite.js'))) throw new Error('dist/neurite.js is missing: run make build first');
  // dist/native holds this machine's build of the memory addon; the target's is built for it below.
  const files: AppFile[] = walkDir(dist, (rel) => rel.endsWith('.map') || rel === 'native').map((source) => ({
    path: `dist/${relative(dist, source).split(sep).join('/')}`,
    source,
    mode: source.endsWith(`${sep}neurite.js`) && relative(dist, source) === 'neurite.js' ? 0o755 : 0o644,
  }));
  for (const name of runtimePackages(root)) {
    const dir = join(root, 'node_modules', name);
    // Sources of the native addon, tests and other platforms' binaries are not needed to run.
    const skip = (rel: string) =>
      /^(deps|src|test|tests|binding\.gyp|\.github|CHANGELOG\.md|UPGRADING\.md)($|\/)/.test(rel) ||
      (rel.startsWith('prebuilds/') && rel !== 'prebuilds' && !rel.startsWith(`prebuilds/linux-${arch}`)) ||
      /\.musl\.node$/.test(rel) ||
      rel.endsWith('.d.ts') ||
      rel.endsWith('.map');
    for (const source of walkDir(dir, skip)) {
      files.push({ path: `node_modules/${name}/${relative(dir, source).split(sep).join('/')}`, source, mode: statSync(source).mode & 0o111 ? 0o755 : 0o644 });
    }
  }
  const natives = files.filter((f) => f.path.endsWith('.node'));
  if (natives.length === 0) throw new Error(`no prebuilt classic-level binary for linux-${arch} in node_modules`);
  const addon = arch === process.arch ? join(dist, 'native', 'memory.node') : buildNative(join(root, 'build', 'native', `linux-${arch}`, 'memory.node'), arch);
  if (!existsSync(addon)) throw new Error(`${addon} is missing: run make build first`);
  files.push({ path: 'dist/native/memory.node', source: addon, mode: 0o644 });
  return files;
}

export function sha256File(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

export function packageVersion(root = ROOT): string {
  return (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
}
