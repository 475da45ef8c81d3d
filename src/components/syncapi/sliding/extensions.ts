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
import type { SyncDeps } from '../deps.js';
import type { Viewer } from '../format.js';
import type { SyncEngine } from '../sync/engine.js';
import { currentAccountData, defaultPushRules, receiptEvent, toDeviceSince } from '../user-streams.js';
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
    const r = await toDeviceSince(deps, inp.viewer, since, inp.w, limit);
    const next = r.stopAt ?? inp.w;
    body.to_device = { next_batch: String(next), events: r.events };
    toDevice = next;
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
      const r = await receiptEvent(deps, userId, roomId, since);
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

async function accountData(deps: SyncDeps, userId: string, inp: ExtensionInput): Promise<{ global: JsonObject[]; rooms: Record<string, JsonObject[]> }> {
  const out = { global: [] as JsonObject[], rooms: {} as Record<string, JsonObject[]> };
  const user = deps.views.users.get(userId);
  const anyInitial = [...inp.rooms.values()].some((r) => r.initial);
  if (inp.from !== undefined && !anyInitial && (!user || user.accountDataPos <= inp.from)) return out;
  for (const item of await currentAccountData(deps, userId)) {
    const ev = { type: item.type, content: item.content };
    if (item.room_id === '') {
      if (inp.from === undefined || item.pos > inp.from) out.global.push(ev);
      continue;
    }
    const r = inp.rooms.get(item.room_id);
    if (!r || (!r.initial && inp.from !== undefined && item.pos <= inp.from)) continue;
    (out.rooms[item.room_id] ??= []).push(ev);
  }
  if (inp.from === undefined && !out.global.some((e) => e.type === 'm.push_rules')) {
    const rules = await defaultPushRules(deps, userId);
    if (rules) out.global.push(rules);
  }
  return out;
}
