/**
 * The consuming side of the append log. A consumer reads a topic from the
 * offset after the last one it applied, hands each batch to its handler, and
 * commits the handler's writes together with the new offset in one batch of
 * its own database. A crash before that commit means the batch is read and
 * handled again, and the earlier attempt left nothing behind: delivery is at
 * least once, application exactly once.
 *
 * The consumer's writes need not be synced on commit: whatever a power cut
 * loses is read again from the producer, which keeps records until the
 * consumer reports them applied and synced.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { Client } from '../ipc/directory.js';
import type { Database, WriteOp } from '../storage/database.js';
import { encodeKey } from '../storage/keys.js';
import type { LogReaderAPI } from './reader-api.js';
import type { LogRecord, TopicDescriptor } from './topic.js';

export interface ConsumerOptions<R> {
  topic: TopicDescriptor<R>;
  /** Stable name of this consumer (usually the consuming component). */
  name: string;
  /** The consumer's own database: its offset lives there. */
  db: Database;
  reader: Client<LogReaderAPI>;
  /** Applies a batch; returns the writes to commit with the new offset. */
  handle: (batch: LogRecord<R>[]) => Promise<WriteOp[]>;
  /** Called after a batch is committed (e.g. to wake long-polls). */
  afterCommit?: (batch: LogRecord<R>[]) => void;
  batchSize?: number;
  waitMs?: number;
  /**
   * After each batch, how long to wait before reading on: a consumer that
   * need not react at once reads fewer, larger batches, and costs the hot
   * path (one read and one commit per batch) next to nothing.
   */
  pauseMs?: number;
  /**
   * Only records of these kinds (the topic's `kindOf`): the producer passes
   * over the others, and this consumer's offset (what it reports applied)
   * moves past them all the same.
   */
  kinds?: string[];
  logger?: Logger;
}

const positionKey = (producer: string, topic: string) => encodeKey('logpos', producer, topic);

export class LogConsumer<R> {
  private running = false;
  private loop: Promise<void> | undefined;
  private abort = new AbortController();
  private position = 0;
  /** Offsets committed, with the database write that committed them, not yet known synced. */
  private readonly unsynced: { offset: number; seq: number }[] = [];
  private durable = 0;
  private readonly key: string;
  /** `caughtUp` calls waiting for an offset to be applied. */
  private readonly reached = new Set<{ offset: number; done: () => void }>();

  constructor(private readonly opts: ConsumerOptions<R>) {
    this.key = positionKey(opts.topic.producer, opts.topic.name);
  }

  /** Last offset applied. */
  get offset(): number {
    return this.position;
  }

  async start(): Promise<void> {
    this.position = (await this.opts.db.get<number>(this.key)) ?? 0;
    this.durable = this.position;
    this.unsynced.length = 0;
    // A fresh controller: the one stop() aborted would cancel every call of this run at once.
    this.abort = new AbortController();
    this.running = true;
    this.loop = this.run();
  }

  private durableOffset(): number {
    const synced = this.opts.db.lastSyncedSeq;
    while (this.unsynced.length > 0 && this.unsynced[0]!.seq <= synced) this.durable = this.unsynced.shift()!.offset;
    return this.durable;
  }

  private async run(): Promise<void> {
    const { topic, name, reader, logger } = this.opts;
    const waitMs = this.opts.waitMs ?? 20_000;
    let failures = 0;
    let registered = false;
    while (this.running) {
      try {
        if (!registered) {
          await reader.register({ topic: topic.name, consumer: name }, { signal: this.abort.signal });
          registered = true;
        }
        const from = this.position + 1;
        const { records, through } = await reader.read(
          {
            topic: topic.name,
            consumer: name,
            from,
            limit: this.opts.batchSize ?? 100,
            waitMs,
            durable: this.durableOffset(),
            ...(this.opts.kinds ? { kinds: this.opts.kinds } : {}),
          },
          { signal: this.abort.signal, timeoutMs: waitMs + 10_000 },
        );
        if (!this.running) break;
        const batch = records as LogRecord<R>[];
        // Read up to here: the last record, or past records of other kinds.
        const last = Math.max(batch[batch.length - 1]?.offset ?? 0, through ?? 0);
        if (last < from) continue;
        // With kinds the producer passes over records, so a later first offset is no sign of a gap.
        if (through === undefined && batch[0]!.offset !== from) {
          logger?.warn({ topic: topic.name, expected: from, got: batch[0]!.offset }, 'log offsets skipped: records were pruned before this consumer read them, never committed, or the producer restarted uncleanly');
        }
        const ops = batch.length > 0 ? await this.opts.handle(batch) : [];
        await this.opts.db.write([...ops, { type: 'put', key: this.key, value: last }]);
        this.position = last;
        this.unsynced.push({ offset: last, seq: this.opts.db.lastCommittedSeq });
        failures = 0;
        if (batch.length > 0) this.opts.afterCommit?.(batch);
        for (const w of this.reached) if (w.offset <= last) w.done();
        if (this.opts.pauseMs) await this.pause(this.opts.pauseMs);
      } catch (e) {
        if (!this.running) break;
        failures++;
        const delay = Math.min(100 * 2 ** Math.min(failures, 6), 5000);
        logger?.warn({ err: e, topic: topic.name, consumer: name, retryInMs: delay }, 'log consumer failed; retrying');
        await this.pause(delay);
      }
    }
  }

  /**
   * Resolves true once this consumer has applied (and handed to
   * `afterCommit`) everything the producer had committed when it was called:
   * a reader that must see what was just acknowledged elsewhere (a client
   * that sends, then reads) waits on it. False after `timeoutMs`, or when
   * the producer cannot be asked: the caller goes on with what it has.
   */
  async caughtUp(timeoutMs: number): Promise<boolean> {
    let committed: number;
    try {
      ({ committed } = await this.opts.reader.head({ topic: this.opts.topic.name }, { timeoutMs }));
    } catch {
      return false;
    }
    if (this.position >= committed) return true;
    return new Promise<boolean>((resolve) => {
      const w = {
        offset: committed,
        done: () => {
          clearTimeout(timer);
          this.reached.delete(w);
          resolve(this.position >= committed);
        },
      };
      const timer = setTimeout(w.done, timeoutMs);
      this.reached.add(w);
    });
  }

  /** Waits, or less if the consumer stops meanwhile. */
  private pause(ms: number): Promise<void> {
    return sleep(ms, undefined, { signal: this.abort.signal }).catch(() => undefined);
  }

  /** Stops reading; a batch being handled is finished (or abandoned uncommitted) first. */
  async stop(): Promise<void> {
    this.running = false;
    this.abort.abort();
    await this.loop;
  }
}
