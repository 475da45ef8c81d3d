/**
 * The application bundle: one file holding a signed manifest and the files
 * it lists, so that a download, an upload and a USB stick all carry the same
 * thing.
 *
 *   "NEURITE-APP\n"            magic, 12 bytes
 *   u32 BE manifest length, manifest (UTF-8 JSON)
 *   u32 BE signature length, ed25519 signature of SIGNING_CONTEXT + manifest
 *   payload: the files' bytes, concatenated in manifest order
 *
 * The signature covers the manifest and the manifest holds the sha256 of
 * every file, so one check of the signature and one hash per file cover every
 * byte. A short payload (a truncated download) is caught before any hash.
 */
import { createHash } from 'node:crypto';
import nacl from 'tweetnacl';
import { compareVersions, isVersion } from './version.js';

export const BUNDLE_MAGIC = Buffer.from('NEURITE-APP\n', 'latin1');
/** Binds a signature to this use, so that no other message signed by the key passes for a manifest. */
export const SIGNING_CONTEXT = Buffer.from('neurite-app-bundle-v1\0', 'latin1');
export const BUNDLE_FORMAT = 1;
const MAX_MANIFEST = 4 * 1024 * 1024;

export interface BundleFile {
  /** Relative to the slot root, forward slashes, no `..`. */
  path: string;
  size: number;
  /** Unix permission bits (0o644 or 0o755). */
  mode: number;
  sha256: string;
}

export interface BundleManifest {
  format: number;
  name: 'neurite';
  version: string;
  /** Boards this build runs on (rpi3, rpi4, rpi5; generic-x64 for development builds). */
  boards: string[];
  /** The data format this version writes. */
  data_format: number;
  /** The oldest data format this version can migrate from. */
  min_data_format: number;
  /** The Node.js major version the native modules were built for. */
  node_major: number;
  created: string;
  /** Hex key id (first 8 bytes of the public key's sha256) of the signing key, for a readable refusal. */
  key_id: string;
  files: BundleFile[];
}

export class BundleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BundleError';
  }
}

