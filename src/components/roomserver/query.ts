/**
 * The roomserver's queries. They read committed data (the current-state
 * index, stored events), so a caller never sees an event whose batch could
 * still fail.
 */
import { serverNameOf } from '../../core/identifiers.js';
import type { RoomEvent, RoomSummary, StateKeyTuple, StateRequest } from './api.js';
import type { EventStore } from './events.js';
import type { RoomStateReader } from './state/room-state.js';
import type { RoomserverStorage, StoredEvent } from './storage.js';

export class RoomQueries {
  constructor(
    private readonly storage: RoomserverStorage,
    private readonly events: EventStore,
    private readonly state: RoomStateReader,
  ) {}

  async room(roomId: string): Promise<RoomSummary | null> {
    const room = await this.storage.room(roomId);
    return room ? { room_id: room.room_id, room_version: room.room_version, latest_event_ids: room.latest, depth: room.depth } : null;
  }

  /** Events as callers see them: redacted ones carry the redaction that redacted them. */
  async views(ids: string[]): Promise<RoomEvent[]> {
    const stored = await this.storage.events(ids);
    const redactionIds = stored.map((e) => e?.redacted_by).filter((x): x is string => x !== undefined);
    const redactions = new Map<string, StoredEvent | undefined>();
    if (redactionIds.length > 0) {
      const loaded = await this.storage.events(redactionIds);
      redactionIds.forEach((id, i) => redactions.set(id, loaded[i]));
    }
    const out: RoomEvent[] = [];
    stored.forEach((e, i) => {
      if (!e || e.rejected) return;
      const view: RoomEvent = { event_id: ids[i]!, room_id: e.room_id, room_version: e.room_version, pdu: e.pdu };
      const by = e.redacted_by ? redactions.get(e.redacted_by) : undefined;
      if (by) view.redacted_because = { ...by.pdu, event_id: e.redacted_by! };
      if (e.txn) view.txn = e.txn;
      out.push(view);
    });
    return out;
  }

  async currentState(req: StateRequest): Promise<RoomEvent[]> {
    let ids: string[];
    if (req.keys) {
      const found = await Promise.all(req.keys.map(([t, k]) => this.storage.currentStateEvent(req.room_id, t, k)));
      ids = found.filter((x): x is string => x !== undefined);
    } else {
      ids = (await this.storage.currentState(req.room_id, req.types)).map((e) => e.eventId);
    }
    return this.views(ids);
  }

  async stateAtEvent(eventId: string, after: boolean, filter: { keys?: StateKeyTuple[]; types?: string[] }): Promise<RoomEvent[] | null> {
    const event = await this.storage.event(eventId);
    if (!event || event.outlier || event.rejected || !event.state_before) return null;
    const root = after ? (event.state_after ?? event.state_before) : event.state_before;
    const entries = await this.state.entries(root, {
      ...(filter.keys ? { keys: filter.keys } : {}),
      ...(filter.types ? { types: filter.types } : {}),
    });
    return this.views(entries.map((e) => e.eventId));
  }

  async membership(roomId: string, userId: string): Promise<{ membership: string | null; event_id: string | null; forgotten?: true }> {
    const id = await this.storage.currentStateEvent(roomId, 'm.room.member', userId);
    if (!id) return { membership: null, event_id: null };
    const e = await this.events.get(id);
    const m = e?.pdu.content.membership;
    // Joining (or an invite or a knock) clears the mark; see room-draft.ts.
    const forgotten = (m === 'leave' || m === 'ban') && (await this.storage.isForgotten(userId, roomId));
    return { membership: typeof m === 'string' ? m : null, event_id: id, ...(forgotten ? { forgotten: true as const } : {}) };
  }

  async roomsForUser(userId: string, membership: string | undefined, includeForgotten: boolean): Promise<{ room_id: string; membership: string; forgotten?: boolean }[]> {
    const [rooms, forgotten] = await Promise.all([this.storage.roomsForUser(userId), this.storage.forgottenRooms(userId)]);
    return rooms
      .filter((r) => membership === undefined || r.membership === membership)
      .filter((r) => includeForgotten || !forgotten.has(r.roomId))
      .map((r) => ({ room_id: r.roomId, membership: r.membership, ...(forgotten.has(r.roomId) ? { forgotten: true } : {}) }));
  }

  async joinedHosts(roomId: string): Promise<string[]> {
    const members = await this.currentState({ room_id: roomId, types: ['m.room.member'] });
    const servers = new Set<string>();
    for (const m of members) {
      if (m.pdu.content.membership === 'join' && typeof m.pdu.state_key === 'string') {
        const s = serverNameOf(m.pdu.state_key);
        if (s) servers.add(s);
      }
    }
    return [...servers].sort();
  }
}
