/**
 * How consumers read a producer's topics: the producer's component serves
 * this API (namespace `log`) in whichever process it runs.
 */
import type { ComponentName } from '../config/components.js';
import { defineApi, type ApiDescriptor, type CallContext } from '../ipc/define.js';
import type { LogRecord } from './topic.js';

export interface ReadRequest {
  topic: string;
  consumer: string;
  /** First offset wanted. */
  from: number;
  limit: number;
  /** How long to wait for a record when there is none yet (long-poll). */
  waitMs: number;
  /** Highest offset the consumer has applied and synced: the producer may prune up to it. */
  durable: number;
  /** Only records of these kinds (the topic's `kindOf`); ignored for a topic without kinds. */
  kinds?: string[];
}

export interface ReadResponse {
  records: LogRecord<unknown>[];
  /**
   * With `kinds`: the last offset read, the records passed over included.
   * The reader goes on after it (and may report it durable) even when no
   * record was of its kinds.
   */
  through?: number;
}

export interface LogReaderAPI {
  read(req: ReadRequest, ctx?: CallContext): Promise<ReadResponse>;
  /** Records a consumer so that nothing it has not read is pruned. */
  register(req: { topic: string; consumer: string }, ctx?: CallContext): Promise<void>;
  /** The topic's last committed offset: a reader that has applied it has seen every write acknowledged so far. */
  head(req: { topic: string }, ctx?: CallContext): Promise<{ committed: number }>;
}

/** The maintenance job's view of a producer's log (namespace `logadmin`). */
export interface LogAdminAPI {
  /** Prunes now what every registered consumer has read (producers also prune by themselves, every minute). */
  pruneNow(req: Record<string, never>, ctx?: CallContext): Promise<{ removed: number; topics: { topic: string; last: number; pruned_through: number }[] }>;
}

const cache = new Map<ComponentName, ApiDescriptor<LogReaderAPI>>();

export function logReaderApi(producer: ComponentName): ApiDescriptor<LogReaderAPI> {
  let d = cache.get(producer);
  if (!d) {
    d = defineApi<LogReaderAPI>(producer, { read: { idempotent: true }, register: { idempotent: true }, head: { idempotent: true } }, 'log');
    cache.set(producer, d);
  }
  return d;
}

const adminCache = new Map<ComponentName, ApiDescriptor<LogAdminAPI>>();

export function logAdminApi(producer: ComponentName): ApiDescriptor<LogAdminAPI> {
  let d = adminCache.get(producer);
  if (!d) {
    d = defineApi<LogAdminAPI>(producer, { pruneNow: { idempotent: true, timeoutMs: 120_000 } }, 'logadmin');
    adminCache.set(producer, d);
  }
  return d;
}
