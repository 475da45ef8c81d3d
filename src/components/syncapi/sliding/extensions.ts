/**
 * Sliding sync extensions: to_device (its own `since`/`next_batch`; what a
 * `since` acknowledges is deleted, as v2 sync does), e2ee (device lists
 * since the connection's previous answer, one-time key counts, unused
 * fallback key types), account_data (global, and per room for the rooms
 * in the answer's lists and subscriptions), receipts and typing (for those
 * rooms, when joined). A room sent whole (`initial`) gets all its account
 * data and receipts; other rooms what changed since the previous answer.
 */
import type { JsonObject } from '../../../core/canonical-json.js';
import { decodeKey } from '../../../platform/storage/keys.js';
import type { SyncDeps } from '../deps.js';
import type { Viewer } from '../format.js';
import type { SyncEngine } from '../sync/engine.js';
import { keys, type AccountDataRecord, type ReceiptRecord, type ToDeviceRecord } from '../storage.js';
import type { RoomView } from '../views.js';
import type { ExtensionName, ExtensionRequest } from './request.js';

const TO_DEVICE_DEFAULT = 100;
const TO_DEVICE_MAX = 1000;

export interface ExtensionInput {
  viewer: Viewer;
  w: number;
  /** The stream position of the connection's previous answer. */
  from: number | undefined;
  config: ReadonlyMap<ExtensionName, ExtensionRequest>;
  /** The to-device position the connection last handed out. */
  toDeviceFrom: number | undefined;
  /** Joined rooms in the answer's lists and subscriptions, and whether each was sent whole. */
  rooms: Map<string, { room: RoomView; initial: boolean }>;
}

export interface ExtensionOutput {
  body: JsonObject;
  /** Anything a long-poll should answer for. */
  nonEmpty: boolean;
  toDevice: number | undefined;
}

export async function extensions(deps: SyncDeps, v2: SyncEngine, inp: ExtensionInput): Promise<ExtensionOutput> {
  const on = (n: ExtensionName) => inp.config.get(n)?.enabled === true;
  const body: JsonObject = {};
  let nonEmpty = false;
  let toDevice = inp.toDeviceFrom;
  const userId = inp.viewer.user_id;

  if (on('to_device')) {
    const cfg = inp.config.get('to_device')!;
    const given = cfg.since !== undefined && /^\d{1,15}$/.test(cfg.since) ? Number(cfg.since) : undefined;
    const since = Math.min(given ?? inp.toDeviceFrom ?? 0, inp.w);
    const limit = Math.min(cfg.limit ?? TO_DEVICE_DEFAULT, TO_DEVICE_MAX);
    const r = await toDeviceMessages(deps, inp.viewer, since, inp.w, limit);
    body.to_device = { next_batch: String(r.next), events: r.events };
    toDevice = r.next;
    if (r.events.length > 0) nonEmpty = true;
  }

  if (on('e2ee')) {
    const e2ee: JsonObject = {};
    let counts: Awaited<ReturnType<NonNullable<SyncDeps['keyCounts']>>>;
    try {
      counts = await deps.keyCounts?.(userId, inp.viewer.device_id);
    } catch {
      counts = undefined;
    }
    e2ee.device_one_time_keys_count = counts?.one_time_key_counts ?? {};
    e2ee.device_unused_fallback_key_types = counts?.unused_fallback_key_types ?? [];
    if (inp.from !== undefined) {
      const dl = (await v2.keyChanges(userId, inp.from, inp.w)) as { changed: string[]; left: string[] };
      e2ee.device_lists = dl;
      if (dl.changed.length > 0 || dl.left.length > 0) nonEmpty = true;
    } else e2ee.device_lists = { changed: [], left: [] };
    body.e2ee = e2ee;
  }

  if (on('account_data')) {
    const ad = await accountData(deps, userId, inp);
    if (ad.global.length > 0 || Object.keys(ad.rooms).length > 0) {
      body.account_data = ad as unknown as JsonObject;
      nonEmpty = true;
    }
  }

  if (on('receipts')) {
    const rooms: JsonObject = {};
    for (const [roomId, { room, initial }] of inp.rooms) {
      const since = initial ? undefined : inp.from;
      if (since !== undefined && room.receiptsPos <= since && (room.privateReceipts.get(userId) ?? 0) <= since) continue;
      const r = await receipts(deps, userId, room, since, inp.w);
      if (r) rooms[roomId] = r;
    }
    if (Object.keys(rooms).length > 0) {
      body.receipts = { rooms };
      nonEmpty = true;
    }
  }

  if (on('typing')) {
    const rooms: JsonObject = {};
    for (const [roomId, { room, initial }] of inp.rooms) {
      const since = initial ? undefined : inp.from;
      const changed = since === undefined ? room.typing.users.length > 0 : room.typing.pos > since;
      if (changed && room.typing.pos <= inp.w) rooms[roomId] = { type: 'm.typing', content: { user_ids: room.typing.users } };
    }
    if (Object.keys(rooms).length > 0) {
      body.typing = { rooms };
      nonEmpty = true;
    }
  }
  return { body, nonEmpty, toDevice };
}

