/**
 * The EDUServer's output log: typing, receipts, presence and send-to-device
 * messages. Each record is written in the same batch as the state change it
 * describes and carries everything a consumer needs without calling back:
 * the SyncAPI builds `m.typing`, `m.receipt`, `m.presence` and `to_device`
 * from it, and the FederationSender (later) the matching EDUs.
 */
import { defineTopic } from '../../platform/log/topic.js';

/**
 * A user started, refreshed or stopped typing in a room (or their timeout
 * ran out: the EDUServer expires it by itself and writes `typing: false`).
 * A refresh repeats the record with a later `expires_at` and the same
 * `user_ids`: consumers that only show the list may skip unchanged ones.
 */
export interface TypingRecord {
  room_id: string;
  user_id: string;
  typing: boolean;
  /** Epoch ms when the typing notification runs out; only when `typing`. */
  expires_at?: number;
  /** Everyone typing in the room after this change, in a stable order: the content of `m.typing`. */
  user_ids: string[];
}

export type ReceiptType = 'm.read' | 'm.read.private';

/**
 * A user's receipt moved to an event. One receipt exists per (room, user,
 * receipt_type, thread_id or none): a record replaces the previous one of
 * the same tuple. `m.read.private` receipts go only to their owner and
 * never over federation.
 */
export interface ReceiptRecord {
  room_id: string;
  user_id: string;
  receipt_type: ReceiptType;
  event_id: string;
  /** Absent for an unthreaded receipt; `main` or a thread root's event id otherwise. */
  thread_id?: string;
  /** Epoch ms the server received it (the `ts` of the receipt). */
  ts: number;
}

export type PresenceState = 'online' | 'unavailable' | 'offline';

/**
 * A user's presence changed: state, status message or whether they are
 * currently active. Not written for every activity bump: while
 * `currently_active` holds, clients take the user as active (spec,
 * "Last active ago"), so `last_active_ts` is exact when a record is written
 * and consumers compute `last_active_ago` as now − `last_active_ts`.
 * Nothing is written while presence is turned off in the configuration.
 */
export interface PresenceRecord {
  user_id: string;
  presence: PresenceState;
  /** null: no status message (cleared). */
  status_msg: string | null;
  /** Epoch ms of the user's last pro-active action; 0 when never seen. */
  last_active_ts: number;
  currently_active: boolean;
}

/**
 * One send-to-device message for one device. A request to `*` of a local
 * user becomes one record per device the user had when it was sent; for a
 * remote user the device id stays as the client gave it (`*` included) for
 * the FederationSender. Records of one request share `message_id` and are
 * written in one batch, in the order of the request. The log keeps them
 * until the SyncAPI has taken them into its own store.
 */
export interface SendToDeviceRecord {
  sender: string;
  /** The sender's device (the `sender_device` of some to-device protocols; not shown to the recipient by the spec). */
  sender_device: string;
  type: string;
  content: Record<string, unknown>;
  user_id: string;
  device_id: string;
  /** Unique per request (and so per transaction): the `message_id` of the federation EDU. */
  message_id: string;
}

export const typingEvents = defineTopic<TypingRecord>('eduserver', 'typing');
export const receiptEvents = defineTopic<ReceiptRecord>('eduserver', 'receipts');
export const presenceEvents = defineTopic<PresenceRecord>('eduserver', 'presence');
export const sendToDeviceEvents = defineTopic<SendToDeviceRecord>('eduserver', 'send_to_device');
