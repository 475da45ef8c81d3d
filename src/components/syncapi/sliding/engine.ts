/**
 * Simplified sliding sync (MSC4186): one answer from the views up to the
 * watermark, and the long-poll around it. The connection's snapshot at the
 * request's `pos` says what the client already has; the answer is built
 * from it without changing it, and recorded as a new snapshot under a new
 * `pos`. An incremental answer with nothing in it waits (up to `timeout`)
 * for the notifier, as GET /sync does.
 */
import type { JsonObject } from '../../../core/canonical-json.js';
import { MatrixError } from '../../../core/errors.js';
import type { SyncDeps } from '../deps.js';
import type { Viewer } from '../format.js';
import { MAX_TIMEOUT_MS, type SyncEngine } from '../sync/engine.js';
import { RoomSections } from '../sync/rooms.js';
import type { RoomView } from '../views.js';
import { at } from '../visibility.js';
import { ConnectionStore, type ListState, type SentRoom, type Snapshot } from './connections.js';
import { extensions } from './extensions.js';
import type { ExtensionName, ExtensionRequest, RoomConfig, SlidingRequest } from './request.js';
import { combine, emptySpec } from './required-state.js';
import { BumpStamps, candidates, RoomFacts, type Candidate } from './room-list.js';
import { roomResult, type RoomContext } from './rooms.js';

interface Params {
  lists: Map<string, Omit<ListState, 'count'>>;
  subscriptions: Map<string, RoomConfig>;
  extensions: Map<ExtensionName, ExtensionRequest>;
}

interface Answer {
  body: JsonObject;
  empty: boolean;
  snapshot: Omit<Snapshot, 'gen'>;
}

export class SlidingSyncEngine {
  readonly connections = new ConnectionStore();
  private readonly bumps: BumpStamps;
  private readonly sections: RoomSections;

  constructor(
    private readonly deps: SyncDeps,
    private readonly v2: SyncEngine,
  ) {
    this.bumps = new BumpStamps(deps);
    this.sections = new RoomSections(deps);
  }

  async sync(viewer: Viewer, req: SlidingRequest, signal?: AbortSignal): Promise<JsonObject> {
    const deviceKey = `${viewer.user_id}\0${viewer.device_id}`;
    let from: Snapshot | undefined;
    let conn;
    if (req.pos !== undefined) {
      const r = this.connections.resolve(deviceKey, req.conn_id, req.pos);
      if (!r) throw new MatrixError(400, 'M_UNKNOWN_POS', 'Unknown or expired pos: start a new connection without one');
      ({ conn, snap: from } = r);
      this.connections.acknowledge(conn, from.gen);
    }
    const params = this.params(req, from);
    const { stream, notifier } = this.deps;
    const deadline = Date.now() + Math.min(req.timeoutMs, MAX_TIMEOUT_MS);
    let ans: Answer;
    for (;;) {
      const w = stream.current;
      ans = await this.answer(viewer, params, from, w);
      if (!from || !ans.empty) break;
      const left = deadline - Date.now();
      if (left <= 0 || signal?.aborted) break;
      if (!(await notifier.wait(viewer.user_id, w, left, signal))) {
        // Timed out (or the client left): answer as of now, nothing new in it.
        break;
      }
    }
    conn ??= this.connections.open(deviceKey, req.conn_id);
    const pos = this.connections.commit(conn, ans.snapshot);
    return { pos, ...ans.body };
  }

  /** The request's lists, subscriptions and extensions, with what it leaves out taken from the connection. */
  private params(req: SlidingRequest, from: Snapshot | undefined): Params {
    const lists = new Map<string, Omit<ListState, 'count'>>();
    for (const [name, l] of req.lists) {
      const prev = from?.lists.get(name);
      lists.set(name, {
        ranges: l.ranges ?? prev?.ranges,
        timeline_limit: l.timeline_limit ?? prev?.timeline_limit ?? 0,
        required_state: l.required_state ?? prev?.required_state ?? emptySpec(),
        filters: l.filters ?? prev?.filters ?? {},
      });
    }
    const subscriptions = new Map(from?.subscriptions ?? []);
    for (const id of req.unsubscribe_rooms) subscriptions.delete(id);
    for (const [id, cfg] of req.room_subscriptions) subscriptions.set(id, cfg);
    const ext = new Map(from?.extensions ?? []);
    for (const [name, e] of req.extensions) {
      const prev = ext.get(name);
      ext.set(name, { ...prev, ...Object.fromEntries(Object.entries(e).filter(([, v]) => v !== undefined)), enabled: e.enabled ?? prev?.enabled ?? true });
    }
    return { lists, subscriptions, extensions: ext };
  }

