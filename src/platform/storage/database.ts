/**
 * One LevelDB per component, with JSON values, and a single writer that
 * commits batches in the order they were submitted.
 *
 * Group commit: while one batch is being written, later batches queue; the
 * next write merges everything queued into one LevelDB batch, so concurrent
 * writers share one sync. Writing in submission order is also what lets the
 * append log hand out offsets before the write lands.
 *
 * Durability: with `sync`, a write that asks to be durable resolves only once
 * LevelDB has synced its log; with `relaxed`, nothing waits for a sync and the
 * database syncs at most every 200 ms. Writes that do not ask to be durable
 * (data that can be rebuilt from the append log) are synced in the background.
 */
import { mkdirSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Level } from 'level';
import { DatabaseClosedError, DatabaseCorruptError, DatabaseLockedError, DatabaseWriteFailedError } from './errors.js';

export type Durability = 'sync' | 'relaxed';

export interface DatabaseOptions {
  /** LRU block cache in bytes (LevelDB's default of 8 MB is too much thirteen times over). */
  cacheSize?: number;
  /** Memtable size in bytes before it is written out. */
  writeBufferSize?: number;
  maxOpenFiles?: number;
  durability?: Durability;
  /** How soon writes that were not synced on commit reach the disk. */
  backgroundSyncMs?: number;
  /** Called once when a write fails and the database stops accepting writes. */
  onWriteFailure?: (error: Error) => void;
}

/** `json`: the value already encoded by the caller (who needed the text too), written as it is. */
export type WriteOp = { type: 'put'; key: string; value: unknown; json?: string | undefined } | { type: 'del'; key: string };

export interface WriteOptions {
  /** The caller acknowledges this write to someone (a client, a producer): it must survive a power cut. */
  durable?: boolean;
}

export interface IterateOptions {
  gt?: string;
  gte?: string;
  lt?: string;
  lte?: string;
  reverse?: boolean;
  limit?: number;
}

interface PendingWrite {
  ops: WriteOp[];
  durable: boolean;
  resolve: () => void;
  reject: (e: unknown) => void;
}

/** JSON.stringify's refusals (BigInt, cycles): raised before LevelDB sees the batch. */
function isEncodingError(e: unknown): boolean {
  return e instanceof TypeError;
}

/**
 * The store's own chained batch (classic-level's `_chainedBatch()`): each
 * op goes to the native batch as two strings, one call per op. Its public
 * `batch()` copies, checks and encodes every op again, and the array form
 * of the store's own batch reads each op's fields back through N-API; a
 * batch of 190 ops (a few messages into a room of 16) cost the main thread
 * 320–340 µs that way, 240–275 µs this way.
 */
interface StoreBatch {
  _put(key: string, value: string): void;
  _del(key: string): void;
  _write(options: { sync: boolean }): Promise<void>;
  /** Detaches the batch from the database (which would otherwise close it on close). */
  close(): Promise<void>;
}

interface StoreInternals {
  _chainedBatch(): StoreBatch;
  /** classic-level's (what `level` is on Node); `level`'s types leave it out. */
  compactRange(start: string, end: string): Promise<void>;
}

/**
 * JSON-encodes each op into the batch; a value JSON cannot hold (BigInt, a
 * cycle, undefined, null) is a TypeError, as JSON.stringify's own refusals
 * are, thrown before anything is written.
 */
function fill(batch: StoreBatch, ops: WriteOp[]): void {
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i]!;
    if (typeof op.key !== 'string') throw new TypeError('a key must be a string');
    if (op.type === 'del') {
      batch._del(op.key);
      continue;
    }
    const value = op.json ?? (op.value === null ? undefined : JSON.stringify(op.value));
    if (value === undefined) throw new TypeError(`the value for ${JSON.stringify(op.key)} is not a JSON value`);
    batch._put(op.key, value);
  }
}

