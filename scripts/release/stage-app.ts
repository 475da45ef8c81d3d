/**
 * Copies the application as it runs on a board into a directory (the
 * Buildroot package installs it as /opt/neurite; the emulated boot test puts
 * it in its root file system), with a manifest.json naming its version.
 *
 *   node --import tsx scripts/release/stage-app.ts --out DIR [--arch arm64] [--version X]
 */
import { chmodSync, copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { DATA_FORMAT_VERSION } from '../../src/supervisor/update/slots.js';
import { appFiles, packageVersion, sha256File } from './app-files.js';
import { BOARDS } from './make-app-bundle.js';

export function stageApp(out: string, arch = 'arm64', version = packageVersion()): void {
  rmSync(out, { recursive: true, force: true });
  const files = appFiles(arch);
  for (const f of files) {
    const target = join(out, f.path);
    mkdirSync(dirname(target), { recursive: true });
    copyFileSync(f.source, target);
    chmodSync(target, f.mode);
  }
  const manifest = {
    format: 1,
    name: 'neurite',
    version,
    boards: BOARDS,
    data_format: DATA_FORMAT_VERSION,
    min_data_format: DATA_FORMAT_VERSION,
    node_major: 22,
    created: new Date().toISOString(),
    key_id: 'factory',
    files: files.map((f) => ({ path: f.path, size: readFileSync(f.source).length, mode: f.mode, sha256: sha256File(f.source) })),
  };
  writeFileSync(join(out, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
}

if (process.argv[1]?.endsWith('stage-app.ts')) {
  const { values } = parseArgs({ options: { out: { type: 'string' }, arch: { type: 'string' }, version: { type: 'string' } } });
  if (!values.out) {
    process.stderr.write('stage-app: needs --out DIR\n');
    process.exit(2);
  }
  stageApp(values.out, values.arch ?? 'arm64', values.version ?? packageVersion());
  process.stdout.write(`staged the application for linux-${values.arch ?? 'arm64'} in ${values.out}\n`);
}
