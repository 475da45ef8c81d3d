/**
 * Verifying an application bundle and installing it into the inactive slot.
 * Every check happens before anything the running system uses is touched:
 * files are written into staging/, hashed as they are written, and only a
 * complete, matching set is renamed into the slot.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { chmod, open, rename, rm, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { BundleError, headerLength, payloadSize, verifyHeader, type BundleManifest } from './bundle.js';
import { compareVersions } from './version.js';
import { appPaths, dataFormat, inactiveSlot, runningVersion, slotDir, takeLock, UpdateRefused, type AppPaths, currentTrial } from './slots.js';
import { fsyncDir } from '../../platform/storage/atomic-file.js';

export interface VerifyOptions {
  trustedKeys: Uint8Array[];
  board: string;
  /** Allows a version that is not newer than the running one. */
  force?: boolean;
}

export interface VerifiedBundle {
  manifest: BundleManifest;
  file: string;
  payloadOffset: number;
}

const CHUNK = 1 << 20;

async function readHeader(fh: FileHandle, size: number): Promise<Buffer> {
  let want = Math.min(size, 64 * 1024);
  for (;;) {
    const buf = Buffer.alloc(want);
    const { bytesRead } = await fh.read(buf, 0, want, 0);
    const head = buf.subarray(0, bytesRead);
    const len = headerLength(head);
    if (len === undefined || len <= head.length || want >= size) return head;
    want = Math.min(size, len);
  }
}

/** The refusals that depend on this device: board, version, data format. */
export function checkCompatibility(m: BundleManifest, p: AppPaths, opts: VerifyOptions): void {
  if (!m.boards.includes(opts.board)) throw new UpdateRefused(`the bundle is for ${m.boards.join(', ')}, not for this board (${opts.board})`);
  const running = runningVersion(p);
  if (compareVersions(m.version, running) <= 0 && !opts.force) {
    throw new UpdateRefused(`version ${m.version} is not newer than the running ${running} (use --force to install it anyway)`);
  }
  const have = dataFormat(p);
  if (m.min_data_format > have) throw new UpdateRefused(`version ${m.version} cannot migrate data format ${have} (it needs ${m.min_data_format} or newer); install an intermediate version first`);
  if (m.data_format < have) throw new UpdateRefused(`version ${m.version} reads data format ${m.data_format}, older than this device's ${have}; it would not understand the data`);
  const nodeMajor = Number(process.versions.node.split('.')[0]);
  if (m.node_major !== nodeMajor) throw new UpdateRefused(`the bundle's native modules are for Node.js ${m.node_major}, this system runs Node.js ${nodeMajor}`);
}

