/**
 * Builds a signed application bundle from dist/ and the runtime native
 * modules (see src/supervisor/update/bundle.ts for the format).
 *
 *   node --import tsx scripts/release/make-app-bundle.ts --version 0.2.0 \
 *     --key KEYFILE --out FILE [--arch arm64] [--boards rpi3,rpi4,rpi5]
 *     [--allow-development-key] [--root DIR]
 *
 * Refuses the development key unless --allow-development-key is given.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BUNDLE_FORMAT, keyId, packBundle, type BundleManifest } from '../../src/supervisor/update/bundle.js';
import { readPublicKey, readSecretKey } from '../../src/supervisor/update/keys.js';
import { DATA_FORMAT_VERSION } from '../../src/supervisor/update/slots.js';
import { isVersion } from '../../src/supervisor/update/version.js';
import { appFiles, ROOT, sha256File } from './app-files.js';

export const DEVELOPMENT_PUBLIC_KEY = join(ROOT, 'image/keys/development/DEVELOPMENT-ONLY-release.pub');
export const BOARDS = ['rpi3', 'rpi4', 'rpi5'];

export interface MakeBundleOptions {
  version: string;
  keyFile: string;
  out: string;
  arch?: string;
  boards?: string[];
  allowDevelopmentKey?: boolean;
  root?: string;
  /** Oldest data format this version migrates from (default: the current one). */
  minDataFormat?: number;
}

export function isDevelopmentKey(publicKey: Uint8Array): boolean {
  return Buffer.from(publicKey).equals(Buffer.from(readPublicKey(DEVELOPMENT_PUBLIC_KEY)));
}

export function makeAppBundle(o: MakeBundleOptions): BundleManifest {
  if (!isVersion(o.version)) throw new Error(`version ${o.version} is not x.y.z`);
  const { secretKey, publicKey } = readSecretKey(o.keyFile);
  if (isDevelopmentKey(publicKey) && !o.allowDevelopmentKey) {
    throw new Error(`${o.keyFile} is the DEVELOPMENT key; a release needs your own key (or --allow-development-key for a test release)`);
  }
  const arch = o.arch ?? 'arm64';
  const files = appFiles(arch, o.root);
  const manifest: BundleManifest = {
    format: BUNDLE_FORMAT,
    name: 'neurite',
    version: o.version,
    boards: o.boards ?? BOARDS,
    data_format: DATA_FORMAT_VERSION,
    min_data_format: o.minDataFormat ?? DATA_FORMAT_VERSION,
    node_major: 22,
    created: new Date().toISOString(),
    key_id: keyId(publicKey),
    files: files.map((f) => ({ path: f.path, size: readFileSync(f.source).length, mode: f.mode, sha256: sha256File(f.source) })),
  };
  writeFileSync(o.out, packBundle(manifest, secretKey, files.map((f) => readFileSync(f.source))));
  return manifest;
}

if (import.meta.filename === process.argv[1] || process.argv[1]?.endsWith('make-app-bundle.ts')) {
  const { values } = parseArgs({
    options: {
      version: { type: 'string' },
      key: { type: 'string' },
      out: { type: 'string' },
      arch: { type: 'string' },
      boards: { type: 'string' },
      root: { type: 'string' },
      'allow-development-key': { type: 'boolean' },
    },
  });
  try {
    if (!values.version || !values.key || !values.out) throw new Error('needs --version, --key and --out');
    const m = makeAppBundle({
      version: values.version,
      keyFile: values.key,
      out: values.out,
      ...(values.arch ? { arch: values.arch } : {}),
      ...(values.boards ? { boards: values.boards.split(',') } : {}),
      ...(values.root ? { root: values.root } : {}),
      allowDevelopmentKey: values['allow-development-key'] === true,
    });
    process.stdout.write(`${values.out}: neurite ${m.version} for ${m.boards.join(', ')}, ${m.files.length} files, key ${m.key_id}\n`);
  } catch (e) {
    process.stderr.write(`make-app-bundle: ${(e as Error).message}\n`);
    process.exit(1);
  }
}
