/**
 * Reading events by id and by numeric id, through a cache, and seeing events
 * that are queued for writing but not committed yet. The roomserver hands a
 * batch to the database and goes on with the room's next event before the
 * batch is on disk (the database commits in order, and stops at the first
 * failure), so the next event must find the previous one here.
 */
import { LruCache } from './cache.js';
import type { RoomserverStorage, StoredEvent } from './storage.js';

export class EventStore {
  private readonly pending = new Map<string, StoredEvent>();
  private readonly pendingNids = new Map<number, string>();
  private readonly pendingRedactions = new Map<string, string>();
  // Enough for every room's recent events and its auth events on a family server; at 4 096
  // and 16 384 the two caches held about 9 MB more after the sync bench's load (design.md, "Memory").
  private readonly cache = new LruCache<string, StoredEvent>(1024);
  private readonly nids = new LruCache<number, string>(4096);

  constructor(private readonly storage: RoomserverStorage) {}

  /** Empties the caches (a quiet process; see platform/memory/quiet.ts); what is queued for writing stays. */
  dropCached(): void {
    this.cache.clear();
    this.nids.clear();
  }

  async get(eventId: string): Promise<StoredEvent | undefined> {
    const hit = this.pending.get(eventId) ?? this.cache.get(eventId);
    if (hit) return hit;
    const ev = await this.storage.event(eventId);
    if (ev) this.cache.set(eventId, ev);
    return ev;
  }

  async getMany(eventIds: string[]): Promise<(StoredEvent | undefined)[]> {
    const out: (StoredEvent | undefined)[] = new Array(eventIds.length);
    const missing: number[] = [];
    eventIds.forEach((id, i) => {
      const hit = this.pending.get(id) ?? this.cache.get(id);
      if (hit) out[i] = hit;
      else missing.push(i);
    });
    if (missing.length > 0) {
      const loaded = await this.storage.events(missing.map((i) => eventIds[i]!));
      missing.forEach((i, j) => {
        const ev = loaded[j];
        out[i] = ev;
        if (ev) this.cache.set(eventIds[i]!, ev);
      });
    }
    return out;
  }

  async idOfNid(nid: number): Promise<string | undefined> {
    const hit = this.pendingNids.get(nid) ?? this.nids.get(nid);
    if (hit) return hit;
    const id = await this.storage.eventIdOfNid(nid);
    if (id) this.nids.set(nid, id);
    return id;
  }

  async idsOfNids(nids: number[]): Promise<(string | undefined)[]> {
    const out: (string | undefined)[] = new Array(nids.length);
    const missing: number[] = [];
    nids.forEach((nid, i) => {
      const hit = this.pendingNids.get(nid) ?? this.nids.get(nid);
      if (hit) out[i] = hit;
      else missing.push(i);
    });
    if (missing.length > 0) {
      const loaded = await this.storage.eventIdsOfNids(missing.map((i) => nids[i]!));
      missing.forEach((i, j) => {
        out[i] = loaded[j];
        if (loaded[j]) this.nids.set(nids[i]!, loaded[j]!);
      });
    }
    return out;
  }

  async redactionOf(eventId: string): Promise<string | undefined> {
    return this.pendingRedactions.get(eventId) ?? (await this.storage.redactionOf(eventId));
  }

  /** Makes events visible before their batch commits. */
  stage(events: { eventId: string; event: StoredEvent }[], redactions: [redacted: string, by: string][] = []): void {
    for (const { eventId, event } of events) {
      this.pending.set(eventId, event);
      this.pendingNids.set(event.nid, eventId);
    }
    for (const [redacted, by] of redactions) this.pendingRedactions.set(redacted, by);
  }

  /** The batch holding these events is on disk (or failed: then the process restarts anyway). */
  settle(events: { eventId: string; event: StoredEvent }[], redactions: [redacted: string, by: string][] = []): void {
    for (const { eventId, event } of events) {
      this.pending.delete(eventId);
      this.pendingNids.delete(event.nid);
      this.cache.set(eventId, event);
      this.nids.set(event.nid, eventId);
    }
    for (const [redacted] of redactions) this.pendingRedactions.delete(redacted);
  }
}
