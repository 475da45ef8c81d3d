/**
 * One consumer batch being applied: the writes it commits with the
 * consumer's offset, the positions it allocated, the changes to the
 * in-memory views that must wait until the batch is committed, and whom to
 * wake. Reads go through the batch's own writes first, so a batch sees its
 * earlier records' effects before they reach the database.
 */
import type { Database, WriteOp } from '../../../platform/storage/database.js';
import type { LogConsumer } from '../../../platform/log/consumer.js';
import type { LogRecord, TopicDescriptor } from '../../../platform/log/topic.js';
import type { ComponentContext } from '../../../platform/runtime/component.js';
import type { Notifier } from '../notifier.js';
import type { StreamPositions } from '../positions.js';

export class Tx {
  readonly ops: WriteOp[] = [];
  readonly positions: number[] = [];
  private readonly overlay = new Map<string, unknown>();
  private readonly effects: (() => void)[] = [];
  private readonly wakes: { pos: number; users: () => Iterable<string> }[] = [];

  constructor(
    private readonly db: Database,
    private readonly stream: StreamPositions,
  ) {}

  /** The next stream position, for an item of this batch. */
  alloc(): number {
    const p = this.stream.alloc();
    this.positions.push(p);
    return p;
  }

  put(key: string, value: unknown): void {
    this.ops.push({ type: 'put', key, value });
    this.overlay.set(key, value);
  }

  del(key: string): void {
    this.ops.push({ type: 'del', key });
    this.overlay.set(key, undefined);
  }

  /** Whether this batch wrote (or deleted) the key. */
  wrote(key: string): boolean {
    return this.overlay.has(key);
  }

  /** A value as this batch left it, else as the database has it. */
  async get<T>(key: string): Promise<T | undefined> {
    if (this.overlay.has(key)) return this.overlay.get(key) as T | undefined;
    return this.db.get<T>(key);
  }

  /** A range of keys as this batch left it: the database's entries under the batch's own writes, in key order. */
  async entries<T>(range: { gt: string; lt: string }): Promise<[string, T][]> {
    const out = new Map(await this.db.entries<T>(range));
    for (const [k, v] of this.overlay) {
      if (k <= range.gt || k >= range.lt) continue;
      if (v === undefined) out.delete(k);
      else out.set(k, v as T);
    }
    return [...out].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0));
  }

  /** Runs once the batch is committed, in the order registered. */
  after(fn: () => void): void {
    this.effects.push(fn);
  }

  /** Wakes these users once the watermark passes `pos` (evaluated after the effects). */
  wake(pos: number, users: () => Iterable<string>): void {
    this.wakes.push({ pos, users });
  }

  /** Applies the effects after the commit and releases the positions. */
  committed(notifier: Notifier): void {
    for (const fn of this.effects) fn();
    for (const w of this.wakes) notifier.add(w.pos, w.users());
    this.stream.settle(this.positions);
  }

  /** The batch failed before committing: its positions hold nothing. */
  abandoned(): void {
    this.stream.settle(this.positions);
  }
}

export interface ConsumerDeps {
  ctx: ComponentContext;
  db: Database;
  stream: StreamPositions;
  notifier: Notifier;
}

/** Starts a consumer whose batches are applied through a Tx. */
export async function startSyncConsumer<R>(
  deps: ConsumerDeps,
  name: string,
  topic: TopicDescriptor<R>,
  apply: (batch: LogRecord<R>[], tx: Tx) => Promise<void>,
): Promise<LogConsumer<R>> {
  let inFlight: Tx | undefined;
  return deps.ctx.startConsumer<R>({
    topic,
    name: 'syncapi',
    db: deps.db,
    handle: async (batch) => {
      const tx = new Tx(deps.db, deps.stream);
      try {
        await apply(batch, tx);
      } catch (e) {
        tx.abandoned();
        throw e;
      }
      tx.ops.push(deps.stream.persistOp(name));
      inFlight = tx;
      return tx.ops;
    },
    afterCommit: () => {
      const tx = inFlight;
      inFlight = undefined;
      tx?.committed(deps.notifier);
    },
  });
}
