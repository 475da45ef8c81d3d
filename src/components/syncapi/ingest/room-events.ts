/**
 * Applies the Roomserver's output log: each new event gets a stream
 * position, its record and timeline entry, and the current-state changes it
 * brought (with their deltas, so the state at any position can be rebuilt);
 * local users' membership changes, invites and knocks with their stripped
 * state, relations and threads are indexed; redactions rewrite the stored
 * event.
 */
import type { JsonObject } from '../../../core/canonical-json.js';
import { redact } from '../../../core/events/redaction.js';
import { serverNameOf } from '../../../core/identifiers.js';
import { roomVersion } from '../../../core/room-versions.js';
import type { Client } from '../../../platform/ipc/directory.js';
import type { LogRecord } from '../../../platform/log/topic.js';
import { decodeKey } from '../../../platform/storage/keys.js';
import type { RoomEvent, RoomserverAPI } from '../../roomserver/api.js';
import type { NewInviteEvent, NewRoomEvent, OutputRoomEvent, RedactedEvent, RetireInviteEvent } from '../../roomserver/topics.js';
import type { EventStore } from '../events.js';
import { roomWakeKey } from '../notifier.js';
import { strippedEvent } from '../format.js';
import type { PushCounter } from '../push.js';
import { relationOf, type Relations } from '../relations.js';
import { indexOps, unindexWordsOps } from '../search-index.js';
import { keys, type EventRecord, type MembershipRecord, type RelationRecord, type RoomRecord, type StateEntry, type StrippedRecord, type ThreadRecord } from '../storage.js';
import { visibilityOf } from '../visibility.js';
import type { SyncViews } from '../views.js';
import type { Tx } from './tx.js';

/** State an invitee or knocker sees of a room (client-server API "Stripped state"). */
const STRIPPED_TYPES = ['m.room.create', 'm.room.name', 'm.room.avatar', 'm.room.topic', 'm.room.join_rules', 'm.room.canonical_alias', 'm.room.encryption'];

export interface RoomIngestDeps {
  serverName: string;
  views: SyncViews;
  events: EventStore;
  relations: Relations;
  push: PushCounter;
  /** For state events the log names but this component never stored (state resolution over federation). */
  roomserver: () => Client<RoomserverAPI>;
}

const stateKeyOf = (type: string, stateKey: string) => `${type}\0${stateKey}`;

export class RoomEventIngest {
  constructor(private readonly deps: RoomIngestDeps) {}

  private isLocal(userId: string): boolean {
    return serverNameOf(userId) === this.deps.serverName;
  }

  async apply(batch: LogRecord<OutputRoomEvent>[], tx: Tx): Promise<void> {
    for (const { record } of batch) {
      switch (record.kind) {
        case 'new_room_event':
          if (!record.soft_failed) await this.newEvent(record, tx);
          break;
        case 'redacted_event':
          await this.redacted(record, tx);
          break;
        case 'new_invite_event':
          await this.invite(record, tx);
          break;
        case 'retire_invite_event':
          await this.retireInvite(record, tx);
          break;
      }
    }
  }

  /** An event record from this batch, the store, or (for state this component never saw) the roomserver. */
  private async eventRecord(tx: Tx, eventId: string): Promise<EventRecord | undefined> {
    const mine = await tx.get<EventRecord>(keys.event(eventId));
    if (mine) return mine;
    const stored = await this.deps.events.get(eventId);
    if (stored) return stored;
    const [ev] = (await this.deps.roomserver().queryEvents({ event_ids: [eventId] })).events;
    if (!ev) return undefined;
    const rec: EventRecord = { event_id: ev.event_id, room_id: ev.room_id, room_version: ev.room_version, pos: 0, pdu: ev.pdu };
    tx.put(keys.event(eventId), rec);
    return rec;
  }

  private async roomKnown(tx: Tx, roomId: string): Promise<boolean> {
    return this.deps.views.rooms.has(roomId) || (await tx.get<RoomRecord>(keys.room(roomId))) !== undefined;
  }

