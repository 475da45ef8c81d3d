/**
 * LevelDB's table reads without mmap, for the processes that run the
 * components (src/supervisor/child.ts).
 *
 * LevelDB 1.20, inside classic-level, maps every table file it opens on a
 * 64-bit system and reads blocks from the mapping. Every page a read
 * touches (the kernel maps 64 KiB around it) then stays in the process until
 * the table is closed: after `make bench`'s sync load 8–12 MB in the
 * monolith and in split's SyncAPI, outside the block cache's bound that
 * each database is sized with. Without mmap LevelDB reads with pread into
 * its block cache, as it does by default on 32-bit systems.
 */
import 'level';
import type { MemoryAddon } from '../memory/native.js';
import { mappedFiles } from '../system/mapped-files.js';

/** The path of classic-level's binary, which importing `level` has loaded. */
export function classicLevelBinary(): string | undefined {
  return mappedFiles().find((path) => /\/classic-level[^/]*\.node$/.test(path));
}

/**
 * Switches mmap reads off for every database this process opens. Must run
 * before the process opens its first database: LevelDB reads the setting
 * then, and aborts if it changes afterwards.
 */
export function readTablesWithoutMmap(addon: Pick<MemoryAddon, 'tableReadsWithoutMmap'>): { ok: true } | { error: string } {
  const binary = classicLevelBinary();
  if (!binary) return { error: "classic-level's binary is not loaded" };
  return addon.tableReadsWithoutMmap(binary) ? { ok: true } : { error: `${binary} has no switch for mmap reads` };
}