const DEFAULT_WRITE_BUFFER = 1024 * 1024;
const SYNC_MARKER = '\xff\xff!last-sync';
const RELAXED_SYNC_MS = 200;
/** Above every key we write (the sync marker's first character is U+00FF): a range that holds no table. */
const PAST_EVERY_KEY = '\uffff';
/**
 * The share of the write buffer a memtable must hold before a quiet process
 * writes it out (256 KB of the roomserver's and the SyncAPI's 4 MB). Tables
 * written early are smaller, so LevelDB merges level 0 into level 1 more
 * often, but only after quiet spells, with the CPU idle; a load that keeps
 * the process busy fills its memtables as before. A smaller memtable than
 * this is not worth a table file.
 */
const WRITE_OUT_SHARE = 1 / 16;

export class Database {
  private readonly queue: PendingWrite[] = [];
  private writing = false;
  private closed = false;
  private dirty = false;
  /** Sync writes under way; each marks synced what was committed when it began. */
  private syncsInFlight = 0;
  private syncTimer: NodeJS.Timeout | undefined;
  private readonly durability: Durability;
  private readonly backgroundSyncMs: number;
  /** Counts every committed write; `syncedSeq` is the last one known on disk. */
  private committedSeq = 0;
  private syncedSeq = 0;
  private readonly durableWaiters: { seq: number; resolve: () => void }[] = [];
  private readonly writeBufferSize: number;
  private writingOut: Promise<boolean> | undefined;
  /**
   * Set by the first failed batch. Later batches may depend on the failed
   * one (an event and the next event that cites it), so none is written
   * after it: the component must reopen the database (restart) to go on.
   */
  private failure: Error | undefined;
  private readonly onWriteFailure: ((error: Error) => void) | undefined;

  private constructor(
    readonly path: string,
    private readonly db: Level<string, unknown>,
    opts: DatabaseOptions,
  ) {
    this.durability = opts.durability ?? 'sync';
    this.backgroundSyncMs = this.durability === 'relaxed' ? RELAXED_SYNC_MS : (opts.backgroundSyncMs ?? 1000);
    this.onWriteFailure = opts.onWriteFailure;
    this.writeBufferSize = opts.writeBufferSize ?? DEFAULT_WRITE_BUFFER;
  }

