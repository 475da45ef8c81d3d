/**
 * The memory addon (release.c), built beside the bundle as
 * dist/native/memory.node by `make build` (and for the boards' arm64 when
 * the application is staged). A build without it still runs: the process
 * keeps glibc's free memory, as Node does by itself.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

export interface MemoryAddon {
  /** malloc_trim(0): every free page of every glibc arena back to the system; true if any went. */
  release(): boolean;
  /** Bytes glibc holds free in its arenas, resident or not. */
  freeBytes(): number;
  /** LevelDB in classic-level's binary at `path` reads its tables without mmap (platform/storage/table-reads.ts); false if it cannot. */
  tableReadsWithoutMmap(path: string): boolean;
}

/** Where the addon sits beside the running bundle (dist/neurite.js → dist/native/memory.node). */
export function bundledAddonPath(entry = process.argv[1] ?? ''): string {
  return join(dirname(entry), 'native', 'memory.node');
}

/** The addon, or why it cannot be had. */
export function loadMemoryAddon(path = bundledAddonPath()): { addon: MemoryAddon } | { error: string } {
  if (!existsSync(path)) return { error: `${path} is missing` };
  const module = { exports: {} as Partial<MemoryAddon> };
  try {
    process.dlopen(module, path);
  } catch (e) {
    return { error: (e as Error).message };
  }
  const { release, freeBytes, tableReadsWithoutMmap } = module.exports;
  if (typeof release !== 'function' || typeof freeBytes !== 'function' || typeof tableReadsWithoutMmap !== 'function') return { error: `${path} is not the memory addon` };
  return { addon: { release, freeBytes, tableReadsWithoutMmap } };
}
