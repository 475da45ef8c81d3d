/**
 * A room being changed: events are built (local) or accepted (from
 * anywhere) one after another against the room as it evolves in memory,
 * and everything — events, state-tree nodes, indexes, the room record and
 * the output-log records — goes to disk in ONE batch with `commit()`.
 *
 * A draft is only used inside the room's queue, so one room changes at a
 * time; `commit()` queues the batch and returns, and the room's next draft
 * can start before the batch is on disk (see events.ts).
 */
import type { JsonObject } from '../../../core/canonical-json.js';
import { checkAuth } from '../../../core/auth/rules.js';
import { authEventKeys } from '../../../core/auth/selection.js';
import { roomPowers } from '../../../core/auth/power-levels.js';
import type { AuthHooks } from '../../../core/auth/types.js';
import type { SigningKey } from '../../../core/ed25519.js';
import { MatrixError } from '../../../core/errors.js';
import { eventReference } from '../../../core/events/event-id.js';
import type { EventReferenceV1, PDU } from '../../../core/events/pdu.js';
import { redact } from '../../../core/events/redaction.js';
import { buildEvent, EventBuildError } from '../../../core/events/sign.js';
import type { RoomVersion } from '../../../core/room-versions.js';
import { serverNameOf } from '../../../core/identifiers.js';
import type { Append, LogProducer } from '../../../platform/log/producer.js';
import type { WriteOp } from '../../../platform/storage/database.js';
import type { RoomEvent } from '../api.js';
import type { EventStore } from '../events.js';
import { authStateOf, nidOf, nidValue, type AuthStateWithIds, type RoomStateReader } from '../state/room-state.js';
import { del, keys, put, splitStateTreeKey, stateTreeKey, type StoredEvent, type StoredRoom } from '../storage.js';
import { outputRoomEvents, type NewRoomEvent, type OutputRoomEvent } from '../topics.js';
import type { RoomCache } from './room-cache.js';
import type { PendingNodeStore } from '../state/pending-nodes.js';
import type { StateNode } from '../state/state-tree.js';

/** Everything a draft needs from the roomserver. */
export interface RoomServices {
  serverName: string;
  signingKey: () => SigningKey;
  events: EventStore;
  state: RoomStateReader;
  rooms: RoomCache;
  nodes: PendingNodeStore;
  producer: LogProducer;
  allocateNid: () => number;
  nextNidKey: () => WriteOp;
  now: () => number;
  /**
   * The origin_server_ts of a create event: later than every one this
   * process handed out before. Where the room id is the create event's hash
   * (v12), two rooms one user creates in the same millisecond with the same
   * content would otherwise be one room, and both creators would get its id.
   */
  createTs: () => number;
}

export interface LocalEventProto {
  /** Only for the create event of a room version before 12, which names its room itself. */
  room_id?: string;
  type: string;
  state_key?: string;
  content: JsonObject;
  sender: string;
  redacts?: string;
}

/** Depth is an integer that canonical JSON can hold. */
const MAX_DEPTH = Number.MAX_SAFE_INTEGER;
const MAX_PREV_EVENTS = 20;

export function hooksFor(state: AuthStateWithIds): AuthHooks {
  const ids = new Map(state.entries.map((e) => [e.event.pdu, e.eventId]));
  return { eventIdOf: (pdu) => ids.get(pdu) ?? (typeof pdu.event_id === 'string' ? pdu.event_id : undefined) };
}

export function roomEventOf(eventId: string, stored: StoredEvent): RoomEvent {
  return { event_id: eventId, room_id: stored.room_id, room_version: stored.room_version, pdu: stored.pdu };
}

interface StateChangeSummary {
  adds: string[];
  removes: string[];
  memberships: { userId: string; before: string | undefined; after: string | undefined; eventId: string | undefined }[];
}

export class RoomDraft {
  private readonly ops: WriteOp[] = [];
  private readonly records: Append<OutputRoomEvent>[] = [];
  private readonly staged: { eventId: string; event: StoredEvent }[] = [];
  private readonly redactions: [string, string][] = [];
  private readonly nodeIds: string[] = [];

  constructor(
    private readonly svc: RoomServices,
    readonly version: RoomVersion,
    /** The room as it stands; undefined until a create event is accepted. */
    public room: StoredRoom | undefined,
  ) {
  }

  get roomId(): string | undefined {
    return this.room?.room_id;
  }

