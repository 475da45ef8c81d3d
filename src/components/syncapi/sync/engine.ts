/**
 * GET /sync: one answer from the views up to the watermark, and the
 * long-poll around it. An incremental sync whose answer would be empty
 * waits (up to `timeout`) for the notifier to say something for this user
 * committed, then answers again.
 */
import type { JsonObject } from '../../../core/canonical-json.js';
import { forgottenRooms } from '../access.js';
import type { SyncDeps } from '../deps.js';
import { eventPasses, roomPasses, type SyncFilter } from '../filter.js';
import type { Viewer } from '../format.js';
import { keys, type DeviceListRecord, type PresenceRecord, type StateEntry } from '../storage.js';
import { token } from '../tokens.js';
import type { RoomView } from '../views.js';
import { currentAccountData, defaultPushRules, toDeviceSince } from '../user-streams.js';
import { at, type MembershipPoint } from '../visibility.js';
import { RoomSections, type AccountDataEvent, type SyncRequest } from './rooms.js';

/** To-device messages per answer; more wait for the next one (the answer stops before them). */
const TO_DEVICE_LIMIT = 100;
/** The longest a long-poll is held, whatever the client asks. */
export const MAX_TIMEOUT_MS = 5 * 60_000;
/** A long-poll that waited less than this answers with the key counts it asked for at its start. */
const KEY_COUNTS_REUSE_MS = 1_000;
/** How long an answer waits for the KeyServer's key counts before it gives the last known ones. */
const KEY_COUNTS_WAIT_MS = 100;

export interface SyncParams {
  viewer: Viewer;
  since: number | undefined;
  timeoutMs: number;
  fullState: boolean;
  useStateAfter: boolean;
  filter: SyncFilter;
  signal?: AbortSignal;
}

interface AccountDataDelta {
  global: AccountDataEvent[];
  rooms: Map<string, AccountDataEvent[]>;
}

type KeyCounts = { one_time_key_counts: Record<string, number>; unused_fallback_key_types: string[] };

export class SyncEngine {
  private readonly rooms: RoomSections;
  /** The last key counts each device was told (deviceKey → counts). */
  private readonly keyCounts = new Map<string, KeyCounts>();

  constructor(private readonly deps: SyncDeps) {
    this.rooms = new RoomSections(deps);
  }

  async sync(p: SyncParams): Promise<JsonObject> {
    const { stream, notifier } = this.deps;
    let since = p.since;
    // A token from the future (another server's, or a lost position): answer as if there were none.
    if (since !== undefined && since > stream.current) since = undefined;
    const deadline = Date.now() + Math.min(Math.max(0, p.timeoutMs), MAX_TIMEOUT_MS);
    // One question to the KeyServer per sync: a long-poll woken soon after its
    // first, empty answer reuses it (the counts are at worst one answer old anyway).
    let asked: { at: number; counts: Promise<KeyCounts | undefined> | undefined } | undefined;
    const keyCounts = () => {
      if (!asked || Date.now() - asked.at > KEY_COUNTS_REUSE_MS) asked = { at: Date.now(), counts: this.askKeyCounts(p.viewer) };
      return asked.counts;
    };
    for (;;) {
      const w = stream.current;
      const res = await this.answer(p, since, w, keyCounts);
      if (since === undefined || p.fullState || !isEmpty(res)) return res;
      const left = deadline - Date.now();
      if (left <= 0 || p.signal?.aborted) return res;
      // Not woken: the time is up, the client left, or the component is stopping.
      if (!(await notifier.wait(p.viewer.user_id, w, left, p.signal))) return res;
    }
  }

  /**
   * GET /keys/changes: the device_lists a sync from `from` to `to` would
   * carry. `to` is a hint (the spec's word); past the stream's end it is the end.
   */
  async keyChanges(userId: string, from: number, to: number): Promise<JsonObject> {
    const end = Math.min(to, this.deps.stream.current);
    if (from >= end) return { changed: [], left: [] };
    return this.deviceLists(userId, from, end);
  }

  /** The device's key counts from the KeyServer (undefined when it cannot say), remembered as the latest known. */
  private askKeyCounts(viewer: SyncParams['viewer']): Promise<KeyCounts | undefined> | undefined {
    const deviceKey = `${viewer.user_id}\0${viewer.device_id}`;
    return this.deps.keyCounts?.(viewer.user_id, viewer.device_id).then(
      (c) => {
        if (c) this.rememberKeyCounts(deviceKey, c);
        return c;
      },
      () => undefined,
    );
  }

