/**
 * EDUServerAPI: typing, receipts, read markers, presence and send-to-device
 * messages of local users. The ClientAPI calls it for the client endpoints
 * (after authenticating and validating bodies), the SyncAPI for presence
 * (`set_presence`) and for what it has not consumed from the log yet.
 * Changes reach consumers through the topics (topics.ts).
 */
import { defineApi, type CallContext } from '../../platform/ipc/define.js';
import type { PresenceState, ReceiptRecord, ReceiptType } from './topics.js';

export interface TypingRequest {
  room_id: string;
  user_id: string;
  typing: boolean;
  /** How long the user counts as typing; capped (a client cannot hold it forever), 30 s when absent. */
  timeout_ms?: number;
}

export interface ReceiptRequest {
  room_id: string;
  user_id: string;
  receipt_type: ReceiptType;
  event_id: string;
  /** `main` or a thread root's event id; absent: unthreaded. */
  thread_id?: string;
}

/** `POST /rooms/{roomId}/read_markers` (and `/receipt/m.fully_read/...`): every given marker, or none when one is refused. */
export interface ReadMarkersRequest {
  room_id: string;
  user_id: string;
  fully_read?: string;
  read?: string;
  read_private?: string;
}

/** A receipt as stored: one per (room, user, receipt_type, thread_id or none); the same shape its log record has. */
export type Receipt = ReceiptRecord;

/** Presence as clients see it (`GET /presence/{userId}/status`, the content of `m.presence`). */
export interface PresenceView {
  user_id: string;
  presence: PresenceState;
  /** ms since the last pro-active action; absent when the user was never seen. */
  last_active_ago?: number;
  status_msg?: string | null;
  currently_active?: boolean;
}

export interface SendToDeviceRequest {
  sender: string;
  sender_device: string;
  type: string;
  txn_id: string;
  /** user id → device id (or `*`) → content. */
  messages: Record<string, Record<string, Record<string, unknown>>>;
}

export interface EduServerAPI {
  /**
   * Starts, refreshes or stops a user's typing notification; it runs out by
   * itself after the timeout. 404 M_NOT_FOUND for an unknown room, 403
   * M_FORBIDDEN unless the user is joined.
   */
  setTyping(req: TypingRequest, ctx?: CallContext): Promise<void>;
  /** Who is typing in a room now. */
  queryTyping(req: { room_id: string }, ctx?: CallContext): Promise<{ user_ids: string[] }>;

  /**
   * Moves a user's receipt. 404 for an unknown room or an event not in it,
   * 403 unless joined, 400 M_INVALID_PARAM when the event is not in the
   * thread named. A receipt for an event older than the current one of the
   * same kind changes nothing.
   */
  sendReceipt(req: ReceiptRequest, ctx?: CallContext): Promise<void>;
  /** Sets the fully read marker (room account data `m.fully_read`) and receipts in one request; checks all before changing any. */
  setReadMarkers(req: ReadMarkersRequest, ctx?: CallContext): Promise<void>;
  /**
   * The receipts of a room (or of these users in it). `m.read.private`
   * receipts are included only for `viewer`, their owner.
   */
  queryReceipts(req: { room_id: string; viewer?: string; user_ids?: string[] }, ctx?: CallContext): Promise<{ receipts: Receipt[] }>;

  /**
   * Sets a local user's presence. `source: 'client'` is `PUT
   * /presence/{userId}/status`; `source: 'sync'` is the `set_presence` of a
   * `/sync` request (online unless the client says otherwise; `offline`
   * leaves the state alone), which also keeps the user from being timed out
   * as offline. Does nothing while presence is turned off.
   */
  setPresence(
    req: { user_id: string; presence: PresenceState; status_msg?: string | null; source: 'client' | 'sync' },
    ctx?: CallContext,
  ): Promise<void>;
  /**
   * A pro-active action elsewhere (the user sent an event): online and
   * currently active, as typing and receipts make them. Nothing while
   * presence is turned off.
   */
  markActive(req: { user_id: string }, ctx?: CallContext): Promise<void>;
  /**
   * The presence of these users; users never seen are offline. Empty while
   * presence is turned off (`enabled: false`).
   */
  queryPresence(req: { user_ids: string[] }, ctx?: CallContext): Promise<{ enabled: boolean; presence: PresenceView[] }>;

  /**
   * Queues send-to-device messages. The same (sender, device, type, txn id)
   * again is a retransmission: it changes nothing, also after a restart.
   * Unknown local users and devices are skipped, as the spec allows.
   */
  sendToDevice(req: SendToDeviceRequest, ctx?: CallContext): Promise<void>;
}

export const eduServerApi = defineApi<EduServerAPI>('eduserver', {
  setTyping: { idempotent: true },
  queryTyping: { idempotent: true },
  sendReceipt: { idempotent: true },
  setReadMarkers: { idempotent: true },
  queryReceipts: { idempotent: true },
  setPresence: { idempotent: true },
  markActive: { idempotent: true },
  queryPresence: { idempotent: true },
  // Idempotent by its transaction id.
  sendToDevice: { idempotent: true },
});
