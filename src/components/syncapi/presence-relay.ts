/**
 * What a sync's `set_presence` asks of the EDUServer, without a call per
 * sync. `offline` asks nothing (the EDUServer leaves the state alone then).
 * The same state again for the same user within a few seconds is not passed
 * on: all it would tell the EDUServer is that the user still syncs, which
 * matters only at its 90-second offline timeout. When the user's presence
 * changes (a presence record reaches the SyncAPI: the client set it, or the
 * EDUServer's timers did), the next sync's state goes through at once.
 */
import type { PresenceSetter } from './deps.js';

const WINDOW_MS = 5_000;
const USERS_KEPT = 10_000;

export class PresenceRelay {
  private readonly last = new Map<string, { presence: string; at: number }>();

  constructor(
    private readonly send: PresenceSetter,
    private readonly now: () => number = Date.now,
    private readonly windowMs = WINDOW_MS,
  ) {}

  readonly relay: PresenceSetter = async (userId, presence) => {
    if (presence === 'offline') return;
    const now = this.now();
    const sent = this.last.get(userId);
    if (sent && sent.presence === presence && now - sent.at < this.windowMs) return;
    this.last.delete(userId);
    this.last.set(userId, { presence, at: now });
    if (this.last.size > USERS_KEPT) this.last.delete(this.last.keys().next().value!);
    try {
      await this.send(userId, presence);
    } catch (e) {
      // Not delivered: the next sync tries again.
      this.last.delete(userId);
      throw e;
    }
  };

  /** The user's presence changed: the next sync's state is passed on. */
  changed(userId: string): void {
    this.last.delete(userId);
  }
}