/**
 * The device's to-device messages after `since` (those up to `since` were
 * acknowledged and are deleted); `next` is where the next request starts.
 */
async function toDeviceMessages(deps: SyncDeps, viewer: Viewer, since: number, w: number, limit: number): Promise<{ events: JsonObject[]; next: number }> {
  const { db } = deps;
  const user = deps.views.users.get(viewer.user_id);
  const lowest = user?.toDeviceLowest.get(viewer.device_id);
  if (since > 0 && lowest !== undefined && lowest <= since) {
    const acked = await db.keys({ gt: keys.toDevice(viewer.user_id, viewer.device_id, 0), lte: keys.toDevice(viewer.user_id, viewer.device_id, since) });
    if (acked.length > 0) await db.write(acked.map((key) => ({ type: 'del' as const, key })));
    user!.toDeviceLowest.set(viewer.device_id, since + 1);
  }
  const latest = user?.toDevice.get(viewer.device_id) ?? 0;
  if (latest <= since || limit === 0) return { events: [], next: Math.max(since, limit === 0 ? since : w) };
  const rows = await db.entries<ToDeviceRecord>({ gt: keys.toDevice(viewer.user_id, viewer.device_id, since), lte: keys.toDevice(viewer.user_id, viewer.device_id, w), limit: limit + 1 });
  const events = rows.slice(0, limit).map(([, r]) => ({ sender: r.sender, type: r.type, content: r.content }));
  if (rows.length > limit) return { events, next: Number(decodeKey(rows[limit - 1]![0])[3]) };
  return { events, next: w };
}

async function accountData(deps: SyncDeps, userId: string, inp: ExtensionInput): Promise<{ global: JsonObject[]; rooms: Record<string, JsonObject[]> }> {
  const out = { global: [] as JsonObject[], rooms: {} as Record<string, JsonObject[]> };
  const user = deps.views.users.get(userId);
  const anyInitial = [...inp.rooms.values()].some((r) => r.initial);
  if (inp.from !== undefined && !anyInitial && (!user || user.accountDataPos <= inp.from)) return out;
  for (const [k, rec] of await deps.db.entries<AccountDataRecord>(keys.accountDataOf(userId))) {
    if (rec.pos > inp.w) continue;
    const [, , roomId, type] = decodeKey(k) as [string, string, string, string];
    const ev = { type, content: rec.content };
    if (roomId === '') {
      if (inp.from === undefined || rec.pos > inp.from) out.global.push(ev);
      continue;
    }
    const r = inp.rooms.get(roomId);
    if (!r || (!r.initial && inp.from !== undefined && rec.pos <= inp.from)) continue;
    (out.rooms[roomId] ??= []).push(ev);
  }
  if (inp.from === undefined && !out.global.some((e) => e.type === 'm.push_rules')) {
    // Push rules never changed are the server's defaults, which only the UserAPI knows.
    try {
      const rules = await deps.userapi().queryAccountData({ user_id: userId, type: 'm.push_rules' }, { timeoutMs: 5000 });
      if (rules) out.global.push({ type: 'm.push_rules', content: rules.content as JsonObject });
    } catch {
      // The client reads them from /pushrules instead.
    }
  }
  return out;
}

/** One m.receipt event with the receipts changed in (since, w] (all of them without `since`); private ones only their owner's. */
async function receipts(deps: SyncDeps, userId: string, room: RoomView, since: number | undefined, w: number): Promise<JsonObject | undefined> {
  const content: Record<string, Record<string, Record<string, JsonObject>>> = {};
  let any = false;
  for (const [k, r] of await deps.db.entries<ReceiptRecord>(keys.receiptsOf(room.id))) {
    if (r.pos > w || (since !== undefined && r.pos <= since)) continue;
    const [, , type, user, threadId] = decodeKey(k) as [string, string, string, string, string];
    if (type === 'm.read.private' && user !== userId) continue;
    ((content[r.event_id] ??= {})[type] ??= {})[user] = { ts: r.ts, ...(threadId !== '' ? { thread_id: threadId } : {}) };
    any = true;
  }
  return any ? { type: 'm.receipt', content: content as unknown as JsonObject } : undefined;
}
