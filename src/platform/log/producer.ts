/**
 * The producing side of the append log. Records live in the producer's own
 * database under (`log`, topic, offset) and are written in the same batch as
 * the state change that caused them, so after a crash state and log agree.
 *
 * Offsets are handed out when the batch is queued; the database commits
 * batches in queue order, so offsets become visible in order too.
 */
import type { Logger } from 'pino';
import type { CallContext } from '../ipc/define.js';
import { decodeKey, encodeKey, prefixRange } from '../storage/keys.js';
import type { Database, WriteOp } from '../storage/database.js';
import type { LogAdminAPI, LogReaderAPI, ReadRequest, ReadResponse } from './reader-api.js';
import type { LogRecord, TopicDescriptor } from './topic.js';

export interface Append<R = unknown> {
  topic: TopicDescriptor<R>;
  record: R;
}

interface TopicState {
  /** Last offset handed out. */
  assigned: number;
  /** Last offset known committed. */
  committed: number;
  /** Long-polls waiting for an offset to be committed. */
  waiters: Set<{ offset: number; finish: () => void }>;
  /** consumer → highest offset it applied durably */
  acks: Map<string, number>;
  acksDirty: boolean;
  /** Every record at or below this offset has been pruned (this run). */
  prunedThrough: number;
  /** The last offset committed before this run, and the first this run hands out (a gap may lie between). */
  before: number;
  runStart: number;
  /** The newest committed records, as JSON, and their kinds, ending at `committed` (see `rememberTail`). */
  tail: { first: number; items: string[]; kinds: (string | undefined)[]; bytes: number };
  kindOf: ((record: unknown) => string) | undefined;
}

const recordKey = (topic: string, offset: number) => encodeKey('log', topic, offset);
const ackKey = (topic: string, consumer: string) => encodeKey('logc', topic, consumer);
const MAX_READ = 1000;
/** Records a read for some kinds looks at, at most, when it reads from the database. */
const MAX_SCAN = 5000;
/** Bounds of each topic's in-memory tail of recent records. */
const TAIL_RECORDS = 512;
const TAIL_BYTES = 512 * 1024;
const CLEAN_STOP_KEY = encodeKey('logmeta', 'clean_stop');
/** Far more records than a producer writes in the 200 ms a relaxed database may lose. */
const UNCLEAN_OFFSET_GAP = 100_000;