/** Signature, manifest and size of a bundle file; no file hashes yet. */
export async function openBundle(file: string, opts: VerifyOptions): Promise<VerifiedBundle & { fh: FileHandle }> {
  let fh: FileHandle;
  try {
    fh = await open(file, 'r');
  } catch (e) {
    throw new UpdateRefused(`cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  try {
    const { size } = await fh.stat();
    const head = await readHeader(fh, size);
    const { manifest, payloadOffset } = verifyHeader(head, opts.trustedKeys);
    const expected = payloadOffset + payloadSize(manifest);
    if (size < expected) throw new UpdateRefused(`the bundle is truncated: ${size} of ${expected} bytes`);
    if (size > expected) throw new UpdateRefused(`the bundle has ${size - expected} bytes more than its manifest lists`);
    return { manifest, file, payloadOffset, fh };
  } catch (e) {
    await fh.close();
    if (e instanceof BundleError) throw new UpdateRefused(e.message);
    throw e;
  }
}

/**
 * Streams every file of the payload, checking its sha256; `sink` (when given)
 * receives each file's bytes. Throws UpdateRefused on the first mismatch.
 */
async function walkPayload(b: VerifiedBundle & { fh: FileHandle }, sink?: (path: string, mode: number) => Promise<{ write(c: Buffer): Promise<void>; close(): Promise<void> }>): Promise<void> {
  let pos = b.payloadOffset;
  const buf = Buffer.alloc(CHUNK);
  for (const f of b.manifest.files) {
    const h = createHash('sha256');
    const out = sink ? await sink(f.path, f.mode) : undefined;
    try {
      let left = f.size;
      while (left > 0) {
        const n = Math.min(left, CHUNK);
        const { bytesRead } = await b.fh.read(buf, 0, n, pos);
        if (bytesRead !== n) throw new UpdateRefused('the bundle is truncated');
        const chunk = buf.subarray(0, n);
        h.update(chunk);
        await out?.write(chunk);
        pos += n;
        left -= n;
      }
    } finally {
      await out?.close();
    }
    if (h.digest('hex') !== f.sha256) throw new UpdateRefused(`${f.path} does not match its hash in the signed manifest (tampered or corrupted)`);
  }
}

/** Verifies a bundle completely (signature, compatibility, every hash) without installing it. */
export async function verifyBundleFile(file: string, dataDir: string, opts: VerifyOptions): Promise<BundleManifest> {
  const b = await openBundle(file, opts);
  try {
    checkCompatibility(b.manifest, appPaths(dataDir), opts);
    await walkPayload(b);
    return b.manifest;
  } finally {
    await b.fh.close();
  }
}

export interface Installed {
  slot: 'a' | 'b';
  manifest: BundleManifest;
}

/** Verifies a bundle and installs it into the inactive slot; the running version and the data stay as they are. */
export async function installBundle(file: string, dataDir: string, opts: VerifyOptions): Promise<Installed> {
  const p = appPaths(dataDir);
  // A refused bundle leaves no trace, not even the directories it would have needed.
  const created = [p.appDir, p.stagingDir].filter((d) => !existsSync(d));
  const release = takeLock(p);
  let ok = false;
  try {
    const b = await openBundle(file, opts);
    try {
      checkCompatibility(b.manifest, p, opts);
      const trial = currentTrial(p);
      if (trial) throw new UpdateRefused(`version ${trial.version} is still on trial; wait until it is committed or rolled back`);
      const slot = inactiveSlot(p);
      if (!slot) throw new UpdateRefused('no inactive slot to install into');
      const staging = join(p.stagingDir, `slot-${slot}`);
      rmSync(staging, { recursive: true, force: true });
      mkdirSync(staging, { recursive: true });
      try {
        await walkPayload(b, async (path, mode) => {
          const target = join(staging, path);
          mkdirSync(dirname(target), { recursive: true });
          const out = await open(target, 'w', mode);
          return {
            write: async (c) => {
              await out.write(c);
            },
            close: async () => {
              await out.sync();
              await out.close();
              await chmod(target, mode);
            },
          };
        });
        const mf = await open(join(staging, 'manifest.json'), 'w', 0o644);
        await mf.writeFile(JSON.stringify(b.manifest, null, 2) + '\n');
        await mf.sync();
        await mf.close();
        // Replace the old inactive slot only now that the new one is complete.
        const target = slotDir(p, slot);
        mkdirSync(p.slotsDir, { recursive: true });
        const old = join(p.stagingDir, `old-${slot}`);
        await rm(old, { recursive: true, force: true });
        await rename(target, old).catch((e: NodeJS.ErrnoException) => {
          if (e.code !== 'ENOENT') throw e;
        });
        await rename(staging, target);
        fsyncDir(p.slotsDir);
        await rm(old, { recursive: true, force: true });
      } catch (e) {
        rmSync(staging, { recursive: true, force: true });
        throw e;
      }
      ok = true;
      return { slot, manifest: b.manifest };
    } finally {
      await b.fh.close();
    }
  } finally {
    release();
    if (!ok) for (const d of created.reverse()) rmSync(d, { recursive: true, force: true });
  }
}