  private async answer(viewer: Viewer, p: Params, from: Snapshot | undefined, w: number): Promise<Answer> {
    const { deps } = this;
    const userId = viewer.user_id;
    const known = new Set(from?.rooms.keys() ?? []);
    const all = await candidates(deps, this.bumps, userId, w, known);
    const facts = new RoomFacts(deps, userId);

    // Which rooms the lists' windows and the subscriptions select, with their configs.
    const selected = new Map<string, { c: Candidate; configs: RoomConfig[] }>();
    const select = (c: Candidate, cfg: RoomConfig) => {
      const s = selected.get(c.roomId);
      if (s) s.configs.push(cfg);
      else selected.set(c.roomId, { c, configs: [cfg] });
    };
    const listsOut: JsonObject = {};
    const listState = new Map<string, ListState>();
    let listsChanged = false;
    for (const [name, l] of p.lists) {
      const filtered: Candidate[] = [];
      for (const c of all) if (await facts.passes(c, l.filters, w)) filtered.push(c);
      const cfg = { timeline_limit: l.timeline_limit, required_state: l.required_state };
      if (l.ranges === undefined) for (const c of filtered) select(c, cfg);
      else for (const [start, end] of l.ranges) for (let i = start; i <= Math.min(end, filtered.length - 1); i++) select(filtered[i]!, cfg);
      listsOut[name] = { count: filtered.length };
      listState.set(name, { ...l, count: filtered.length });
      if (from?.lists.get(name)?.count !== filtered.length) listsChanged = true;
    }
    const byId = new Map(all.map((c) => [c.roomId, c]));
    for (const [roomId, cfg] of p.subscriptions) {
      const c = byId.get(roomId) ?? this.formerRoom(userId, roomId, w);
      if (c) select(c, cfg);
    }

    const now = Date.now();
    const ctx: RoomContext = { deps, sections: this.sections, facts, userId, w, from: from?.stream, fmt: { viewer, now, withRoomId: false, format: 'client' } };
    const rooms: JsonObject = {};
    const sentRooms = new Map<string, SentRoom>(from?.rooms ?? []);
    const joinedInAnswer = new Map<string, { room: RoomView; initial: boolean }>();
    await Promise.all(
      [...selected.values()].map(async ({ c, configs }) => {
        const cfg: RoomConfig = { timeline_limit: Math.max(...configs.map((x) => x.timeline_limit)), required_state: combine(configs.map((x) => x.required_state)) };
        const r = await roomResult(ctx, c, cfg, from?.rooms.get(c.roomId));
        sentRooms.set(c.roomId, r.sent);
        if (r.out) rooms[c.roomId] = r.out;
        if (c.room && c.m.membership === 'join') joinedInAnswer.set(c.roomId, { room: c.room, initial: r.initial });
      }),
    );
    // Rooms the user can no longer see at all are forgotten by the connection.
    for (const id of sentRooms.keys()) if (!byId.has(id) && !this.formerRoom(userId, id, w)) sentRooms.delete(id);

    const ext = await extensions(deps, this.v2, { viewer, w, from: from?.stream, config: p.extensions, toDeviceFrom: from?.toDevice, rooms: joinedInAnswer });
    const body: JsonObject = { lists: listsOut, rooms, extensions: ext.body };
    return {
      body,
      empty: Object.keys(rooms).length === 0 && !listsChanged && !ext.nonEmpty,
      snapshot: { stream: w, rooms: sentRooms, lists: listState, subscriptions: p.subscriptions, extensions: p.extensions, toDevice: ext.toDevice },
    };
  }

  /** A room the user was in and left (a subscription may still name it): seen up to the leave. */
  private formerRoom(userId: string, roomId: string, w: number): Candidate | undefined {
    const room = this.deps.views.room(roomId);
    const hist = room?.local.get(userId);
    const m = at(hist, w);
    if (!room || !m || !hist!.some((x) => x.membership === 'join' && x.pos <= m.pos)) return undefined;
    return { roomId, room, m, bump: m.membership === 'join' ? room.latest : m.pos, latest: m.pos };
  }
}