export class LogProducer implements LogReaderAPI, LogAdminAPI {
  private readonly topics = new Map<string, TopicState>();
  private pruneTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly db: Database,
    private readonly descriptors: TopicDescriptor<unknown>[],
    private readonly logger?: Logger,
  ) {}

  async open(): Promise<void> {
    // After an unclean stop under relaxed durability, consumers may have read
    // records that never reached the disk; new records start past a gap so
    // that no offset a consumer has seen is ever given to another record.
    const clean = (await this.db.get<boolean>(CLEAN_STOP_KEY)) === true;
    if (clean) await this.db.write([{ type: 'del', key: CLEAN_STOP_KEY }], { durable: true });
    const gap = clean ? 0 : UNCLEAN_OFFSET_GAP;
    for (const t of this.descriptors) {
      const [last] = await this.db.keys({ ...prefixRange('log', t.name), reverse: true, limit: 1 });
      const lastOffset = last === undefined ? 0 : offsetOf(last);
      const acks = new Map<string, number>();
      for (const [k, v] of await this.db.entries<number>(prefixRange('logc', t.name))) {
        acks.set(String(decodeKey(k)[2]), v);
      }
      const assigned = lastOffset + (lastOffset > 0 ? gap : 0);
      this.topics.set(t.name, {
        assigned,
        before: lastOffset,
        runStart: assigned + 1,
        committed: lastOffset,
        waiters: new Set(),
        acks,
        acksDirty: false,
        prunedThrough: 0,
        tail: { first: 0, items: [], kinds: [], bytes: 0 },
        kindOf: t.kindOf ? (record) => t.kindOf!(record) : undefined,
      });
    }
  }

  private state(topic: string): TopicState {
    const s = this.topics.get(topic);
    if (!s) throw new Error(`topic ${topic} is not produced here`);
    return s;
  }

  /**
   * Writes `ops` and appends `records` atomically. Resolves with the records'
   * offsets once committed (and synced when durable).
   */
  async write(ops: WriteOp[], records: Append[], opts: { durable?: boolean } = {}): Promise<number[]> {
    const offsets: number[] = [];
    const all = records.length === 0 ? ops : ops.slice();
    const touched = new Set<TopicState>();
    // Encoded once, for the batch and the in-memory tail alike; before any offset is handed out,
    // so a record JSON cannot hold leaves no gap in its topic.
    const texts = records.map(({ record }) => JSON.stringify(record));
    const kinds = records.map(({ topic, record }) => this.state(topic.name).kindOf?.(record));
    for (let i = 0; i < records.length; i++) {
      const { topic, record } = records[i]!;
      const s = this.state(topic.name);
      const offset = ++s.assigned;
      offsets.push(offset);
      all.push({ type: 'put', key: recordKey(topic.name, offset), value: record, json: texts[i] });
      touched.add(s);
    }
    // Queued synchronously with the offsets above, so commit order = offset order.
    const written = this.db.write(all, opts);
    await written;
    for (let i = 0; i < records.length; i++) {
      const s = this.state(records[i]!.topic.name);
      if (offsets[i]! > s.committed) s.committed = offsets[i]!;
      // Only topics someone consumes keep a tail: no one would read it otherwise.
      if (s.acks.size > 0) rememberTail(s.tail, offsets[i]!, texts[i]!, kinds[i]);
    }
    for (const s of touched) {
      for (const w of s.waiters) if (s.committed >= w.offset) w.finish();
    }
    return offsets;
  }

  /** How far the last prune of this run reached: no record at or below it is left. */
  prunedThrough(topic: TopicDescriptor<unknown>): number {
    return this.state(topic.name).prunedThrough;
  }

  /** The last committed offset of a topic. */
  lastOffset(topic: TopicDescriptor<unknown>): number {
    return this.state(topic.name).committed;
  }

  async read(req: ReadRequest, ctx?: CallContext): Promise<ReadResponse> {
    const s = this.state(req.topic);
    // Only registered consumers hold records back from pruning: a one-off reader must not.
    if (s.acks.has(req.consumer) && req.durable > s.acks.get(req.consumer)!) {
      s.acks.set(req.consumer, req.durable);
      s.acksDirty = true;
    }
    const limit = Math.max(1, Math.min(req.limit, MAX_READ));
    if (s.committed < req.from && req.waitMs > 0) {
      await this.waitForOffset(s, req.from, Math.min(req.waitMs, (ctx?.deadline ?? Infinity) - Date.now() - 50), ctx?.signal);
    }
    if (s.committed < req.from) return { records: [] };
    const records: LogRecord<unknown>[] = [];
    const wanted = req.kinds && s.kindOf ? new Set(req.kinds) : undefined;
    const { tail } = s;
    if (tail.items.length > 0 && req.from >= tail.first) {
      // Consumers that keep up read what was just written: from memory, each its own copy.
      if (!wanted) {
        const end = Math.min(tail.items.length, req.from - tail.first + limit);
        for (let j = req.from - tail.first; j < end; j++) records.push({ offset: tail.first + j, record: JSON.parse(tail.items[j]!) });
        return { records };
      }
      let j = req.from - tail.first;
      for (; j < tail.items.length && records.length < limit; j++) {
        if (wanted.has(tail.kinds[j]!)) records.push({ offset: tail.first + j, record: JSON.parse(tail.items[j]!) });
      }
      return { records, through: tail.first + j - 1 };
    }
    let through: number | undefined;
    for (const [k, v] of await this.db.entries<unknown>({
      gte: recordKey(req.topic, req.from),
      lte: recordKey(req.topic, s.committed),
      limit: wanted ? MAX_SCAN : limit,
    })) {
      through = offsetOf(k);
      if (wanted && !wanted.has(s.kindOf!(v))) continue;
      records.push({ offset: through, record: v });
      if (records.length === limit) break;
    }
    return wanted && through !== undefined ? { records, through } : { records };
  }

  private waitForOffset(s: TopicState, offset: number, waitMs: number, signal?: AbortSignal): Promise<void> {
    if (waitMs <= 0 || signal?.aborted) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const waiter = { offset, finish: () => {} };
      const timer = setTimeout(() => waiter.finish(), waitMs);
      waiter.finish = () => {
        clearTimeout(timer);
        s.waiters.delete(waiter);
        signal?.removeEventListener('abort', waiter.finish);
        resolve();
      };
      s.waiters.add(waiter);
      signal?.addEventListener('abort', waiter.finish, { once: true });
    });
  }

  async head(req: { topic: string }): Promise<{ committed: number }> {
    return { committed: this.state(req.topic).committed };
  }

  async register(req: { topic: string; consumer: string }): Promise<void> {
    const s = this.state(req.topic);
    if (s.acks.has(req.consumer)) return;
    s.acks.set(req.consumer, 0);
    await this.db.write([{ type: 'put', key: ackKey(req.topic, req.consumer), value: 0 }], { durable: true });
    this.logger?.info({ topic: req.topic, consumer: req.consumer }, 'log consumer registered');
  }

  /**
   * Deletes records every registered consumer has applied durably, except a
   * topic's newest record. A topic nobody has registered for keeps everything.
   */
  async prune(): Promise<number> {
    let removed = 0;
    for (const [topic, s] of this.topics) {
      if (s.acksDirty) {
        s.acksDirty = false;
        await this.db.write([...s.acks].map(([c, v]) => ({ type: 'put' as const, key: ackKey(topic, c), value: v })));
      }
      if (s.acks.size === 0) continue;
      // The newest record is kept even when every consumer has it: open() finds the
      // next offset from it, and without it a restart would hand out offsets again
      // that consumers have already passed (their records would never be read).
      const upTo = Math.min(...s.acks.values(), s.committed - 1);
      if (upTo <= 0) continue;
      if (upTo <= s.prunedThrough) continue;
      if (s.prunedThrough >= s.before) {
        // Every record before this run is gone, and this run's offsets have no gaps: the keys to
        // delete are known without reading them. Reading them touched every page of the tables
        // that hold them (LevelDB maps its tables), which then stayed in the process's memory.
        for (let from = Math.max(s.prunedThrough + 1, s.runStart); from <= upTo; from += MAX_READ) {
          const to = Math.min(upTo, from + MAX_READ - 1);
          const ops: WriteOp[] = [];
          for (let o = from; o <= to; o++) ops.push({ type: 'del', key: recordKey(topic, o) });
          await this.db.write(ops);
          removed += ops.length;
        }
      } else {
        for (;;) {
          const keys = await this.db.keys({ gt: prefixRange('log', topic).gt, lte: recordKey(topic, upTo), limit: MAX_READ });
          if (keys.length === 0) break;
          await this.db.write(keys.map((key) => ({ type: 'del' as const, key })));
          removed += keys.length;
        }
      }
      // Two prunes may overlap (the timer's and the maintenance job's): deletes repeat harmlessly.
      s.prunedThrough = Math.max(s.prunedThrough, upTo);
    }
    if (removed > 0) this.logger?.debug({ removed }, 'pruned log records');
    return removed;
  }

  /** Prunes now (the maintenance job) and says where each topic stands. */
  async pruneNow(): Promise<{ removed: number; topics: { topic: string; last: number; pruned_through: number }[] }> {
    const removed = await this.prune();
    return { removed, topics: [...this.topics].map(([topic, s]) => ({ topic, last: s.committed, pruned_through: s.prunedThrough })) };
  }

  /** Prunes periodically; the first run waits so that every consumer has registered after a start. */
  startPruning(intervalMs = 60_000): void {
    const run = () => {
      this.prune()
        .catch((e: unknown) => this.logger?.warn({ err: e }, 'log pruning failed'))
        .finally(() => {
          if (this.pruneTimer) this.pruneTimer = setTimeout(run, intervalMs).unref();
        });
    };
    this.pruneTimer = setTimeout(run, intervalMs).unref();
  }

  async close(): Promise<void> {
    if (this.pruneTimer) clearTimeout(this.pruneTimer);
    this.pruneTimer = undefined;
    for (const s of this.topics.values()) for (const w of s.waiters) w.finish();
    if (!this.db.isOpen) return;
    for (const [topic, s] of this.topics) {
      if (s.acksDirty) {
        s.acksDirty = false;
        await this.db.write([...s.acks].map(([c, v]) => ({ type: 'put' as const, key: ackKey(topic, c), value: v })));
      }
    }
    await this.db.write([{ type: 'put', key: CLEAN_STOP_KEY, value: true }], { durable: true });
  }
}

/**
 * Keeps a committed record in its topic's tail, which holds consecutive
 * offsets only (anything else starts it afresh) and forgets its oldest
 * records past the bounds. Kept as JSON: what a reader gets is what the
 * database would give, and no one can change it afterwards.
 */
function rememberTail(tail: TopicState['tail'], offset: number, json: string, kind: string | undefined): void {
  if (tail.items.length === 0 || offset !== tail.first + tail.items.length) {
    tail.first = offset;
    tail.items = [];
    tail.kinds = [];
    tail.bytes = 0;
  }
  tail.items.push(json);
  tail.kinds.push(kind);
  tail.bytes += json.length;
  let drop = 0;
  while (tail.items.length - drop > 1 && (tail.items.length - drop > TAIL_RECORDS || tail.bytes > TAIL_BYTES)) tail.bytes -= tail.items[drop++]!.length;
  if (drop > 0) {
    tail.items.splice(0, drop);
    tail.kinds.splice(0, drop);
    tail.first += drop;
  }
}

function offsetOf(key: string): number {
  return parseInt(key.slice(key.lastIndexOf('\x00') + 2), 16);
}