  /**
   * Builds a local event on top of the room's forward extremities, signs it
   * and checks it against the room's current state. Throws M_FORBIDDEN (with
   * the auth rules' reason) when the event is not allowed.
   */
  async buildLocal(proto: LocalEventProto, txn?: NewRoomEvent['txn']): Promise<string> {
    const { version } = this;
    const room = this.room;
    const isCreate = proto.type === 'm.room.create';
    if (!room && !isCreate) throw new MatrixError(404, 'M_NOT_FOUND', 'Unknown room');
    if (room && isCreate) throw new MatrixError(400, 'M_BAD_JSON', 'The room already has a create event');

    const draftPdu = { ...proto, room_id: room?.room_id, prev_events: [], auth_events: [] } as unknown as PDU;
    const authState = room ? await this.svc.state.authState(room.state, draftPdu, version) : authStateOf([]);
    const authIds = authEventKeys(draftPdu, version)
      .map((p) => authState.idOf(p.type, p.stateKey))
      .filter((id): id is string => id !== undefined);
    const prevIds = room ? room.latest.slice(-MAX_PREV_EVENTS) : [];
    const depth = room ? Math.min(room.depth + 1, MAX_DEPTH) : 1;

    let built;
    try {
      built = buildEvent(
        {
          type: proto.type,
          ...(proto.state_key !== undefined ? { state_key: proto.state_key } : {}),
          content: proto.content,
          sender: proto.sender,
          ...(room ? { room_id: room.room_id } : proto.room_id !== undefined ? { room_id: proto.room_id } : {}),
          prev_events: await this.references(prevIds),
          auth_events: await this.references(authIds),
          depth,
          origin_server_ts: isCreate ? this.svc.createTs() : this.svc.now(),
          ...(proto.redacts !== undefined ? { redacts: proto.redacts } : {}),
        },
        { roomVersion: version, serverName: this.svc.serverName, key: this.svc.signingKey() },
      );
    } catch (e) {
      if (e instanceof EventBuildError) {
        if (/bytes|too large|size/i.test(e.message)) throw new MatrixError(413, 'M_TOO_LARGE', e.message);
        throw new MatrixError(400, 'M_BAD_JSON', e.message);
      }
      throw e;
    }

    const verdict = checkAuth(built.pdu, isCreate ? authStateOf([]) : authState, version, hooksFor(authState));
    if (!verdict.allowed) throw new MatrixError(403, 'M_FORBIDDEN', verdict.reason);

    let redactsId: string | undefined;
    if (proto.type === 'm.room.redaction' && proto.redacts !== undefined) {
      redactsId = await this.checkLocalRedaction(proto.sender, proto.redacts, authState);
    }

    await this.accept(built.eventId, built.pdu, { stateBefore: room?.state, roomId: built.roomId, txn, redacts: redactsId });
    return built.eventId;
  }

  /** v1/v2 cite events with their reference hashes; later versions by id. */
  private async references(ids: string[]): Promise<string[] | EventReferenceV1[]> {
    if (this.version.eventIdFormat !== 'v1') return ids;
    const events = await this.svc.events.getMany(ids);
    return events.map((e, i) => {
      if (!e) throw new Error(`event ${ids[i]} is missing`);
      return eventReference(e.pdu, this.version) as EventReferenceV1;
    });
  }

  /**
   * A local user may redact their own events, or anyone's with the redact
   * power level (client-server API "Redactions"). Returns the id of the event
   * to redact now, or undefined when it is unknown here (the redaction still
   * goes out, as the spec allows); an event of another room is a 400, as
   * Synapse answers (SyTest).
   */
  private async checkLocalRedaction(sender: string, redacts: string, authState: AuthStateWithIds): Promise<string | undefined> {
    const target = await this.svc.events.get(redacts);
    if (!target) return undefined;
    // A redaction names an event of its own room; one of another room is a mistake, not a redaction to send.
    if (target.room_id !== this.room?.room_id) throw new MatrixError(400, 'M_INVALID_PARAM', 'The event to redact is in another room');
    if (target.pdu.sender === sender) return redacts;
    const powers = roomPowers(authState.get('m.room.create', ''), authState.get('m.room.power_levels', ''), this.version);
    if (powers.userLevel(sender) < powers.level('redact')) {
      throw new MatrixError(403, 'M_FORBIDDEN', "You may only redact your own events without the room's redact power level");
    }
    return redacts;
  }