export function keyId(publicKey: Uint8Array): string {
  return createHash('sha256').update(publicKey).digest('hex').slice(0, 16);
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

/** The bytes of a bundle; `files` supplies each listed file's content in order. */
export function packBundle(manifest: BundleManifest, secretKey: Uint8Array, contents: Buffer[]): Buffer {
  checkManifestShape(manifest);
  const m = Buffer.from(JSON.stringify(manifest), 'utf8');
  const sig = nacl.sign.detached(Buffer.concat([SIGNING_CONTEXT, m]), secretKey);
  return Buffer.concat([BUNDLE_MAGIC, u32(m.length), m, u32(sig.length), Buffer.from(sig), ...contents]);
}

export interface ParsedHeader {
  manifest: BundleManifest;
  /** Where the payload starts in the bundle file. */
  payloadOffset: number;
}

export function isAppBundle(head: Buffer): boolean {
  return head.length >= BUNDLE_MAGIC.length && head.subarray(0, BUNDLE_MAGIC.length).equals(BUNDLE_MAGIC);
}

/**
 * Reads the header from the first bytes of a bundle and checks its signature
 * against the trusted keys. Throws a BundleError with a one-line reason.
 */
export function verifyHeader(head: Buffer, trustedKeys: Uint8Array[]): ParsedHeader {
  if (!isAppBundle(head)) throw new BundleError('not a Neurite application bundle (bad magic)');
  let off = BUNDLE_MAGIC.length;
  const need = (n: number) => {
    if (head.length < off + n) throw new BundleError('the bundle is truncated (header incomplete)');
  };
  need(4);
  const mlen = head.readUInt32BE(off);
  off += 4;
  if (mlen > MAX_MANIFEST) throw new BundleError('the bundle manifest is implausibly large');
  need(mlen);
  const mbytes = head.subarray(off, off + mlen);
  off += mlen;
  need(4);
  const slen = head.readUInt32BE(off);
  off += 4;
  if (slen !== 64) throw new BundleError('the bundle signature is malformed');
  need(slen);
  const sig = head.subarray(off, off + slen);
  off += slen;
  const signed = Buffer.concat([SIGNING_CONTEXT, mbytes]);
  if (!trustedKeys.some((k) => k.length === 32 && nacl.sign.detached.verify(signed, sig, k))) {
    let claimed: unknown;
    try {
      claimed = (JSON.parse(mbytes.toString('utf8')) as { key_id?: unknown }).key_id;
    } catch {
      /* the manifest is not even JSON */
    }
    const trusted = trustedKeys.map(keyId);
    if (typeof claimed === 'string' && trusted.includes(claimed)) throw new BundleError('bad signature: the manifest was altered after it was signed');
    throw new BundleError(`bad signature: the bundle is signed by ${typeof claimed === 'string' ? `key ${claimed}` : 'an unknown key'}, which this device does not trust (trusted: ${trusted.join(', ') || 'none'})`);
  }
  let manifest: BundleManifest;
  try {
    manifest = JSON.parse(mbytes.toString('utf8')) as BundleManifest;
  } catch {
    throw new BundleError('the bundle manifest is not JSON');
  }
  checkManifestShape(manifest);
  return { manifest, payloadOffset: off };
}

/** Bytes the header occupies at most, for reading it without reading the whole bundle. */
export function headerLength(head: Buffer): number | undefined {
  if (head.length < BUNDLE_MAGIC.length + 4) return undefined;
  const mlen = head.readUInt32BE(BUNDLE_MAGIC.length);
  if (head.length < BUNDLE_MAGIC.length + 4 + mlen + 4) return BUNDLE_MAGIC.length + 4 + mlen + 4;
  return BUNDLE_MAGIC.length + 4 + mlen + 4 + head.readUInt32BE(BUNDLE_MAGIC.length + 4 + mlen);
}

export function payloadSize(m: BundleManifest): number {
  return m.files.reduce((n, f) => n + f.size, 0);
}

const SAFE_PATH = /^(?!\/)(?!.*(?:^|\/)\.\.?(?:\/|$))[A-Za-z0-9._@+\-/]+$/;

function checkManifestShape(m: BundleManifest): void {
  const bad = (what: string): never => {
    throw new BundleError(`the bundle manifest is invalid: ${what}`);
  };
  if (typeof m !== 'object' || m === null) bad('not an object');
  if (m.format !== BUNDLE_FORMAT) bad(`format ${String(m.format)} is not ${BUNDLE_FORMAT}`);
  if (m.name !== 'neurite') bad('not a Neurite bundle');
  if (!isVersion(m.version)) bad(`version ${JSON.stringify(m.version)} is not x.y.z`);
  if (!Array.isArray(m.boards) || m.boards.length === 0 || !m.boards.every((b) => typeof b === 'string')) bad('no boards');
  for (const k of ['data_format', 'min_data_format', 'node_major'] as const) {
    if (!Number.isInteger(m[k]) || m[k] < 0) bad(`${k} is not a number`);
  }
  if (m.min_data_format > m.data_format) bad('min_data_format is above data_format');
  if (!Array.isArray(m.files) || m.files.length === 0) bad('no files');
  const seen = new Set<string>();
  for (const f of m.files) {
    if (typeof f.path !== 'string' || !SAFE_PATH.test(f.path) || f.path.includes('//')) bad(`unsafe path ${JSON.stringify(f.path)}`);
    if (seen.has(f.path)) bad(`${f.path} is listed twice`);
    seen.add(f.path);
    if (!Number.isSafeInteger(f.size) || f.size < 0) bad(`${f.path} has a bad size`);
    if (f.mode !== 0o644 && f.mode !== 0o755) bad(`${f.path} has mode ${String(f.mode)}`);
    if (typeof f.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(f.sha256)) bad(`${f.path} has a bad sha256`);
  }
  if (!seen.has('dist/neurite.js')) bad('dist/neurite.js is missing');
}

export { compareVersions };
