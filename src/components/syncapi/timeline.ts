/**
 * Walking a room's timeline by stream position, for /sync, /messages and
 * /context: backwards or forwards between two positions, keeping the
 * events a predicate accepts (visibility, filters) until enough are found.
 * Recent positions are read from memory, older ones from the database.
 */
import type { Database } from '../../platform/storage/database.js';
import { decodeKey } from '../../platform/storage/keys.js';
import type { EventStore } from './events.js';
import { keys, type EventRecord } from './storage.js';
import type { RoomView, TimelineEntry } from './views.js';

export interface ScanOptions {
  /** Exclusive lower bound. */
  after: number;
  /** Inclusive upper bound. */
  upTo: number;
  /** Newest first. */
  reverse: boolean;
  /** How many accepted events to return. */
  want: number;
  /** How many events to look at before giving up (a filter that matches little). */
  cap?: number;
  accept: (rec: EventRecord) => boolean;
}

export interface ScanResult {
  events: EventRecord[];
  /** More accepted events may lie beyond the last one returned. */
  more: boolean;
  /** The position the walk stopped after (the last one looked at), for a token to continue from. */
  last: number | undefined;
}

export class TimelineReader {
  constructor(
    private readonly db: Database,
    private readonly events: EventStore,
  ) {}

  /** Timeline entries in (after, upTo], in the direction asked, `limit` at most. */
  private async entries(room: RoomView, after: number, upTo: number, reverse: boolean, limit: number): Promise<TimelineEntry[]> {
    if (upTo <= after) return [];
    // Memory holds every position above coveredFrom: enough when the range lies there, or
    // (newest first) when its newest part alone gives `limit` entries.
    if (after >= room.coveredFrom || (reverse && upTo > room.coveredFrom)) {
      const inRange = room.recent.filter((e) => e.pos > after && e.pos <= upTo);
      if (reverse) inRange.reverse();
      if (after >= room.coveredFrom || inRange.length >= limit) return inRange.slice(0, limit);
    }
    const rows = await this.db.entries<string>({ gt: keys.timeline(room.id, after), lte: keys.timeline(room.id, upTo), reverse, limit });
    return rows.map(([k, id]) => ({ pos: Number(decodeKey(k)[2]), event_id: id }));
  }

  async scan(room: RoomView, opts: ScanOptions): Promise<ScanResult> {
    const cap = opts.cap ?? Math.max(1000, opts.want * 20);
    const out: EventRecord[] = [];
    let after = opts.after;
    let upTo = opts.upTo;
    let looked = 0;
    let last: number | undefined;
    while (looked < cap) {
      const chunk = Math.min(Math.max(opts.want + 1 - out.length, 16), cap - looked);
      const entries = await this.entries(room, after, upTo, opts.reverse, chunk);
      if (entries.length === 0) return { events: out, more: false, last };
      const recs = await this.events.getMany(entries.map((e) => e.event_id));
      for (let i = 0; i < entries.length; i++) {
        const e = entries[i]!;
        const rec = recs[i];
        looked++;
        if (rec && opts.accept(rec)) {
          if (out.length === opts.want) return { events: out, more: true, last };
          out.push(rec);
        }
        last = e.pos;
      }
      if (opts.reverse) upTo = entries[entries.length - 1]!.pos - 1;
      else after = entries[entries.length - 1]!.pos;
      if (entries.length < chunk) return { events: out, more: false, last };
    }
    return { events: out, more: true, last };
  }
}
