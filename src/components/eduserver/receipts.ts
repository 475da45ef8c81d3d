/**
 * Read receipts: one per (room, user, receipt type, thread or none), moved
 * by the client. A receipt is checked first (the event is in the room, and
 * in the thread it names) and written after, so a request with several
 * receipts (read markers) changes all or none. Writes are durable: receipts
 * clear notification counts, and a lost one would bring them back.
 */
import { MatrixError } from '../../core/errors.js';
import { isValidEventId } from '../../core/identifiers.js';
import { MAIN_THREAD, threadOf } from '../../core/push/thread.js';
import type { Client } from '../../platform/ipc/directory.js';
import type { LogProducer } from '../../platform/log/producer.js';
import type { Database } from '../../platform/storage/database.js';
import { decodeKey, prefixRange } from '../../platform/storage/keys.js';
import type { RoomEvent, RoomserverAPI } from '../roomserver/api.js';
import type { Receipt } from './api.js';
import { KeyedQueue } from '../../platform/storage/keyed-queue.js';
import { keys, put, type StoredReceipt } from './storage.js';
import { receiptEvents, type ReceiptType } from './topics.js';

/** A receipt that passed its checks, ready to be written. */
export interface CheckedReceipt {
  room_id: string;
  user_id: string;
  receipt_type: ReceiptType;
  event_id: string;
  thread_id?: string;
  depth: number;
}

export class Receipts {
  private readonly queue = new KeyedQueue();

  constructor(
    private readonly db: Database,
    private readonly producer: LogProducer,
    private readonly roomserver: Client<RoomserverAPI>,
    private readonly now: () => number,
  ) {}

  /** The event, when it is in the room; 404 otherwise (an event of another room looks unknown). */
  async eventInRoom(roomId: string, eventId: string): Promise<RoomEvent> {
    const [event] = (await this.roomserver.queryEvents({ event_ids: [eventId] })).events;
    if (!event || event.room_id !== roomId) throw new MatrixError(404, 'M_NOT_FOUND', `Event ${eventId} not found in ${roomId}`);
    return event;
  }

  /** Checks a receipt of a joined member (the caller checked membership). */
  async check(roomId: string, userId: string, type: ReceiptType, eventId: string, threadId: string | undefined): Promise<CheckedReceipt> {
    if (threadId !== undefined) {
      if (threadId === '') throw new MatrixError(400, 'M_INVALID_PARAM', 'thread_id must be a non-empty string');
      if (threadId !== MAIN_THREAD && !isValidEventId(threadId)) throw new MatrixError(400, 'M_INVALID_PARAM', 'thread_id must be "main" or an event id');
    }
    const event = await this.eventInRoom(roomId, eventId);
    if (threadId !== undefined) {
      const thread = await threadOf(event.pdu, async (id) => (await this.roomserver.queryEvents({ event_ids: [id] })).events[0]?.pdu);
      // A thread's root, in the main timeline, may carry its own thread's receipt (clients send one when the
      // thread has nothing else yet); an event in a thread can never be a root.
      const ownRoot = threadId === eventId && thread === MAIN_THREAD;
      if (thread !== threadId && !ownRoot) throw new MatrixError(400, 'M_INVALID_PARAM', `Event ${eventId} is not in thread ${threadId}`);
    }
    return { room_id: roomId, user_id: userId, receipt_type: type, event_id: eventId, ...(threadId !== undefined ? { thread_id: threadId } : {}), depth: event.pdu.depth };
  }

  /**
   * Writes checked receipts, each unless it would move its receipt back to
   * an older event (or leave it where it is). All records go in one batch.
   */
  async write(receipts: CheckedReceipt[]): Promise<void> {
    if (receipts.length === 0) return;
    const lockKey = `${receipts[0]!.room_id}\0${receipts[0]!.user_id}`;
    await this.queue.run(lockKey, async () => {
      const ts = this.now();
      const stateOps = [];
      const records = [];
      for (const r of receipts) {
        const key = keys.receipt(r.room_id, r.user_id, r.receipt_type, r.thread_id ?? '');
        const current = await this.db.get<StoredReceipt>(key);
        if (current && (current.event_id === r.event_id || current.depth > r.depth)) continue;
        stateOps.push(put(key, { event_id: r.event_id, ts, depth: r.depth } satisfies StoredReceipt));
        records.push({
          topic: receiptEvents,
          record: { room_id: r.room_id, user_id: r.user_id, receipt_type: r.receipt_type, event_id: r.event_id, ...(r.thread_id !== undefined ? { thread_id: r.thread_id } : {}), ts },
        });
      }
      if (records.length > 0) await this.producer.write(stateOps, records, { durable: true });
    });
  }

  /** A room's receipts; private ones only of `viewer`. */
  async query(roomId: string, viewer: string | undefined, userIds: string[] | undefined): Promise<Receipt[]> {
    const only = userIds ? new Set(userIds) : undefined;
    const out: Receipt[] = [];
    for (const [k, v] of await this.db.entries<StoredReceipt>(prefixRange('rcpt', roomId))) {
      const [, , userId, type, thread] = decodeKey(k) as [string, string, string, ReceiptType, string];
      if (only && !only.has(userId)) continue;
      if (type === 'm.read.private' && userId !== viewer) continue;
      out.push({ room_id: roomId, user_id: userId, receipt_type: type, event_id: v.event_id, ...(thread !== '' ? { thread_id: thread } : {}), ts: v.ts });
    }
    return out;
  }
}
