/**
 * What both syncs (`/sync` and sliding sync) read of a user's own streams:
 * to-device messages (acknowledged ones deleted), account data (with the
 * server's default push rules when the user never changed them) and a
 * room's receipts (private ones their owner's alone).
 */
import type { JsonObject } from '../../core/canonical-json.js';
import { decodeKey } from '../../platform/storage/keys.js';
import type { SyncDeps } from './deps.js';
import type { Viewer } from './format.js';
import { keys, type AccountDataRecord, type ReceiptRecord, type ToDeviceRecord } from './storage.js';

/**
 * The device's to-device messages in (since, to], at most `limit`; the ones
 * up to `since` were acknowledged by this request and are deleted. When more
 * wait, `stopAt` is the position of the last one carried.
 */
export async function toDeviceSince(deps: SyncDeps, viewer: Viewer, since: number | undefined, to: number, limit: number): Promise<{ events: JsonObject[]; stopAt?: number }> {
  const { db } = deps;
  const user = deps.views.users.get(viewer.user_id);
  const lowest = user?.toDeviceLowest.get(viewer.device_id);
  if (since !== undefined && lowest !== undefined && lowest <= since) {
    const acked = await db.keys({ gt: keys.toDevice(viewer.user_id, viewer.device_id, 0), lte: keys.toDevice(viewer.user_id, viewer.device_id, since) });
    // Not waited for: a deletion that fails is tried again with the next acknowledgement.
    if (acked.length > 0) void db.write(acked.map((key) => ({ type: 'del' as const, key }))).catch(() => {});
    user!.toDeviceLowest.set(viewer.device_id, since + 1);
  }
  if (limit <= 0) return { events: [], stopAt: since ?? 0 };
  // Acknowledged messages are gone even while their deletion is still on its way to the disk.
  const from = Math.max(since ?? 0, (user?.toDeviceLowest.get(viewer.device_id) ?? 1) - 1);
  const latest = user?.toDevice.get(viewer.device_id) ?? 0;
  if (latest <= from) return { events: [] };
  const rows = await db.entries<ToDeviceRecord>({
    gt: keys.toDevice(viewer.user_id, viewer.device_id, from),
    lte: keys.toDevice(viewer.user_id, viewer.device_id, to),
    limit: limit + 1,
  });
  const events = rows.slice(0, limit).map(([, r]) => ({ sender: r.sender, type: r.type, content: r.content }));
  if (rows.length > limit) return { events, stopAt: Number(decodeKey(rows[limit - 1]![0])[3]) };
  return { events };
}

export interface AccountDataItem {
  /** '' for global account data. */
  room_id: string;
  type: string;
  content: JsonObject;
  pos: number;
}

/**
 * Every account data item of the user, as it stands now. Each item is
 * stored once, at the position of its last change, so one changed after a
 * sync took its position (`to`) has no older value left to show: such an
 * item is given too (and again by the next sync, harmlessly) rather than
 * left out of an initial sync. Callers drop what `since` already had.
 */
export async function currentAccountData(deps: SyncDeps, userId: string): Promise<AccountDataItem[]> {
  const out: AccountDataItem[] = [];
  for (const [k, rec] of await deps.db.entries<AccountDataRecord>(keys.accountDataOf(userId))) {
    const [, , roomId, type] = decodeKey(k) as [string, string, string, string];
    out.push({ room_id: roomId, type, content: rec.content as JsonObject, pos: rec.pos });
  }
  return out;
}

/** Push rules the user never changed are the server's defaults, which only the UserAPI knows. */
export async function defaultPushRules(deps: SyncDeps, userId: string): Promise<JsonObject | undefined> {
  try {
    const rules = await deps.userapi().queryAccountData({ user_id: userId, type: 'm.push_rules' }, { timeoutMs: 5000 });
    return rules ? { type: 'm.push_rules', content: rules.content as JsonObject } : undefined;
  } catch {
    // The client reads them from /pushrules instead.
    return undefined;
  }
}

/**
 * One m.receipt event with the room's receipts changed after `since` (all of
 * them without it), and not after `upTo` when given (a page of /events). A
 * receipt is stored once, at its last move; one that moved after the sync
 * took its position is given as it stands (see currentAccountData), never
 * left out.
 */
export async function receiptEvent(deps: SyncDeps, viewerId: string, roomId: string, since: number | undefined, upTo = Infinity): Promise<JsonObject | undefined> {
  const content: Record<string, Record<string, Record<string, JsonObject>>> = {};
  let any = false;
  for (const [k, r] of await deps.db.entries<ReceiptRecord>(keys.receiptsOf(roomId))) {
    if ((since !== undefined && r.pos <= since) || r.pos > upTo) continue;
    const [, , type, userId, threadId] = decodeKey(k) as [string, string, string, string, string];
    // Private receipts are their owner's alone.
    if (type === 'm.read.private' && userId !== viewerId) continue;
    ((content[r.event_id] ??= {})[type] ??= {})[userId] = { ts: r.ts, ...(threadId !== '' ? { thread_id: threadId } : {}) };
    any = true;
  }
  return any ? { type: 'm.receipt', content: content as unknown as JsonObject } : undefined;
}