  private async answer(p: SyncParams, since: number | undefined, w: number, askKeyCounts: () => Promise<KeyCounts | undefined> | undefined): Promise<JsonObject> {
    const { viewer } = p;
    const user = this.deps.views.user(viewer.user_id);
    const deviceKey = `${viewer.user_id}\0${viewer.device_id}`;
    if (since === undefined) this.deps.lazyMembers.reset(deviceKey);

    // Asked of the KeyServer at once, awaited last: the round trip overlaps the work below.
    const keyCounts = askKeyCounts();
    const toDevice = await toDeviceSince(this.deps, viewer, since, w, TO_DEVICE_LIMIT);
    const to = toDevice.stopAt ?? w;
    const now = Date.now();
    const req: SyncRequest = {
      viewer,
      since,
      to,
      filter: p.filter,
      fullState: p.fullState,
      useStateAfter: p.useStateAfter,
      now,
      fmt: { viewer, now, withRoomId: false, format: p.filter.event_format ?? 'client', fields: p.filter.event_fields },
      deviceKey,
    };
    const accountData = await this.accountData(viewer.user_id, since);
    const join: Record<string, JsonObject> = {};
    const invite: Record<string, JsonObject> = {};
    const leave: Record<string, JsonObject> = {};
    const knock: Record<string, JsonObject> = {};
    const includeLeave = p.filter.room?.include_leave === true;
    const forgotten = since === undefined && includeLeave ? await forgottenRooms(this.deps, viewer.user_id) : new Set<string>();

    await Promise.all(
      [...user.rooms].map(async (roomId) => {
        if (!roomPasses(p.filter.room, roomId)) return;
        const room = this.deps.views.room(roomId);
        const hist: MembershipPoint[] | undefined = room?.local.get(viewer.user_id) ?? user.remote.get(roomId);
        const mW = at(hist, to);
        if (!mW) return;
        const mS = since !== undefined ? at(hist, since) : undefined;
        const changed = since === undefined || mW.pos > since;
        const roomData = accountData?.rooms.get(roomId);
        switch (mW.membership) {
          case 'join': {
            if (!room) return;
            // Joined since the last sync, or left and came back meanwhile: what changed while away may not be in
            // the timeline the user may see, so the room comes whole, as for a new join.
            const away = since !== undefined && hist!.some((m) => m.pos > since && m.pos <= to && m.membership !== 'join');
            const r = await this.rooms.joined(req, room, since !== undefined && (mS?.membership !== 'join' || away), roomData);
            if (r) join[roomId] = r;
            return;
          }
          case 'invite':
          case 'knock': {
            if (!changed && !p.fullState) return;
            const r = await this.rooms.stripped(req, roomId, mW.membership);
            if (r) (mW.membership === 'invite' ? invite : knock)[roomId] = r;
            return;
          }
          default: {
            if (!room) {
              // A declined invite to a room known only from the invite: an empty leave tells the client.
              if (since !== undefined && changed) leave[roomId] = { timeline: { events: [], limited: false }, state: { events: [] }, account_data: { events: [] } };
              return;
            }
            const newlyLeft = since !== undefined && changed;
            const asked = (since === undefined || p.fullState) && includeLeave && !forgotten.has(roomId);
            if (!newlyLeft && !asked) return;
            if (!hist!.some((m) => m.membership === 'join' && m.pos <= mW.pos)) {
              // Never joined (a declined or withdrawn invite, a refused knock): only the user's own leave, no room state.
              leave[roomId] = await this.rooms.leftUnjoined(req, room, mW);
              return;
            }
            // The user saw the room until `since` when they were still in it then; else from the start.
            const sinceRoom = newlyLeft && mS && (mS.membership === 'join' || mS.membership === 'leave' || mS.membership === 'ban') && !p.fullState ? since : undefined;
            leave[roomId] = await this.rooms.left(req, room, mW, sinceRoom, roomData);
          }
        }
      }),
    );

    const out: JsonObject = {
      next_batch: token(to),
      rooms: { join, invite, leave, knock },
      account_data: { events: (accountData?.global ?? []).filter((e) => eventPasses(p.filter.account_data, { type: e.type })) },
      to_device: { events: toDevice.events },
      presence: { events: await this.presence(req) },
      device_lists: await this.deviceLists(viewer.user_id, since, to),
    };
    const counts = await this.latestKeyCounts(deviceKey, keyCounts);
    if (counts) {
      out.device_one_time_keys_count = counts.one_time_key_counts;
      out.device_unused_fallback_key_types = counts.unused_fallback_key_types;
    }
    return out;
  }

