/**
 * The EDUServer's key layout in its LevelDB.
 *
 *   ('typ', room_id, user_id)                       → expires_at (epoch ms)
 *   ('rcpt', room_id, user_id, receipt_type, thread) → StoredReceipt (thread '' = unthreaded)
 *   ('pres', user_id)                                → StoredPresence
 *   ('tdtxn', sender, device, type, txn_id)          → epoch ms the transaction was first seen
 *
 * plus the log of each topic (topics.ts), written with the state it describes.
 */
import type { WriteOp } from '../../platform/storage/database.js';
import { encodeKey } from '../../platform/storage/keys.js';
import type { PresenceState, ReceiptType } from './topics.js';

export interface StoredReceipt {
  event_id: string;
  ts: number;
  /** Depth of the event: a later receipt for an older event is ignored. */
  depth: number;
}

export interface StoredPresence {
  presence: PresenceState;
  status_msg: string | null;
  last_active_ts: number;
  currently_active: boolean;
}

export const keys = {
  typing: (roomId: string, userId: string) => encodeKey('typ', roomId, userId),
  receipt: (roomId: string, userId: string, type: ReceiptType, thread: string) => encodeKey('rcpt', roomId, userId, type, thread),
  presence: (userId: string) => encodeKey('pres', userId),
  toDeviceTxn: (sender: string, device: string, type: string, txnId: string) => encodeKey('tdtxn', sender, device, type, txnId),
};

export const put = (key: string, value: unknown): WriteOp => ({ type: 'put', key, value });
export const del = (key: string): WriteOp => ({ type: 'del', key });
