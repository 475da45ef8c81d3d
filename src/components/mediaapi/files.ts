/**
 * Media files on disk, under `<data-dir>/media/`:
 *
 *   tmp/<random>                     uploads being received (same file system, so a rename is atomic)
 *   content/<aa>/<bb>/<sha256>       one file per distinct content
 *   thumbnails/<aa>/<sha256>/<name>  thumbnails of that content
 *
 * A file appears under content/ only by renaming a complete, synced temp
 * file, so no reader (and no power cut) ever sees part of one. Paths are
 * built from hashes and names this component makes, never from a client's
 * string.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { access, mkdir, open, readdir, rename, rm, stat, statfs, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';

const SHA256_HEX = /^[0-9a-f]{64}$/;

export class MediaFiles {
  readonly tmpDir: string;
  readonly contentDir: string;
  readonly thumbDir: string;

  constructor(readonly root: string) {
    this.tmpDir = join(root, 'tmp');
    this.contentDir = join(root, 'content');
    this.thumbDir = join(root, 'thumbnails');
  }

  /** Creates the directories. Temp files left by an earlier process are removed by the clean-up job, not here: another process may own them during a restart. */
  async init(): Promise<void> {
    for (const d of [this.tmpDir, this.contentDir, this.thumbDir]) await mkdir(d, { recursive: true, mode: 0o750 });
  }

  contentPath(sha: string): string {
    if (!SHA256_HEX.test(sha)) throw new Error(`not a sha256: ${sha}`);
    return join(this.contentDir, sha.slice(0, 2), sha.slice(2, 4), sha);
  }

  thumbDirOf(sha: string): string {
    if (!SHA256_HEX.test(sha)) throw new Error(`not a sha256: ${sha}`);
    return join(this.thumbDir, sha.slice(0, 2), sha);
  }

  thumbPath(sha: string, file: string): string {
    return join(this.thumbDirOf(sha), file);
  }

  newTempPath(): string {
    return join(this.tmpDir, `${Date.now().toString(36)}-${randomBytes(8).toString('hex')}`);
  }

  async exists(path: string): Promise<boolean> {
    return access(path, constants.F_OK).then(
      () => true,
      () => false,
    );
  }

  /**
   * Moves a complete temp file to its content path. When that content is
   * stored already (an identical upload), the temp file is dropped instead.
   */
  async commitContent(tmpPath: string, sha: string): Promise<void> {
    const target = this.contentPath(sha);
    if (await this.exists(target)) {
      await unlinkQuietly(tmpPath);
      return;
    }
    await this.commitFile(tmpPath, target);
  }

  /** Renames a synced temp file into place and syncs the directory, so the name survives a power cut. */
  async commitFile(tmpPath: string, target: string): Promise<void> {
    await mkdir(dirname(target), { recursive: true, mode: 0o750 });
    await rename(tmpPath, target);
    await syncDir(dirname(target));
  }

  /** Removes a content file and every thumbnail of it. */
  async removeContent(sha: string): Promise<void> {
    await unlinkQuietly(this.contentPath(sha));
    await this.removeThumbnails(sha);
  }

  async removeThumbnails(sha: string): Promise<void> {
    await rm(this.thumbDirOf(sha), { recursive: true, force: true });
  }

  /** Bytes an unprivileged writer may still use on the media file system; null when unknown. */
  async freeBytes(): Promise<number | null> {
    try {
      const s = await statfs(this.root);
      return s.bavail * s.bsize;
    } catch {
      return null;
    }
  }

  /** Every content file: hash, size and age (for the orphan sweep). */
  async *contentFiles(): AsyncGenerator<{ sha: string; path: string; size: number; mtimeMs: number }> {
    for (const a of await readdirQuietly(this.contentDir)) {
      for (const b of await readdirQuietly(join(this.contentDir, a))) {
        for (const sha of await readdirQuietly(join(this.contentDir, a, b))) {
          if (!SHA256_HEX.test(sha)) continue;
          const path = join(this.contentDir, a, b, sha);
          const s = await stat(path).catch(() => undefined);
          if (s?.isFile()) yield { sha, path, size: s.size, mtimeMs: s.mtimeMs };
        }
      }
    }
  }

  /** Every thumbnail directory, by content hash. */
  async thumbnailShas(): Promise<string[]> {
    const out: string[] = [];
    for (const a of await readdirQuietly(this.thumbDir)) {
      for (const sha of await readdirQuietly(join(this.thumbDir, a))) if (SHA256_HEX.test(sha)) out.push(sha);
    }
    return out;
  }

  /** Bytes under one directory tree (thumbnails of one file). */
  async treeSize(dir: string): Promise<{ files: number; bytes: number }> {
    let files = 0;
    let bytes = 0;
    for (const name of await readdirQuietly(dir)) {
      const s = await stat(join(dir, name)).catch(() => undefined);
      if (s?.isFile()) {
        files++;
        bytes += s.size;
      }
    }
    return { files, bytes };
  }

  async tempFiles(): Promise<{ path: string; size: number; mtimeMs: number }[]> {
    const out: { path: string; size: number; mtimeMs: number }[] = [];
    for (const name of await readdirQuietly(this.tmpDir)) {
      const path = join(this.tmpDir, name);
      const s = await stat(path).catch(() => undefined);
      if (s?.isFile()) out.push({ path, size: s.size, mtimeMs: s.mtimeMs });
    }
    return out;
  }
}

export async function unlinkQuietly(path: string): Promise<void> {
  await unlink(path).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'ENOENT') throw e;
  });
}

async function readdirQuietly(dir: string): Promise<string[]> {
  return readdir(dir).catch(() => []);
}

async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