  private async newEvent(rec: NewRoomEvent, tx: Tx): Promise<void> {
    const { event } = rec;
    const roomId = event.room_id;
    const { views } = this.deps;
    if (!(await this.roomKnown(tx, roomId))) {
      tx.put(keys.room(roomId), { room_version: event.room_version } satisfies RoomRecord);
    }
    const pos = tx.alloc();
    const { pdu } = event;
    const record: EventRecord = { event_id: event.event_id, room_id: roomId, room_version: event.room_version, pos, pdu };
    if (rec.txn) record.txn = { user_id: rec.txn.user_id, device_id: rec.txn.device_id, txn_id: rec.txn.txn_id };
    if (typeof pdu.state_key === 'string') {
      const prevEntry = await tx.get<StateEntry>(keys.state(roomId, pdu.type, pdu.state_key));
      const prev = prevEntry ? await this.eventRecord(tx, prevEntry.event_id) : undefined;
      if (prev && prev.event_id !== event.event_id) record.prev = { event_id: prev.event_id, content: prev.pdu.content, sender: prev.pdu.sender };
    }
    tx.put(keys.event(event.event_id), record);
    tx.put(keys.timeline(roomId, pos), event.event_id);
    // The search indexes (words, timestamp) commit with the event.
    for (const op of indexOps(record)) if (op.type === 'put') tx.put(op.key, op.value);
    // First, so that the effects below find the room.
    tx.after(() => {
      const room = views.ensureRoom(roomId, event.room_version, pos);
      room.appendTimeline(pos, event.event_id);
      this.deps.events.remember(record);
    });

    const changed = await this.applyState(rec, record, pos, tx);
    await this.indexRelation(record, tx);
    await this.deps.push.evaluate(tx, record, views.room(roomId));

    tx.wake(pos, () => {
      const room = views.room(roomId);
      const users = new Set(room ? room.audience() : []);
      for (const u of changed) users.add(u);
      users.add(roomWakeKey(roomId));
      return users;
    });
  }

  /**
   * Moves the current state as the roomserver says (adds/removes), writes
   * a delta per key, and follows memberships and visibility. Returns the
   * local users whose membership changed.
   */
  private async applyState(rec: NewRoomEvent, record: EventRecord, pos: number, tx: Tx): Promise<string[]> {
    const roomId = record.room_id;
    const { views } = this.deps;
    const byKey = new Map<string, { type: string; key: string; n?: EventRecord; o?: string }>();
    for (const id of rec.adds_state) {
      const ev = id === record.event_id ? record : await this.eventRecord(tx, id);
      if (!ev || typeof ev.pdu.state_key !== 'string') continue;
      byKey.set(stateKeyOf(ev.pdu.type, ev.pdu.state_key), { type: ev.pdu.type, key: ev.pdu.state_key, n: ev });
    }
    for (const id of rec.removes_state) {
      const ev = await this.eventRecord(tx, id);
      if (!ev || typeof ev.pdu.state_key !== 'string') continue;
      const k = stateKeyOf(ev.pdu.type, ev.pdu.state_key);
      const entry = byKey.get(k) ?? { type: ev.pdu.type, key: ev.pdu.state_key };
      entry.o = id;
      byKey.set(k, entry);
    }
    const changedLocal: string[] = [];
    let joinedDelta = 0;
    let invitedDelta = 0;
    let membersChanged = false;
    let changedAny = false;
    for (const { type, key, n } of byKey.values()) {
      const csKey = keys.state(roomId, type, key);
      const old = await tx.get<StateEntry>(csKey);
      if (old?.event_id === n?.event_id) continue;
      changedAny = true;
      const membership = type === 'm.room.member' ? (n ? String(n.pdu.content.membership ?? 'leave') : 'leave') : undefined;
      if (n) tx.put(csKey, { event_id: n.event_id, pos, ...(membership !== undefined ? { membership } : {}) } satisfies StateEntry);
      else tx.del(csKey);
      tx.after(() => this.deps.push.stateChanged(roomId, type, key));
      tx.put(keys.delta(roomId, pos, type, key), { ...(n ? { n: n.event_id } : {}), ...(old ? { o: old.event_id } : {}) });

      if (type === 'm.room.encryption' && key === '' && n) {
        // The current one's position, as loading the views from the database finds it.
        tx.after(() => {
          const room = views.room(roomId);
          if (room) room.encryptedPos = pos;
        });
      }
      if (type === 'm.room.history_visibility' && key === '') {
        const vis = visibilityOf(n?.pdu.content);
        tx.put(keys.visibility(roomId, pos), vis);
        tx.after(() => views.room(roomId)?.hv.push({ pos, vis }));
      }
      if (membership !== undefined) {
        membersChanged = true;
        const before = old?.membership;
        if (before === 'join') joinedDelta--;
        if (before === 'invite') invitedDelta--;
        if (membership === 'join') joinedDelta++;
        if (membership === 'invite') invitedDelta++;
        if (this.isLocal(key)) {
          changedLocal.push(key);
          const eventId = n?.event_id ?? old?.event_id ?? record.event_id;
          tx.put(keys.membership(key, roomId, pos), { membership, event_id: eventId } satisfies MembershipRecord);
          if ((membership === 'invite' || membership === 'knock') && n) {
            tx.put(keys.stripped(key, roomId), { pos, event_id: n.event_id, state: await this.strippedState(tx, roomId, n) } satisfies StrippedRecord);
          } else {
            tx.del(keys.stripped(key, roomId));
          }
          tx.after(() => {
            const room = views.room(roomId);
            views.user(key).rooms.add(roomId);
            if (!room) return;
            let hist = room.local.get(key);
            if (!hist) room.local.set(key, (hist = []));
            hist.push({ pos, membership, event_id: eventId });
          });
        }
      }
    }
    if (changedAny) {
      tx.after(() => {
        const room = views.room(roomId);
        if (room) room.lastStateChange = pos;
      });
    }
    if (membersChanged) {
      tx.after(() => {
        const room = views.room(roomId);
        if (!room) return;
        room.joined += joinedDelta;
        room.invited += invitedDelta;
        room.membersPos = pos;
        room.heroes = undefined;
      });
    }
    return changedLocal;
  }

