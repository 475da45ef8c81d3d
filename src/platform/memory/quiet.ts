/**
 * What a process keeps only to be fast, given up once it has gone quiet
 * after work (idle-release.ts decides when): LevelDB's memtables written out
 * to their tables, caches emptied. Each hook runs before the garbage
 * collection and glibc's release, so what it lets go is handed back to the
 * system with the rest. A process that is never quiet never runs them; one
 * with no memory addon does not either (nothing would hand the memory back).
 */
export type QuietHook = () => unknown;

const hooks = new Set<QuietHook>();

/** Runs `hook` whenever this process goes quiet; the returned function stops that. */
export function onQuiet(hook: QuietHook): () => void {
  hooks.add(hook);
  return () => {
    hooks.delete(hook);
  };
}

/** Runs every hook at once and waits for all of them; one that fails does not stop the others. */
export async function runQuietHooks(): Promise<void> {
  await Promise.allSettled([...hooks].map(async (hook) => hook()));
}
