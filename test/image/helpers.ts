/**
 * Builds for the update checks: test release keys, application bundles made
 * from this checkout's dist/ for this machine's architecture, variants that
 * misbehave, the device's launcher loop, and a snapshot of a directory to
 * prove that nothing changed.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { arch } from 'node:os';
import { join, relative } from 'node:path';
import { formatKeyPair } from '../../src/supervisor/update/keys.js';
import { makeAppBundle } from '../../scripts/release/make-app-bundle.js';
import { ROOT } from '../../scripts/release/app-files.js';
import type { Test } from 'tap';
import { tempDir } from '../helpers/server.js';

export const TEST_BOARD = 'test-board';
export const ARCH = arch();

export interface TestKey {
  secret: string;
  public: string;
}

export function makeKey(dir: string, name: string): TestKey {
  const k = formatKeyPair(randomBytes(32), `throwaway test key ${name}`);
  mkdirSync(dir, { recursive: true });
  const secret = join(dir, `${name}.key`);
  const pub = join(dir, `${name}.pub`);
  writeFileSync(secret, k.secret, { mode: 0o600 });
  writeFileSync(pub, k.public);
  return { secret, public: pub };
}

/**
 * A source tree whose dist/ is this checkout's, optionally with code put in
 * front of the entry point (to make a version that fails), sharing node_modules.
 */
export function variantRoot(prelude?: string): string {
  if (!prelude) return ROOT;
  const root = tempDir('nt-variant-');
  cpSync(join(ROOT, 'dist'), join(root, 'dist'), { recursive: true });
  symlinkSync(join(ROOT, 'node_modules'), join(root, 'node_modules'));
  symlinkSync(join(ROOT, 'package-lock.json'), join(root, 'package-lock.json'));
  const entry = join(root, 'dist', 'neurite.js');
  const code = readFileSync(entry, 'utf8').replace(/^#!.*\n/, '');
  writeFileSync(entry, `#!/usr/bin/env node\n${prelude}\n${code}`, { mode: 0o755 });
  return root;
}

export function bundle(out: string, version: string, key: TestKey, opts: { boards?: string[]; root?: string; minDataFormat?: number } = {}): string {
  makeAppBundle({ version, keyFile: key.secret, out, arch: ARCH, boards: opts.boards ?? [TEST_BOARD], ...(opts.root ? { root: opts.root } : {}), ...(opts.minDataFormat ? { minDataFormat: opts.minDataFormat } : {}) });
  return out;
}

/** Paths, sizes, modes and content hashes of everything under a directory. */
export function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!existsSync(dir)) return out;
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      const rel = relative(dir, p);
      if (e.isDirectory()) {
        out[rel + '/'] = 'dir';
        walk(p);
      } else {
        const st = statSync(p);
        out[rel] = `${st.mode.toString(8)} ${createHash('sha256').update(readFileSync(p)).digest('hex')}`;
      }
    }
  };
  walk(dir);
  return out;
}

/**
 * The device's service loop and launcher (buildroot-config/package/neurite/{run,launch})
 * on a data dir, as the image runs them, in a process group of its own; stopped at teardown.
 */
export function startLauncher(t: Test, o: { dataDir: string; factory: string; runDir: string; env: Record<string, string> }): { output: () => string } {
  let output = '';
  const loop = spawn('sh', [join(ROOT, 'buildroot-config/package/neurite/run')], {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      ...o.env,
      NEURITE_DATA_DIR: o.dataDir,
      NEURITE_FACTORY_ROOT: o.factory,
      NEURITE_NODE: process.execPath,
      NEURITE_LOG: 'console',
      NEURITE_RUN_DIR: o.runDir,
    },
  });
  loop.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  loop.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  t.teardown(async () => {
    const gone = new Promise((r) => loop.once('exit', r));
    try {
      process.kill(-loop.pid!, 'SIGTERM');
    } catch {
      /* already gone */
    }
    const timer = setTimeout(() => {
      try {
        process.kill(-loop.pid!, 'SIGKILL');
      } catch {
        /* gone */
      }
    }, 10_000);
    await gone;
    clearTimeout(timer);
  });
  t.on('fail', () => t.comment(output.slice(-4000)));
  return { output: () => output };
}
