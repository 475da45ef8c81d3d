/**
 * Typing notifications: who is typing in which room until when. Every
 * change is a record of the typing topic; a timeout runs out by itself
 * (a timer writes `typing: false`). The state is kept in the database too,
 * so a restart resumes the timers and expires what ran out meanwhile.
 *
 * Writes are not durable (synced in the background): a typing notification
 * lost in a power cut is harmless, and the SD card is spared a sync per
 * keystroke burst.
 */
import type { Logger } from 'pino';
import type { LogProducer } from '../../platform/log/producer.js';
import type { Database } from '../../platform/storage/database.js';
import { decodeKey, prefixRange } from '../../platform/storage/keys.js';
import { del, keys, put } from './storage.js';
import { typingEvents } from './topics.js';

export const DEFAULT_TYPING_TIMEOUT_MS = 30_000;
/** Clients refresh every 20–30 s; a longer hold is a client that forgot to stop. */
export const MAX_TYPING_TIMEOUT_MS = 120_000;

interface Typist {
  expires: number;
  timer: NodeJS.Timeout;
}

export class Typing {
  private readonly rooms = new Map<string, Map<string, Typist>>();
  private stopped = false;

  constructor(
    private readonly db: Database,
    private readonly producer: LogProducer,
    private readonly now: () => number,
    private readonly logger?: Logger,
  ) {}

  /** Resumes the timers of a previous run; what ran out while stopped expires now. */
  async load(): Promise<void> {
    for (const [k, expires] of await this.db.entries<number>(prefixRange('typ'))) {
      const [, roomId, userId] = decodeKey(k) as [string, string, string];
      this.remember(roomId, userId, expires);
    }
  }

  /** Everyone typing in the room, sorted. */
  typingIn(roomId: string): string[] {
    return [...(this.rooms.get(roomId)?.keys() ?? [])].sort();
  }

  /** Starts or refreshes (typing) or ends (not typing) a user's notification. */
  async set(roomId: string, userId: string, typing: boolean, timeoutMs: number): Promise<void> {
    if (typing) {
      const expires = this.now() + Math.min(Math.max(timeoutMs, 0), MAX_TYPING_TIMEOUT_MS);
      this.remember(roomId, userId, expires);
      await this.write(roomId, userId, expires);
    } else {
      // Not typing and not known as typing: nothing changes, nothing to tell.
      if (!this.forget(roomId, userId)) return;
      await this.write(roomId, userId, undefined);
    }
  }

  stop(): void {
    this.stopped = true;
    for (const room of this.rooms.values()) for (const t of room.values()) clearTimeout(t.timer);
    this.rooms.clear();
  }

  private remember(roomId: string, userId: string, expires: number): void {
    let room = this.rooms.get(roomId);
    if (!room) this.rooms.set(roomId, (room = new Map()));
    const old = room.get(userId);
    if (old) clearTimeout(old.timer);
    const timer = setTimeout(() => this.expire(roomId, userId, expires), Math.max(0, expires - this.now()));
    timer.unref();
    room.set(userId, { expires, timer });
  }

  /** True when the user was typing. */
  private forget(roomId: string, userId: string): boolean {
    const room = this.rooms.get(roomId);
    const t = room?.get(userId);
    if (!room || !t) return false;
    clearTimeout(t.timer);
    room.delete(userId);
    if (room.size === 0) this.rooms.delete(roomId);
    return true;
  }

  private expire(roomId: string, userId: string, expires: number): void {
    if (this.stopped || this.rooms.get(roomId)?.get(userId)?.expires !== expires) return;
    this.forget(roomId, userId);
    this.write(roomId, userId, undefined).catch((e: unknown) => this.logger?.warn({ err: e, room_id: roomId, user_id: userId }, 'could not expire a typing notification'));
  }

  /**
   * The memory above changed synchronously before this write is queued, and
   * the producer queues in call order: records come out in the order of the
   * changes, each with the list as it stood.
   */
  private write(roomId: string, userId: string, expires: number | undefined): Promise<number[]> {
    const typing = expires !== undefined;
    return this.producer.write(
      [typing ? put(keys.typing(roomId, userId), expires) : del(keys.typing(roomId, userId))],
      [{ topic: typingEvents, record: { room_id: roomId, user_id: userId, typing, ...(typing ? { expires_at: expires } : {}), user_ids: this.typingIn(roomId) } }],
      { durable: false },
    );
  }
}
