/**
 * Event records by id, with the most recent ones in memory: the event a
 * long-poll wakes for was just written, and every member's sync reads it.
 */
import type { Database } from '../../platform/storage/database.js';
import { keys, type EventRecord } from './storage.js';

export class EventStore {
  private readonly cache = new Map<string, EventRecord>();

  constructor(
    private readonly db: Database,
    private readonly capacity = 1024,
  ) {}

  /** Records a committed (or redacted) event in the cache. */
  remember(rec: EventRecord): void {
    this.cache.delete(rec.event_id);
    this.cache.set(rec.event_id, rec);
    if (this.cache.size > this.capacity) this.cache.delete(this.cache.keys().next().value!);
  }

  /** Empties the cache (a quiet process; see platform/memory/quiet.ts). */
  dropCached(): void {
    this.cache.clear();
  }

  async get(eventId: string): Promise<EventRecord | undefined> {
    const hit = this.cache.get(eventId);
    if (hit) return hit;
    return this.db.get<EventRecord>(keys.event(eventId));
  }

  /** Records in the order of `ids`; undefined for unknown ids. */
  async getMany(ids: readonly string[]): Promise<(EventRecord | undefined)[]> {
    const out: (EventRecord | undefined)[] = new Array(ids.length);
    const missing: number[] = [];
    ids.forEach((id, i) => {
      const hit = this.cache.get(id);
      if (hit) out[i] = hit;
      else missing.push(i);
    });
    if (missing.length > 0) {
      const found = await this.db.getMany<EventRecord>(missing.map((i) => keys.event(ids[i]!)));
      missing.forEach((i, j) => (out[i] = found[j]));
    }
    return out;
  }

  /** Known records only, in order. */
  async records(ids: readonly string[]): Promise<EventRecord[]> {
    return (await this.getMany(ids)).filter((r): r is EventRecord => r !== undefined);
  }
}
