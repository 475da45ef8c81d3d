/**
 * The sync stream position: ONE counter for everything the SyncAPI stores
 * (room events, account data, receipts, typing, presence, to-device
 * messages, device-list changes), so a `since` token is a single number.
 *
 * Consumers run concurrently and each commits its own batches, so position
 * p+1 may be committed before p. A sync may only read up to the watermark:
 * the highest position below which every allocated position is committed
 * (or abandoned). Otherwise a client could be handed a token past an item
 * that lands later, and skip it forever.
 *
 * Persistence: each consumer's batch records the highest position allocated
 * so far under that consumer's own key (each consumer's batches commit in
 * order, so its key only grows); the next start resumes above the largest.
 * After an unclean stop the counter also jumps by a gap, written durably
 * first, so that no position a client may have been told about (committed
 * but lost in a power cut) is ever given to another item.
 */
import type { Database, WriteOp } from '../../platform/storage/database.js';
import { keys, put } from './storage.js';

/** Far more positions than the SyncAPI allocates in the second a power cut may lose. */
const UNCLEAN_GAP = 100_000;

export class StreamPositions {
  private allocated: number;
  private watermark: number;
  /** Allocated, not yet committed nor abandoned. */
  private readonly pending = new Set<number>();
  /** Committed above the watermark. */
  private readonly done = new Set<number>();
  /** Called with the old and new watermark whenever it moves. */
  onAdvance: (from: number, to: number) => void = () => {};

  private constructor(start: number) {
    this.allocated = start;
    this.watermark = start;
  }

  static async open(db: Database): Promise<StreamPositions> {
    let max = (await db.get<number>(keys.floor())) ?? 0;
    for (const [, v] of await db.entries<number>(keys.positionsRange())) if (v > max) max = v;
    const clean = (await db.get<boolean>(keys.cleanStop())) === true;
    let start = max;
    if (!clean && max > 0) {
      start = max + UNCLEAN_GAP;
      await db.write([put(keys.floor(), start)], { durable: true });
    } else if (clean) {
      await db.write([{ type: 'del', key: keys.cleanStop() }], { durable: true });
    }
    return new StreamPositions(start);
  }

  /** Marks a clean stop (after every consumer stopped, before the database closes). */
  static async closeClean(db: Database): Promise<void> {
    await db.write([put(keys.cleanStop(), true)], { durable: true });
  }

  /** Everything at or below this position is committed: syncs read up to here. */
  get current(): number {
    return this.watermark;
  }

  get lastAllocated(): number {
    return this.allocated;
  }

  alloc(): number {
    const p = ++this.allocated;
    this.pending.add(p);
    return p;
  }

  /** The write that persists the counter with a consumer's batch. */
  persistOp(consumer: string): WriteOp {
    return put(keys.positionOf(consumer), this.allocated);
  }

  /** Positions committed (or given up): the watermark moves past them once nothing below is pending. */
  settle(positions: Iterable<number>): void {
    for (const p of positions) {
      if (!this.pending.delete(p)) continue;
      if (p > this.watermark) this.done.add(p);
    }
    const from = this.watermark;
    let w = from;
    while (this.done.delete(w + 1)) w++;
    if (w !== from) {
      this.watermark = w;
      this.onAdvance(from, w);
    }
  }
}
