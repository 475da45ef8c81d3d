/**
 * The SyncAPI's own database: every view /sync and the history endpoints
 * read, derived from the logs it consumes (so its writes need not be
 * durable). Every stored item carries its stream position: one counter
 * shared by all consumers (positions.ts).
 */
import type { JsonObject } from '../../core/canonical-json.js';
import type { PDU } from '../../core/events/pdu.js';
import type { WriteOp } from '../../platform/storage/database.js';
import { encodeKey, prefixRange } from '../../platform/storage/keys.js';

/** An event as the SyncAPI keeps it. */
export interface EventRecord {
  event_id: string;
  room_id: string;
  room_version: string;
  /** Stream position; 0 for an event kept only as state (never in a timeline). */
  pos: number;
  /** Already redacted when `redacted_because` is set. */
  pdu: PDU;
  redacted_because?: { event_id: string; pdu: PDU };
  /** The sending device's transaction, for `unsigned.transaction_id`. */
  txn?: { user_id: string; device_id: string; txn_id: string };
  /** For a state event: the state entry it replaced (`unsigned.prev_content`, `replaces_state`). */
  prev?: { event_id: string; content: JsonObject; sender: string };
}

/** A current-state entry. */
export interface StateEntry {
  event_id: string;
  pos: number;
  /** m.room.member only. */
  membership?: string;
}

/** A change of one state key at a position: the event ids after (n) and before (o). */
export interface StateDelta {
  n?: string;
  o?: string;
}

/** A membership change of a local user. */
export interface MembershipRecord {
  membership: string;
  event_id: string;
}

/** A pending invite or knock of a local user: what the invite/knock sections show. */
export interface StrippedRecord {
  pos: number;
  event_id: string;
  /** Stripped state events, the user's own membership event included. */
  state: JsonObject[];
}

export interface AccountDataRecord {
  pos: number;
  content: JsonObject;
}

/** A relation of a child event to its parent (`m.relates_to` with a `rel_type`). */
export interface RelationRecord {
  event_id: string;
  rel_type: string;
  type: string;
  sender: string;
}

export const keys = {
  /** Highest position a consumer had allocated when its last batch committed. */
  positionOf: (consumer: string) => encodeKey('meta', 'pos', consumer),
  positionsRange: () => prefixRange('meta', 'pos'),
  /** Durable lower bound for positions after an unclean stop. */
  floor: () => encodeKey('meta', 'floor'),
  cleanStop: () => encodeKey('meta', 'clean_stop'),

  room: (roomId: string) => encodeKey('room', roomId),
  rooms: () => prefixRange('room'),
  event: (eventId: string) => encodeKey('ev', eventId),
  timeline: (roomId: string, pos: number) => encodeKey('tl', roomId, pos),
  timelineRange: (roomId: string) => prefixRange('tl', roomId),
  state: (roomId: string, type: string, stateKey: string) => encodeKey('cs', roomId, type, stateKey),
  stateRange: (roomId: string) => prefixRange('cs', roomId),
  stateTypeRange: (roomId: string, type: string) => prefixRange('cs', roomId, type),
  allState: () => prefixRange('cs'),
  delta: (roomId: string, pos: number, type: string, stateKey: string) => encodeKey('sd', roomId, pos, type, stateKey),
  deltaRange: (roomId: string) => prefixRange('sd', roomId),
  deltaPos: (roomId: string, pos: number) => encodeKey('sd', roomId, pos),
  /** History visibility changes: ('hv', room, pos) → visibility. */
  visibility: (roomId: string, pos: number) => encodeKey('hv', roomId, pos),
  allVisibility: () => prefixRange('hv'),
  /** Local users' membership histories. */
  membership: (userId: string, roomId: string, pos: number) => encodeKey('mh', userId, roomId, pos),
  allMemberships: () => prefixRange('mh'),
  stripped: (userId: string, roomId: string) => encodeKey('inv', userId, roomId),
  accountData: (userId: string, roomId: string, type: string) => encodeKey('ad', userId, roomId, type),
  accountDataOf: (userId: string) => prefixRange('ad', userId),
  allAccountData: () => prefixRange('ad'),
  relation: (roomId: string, parent: string, pos: number) => encodeKey('rel', roomId, parent, pos),
  relationsOf: (roomId: string, parent: string) => prefixRange('rel', roomId, parent),
  /** Thread roots by their latest activity: ('thl', room, latest pos) → root id. */
  threadByLatest: (roomId: string, pos: number) => encodeKey('thl', roomId, pos),
  threadsRange: (roomId: string) => prefixRange('thl', roomId),
  /** A thread's summary: ('th', room, root) → ThreadRecord. */
  thread: (roomId: string, root: string) => encodeKey('th', roomId, root),
  /** Device-list changes: ('dl', pos) → DeviceListRecord. */
  deviceList: (pos: number) => encodeKey('dl', pos),
  deviceLists: () => prefixRange('dl'),
  toDevice: (userId: string, deviceId: string, pos: number) => encodeKey('td', userId, deviceId, pos),
  toDeviceOf: (userId: string, deviceId: string) => prefixRange('td', userId, deviceId),
  allToDevice: () => prefixRange('td'),
  receipt: (roomId: string, type: string, userId: string, threadId: string) => encodeKey('rc', roomId, type, userId, threadId),
  receiptsOf: (roomId: string) => prefixRange('rc', roomId),
  allReceipts: () => prefixRange('rc'),
  typing: (roomId: string) => encodeKey('ty', roomId),
  allTyping: () => prefixRange('ty'),
  presence: (userId: string) => encodeKey('pr', userId),
  allPresence: () => prefixRange('pr'),
  /** A notification's second record until 2026-11-27, read for its actions only (notification-records.ts). */
  notification: (userId: string, pos: number) => encodeKey('nt', userId, pos),
  /** The position each pusher was last sent up to: ('pp', user, app id, pushkey) → position. */
  pushed: (userId: string, appId: string, pushkey: string) => encodeKey('pp', userId, appId, pushkey),
  pushedRange: () => prefixRange('pp'),
  /** Users whose accounts were deactivated with erasure: ('er', user) → true. */
  erased: (userId: string) => encodeKey('er', userId),
  allErased: () => prefixRange('er'),
};

export interface RoomRecord {
  room_version: string;
}

export interface ThreadRecord {
  latest_pos: number;
  latest_event_id: string;
  count: number;
  participants: string[];
}

export interface ReceiptRecord {
  pos: number;
  event_id: string;
  ts: number;
  /** Stream position of the event the receipt is at (what notification counts compare with). */
  event_pos: number;
}

/** Whose keys changed; `only_for`: only this user may learn of it (their own user-signing signature). */
export interface DeviceListRecord {
  user_id: string;
  only_for?: string;
}

export interface PresenceRecord {
  pos: number;
  presence: string;
  status_msg?: string;
  last_active_ts?: number;
  currently_active?: boolean;
}

export interface ToDeviceRecord {
  sender: string;
  type: string;
  content: JsonObject;
}

/**
 * A notification's second record, as written until 2026-11-27: ('nt',
 * user, pos). Earlier records also hold `room_id`, `ts`, `thread_id` and
 * `highlight: false`. Only the actions are read now; notifications are
 * one record each since (notification-records.ts).
 */
export interface NotificationRecord {
  event_id: string;
  actions: unknown[];
  /** Set only when true. */
  highlight?: boolean;
}

export const put = (key: string, value: unknown): WriteOp => ({ type: 'put', key, value });
export const del = (key: string): WriteOp => ({ type: 'del', key });
