/**
 * Applies the EDUServer's logs: typing (the room's current list), receipts
 * (the latest per room, type, user and thread), presence (the latest per
 * user) and send-to-device messages (queued per device until a sync
 * acknowledges them). Each change gets a stream position and wakes the
 * users who see it.
 */
import { serverNameOf } from '../../../core/identifiers.js';
import type { LogRecord } from '../../../platform/log/topic.js';
import type { PresenceRecord as PresenceLog, ReceiptRecord as ReceiptLog, SendToDeviceRecord, TypingRecord } from '../../eduserver/topics.js';
import type { EventStore } from '../events.js';
import { roomWakeKey } from '../notifier.js';
import { keys, type PresenceRecord, type ReceiptRecord, type ToDeviceRecord } from '../storage.js';
import type { SyncViews } from '../views.js';
import type { Tx } from './tx.js';
import { usersSharingRoomWith } from './user-data.js';

export interface TypingState {
  pos: number;
  users: string[];
}

export async function applyTyping(views: SyncViews, batch: LogRecord<TypingRecord>[], tx: Tx): Promise<void> {
  // The list as this batch leaves it, per room: a refresh that changes nothing gets no position.
  const lists = new Map<string, string[]>();
  for (const { record } of batch) {
    const room = views.room(record.room_id);
    if (!room) continue;
    const before = lists.get(record.room_id) ?? room.typing.users;
    const after = record.user_ids;
    if (before.length === after.length && before.every((u, i) => u === after[i])) continue;
    lists.set(record.room_id, after);
    const pos = tx.alloc();
    tx.put(keys.typing(record.room_id), { pos, users: after } satisfies TypingState);
    tx.after(() => {
      room.typing = { pos, users: after };
    });
    tx.wake(pos, () => [...room.audience(), roomWakeKey(room.id)]);
  }
}

export async function applyReceipts(views: SyncViews, events: EventStore, batch: LogRecord<ReceiptLog>[], tx: Tx, onReceipt: (userId: string, roomId: string, thread: string, eventPos: number) => void): Promise<void> {
  for (const { record } of batch) {
    const room = views.room(record.room_id);
    if (!room) continue;
    const pos = tx.alloc();
    const target = await events.get(record.event_id);
    const eventPos = target?.pos ?? 0;
    tx.put(keys.receipt(record.room_id, record.receipt_type, record.user_id, record.thread_id ?? ''), {
      pos,
      event_id: record.event_id,
      ts: record.ts,
      event_pos: eventPos,
    } satisfies ReceiptRecord);
    const isPrivate = record.receipt_type === 'm.read.private';
    tx.after(() => {
      if (isPrivate) room.privateReceipts.set(record.user_id, pos);
      else room.receiptsPos = pos;
      onReceipt(record.user_id, record.room_id, record.thread_id ?? '', eventPos);
    });
    tx.wake(pos, () => (isPrivate ? [record.user_id] : [...room.audience(), roomWakeKey(room.id)]));
  }
}

/** `onChange` hears of each user whose presence record committed. */
export async function applyPresence(views: SyncViews, batch: LogRecord<PresenceLog>[], tx: Tx, onChange: (userId: string) => void): Promise<void> {
  for (const { record } of batch) {
    const pos = tx.alloc();
    const rec: PresenceRecord = {
      pos,
      presence: record.presence,
      ...(record.status_msg !== null ? { status_msg: record.status_msg } : {}),
      ...(record.last_active_ts > 0 ? { last_active_ts: record.last_active_ts } : {}),
      currently_active: record.currently_active,
    };
    tx.put(keys.presence(record.user_id), rec);
    tx.after(() => {
      views.presence.set(record.user_id, rec);
      if (pos > views.presencePos) views.presencePos = pos;
      onChange(record.user_id);
    });
    tx.wake(pos, () => {
      const wake = usersSharingRoomWith(views, record.user_id);
      // Someone peeking at one of the user's rooms through /events sees its members' presence.
      for (const roomId of views.users.get(record.user_id)?.rooms ?? []) wake.add(roomWakeKey(roomId));
      return wake;
    });
  }
}

export async function applyToDevice(views: SyncViews, serverName: string, batch: LogRecord<SendToDeviceRecord>[], tx: Tx): Promise<void> {
  for (const { record } of batch) {
    // Messages for other servers are the FederationSender's; `*` was expanded to devices by the EDUServer.
    if (serverNameOf(record.user_id) !== serverName || record.device_id === '*') continue;
    const pos = tx.alloc();
    tx.put(keys.toDevice(record.user_id, record.device_id, pos), { sender: record.sender, type: record.type, content: record.content as ToDeviceRecord['content'] } satisfies ToDeviceRecord);
    tx.after(() => {
      const u = views.user(record.user_id);
      u.toDevice.set(record.device_id, pos);
      if (!u.toDeviceLowest.has(record.device_id)) u.toDeviceLowest.set(record.device_id, pos);
    });
    tx.wake(pos, () => [record.user_id]);
  }
}