  /**
   * The device's key counts: the KeyServer's answer when it is already
   * there, else the last one known (one answer old at worst; the next
   * corrects it), so that round trip never holds up a sync. The first
   * answer for a device waits for it.
   */
  private async latestKeyCounts(deviceKey: string, asked: Promise<KeyCounts | undefined> | undefined): Promise<KeyCounts | undefined> {
    if (!asked) return undefined;
    const known = this.keyCounts.get(deviceKey);
    if (!known) return asked;
    // The counts are current, not the last answer's: a claim since then must show (a device that is not
    // told its keys ran out does not replenish them). They were asked when the answer began and the
    // KeyServer answers from memory, so this rarely waits; a KeyServer slower than KEY_COUNTS_WAIT_MS
    // (restarting) gets the last known counts instead of holding the sync up.
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((r) => (timer = setTimeout(() => r('late'), KEY_COUNTS_WAIT_MS)));
    const settled = await Promise.race([asked, late]);
    clearTimeout(timer);
    return settled === 'late' || settled === undefined ? known : settled;
  }

  private rememberKeyCounts(deviceKey: string, c: KeyCounts): void {
    this.keyCounts.delete(deviceKey);
    this.keyCounts.set(deviceKey, c);
    if (this.keyCounts.size > 5000) this.keyCounts.delete(this.keyCounts.keys().next().value!);
  }

  /** Account data changed after `since`: all of it on an initial sync (with the server's push rules). */
  private async accountData(userId: string, since: number | undefined): Promise<AccountDataDelta | undefined> {
    const user = this.deps.views.users.get(userId);
    if (since !== undefined && (!user || user.accountDataPos <= since)) return undefined;
    const out: AccountDataDelta = { global: [], rooms: new Map() };
    for (const item of await currentAccountData(this.deps, userId)) {
      if (since !== undefined && item.pos <= since) continue;
      const ev = { type: item.type, content: item.content };
      if (item.room_id === '') out.global.push(ev);
      else {
        let list = out.rooms.get(item.room_id);
        if (!list) out.rooms.set(item.room_id, (list = []));
        list.push(ev);
      }
    }
    if (since === undefined && !out.global.some((e) => e.type === 'm.push_rules')) {
      const rules = await defaultPushRules(this.deps, userId);
      if (rules) out.global.push(rules as AccountDataEvent);
    }
    return out;
  }

  /**
   * Presence of users who share a room with the viewer, changed after
   * `since`, and of users the viewer has come to share a room with since
   * then (they would otherwise stay unknown until their next change; one
   * never seen online is given as offline). Each
   * user's presence is kept once, as it stands: one that changed after the
   * sync took its position is given too (see currentAccountData).
   */
  private async presence(req: SyncRequest): Promise<JsonObject[]> {
    const { views } = this.deps;
    if (!this.deps.presenceEnabled) return [];
    const pf = req.filter.presence;
    if (pf && (pf.limit === 0 || (pf.types && !eventPasses(pf, { type: 'm.presence' })))) return [];
    const met = req.since !== undefined ? this.newlyShared(req.viewer.user_id, req.since, req.to) : new Set<string>();
    if (views.presencePos <= (req.since ?? 0) && met.size === 0) return [];
    const shared = this.sharedUsers(req.viewer.user_id, req.to);
    const out: JsonObject[] = [];
    for (const [userId, r] of views.presence) {
      if (req.since !== undefined && r.pos <= req.since && !met.has(userId)) continue;
      if (!shared.has(userId) || !eventPasses(pf, { type: 'm.presence', sender: userId })) continue;
      out.push({ type: 'm.presence', sender: userId, content: presenceContent(r, req.now) });
    }
    // Someone newly met who has never been online: offline, as GET /presence/{userId}/status answers.
    for (const userId of met) {
      if (views.presence.has(userId) || !eventPasses(pf, { type: 'm.presence', sender: userId })) continue;
      out.push({ type: 'm.presence', sender: userId, content: { presence: 'offline' } });
    }
    return out;
  }

  /** Local users who share a joined room with the user at `to` where one of the two joined it after `since`. */
  private newlyShared(userId: string, since: number, to: number): Set<string> {
    const out = new Set<string>();
    for (const roomId of this.deps.views.users.get(userId)?.rooms ?? []) {
      const room = this.deps.views.room(roomId);
      // Most syncs: nobody joined or left any of the user's rooms since `since`.
      if (!room || room.membersPos <= since) continue;
      const mine = room.local.get(userId);
      if (at(mine, to)?.membership !== 'join') continue;
      const wasThere = at(mine, since)?.membership === 'join';
      for (const [other, hist] of room.local) {
        if (other === userId || at(hist, to)?.membership !== 'join') continue;
        if (!wasThere || at(hist, since)?.membership !== 'join') out.add(other);
      }
    }
    return out;
  }

  /** Local users who share a joined room with the user (the user included). */
  private sharedUsers(userId: string, to: number): Set<string> {
    const out = new Set<string>([userId]);
    const user = this.deps.views.users.get(userId);
    if (!user) return out;
    for (const roomId of user.rooms) {
      const room = this.deps.views.room(roomId);
      if (!room || at(room.local.get(userId), to)?.membership !== 'join') continue;
      for (const other of room.joinedNow()) out.add(other);
    }
    return out;
  }