  static async open(path: string, opts: DatabaseOptions = {}): Promise<Database> {
    mkdirSync(path, { recursive: true });
    const db = new Level<string, unknown>(path, {
      keyEncoding: 'utf8',
      valueEncoding: 'json',
      cacheSize: opts.cacheSize ?? 2 * 1024 * 1024,
      writeBufferSize: opts.writeBufferSize ?? DEFAULT_WRITE_BUFFER,
      maxOpenFiles: opts.maxOpenFiles ?? 64,
    });
    try {
      await db.open();
    } catch (e) {
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      if (cause?.code === 'LEVEL_LOCKED') throw new DatabaseLockedError(path);
      if (cause?.code === 'LEVEL_CORRUPTION') throw new DatabaseCorruptError(path, cause.message ?? 'corruption');
      throw new Error(`cannot open database ${path}: ${cause?.message ?? (e as Error).message}`);
    }
    return new Database(path, db, opts);
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  /**
   * A point read, served on this thread: LevelDB answers from its memtable
   * or block cache in about a microsecond, where the asynchronous read costs
   * a thread-pool round trip of 30–40 µs, and the hot paths read several keys
   * in a row.
   */
  async get<T>(key: string): Promise<T | undefined> {
    this.assertOpen();
    return this.db.getSync(key) as T | undefined;
  }

  async getMany<T>(keys: string[]): Promise<(T | undefined)[]> {
    this.assertOpen();
    return (await this.db.getMany(keys)) as (T | undefined)[];
  }

  async has(key: string): Promise<boolean> {
    return (await this.get(key)) !== undefined;
  }

  async *iterate<T>(range: IterateOptions = {}): AsyncGenerator<[string, T]> {
    this.assertOpen();
    const it = this.db.iterator({ ...range, limit: range.limit ?? -1 });
    try {
      for (;;) {
        const entries = await it.nextv(256);
        if (entries.length === 0) return;
        for (const [k, v] of entries) yield [k as string, v as T];
      }
    } finally {
      await it.close();
    }
  }

  async entries<T>(range: IterateOptions = {}): Promise<[string, T][]> {
    this.assertOpen();
    return (await this.db.iterator({ ...range, limit: range.limit ?? -1 }).all()) as [string, T][];
  }

  async keys(range: IterateOptions = {}): Promise<string[]> {
    this.assertOpen();
    return (await this.db.keys({ ...range, limit: range.limit ?? -1 }).all()) as string[];
  }

  /** Queues ops to be written atomically; resolves once committed (and synced when durable). */
  write(ops: WriteOp[], opts: WriteOptions = {}): Promise<void> {
    if (this.closed) return Promise.reject(new DatabaseClosedError(this.path));
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ ops, durable: opts.durable ?? false, resolve, reject });
      if (!this.writing) void this.drain();
    });
  }

  put(key: string, value: unknown, opts?: WriteOptions): Promise<void> {
    return this.write([{ type: 'put', key, value }], opts);
  }

  del(key: string, opts?: WriteOptions): Promise<void> {
    return this.write([{ type: 'del', key }], opts);
  }

  /** The write failure that stopped this database, if one did. */
  get failed(): Error | undefined {
    return this.failure;
  }

  /** Resolves once every write committed so far is on disk. */
  whenSynced(): Promise<void> {
    const seq = this.committedSeq;
    if (this.syncedSeq >= seq) return Promise.resolve();
    return new Promise((resolve) => {
      this.durableWaiters.push({ seq, resolve });
      this.scheduleSync(0);
    });
  }

  /** Sequence number of the last committed write; compare with `lastSyncedSeq`. */
  get lastCommittedSeq(): number {
    return this.committedSeq;
  }

  get lastSyncedSeq(): number {
    return this.syncedSeq;
  }

  private async drain(): Promise<void> {
    this.writing = true;
    try {
      while (this.queue.length > 0) {
        const group = this.queue.splice(0, this.queue.length);
        if (this.failure) {
          for (const w of group) w.reject(this.failure);
          continue;
        }
        const ops: WriteOp[] = group.length === 1 ? group[0]!.ops : group.flatMap((w) => w.ops);
        const sync = this.durability === 'sync' && group.some((w) => w.durable);
        try {
          await this.commitBatch(ops, sync);
          this.committed(sync);
          for (const w of group) w.resolve();
        } catch (e) {
          if (!isEncodingError(e)) {
            this.stopWrites(group, e);
            continue;
          }
          // A value JSON cannot encode fails the whole batch before anything
          // is written: that write alone must fail, not the writes it was
          // grouped with, so write them one by one, in order.
          for (const w of group) {
            if (this.failure) {
              w.reject(this.failure);
              continue;
            }
            const wsync = this.durability === 'sync' && w.durable;
            try {
              await this.commitBatch(w.ops, wsync);
              this.committed(wsync);
              w.resolve();
            } catch (e2) {
              if (isEncodingError(e2)) w.reject(e2);
              else this.stopWrites([w], e2);
            }
          }
        }
      }
    } finally {
      this.writing = false;
    }
  }

  /** Hands LevelDB one batch, encoded here into the store's own batch (see StoreBatch). */
  private async commitBatch(ops: WriteOp[], sync: boolean): Promise<void> {
    // The public batch checks this; the store's own would reach a closed native handle.
    if (this.db.status !== 'open') throw new Error(`the database is ${this.db.status}`);
    const batch = (this.db as unknown as StoreInternals)._chainedBatch();
    try {
      fill(batch, ops);
      await batch._write({ sync });
    } finally {
      void batch.close();
    }
  }

  private stopWrites(group: PendingWrite[], cause: unknown): void {
    if (!this.failure) {
      this.failure = new DatabaseWriteFailedError(this.path, cause);
      this.onWriteFailure?.(this.failure);
    }
    for (const w of group) w.reject(this.failure);
  }

  private committed(synced: boolean): void {
    this.committedSeq++;
    if (synced) this.markSynced(this.committedSeq);
    else {
      this.dirty = true;
      this.scheduleSync(this.backgroundSyncMs);
    }
  }

  private scheduleSync(delayMs: number): void {
    if (this.closed) return;
    if (this.syncTimer && delayMs > 0) return;
    if (this.syncTimer) clearTimeout(this.syncTimer);
    this.syncTimer = setTimeout(() => {
      this.syncTimer = undefined;
      void this.syncNow();
    }, delayMs);
    // Background syncs must not keep a process alive; a sync someone awaits (whenSynced) must.
    if (delayMs > 0) this.syncTimer.unref();
  }

  /** Forces everything written so far to disk with one synced write. */
  private async syncNow(): Promise<void> {
    if (!this.dirty || this.closed) {
      // Not dirty while a sync is under way: that sync covers everything committed
      // since (later commits set dirty or were synced themselves) and marks it
      // synced once it is on disk, not before.
      if (this.syncsInFlight === 0 || this.closed) this.markSynced(this.committedSeq);
      return;
    }
    const seq = this.committedSeq;
    this.dirty = false;
    this.syncsInFlight++;
    try {
      // A synced LevelDB write syncs its log file, which holds every write before it.
      await this.db.put(SYNC_MARKER, Date.now(), { sync: true });
      this.markSynced(seq);
    } catch {
      this.dirty = true;
      this.scheduleSync(this.backgroundSyncMs);
    } finally {
      this.syncsInFlight--;
    }
  }

  private markSynced(seq: number): void {
    if (seq > this.syncedSeq) this.syncedSeq = seq;
    for (let i = this.durableWaiters.length - 1; i >= 0; i--) {
      const w = this.durableWaiters[i]!;
      if (w.seq <= this.syncedSeq) {
        this.durableWaiters.splice(i, 1);
        w.resolve();
      }
    }
  }

  /**
   * Writes LevelDB's memtable out to a table file if it holds at least a
   * sixteenth of the write buffer, so the memory it held can go back to the
   * system (a quiet process calls this; see platform/memory/quiet.ts).
   * Otherwise the memtable stays until it fills, up to the write buffer
   * size for as long as the process lives. Resolves with whether it did.
   *
   * How full it is: LevelDB starts a new log file with each memtable and
   * logs every write to it, so the newest log's size is what the memtable
   * holds (plus a few bytes per batch). LevelDB's compaction of a key range
   * first writes the memtable out; the range here holds no table, so
   * nothing else is compacted.
   */
  writeOutMemtable(): Promise<boolean> {
    if (this.closed) return Promise.resolve(false);
    this.writingOut ??= this.writeOutIfFull().finally(() => (this.writingOut = undefined));
    return this.writingOut;
  }

  private async writeOutIfFull(): Promise<boolean> {
    if ((await this.memtableLogBytes()) < WRITE_OUT_SHARE * this.writeBufferSize || this.closed) return false;
    await (this.db as unknown as StoreInternals).compactRange(PAST_EVERY_KEY, PAST_EVERY_KEY);
    return true;
  }

  /** The size of LevelDB's newest log file (0 if there is none). */
  private async memtableLogBytes(): Promise<number> {
    const logs = (await readdir(this.path)).filter((f) => /^\d+\.log$/.test(f));
    if (logs.length === 0) return 0;
    const newest = logs.reduce((a, b) => (parseInt(b, 10) > parseInt(a, 10) ? b : a));
    return (await stat(join(this.path, newest))).size;
  }

  /** Waits for queued writes and a memtable being written out, syncs, and closes. */
  async close(): Promise<void> {
    if (this.closed) return;
    while (this.writing || this.queue.length > 0) {
      await new Promise<void>((r) => setImmediate(r));
    }
    if (this.dirty) await this.syncNow();
    this.closed = true;
    if (this.syncTimer) clearTimeout(this.syncTimer);
    for (const w of this.durableWaiters.splice(0)) w.resolve();
    await this.writingOut?.catch(() => undefined);
    await this.db.close();
  }

  private assertOpen(): void {
    if (this.closed) throw new DatabaseClosedError(this.path);
  }
}