  /**
   * Adds an event that passed its checks to the room: stores it with the
   * state before and after it, moves the forward extremities and the current
   * state, and queues the output record. `stateBefore` undefined means the
   * event starts the room (create). By default the event becomes the only
   * forward extremity and its state the current state (a local event on a
   * linear room); events from elsewhere say what the room becomes.
   */
  async accept(
    eventId: string,
    pdu: PDU,
    opts: {
      stateBefore: string | undefined;
      roomId: string;
      txn?: NewRoomEvent['txn'];
      redacts?: string | undefined;
      /** The forward extremities after this event. */
      latest?: string[];
      /** The room's current state after this event, when it is not this event's state. */
      currentState?: (after: string) => Promise<string>;
    },
  ): Promise<void> {
    const { version } = this;
    const tree = this.svc.state.tree;
    const before = opts.stateBefore ?? tree.emptyRoot;
    const txn = opts.txn ? { txn: { device_id: opts.txn.device_id, txn_id: opts.txn.txn_id } } : {};
    const stored = await this.storeEvent(eventId, pdu, opts.roomId, { state_before: before, ...txn });
    const after = stored.state_after ?? before;

    const previous = this.room;
    const latest = opts.latest ?? [eventId];
    const current = opts.currentState ? await opts.currentState(after) : after;
    const room: StoredRoom = previous
      ? { ...previous, latest, state: current, depth: Math.max(previous.depth, pdu.depth) }
      : { room_id: opts.roomId, room_version: version.id, create_event_id: eventId, latest, state: current, depth: pdu.depth };
    const change = await this.applyCurrentState(room.room_id, previous?.state ?? tree.emptyRoot, current);
    this.room = room;

    if (opts.txn) this.ops.push(put(keys.txn(opts.txn), eventId));
    this.records.push({
      topic: outputRoomEvents,
      record: {
        kind: 'new_room_event',
        event: roomEventOf(eventId, stored),
        adds_state: change.adds,
        removes_state: change.removes,
        latest_event_ids: room.latest,
        ...(opts.txn ? { txn: opts.txn } : {}),
      },
    });
    this.inviteRecords(room.room_id, change.memberships, { eventId, stored });
    if (opts.redacts) await this.applyRedaction(opts.redacts, eventId, stored);
  }

  /**
   * Stores an event without moving the room: an outlier, a rejected event,
   * a soft-failed one, or a backfilled one. With `state_before`, the state
   * after it is computed and its nodes stored too.
   */
  async storeEvent(
    eventId: string,
    pdu: PDU,
    roomId: string,
    extra: Omit<Partial<StoredEvent>, 'nid' | 'pdu' | 'room_id' | 'room_version'>,
  ): Promise<StoredEvent> {
    const nid = this.svc.allocateNid();
    let after: string | undefined;
    if (extra.state_before !== undefined && !extra.rejected && typeof pdu.state_key === 'string') {
      const update = await this.svc.state.tree.update(extra.state_before, new Map([[stateTreeKey(pdu.type, pdu.state_key), nidValue(nid)]]));
      after = update.root;
      this.persistNodes(update.nodes);
    }
    const stored: StoredEvent = {
      ...extra,
      nid,
      room_id: roomId,
      room_version: this.version.id,
      pdu,
      ...(after !== undefined && after !== extra.state_before ? { state_after: after } : {}),
    };
    this.ops.push(put(keys.event(eventId), stored), put(keys.nid(nid), eventId));
    this.staged.push({ eventId, event: stored });
    this.svc.events.stage([{ eventId, event: stored }]);
    return stored;
  }

  /** State-tree nodes a new root needs: written with this draft, readable before that. */
  persistNodes(nodes: readonly (readonly [string, StateNode])[]): void {
    this.svc.nodes.stage(nodes);
    for (const [id, node] of nodes) {
      this.ops.push(put(keys.stateNode(id), node));
      this.nodeIds.push(id);
    }
  }

