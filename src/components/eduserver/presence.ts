/**
 * Presence of local users (client-server API, "Presence"). A user is
 * online while a client syncs or acts, unavailable after a while without
 * pro-active actions (or when a client says so), offline when no client has
 * synced for a while (or a client says so).
 *
 * A record is written when the state, the status message or
 * `currently_active` changes, not at every action: while currently active,
 * clients take the user as active, and `currently_active` turns false (a
 * record with the exact last-active time) a minute after the last action.
 * Writes are not durable: presence lost in a power cut is soon set again.
 */
import type { Logger } from 'pino';
import type { LogProducer } from '../../platform/log/producer.js';
import type { Database } from '../../platform/storage/database.js';
import { decodeKey, prefixRange } from '../../platform/storage/keys.js';
import type { PresenceView } from './api.js';
import { keys, put, type StoredPresence } from './storage.js';
import { presenceEvents, type PresenceState } from './topics.js';

export interface PresenceTimings {
  /** No pro-active action for this long: unavailable (the spec's example: 5 minutes). */
  idleMs: number;
  /** `currently_active` holds this long after an action. */
  activeMs: number;
  /** No sync for this long: offline. Above a long-poll's timeout (30 s for most clients) with a margin. */
  offlineMs: number;
  /** How often the timers above are checked. */
  sweepMs: number;
}

export const PRESENCE_TIMINGS: PresenceTimings = { idleMs: 5 * 60_000, activeMs: 60_000, offlineMs: 90_000, sweepMs: 15_000 };

interface Live extends StoredPresence {
  /** Last sync (or presence request): not stored, a restart gives every user a fresh grace period. */
  last_sync: number;
}

export class Presence {
  private readonly users = new Map<string, Live>();
  private sweeper: NodeJS.Timeout | undefined;

  constructor(
    private readonly db: Database,
    private readonly producer: LogProducer,
    private readonly now: () => number,
    private readonly timings: PresenceTimings = PRESENCE_TIMINGS,
    private readonly logger?: Logger,
  ) {}

  async load(): Promise<void> {
    const now = this.now();
    for (const [k, v] of await this.db.entries<StoredPresence>(prefixRange('pres'))) {
      this.users.set(String(decodeKey(k)[1]), { ...v, last_sync: now });
    }
    this.sweeper = setInterval(() => void this.sweep(), this.timings.sweepMs);
    this.sweeper.unref();
  }

  stop(): void {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = undefined;
  }

  view(userId: string): PresenceView {
    const u = this.users.get(userId);
    if (!u) return { user_id: userId, presence: 'offline' };
    return {
      user_id: userId,
      presence: u.presence,
      ...(u.last_active_ts > 0 ? { last_active_ago: Math.max(0, this.now() - u.last_active_ts) } : {}),
      ...(u.status_msg !== null ? { status_msg: u.status_msg } : {}),
      ...(u.presence === 'online' ? { currently_active: u.currently_active } : {}),
    };
  }

  /** `PUT /presence/{userId}/status`: setting a status is itself an action; the status message is replaced. */
  setByClient(userId: string, presence: PresenceState, statusMsg: string | null): Promise<void> {
    const now = this.now();
    return this.change(userId, { presence, status_msg: statusMsg, last_active_ts: now, currently_active: presence === 'online' }, now);
  }

  /**
   * The `set_presence` of a sync. Syncing is not an action: an idle user
   * stays unavailable, an offline one comes online; `offline` means the
   * client does not count as connected at all.
   */
  setBySync(userId: string, presence: PresenceState): Promise<void> {
    if (presence === 'offline') return Promise.resolve();
    const now = this.now();
    const u = this.users.get(userId);
    if (u) u.last_sync = now;
    if (presence === 'online') {
      if (u && u.presence !== 'offline') return Promise.resolve();
      return this.change(userId, { presence: 'online', last_active_ts: now, currently_active: true }, now);
    }
    if (u?.presence === 'unavailable') return Promise.resolve();
    return this.change(userId, { presence: 'unavailable', currently_active: false }, now);
  }

  /** A pro-active action (typing, a receipt): online and currently active (spec: "Idle timeout"). */
  active(userId: string): Promise<void> {
    const now = this.now();
    return this.change(userId, { presence: 'online', last_active_ts: now, currently_active: true }, now);
  }

  /** Applies a change; writes a record when something clients see changed. */
  private change(userId: string, to: Partial<StoredPresence>, now: number): Promise<void> {
    const before = this.users.get(userId);
    const after: Live = {
      presence: 'offline',
      status_msg: null,
      last_active_ts: 0,
      currently_active: false,
      ...before,
      ...to,
      last_sync: now,
    };
    this.users.set(userId, after);
    const visible = !before || before.presence !== after.presence || before.status_msg !== after.status_msg || before.currently_active !== after.currently_active;
    return visible ? this.write(userId, after) : Promise.resolve();
  }

  private async write(userId: string, u: Live): Promise<void> {
    const stored: StoredPresence = { presence: u.presence, status_msg: u.status_msg, last_active_ts: u.last_active_ts, currently_active: u.currently_active };
    await this.producer.write([put(keys.presence(userId), stored)], [{ topic: presenceEvents, record: { user_id: userId, ...stored } }], { durable: false });
  }

  /** Applies the timers: no longer currently active, idle, or gone. Resolves when the records are written. */
  async sweep(): Promise<void> {
    const now = this.now();
    const writes: Promise<void>[] = [];
    for (const [userId, u] of this.users) {
      if (u.presence === 'offline') continue;
      let to: Partial<StoredPresence> | undefined;
      if (now - u.last_sync > this.timings.offlineMs) to = { presence: 'offline', currently_active: false };
      else if (u.presence === 'online' && now - u.last_active_ts > this.timings.idleMs) to = { presence: 'unavailable', currently_active: false };
      else if (u.currently_active && now - u.last_active_ts > this.timings.activeMs) to = { currently_active: false };
      if (!to) continue;
      const after: Live = { ...u, ...to };
      this.users.set(userId, after);
      writes.push(this.write(userId, after).catch((e: unknown) => this.logger?.warn({ err: e, user_id: userId }, 'could not time out presence')));
    }
    await Promise.all(writes);
  }
}
