/**
 * Gives the free memory inside glibc's heaps back to the system once a
 * process has gone quiet after doing work, after what the process keeps
 * only for speed is let go (quiet.ts) and a garbage collection has freed
 * what its objects held (collect-garbage.ts).
 *
 * A load leaves megabytes free in the middle of the heaps (LevelDB's
 * memtables and reads, V8's compiler zones, buffers), and glibc returns a
 * heap only from its top, so a process that once carried a load kept them:
 * 60 s after `make bench`'s sync load, about 15 MB in the monolith's one
 * process and 19 MB over the split processes (docs/design.md, "Memory").
 * Releasing while the process is busy would only hand back pages it is
 * about to fault in again, so it waits for a quiet interval, and an idle
 * process does not repeat it until it has worked again.
 */
import { collectGarbage } from './collect-garbage.js';
import type { MemoryAddon } from './native.js';
import { runQuietHooks } from './quiet.js';

export const CHECK_INTERVAL_MS = 10_000;
/** An interval in which the process used at most this share of one core (all its threads) is quiet. */
export const QUIET_CPU_SHARE = 0.02;
/** CPU time since the last release that makes another worth a walk over every free chunk. */
export const WORK_BETWEEN_RELEASES_MICROS = 50_000;

/** The decision, fed the process's CPU time (µs) once per interval. */
export class IdleRelease {
  private lastCpu: number;
  private cpuAtRelease: number;

  constructor(
    private readonly release: () => void,
    cpuNow: number,
    private readonly intervalMs = CHECK_INTERVAL_MS,
  ) {
    this.lastCpu = cpuNow;
    // A process's start is work: its first quiet interval releases what starting left free.
    this.cpuAtRelease = cpuNow - WORK_BETWEEN_RELEASES_MICROS;
  }

  /** One interval has passed; true if this released. */
  tick(cpuNow: number): boolean {
    const used = cpuNow - this.lastCpu;
    this.lastCpu = cpuNow;
    const quiet = used <= QUIET_CPU_SHARE * this.intervalMs * 1000;
    if (!quiet || cpuNow - this.cpuAtRelease < WORK_BETWEEN_RELEASES_MICROS) return false;
    this.cpuAtRelease = cpuNow;
    this.release();
    return true;
  }
}

const processCpuMicros = () => {
  const { user, system } = process.cpuUsage();
  return user + system;
};

/**
 * The quiet hooks first (what they drop becomes garbage), then V8's garbage,
 * then glibc's free pages: objects V8 frees give their malloc'd memory back
 * to glibc.
 */
export async function releaseMemory(addon: Pick<MemoryAddon, 'release'>, collect = collectGarbage, quietHooks = runQuietHooks): Promise<void> {
  await quietHooks();
  try {
    await collect();
  } catch {
    // A Node built without the inspector: glibc's pages alone.
  }
  addon.release();
}

/** Checks every interval until stopped; the timer never keeps the process alive. */
export function startIdleRelease(addon: Pick<MemoryAddon, 'release'>, cpuMicros = processCpuMicros, intervalMs = CHECK_INTERVAL_MS, collect = collectGarbage): () => void {
  const decision = new IdleRelease(() => void releaseMemory(addon, collect), cpuMicros(), intervalMs);
  const timer = setInterval(() => decision.tick(cpuMicros()), intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