  /**
   * Updates the current-state and membership indexes from one state root to
   * another, and says what changed: the events in and out of current state,
   * and the membership changes of users.
   */
  private async applyCurrentState(roomId: string, from: string, to: string): Promise<StateChangeSummary> {
    const summary: StateChangeSummary = { adds: [], removes: [], memberships: [] };
    if (from === to) return summary;
    const changed = await this.svc.state.tree.diff(from, to);
    const idsOf = async (values: (string | undefined)[]) => {
      const present = values.map((v, i) => [v, i] as const).filter(([v]) => v !== undefined);
      const ids = await this.svc.events.idsOfNids(present.map(([v]) => nidOf(v!)));
      const out: (string | undefined)[] = new Array(values.length);
      present.forEach(([, i], j) => (out[i] = ids[j]));
      return out;
    };
    const [oldIds, newIds] = await Promise.all([idsOf(changed.map((c) => c.a)), idsOf(changed.map((c) => c.b))]);
    const membershipKeys = changed.map((c, i) => (splitStateTreeKey(c.key)[0] === 'm.room.member' ? i : -1)).filter((i) => i >= 0);
    const [oldMembers, newMembers] = await Promise.all([
      this.svc.events.getMany(membershipKeys.map((i) => oldIds[i] ?? '')),
      this.svc.events.getMany(membershipKeys.map((i) => newIds[i] ?? '')),
    ]);
    changed.forEach((c, i) => {
      const [type, stateKey] = splitStateTreeKey(c.key);
      if (oldIds[i]) summary.removes.push(oldIds[i]!);
      if (newIds[i]) {
        summary.adds.push(newIds[i]!);
        this.ops.push(put(keys.currentState(roomId, type, stateKey), newIds[i]!));
      } else {
        this.ops.push(del(keys.currentState(roomId, type, stateKey)));
      }
    });
    membershipKeys.forEach((i, j) => {
      const userId = splitStateTreeKey(changed[i]!.key)[1];
      const membershipOf = (e: StoredEvent | undefined) => (typeof e?.pdu.content.membership === 'string' ? e.pdu.content.membership : undefined);
      const before = membershipOf(oldMembers[j]);
      const after = membershipOf(newMembers[j]);
      if (after) this.ops.push(put(keys.membership(userId, roomId), after));
      else this.ops.push(del(keys.membership(userId, roomId)));
      // Being in the room again undoes forgetting it.
      if (after === 'join' || after === 'invite' || after === 'knock') this.ops.push(del(keys.forgotten(userId, roomId)));
      summary.memberships.push({ userId, before, after, eventId: newIds[i] });
    });
    return summary;
  }

  /** Invite records for local users whose invite began or ended. */
  private inviteRecords(roomId: string, memberships: StateChangeSummary['memberships'], event: { eventId: string; stored: StoredEvent }): void {
    for (const m of memberships) {
      if (serverNameOf(m.userId) !== this.svc.serverName || m.before === m.after) continue;
      if (m.after === 'invite' && m.eventId === event.eventId) {
        this.records.push({ topic: outputRoomEvents, record: { kind: 'new_invite_event', room_id: roomId, user_id: m.userId, event: roomEventOf(event.eventId, event.stored) } });
      } else if (m.before === 'invite' && m.eventId) {
        this.records.push({
          topic: outputRoomEvents,
          record: { kind: 'retire_invite_event', room_id: roomId, user_id: m.userId, event_id: m.eventId, membership: m.after ?? 'leave' },
        });
      }
    }
  }

  /** Replaces the redacted event's stored form by its redaction and tells consumers. */
  private async applyRedaction(redactedId: string, redactionId: string, redaction: StoredEvent): Promise<void> {
    const target = await this.svc.events.get(redactedId);
    if (!target || target.room_id !== redaction.room_id) return;
    const redacted: StoredEvent = { ...target, pdu: redact(target.pdu, this.version), redacted_by: redactionId };
    this.ops.push(put(keys.event(redactedId), redacted), put(keys.redaction(redactedId), redactionId));
    this.staged.push({ eventId: redactedId, event: redacted });
    this.svc.events.stage([{ eventId: redactedId, event: redacted }], [[redactedId, redactionId]]);
    this.redactions.push([redactedId, redactionId]);
    this.records.push({
      topic: outputRoomEvents,
      record: { kind: 'redacted_event', room_id: redaction.room_id, redacted_event_id: redactedId, redaction: roomEventOf(redactionId, redaction) },
    });
  }

  /**
   * Queues everything in one durable batch and makes the new room visible
   * to the room's next draft; resolves when the batch is on disk.
   */
  commit(): Promise<void> {
    if (this.staged.length === 0) return Promise.resolve();
    if (this.room) this.ops.push(put(keys.room(this.room.room_id), this.room));
    this.ops.push(this.svc.nextNidKey());
    const written = this.svc.producer.write(this.ops, this.records, { durable: true });
    if (this.room) this.svc.rooms.set(this.room);
    const { staged, redactions, nodeIds } = this;
    return written.then(() => {
      this.svc.events.settle(staged, redactions);
      this.svc.nodes.settle(nodeIds);
    });
  }
}
