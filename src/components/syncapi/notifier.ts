/**
 * Wakes long-polling syncs. Every stored item names the local users it
 * concerns; once the watermark passes its position, those users' waiting
 * syncs run again. A user's last wake position is kept, so a sync that
 * computed its answer at watermark W and then starts waiting returns at once
 * when something for it was committed after W (no lost wake-up).
 *
 * Besides user ids, a room's own key (`roomWakeKey`) is woken by each of its
 * timeline events, typing changes and public receipts, and by its members'
 * presence: what someone peeking at a room they are not in waits on.
 */
export const roomWakeKey = (roomId: string): string => `room\0${roomId}`;

export class Notifier {
  private readonly waiters = new Map<string, Set<() => void>>();
  /** user → watermark at which it was last woken. */
  private readonly woken = new Map<string, number>();
  /** position → users it concerns, until the watermark passes it. */
  private readonly targets = new Map<number, Set<string>>();
  private stopped = false;

  /** Registers the users an item at `pos` concerns (before it commits). */
  add(pos: number, users: Iterable<string>): void {
    let set = this.targets.get(pos);
    if (!set) this.targets.set(pos, (set = new Set()));
    for (const u of users) set.add(u);
  }

  /** The watermark moved from `from` to `to`: wake everyone positions in between concern. */
  advance(from: number, to: number): void {
    const users = new Set<string>();
    // Positions are dense; the loop is short (what committed since the last advance).
    for (let p = from + 1; p <= to; p++) {
      const set = this.targets.get(p);
      if (!set) continue;
      this.targets.delete(p);
      for (const u of set) users.add(u);
    }
    for (const u of users) {
      this.woken.set(u, to);
      const ws = this.waiters.get(u);
      if (!ws) continue;
      this.waiters.delete(u);
      for (const w of ws) w();
    }
  }

  /**
   * Waits until something for `user` commits after `seen`, `ms` pass, or
   * `signal` aborts. Resolves true when woken.
   */
  wait(user: string, seen: number, ms: number, signal?: AbortSignal): Promise<boolean> {
    if ((this.woken.get(user) ?? 0) > seen) return Promise.resolve(true);
    if (this.stopped || ms <= 0 || signal?.aborted) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      let set = this.waiters.get(user);
      if (!set) this.waiters.set(user, (set = new Set()));
      const finish = (woken: boolean) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        const ws = this.waiters.get(user);
        ws?.delete(wake);
        if (ws && ws.size === 0) this.waiters.delete(user);
        resolve(woken);
      };
      const wake = () => finish(true);
      const onAbort = () => finish(false);
      const timer = setTimeout(() => finish(false), ms);
      signal?.addEventListener('abort', onAbort, { once: true });
      set.add(wake);
    });
  }

  /** Ends every wait (the component is stopping): syncs answer with what they have. */
  stop(): void {
    this.stopped = true;
    for (const ws of this.waiters.values()) for (const w of [...ws]) w();
    this.waiters.clear();
  }

  get waiting(): number {
    let n = 0;
    for (const ws of this.waiters.values()) n += ws.size;
    return n;
  }
}