  /**
   * device_lists: users whose keys changed and who share a room with the
   * viewer; users who now share a room with the viewer, or whose shared room
   * became encrypted (`changed`, so the client fetches their keys); users
   * who left a room the viewer is in, or whom the viewer left, and who no
   * longer share an encrypted room with them (`left`). `changed` follows
   * every room, not only encrypted ones, as key changes already did: a
   * client learns of a member before the room turns encryption on, and
   * Synapse (which clients and Complement expect) does the same.
   */
  private async deviceLists(userId: string, since: number | undefined, to: number): Promise<JsonObject> {
    const changed = new Set<string>();
    const left = new Set<string>();
    if (since === undefined) return { changed: [], left: [] };
    const { views, db, state } = this.deps;
    const user = views.users.get(userId);
    const joinedRooms = [...(user?.rooms ?? [])].map((id) => views.room(id)).filter((r): r is RoomView => r !== undefined && at(r.local.get(userId), to)?.membership === 'join');
    const shares = async (other: string, encryptedOnly: boolean): Promise<boolean> => {
      if (other === userId) return true;
      for (const room of joinedRooms) {
        if (encryptedOnly && !room.encrypted) continue;
        const e = await db.get<StateEntry>(keys.state(room.id, 'm.room.member', other));
        if (e?.membership === 'join') return true;
      }
      return false;
    };
    if (views.deviceListPos > since) {
      for (const [, rec] of await db.entries<DeviceListRecord>({ gt: keys.deviceList(since), lte: keys.deviceList(to) })) {
        if (changed.has(rec.user_id) || (rec.only_for !== undefined && rec.only_for !== userId)) continue;
        if (await shares(rec.user_id, false)) changed.add(rec.user_id);
      }
    }
    const joinedAt = async (room: RoomView, pos: number): Promise<string[]> => {
      const members = await state.at(room.id, pos, { only: 'm.room.member' });
      const recs = await this.deps.events.records([...members.values()]);
      return recs.filter((r) => r.pdu.content.membership === 'join' && r.pdu.state_key !== userId).map((r) => r.pdu.state_key!);
    };
    for (const id of user?.rooms ?? []) {
      const room = views.room(id);
      if (!room) continue;
      const encryptedNow = room.encryptedPos > since && room.encryptedPos <= to;
      if (room.membersPos <= since && !encryptedNow) continue;
      const hist = room.local.get(userId);
      const wasIn = at(hist, since)?.membership === 'join';
      const isIn = at(hist, to)?.membership === 'join';
      if (!wasIn && !isIn) continue;
      if (wasIn !== isIn) {
        // The viewer joined (everyone there is new to them) or left (everyone there may be gone).
        for (const u of await joinedAt(room, isIn ? to : since)) (isIn ? changed : left).add(u);
        continue;
      }
      // The room became encrypted: its members now share an encrypted room with the viewer.
      if (encryptedNow) for (const u of await joinedAt(room, to)) changed.add(u);
      if (room.membersPos <= since) continue;
      for (const eventId of (await state.delta(room.id, since, to)).values()) {
        const r = await this.deps.events.get(eventId);
        if (!r || r.pdu.type !== 'm.room.member' || r.pdu.state_key === userId) continue;
        const m = r.pdu.content.membership;
        if (m === 'join') changed.add(r.pdu.state_key!);
        else if (m === 'leave' || m === 'ban') left.add(r.pdu.state_key!);
      }
    }
    for (const u of [...left]) if (changed.has(u) || (await shares(u, true))) left.delete(u);
    return { changed: [...changed], left: [...left] };
  }
}

export function presenceContent(r: PresenceRecord, now: number): JsonObject {
  const c: JsonObject = { presence: r.presence };
  if (r.last_active_ts !== undefined) c.last_active_ago = Math.max(0, now - r.last_active_ts);
  if (r.currently_active !== undefined) c.currently_active = r.currently_active;
  if (r.status_msg !== undefined) c.status_msg = r.status_msg;
  return c;
}

function isEmpty(res: JsonObject): boolean {
  const rooms = res.rooms as Record<string, Record<string, unknown>>;
  if (Object.values(rooms).some((section) => Object.keys(section).length > 0)) return false;
  for (const k of ['account_data', 'to_device', 'presence'] as const) if (((res[k] as { events: unknown[] }).events ?? []).length > 0) return false;
  const dl = res.device_lists as { changed: unknown[]; left: unknown[] };
  return dl.changed.length === 0 && dl.left.length === 0;
}
