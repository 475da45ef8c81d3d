/**
 * Applies the UserAPI's logs: account data (global and per room, push rules
 * included) and device changes. A device that appears or goes changes its
 * user's device list for everyone sharing a room with them; a deleted
 * device's pending to-device messages go with it.
 */
import type { Database } from '../../../platform/storage/database.js';
import type { LogRecord } from '../../../platform/log/topic.js';
import type { AccountDataChange, DeviceChange } from '../../userapi/topics.js';
import { keys, type AccountDataRecord } from '../storage.js';
import { ignoredUsers, type SyncViews } from '../views.js';
import type { Tx } from './tx.js';

export async function applyAccountData(views: SyncViews, batch: LogRecord<AccountDataChange>[], tx: Tx, onPushRules: (userId: string) => void): Promise<void> {
  for (const { record } of batch) {
    const pos = tx.alloc();
    const { user_id: userId, type, content } = record;
    tx.put(keys.accountData(userId, record.room_id ?? '', type), { pos, content: content as AccountDataRecord['content'] } satisfies AccountDataRecord);
    tx.after(() => {
      const u = views.user(userId);
      if (pos > u.accountDataPos) u.accountDataPos = pos;
      if (type === 'm.ignored_user_list' && record.room_id === undefined) u.ignored = ignoredUsers(content);
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

export async function applyDeviceChanges(db: Database, views: SyncViews, batch: LogRecord<DeviceChange>[], tx: Tx): Promise<void> {
  for (const { record } of batch) {
    const pos = tx.alloc();
    tx.put(keys.deviceList(pos), record.user_id);
    if (record.change === 'deleted') {
      for (const k of await db.keys(keys.toDeviceOf(record.user_id, record.device_id))) tx.del(k);
      tx.after(() => {
        const u = views.users.get(record.user_id);
        u?.toDevice.delete(record.device_id);
        u?.toDeviceLowest.delete(record.device_id);
      });
    }
    tx.after(() => {
      if (pos > views.deviceListPos) views.deviceListPos = pos;
    });
    tx.wake(pos, () => usersSharingRoomWith(views, record.user_id));
  }
}
