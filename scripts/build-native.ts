/**
 * Compiles the memory addon (src/platform/memory/release.c) for one
 * architecture: with this machine's C compiler for its own, with Debian's
 * cross compiler for another (gcc-aarch64-linux-gnu for the boards' arm64).
 * Node-API is the same for every Node version and architecture, so the
 * headers come from the node-api-headers package, not from a Node install.
 *
 *   node --import tsx scripts/build-native.ts --out FILE [--arch arm64]
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';

const ROOT = join(import.meta.dirname, '..');
export const NATIVE_SOURCE = join(ROOT, 'src', 'platform', 'memory', 'release.c');

/** Cross compilers by Node's name for the target architecture. */
const CROSS: Record<string, string> = { arm64: 'aarch64-linux-gnu-gcc', x64: 'x86_64-linux-gnu-gcc' };

export function compilerFor(arch: string): string {
  if (arch === process.arch) return process.env.CC ?? 'cc';
  const cc = CROSS[arch];
  if (!cc) throw new Error(`no C compiler known for linux-${arch}`);
  return cc;
}

export function buildNative(out: string, arch: string = process.arch): string {
  mkdirSync(dirname(out), { recursive: true });
  const cc = compilerFor(arch);
  try {
    execFileSync(cc, ['-std=c11', '-O2', '-Wall', '-Wextra', '-Werror', '-fPIC', '-shared', '-s', '-fvisibility=hidden', '-DNAPI_VERSION=8', '-D_GNU_SOURCE', '-I', join(ROOT, 'node_modules', 'node-api-headers', 'include'), '-o', out, NATIVE_SOURCE, '-ldl'], { stdio: ['ignore', 'inherit', 'inherit'] });
  } catch (e) {
    const missing = (e as NodeJS.ErrnoException).code === 'ENOENT';
    throw new Error(missing ? `${cc} is not installed (for linux-${arch}: apt-get install ${arch === 'arm64' ? 'gcc-aarch64-linux-gnu' : 'gcc'})` : `${cc} failed to build ${out}`);
  }
  return out;
}

if (process.argv[1]?.endsWith('build-native.ts')) {
  const { values } = parseArgs({ options: { out: { type: 'string' }, arch: { type: 'string' } } });
  if (!values.out) {
    process.stderr.write('build-native: needs --out FILE\n');
    process.exit(2);
  }
  try {
    buildNative(values.out, values.arch ?? process.arch);
  } catch (e) {
    process.stderr.write(`build-native: ${(e as Error).message}\n`);
    process.exit(1);
  }
}
