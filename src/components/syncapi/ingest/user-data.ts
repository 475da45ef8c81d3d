/**
 * Applies the UserAPI's and KeyServer's logs: account data (global and per
 * room, push rules included), deleted devices (their to-device messages go
 * too), erased accounts and key changes (device lists).
 */
import type { Database } from '../../../platform/storage/database.js';
import type { LogRecord } from '../../../platform/log/topic.js';
import type { KeyChange } from '../../keyserver/topics.js';
import type { AccountDataChange, DeviceChange, UserChange } from '../../userapi/topics.js';
import { keys, type AccountDataRecord, type DeviceListRecord } from '../storage.js';
import { applyUserConfig, type SyncViews } from '../views.js';
import type { Tx } from './tx.js';

export async function applyAccountData(views: SyncViews, batch: LogRecord<AccountDataChange>[], tx: Tx, onPushRules: (userId: string) => void): Promise<void> {
  for (const { record } of batch) {
    const pos = tx.alloc();
    const { user_id: userId, type, content } = record;
    tx.put(keys.accountData(userId, record.room_id ?? '', type), { pos, content: content as AccountDataRecord['content'] } satisfies AccountDataRecord);
    tx.after(() => {
      const u = views.user(userId);
      if (pos > u.accountDataPos) u.accountDataPos = pos;
      if (record.room_id === undefined) applyUserConfig(u, type, content);
      if (type === 'm.push_rules') onPushRules(userId);
    });
    tx.wake(pos, () => [userId]);
  }
}

/** Local users who share a room with `userId` now (and the user). */
export function usersSharingRoomWith(views: SyncViews, userId: string): Set<string> {
  const out = new Set<string>([userId]);
  for (const roomId of views.users.get(userId)?.rooms ?? []) {
    const room = views.room(roomId);
    const hist = room?.local.get(userId);
    if (!room) continue;
    const m = hist?.[hist.length - 1]?.membership;
    if (m !== 'join') continue;
    for (const u of room.audience()) out.add(u);
  }
  return out;
}

/** A deleted device's pending to-device messages go with it (and its pushers: `pushersChanged`). */
export async function applyDeviceChanges(db: Database, views: SyncViews, batch: LogRecord<DeviceChange>[], tx: Tx, pushersChanged: (userId: string) => void): Promise<void> {
  for (const { record } of batch) {
    if (record.change !== 'deleted') continue;
    for (const k of await db.keys(keys.toDeviceOf(record.user_id, record.device_id))) tx.del(k);
    tx.after(() => {
      const u = views.users.get(record.user_id);
      u?.toDevice.delete(record.device_id);
      u?.toDeviceLowest.delete(record.device_id);
      pushersChanged(record.user_id);
    });
  }
}

/**
 * Pushers that changed (or went with a deactivated account) are read again
 * when next needed. An account deactivated with erasure is remembered, so
 * that its events are served redacted from now on to users who were not in
 * the room when they were sent; nothing is woken: no client's view changes
 * until it asks again.
 */
export function applyUserChanges(views: SyncViews, batch: LogRecord<UserChange>[], tx: Tx, pushersChanged: (userId: string) => void): void {
  for (const { record } of batch) {
    if (record.kind === 'pushers' || record.kind === 'deactivated') tx.after(() => pushersChanged(record.user_id));
    if (record.kind !== 'deactivated' || record.erased !== true) continue;
    tx.put(keys.erased(record.user_id), true);
    tx.after(() => views.erased.add(record.user_id));
  }
}

/**
 * The KeyServer's key changes: the user's device list changed for everyone
 * sharing a room with them, or (`only_for`) for one user only.
 */
export async function applyKeyChanges(views: SyncViews, batch: LogRecord<KeyChange>[], tx: Tx): Promise<void> {
  for (const { record } of batch) {
    const pos = tx.alloc();
    const onlyFor = record.kind === 'device' ? undefined : record.only_for;
    tx.put(keys.deviceList(pos), { user_id: record.user_id, ...(onlyFor !== undefined ? { only_for: onlyFor } : {}) } satisfies DeviceListRecord);
    tx.after(() => {
      if (pos > views.deviceListPos) views.deviceListPos = pos;
    });
    tx.wake(pos, () => (onlyFor !== undefined ? [onlyFor] : usersSharingRoomWith(views, record.user_id)));
  }
}