  /** The stripped state an invitee or knocker sees: the room's summary events and their own membership event. */
  private async strippedState(tx: Tx, roomId: string, own: EventRecord): Promise<JsonObject[]> {
    const out: JsonObject[] = [];
    const wanted: [string, string][] = STRIPPED_TYPES.map((t) => [t, '']);
    wanted.push(['m.room.member', own.pdu.sender]);
    for (const [type, key] of wanted) {
      if (type === 'm.room.member' && key === own.pdu.state_key) continue;
      const entry = await tx.get<StateEntry>(keys.state(roomId, type, key));
      if (!entry) continue;
      const ev = await this.eventRecord(tx, entry.event_id);
      if (ev) out.push(strippedEvent(ev.pdu));
    }
    out.push(strippedEvent(own.pdu));
    return out;
  }

  private async indexRelation(record: EventRecord, tx: Tx): Promise<void> {
    const rel = relationOf(record.pdu.content);
    if (!rel) return;
    const roomId = record.room_id;
    // A relation to an event of another room is invalid and ignored (client-server API "Forming relationships
    // between events"). A parent not known yet cannot be checked here: the reads check it.
    const parentKey = keys.event(rel.event_id);
    const parent = tx.wrote(parentKey) ? await tx.get<EventRecord>(parentKey) : await this.deps.events.get(rel.event_id);
    if (parent && parent.room_id !== roomId) return;
    tx.put(keys.relation(roomId, rel.event_id, record.pos), { event_id: record.event_id, rel_type: rel.rel_type, type: record.pdu.type, sender: record.pdu.sender } satisfies RelationRecord);
    tx.after(() => this.deps.relations.noteParent(rel.event_id));
    if (rel.rel_type !== 'm.thread') return;
    const thKey = keys.thread(roomId, rel.event_id);
    const prev = await tx.get<ThreadRecord>(thKey);
    if (prev) tx.del(keys.threadByLatest(roomId, prev.latest_pos));
    const participants = new Set(prev?.participants ?? []);
    participants.add(record.pdu.sender);
    tx.put(thKey, { latest_pos: record.pos, latest_event_id: record.event_id, count: (prev?.count ?? 0) + 1, participants: [...participants] } satisfies ThreadRecord);
    tx.put(keys.threadByLatest(roomId, record.pos), rel.event_id);
  }

  private async redacted(rec: RedactedEvent, tx: Tx): Promise<void> {
    const target = await this.eventRecord(tx, rec.redacted_event_id);
    if (!target || target.room_id !== rec.room_id || target.redacted_because) return;
    const version = roomVersion(target.room_version);
    if (!version) return;
    const rel = relationOf(target.pdu.content);
    const redacted: EventRecord = {
      ...target,
      pdu: redact(target.pdu, version),
      redacted_because: { event_id: rec.redaction.event_id, pdu: rec.redaction.pdu },
    };
    tx.put(keys.event(target.event_id), redacted);
    // Its old words must not find it any more.
    for (const op of unindexWordsOps(target.room_id, target.pos, target.pdu)) tx.del(op.key);
    // A redacted event loses its content, and with it its relation.
    if (rel && target.pos > 0) {
      tx.del(keys.relation(target.room_id, rel.event_id, target.pos));
      if (rel.rel_type === 'm.thread') await this.recountThread(tx, target.room_id, rel.event_id);
    }
    tx.after(() => {
      this.deps.events.remember(redacted);
      if (typeof target.pdu.state_key === 'string') this.deps.push.stateChanged(target.room_id, target.pdu.type, target.pdu.state_key);
    });
  }

  /**
   * A thread's summary again from the replies left, once one was redacted: the server de-aggregates a redacted
   * child (client-server API "Aggregations of child events"). Redactions are rare enough to read the root's
   * children once.
   */
  private async recountThread(tx: Tx, roomId: string, root: string): Promise<void> {
    const thKey = keys.thread(roomId, root);
    const prev = await tx.get<ThreadRecord>(thKey);
    if (!prev) return;
    tx.del(keys.threadByLatest(roomId, prev.latest_pos));
    let latest: { pos: number; event_id: string } | undefined;
    let count = 0;
    const participants = new Set<string>();
    for (const [k, c] of await tx.entries<RelationRecord>(keys.relationsOf(roomId, root))) {
      if (c.rel_type !== 'm.thread') continue;
      count++;
      participants.add(c.sender);
      latest = { pos: Number(decodeKey(k)[3]), event_id: c.event_id };
    }
    if (!latest) {
      tx.del(thKey);
      return;
    }
    tx.put(thKey, { latest_pos: latest.pos, latest_event_id: latest.event_id, count, participants: [...participants] } satisfies ThreadRecord);
    tx.put(keys.threadByLatest(roomId, latest.pos), root);
  }

  /**
   * An invite of a local user. For rooms this server has, the membership
   * change above already recorded it; an invite into a room known only
   * from the invite (over federation) is recorded here.
   */
  private async invite(rec: NewInviteEvent, tx: Tx): Promise<void> {
    if (await this.roomKnown(tx, rec.room_id)) return;
    const pos = tx.alloc();
    const { event } = rec;
    const stateFromInvite = Array.isArray(event.pdu.unsigned?.invite_room_state) ? (event.pdu.unsigned!.invite_room_state as JsonObject[]) : [];
    const state = [...stateFromInvite, strippedEvent(event.pdu)];
    tx.put(keys.event(event.event_id), { event_id: event.event_id, room_id: rec.room_id, room_version: event.room_version, pos: 0, pdu: event.pdu } satisfies EventRecord);
    tx.put(keys.stripped(rec.user_id, rec.room_id), { pos, event_id: event.event_id, state } satisfies StrippedRecord);
    this.remoteMembership(tx, rec.user_id, rec.room_id, event, pos, 'invite');
  }

  private async retireInvite(rec: RetireInviteEvent, tx: Tx): Promise<void> {
    if (await this.roomKnown(tx, rec.room_id)) return;
    const pos = tx.alloc();
    tx.del(keys.stripped(rec.user_id, rec.room_id));
    this.remoteMembership(tx, rec.user_id, rec.room_id, { event_id: rec.event_id } as RoomEvent, pos, rec.membership);
  }

  private remoteMembership(tx: Tx, userId: string, roomId: string, event: Pick<RoomEvent, 'event_id'>, pos: number, membership: string): void {
    tx.put(keys.membership(userId, roomId, pos), { membership, event_id: event.event_id } satisfies MembershipRecord);
    tx.after(() => this.deps.views.user(userId).addRemote(roomId, { pos, membership, event_id: event.event_id }));
    tx.wake(pos, () => [userId]);
  }
}
